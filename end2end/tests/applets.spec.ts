import { test, expect, Page } from '@playwright/test';
import { serveEach, curvePixels } from './server';

// The applet grid, the editor, live plots and the kiosk, through the real built app.
const hutch = serveEach();

async function board(page: Page, dashboard: string) {
  await page.goto(hutch.signIn('/applets') + `&dashboard=${dashboard}`);
  await expect(page.getByTestId('board-connection')).toHaveAttribute('data-state', 'connected');
}

/** Opens the simulated environment and waits until the manager is idle in it. */
async function openEnvironment() {
  await hutch.api('POST', '/api/environment/open');
  await expect
    .poll(async () => {
      const s = await hutch.api('GET', '/api/status');
      return s.worker_environment_exists && s.manager_state === 'idle';
    })
    .toBe(true);
}

const applet = (page: Page, name: string) => page.locator(`article.applet[data-applet="${name}"]`);

test('an applet created in one tab appears in another, and each dashboard decides what it shows', async ({ page, context }) => {
  const other = await context.newPage();
  await board(other, 'beta');
  await board(page, 'alpha');

  // Create a Markdown applet with the editor; the preview follows the spec as it is typed.
  await page.getByRole('link', { name: 'New applet' }).click();
  await page.getByLabel('Name').fill('shift notes');
  await page.getByLabel('Kind').selectOption('markdown');
  await page.getByLabel('Spec').fill('{"text": "# Beam is **on**"}');
  await expect(page.locator('.preview h3')).toHaveText('Beam is on');
  await page.getByLabel('Spec').fill('{"text": 5}');
  await expect(page.getByTestId('spec-error')).toContainText('spec.text');
  await page.getByLabel('Spec').fill('{"text": "# Beam is **on**"}');
  await page.getByRole('button', { name: 'Create' }).click();

  // Back on dashboard alpha, and live in the other tab (dashboard beta) without a reload.
  await expect(page).toHaveURL(/\/applets\?dashboard=alpha/);
  await expect(applet(page, 'shift notes').locator('h3')).toHaveText('Beam is on');
  await expect(applet(other, 'shift notes').locator('h3')).toHaveText('Beam is on');

  // Alpha hides it; beta keeps showing it, also after a reload.
  await page.getByRole('button', { name: 'Choose applets' }).click();
  await page.getByLabel('Show shift notes on this dashboard').uncheck();
  await expect(applet(page, 'shift notes')).toHaveCount(0);
  await other.reload();
  await expect(applet(other, 'shift notes').locator('h3')).toHaveText('Beam is on');
  await page.reload();
  await expect(page.getByTestId('board-empty')).toContainText('shows no applet');

  // An edit in one tab reaches the other; the old version can be restored.
  const uid = (await hutch.api('GET', '/api/applets')).applets[0].uid;
  await page.goto(`${hutch.url}/applets/${uid}?dashboard=alpha`);
  await expect(page.getByLabel('Spec')).toHaveValue(/Beam is/);
  await page.getByLabel('Spec').fill('{"text": "# Beam is off"}');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(applet(other, 'shift notes').locator('h3')).toHaveText('Beam is off');
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await expect(applet(other, 'shift notes').locator('h3')).toHaveText('Beam is on');
  await expect(page.getByTestId('versions')).toContainText('3 (current)');
});

test('a live plot grows during a simulated scan', async ({ page }, info) => {
  await hutch.api('POST', '/api/applets', {
    name: 'noisy',
    group: 'e2e',
    kind: 'line',
    spec: { latest_of_plan: 'count', x: 'seq_num', y: ['noisy_det'] },
    auto_enable: true,
  });
  await board(page, 'main');
  const canvas = applet(page, 'noisy').getByTestId('plot');
  await expect(canvas).toHaveAttribute('data-message', /waiting for a run of 'count'/);

  // Watch the number of events drawn while the plan runs.
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as any).seenEvents = seen;
    const c = document.querySelector('article[data-applet="noisy"] canvas')!;
    new MutationObserver(() => seen.push(Number(c.getAttribute('data-events')))).observe(c, { attributes: true, attributeFilter: ['data-events'] });
  });
  await openEnvironment();
  const started = await hutch.api('POST', '/api/queue/item/execute', {
    item: { name: 'count', args: [['noisy_det']], kwargs: { num: 40, delay: 0.1 }, item_type: 'plan' },
  });
  expect(started.success, started.msg).toBe(true);
  await expect(canvas).toHaveAttribute('data-events', '40', { timeout: 30_000 });
  const seen: number[] = await page.evaluate(() => (window as any).seenEvents);
  expect(seen.some((n) => n > 0 && n < 40), `intermediate drawings: ${seen}`).toBe(true);
  await expect(canvas).not.toHaveAttribute('data-message', /./);

  // The picture has the curve: pixels in the first series colour (0, 114, 178).
  expect(await curvePixels(canvas)).toBeGreaterThan(200);
  await applet(page, 'noisy').screenshot({ path: info.outputPath('live-plot.png') });
  await info.attach('live plot', { path: info.outputPath('live-plot.png'), contentType: 'image/png' });

  // Zoom to a range and back.
  await applet(page, 'noisy').getByLabel('Zoom from x').fill('10');
  await applet(page, 'noisy').getByLabel('Zoom to x').fill('20');
  await applet(page, 'noisy').getByRole('button', { name: 'Zoom' }).click();
  await expect.poll(async () => Number(await canvas.getAttribute('data-points'))).toBeLessThanOrEqual(11);
  await applet(page, 'noisy').getByRole('button', { name: 'Auto-scale' }).click();
  await expect.poll(async () => Number(await canvas.getAttribute('data-points'))).toBe(40);

  // The same run as a picture for the e-log.
  const runs = (await hutch.api('GET', '/api/runs?plan=count')).runs;
  const png = await fetch(`${hutch.url}/api/runs/${runs[0].uid}/plot.png`, { headers: { Authorization: 'ApiKey e2e-test-key' } });
  expect(png.status).toBe(200);
  expect(png.headers.get('content-type')).toBe('image/png');
});

test('an applet following the latest run keeps the last run that had its field, and says so', async ({ page, browser }, info) => {
  await hutch.api('POST', '/api/applets', {
    name: 'det vs motor',
    group: 'e2e',
    kind: 'line',
    spec: { latest: true, x: 'motor', y: ['det'] },
    auto_enable: true,
  });
  await openEnvironment();
  await board(page, 'main');
  const kiosk = await browser.newPage();
  await kiosk.goto(hutch.signIn('/kiosk') + '&dashboard=main');
  await expect(kiosk.getByTestId('kiosk-connection')).toHaveAttribute('data-state', 'connected');
  const canvases = [applet(page, 'det vs motor').getByTestId('plot'), applet(kiosk, 'det vs motor').getByTestId('plot')];

  const run = async (item: object) => {
    const before = (await hutch.api('GET', '/api/runs')).runs.length;
    const r = await hutch.api('POST', '/api/queue/item/execute', { item: { ...item, item_type: 'plan' } });
    expect(r.success, r.msg).toBe(true);
    await expect.poll(async () => (await hutch.api('GET', '/api/runs')).runs.filter((x: any) => x.exit_status).length).toBe(before + 1);
    return (await hutch.api('GET', '/api/runs')).runs[0].uid as string;
  };
  const scan = await run({ name: 'scan', args: [['det'], 'motor', -1, 1], kwargs: { num: 7 } });
  for (const c of canvases) {
    await expect(c).toHaveAttribute('data-run', scan);
    await expect(c).toHaveAttribute('data-events', '7');
  }
  // A plan without the motor: the applet goes on drawing the scan and names what is missing,
  // on the dashboard and on the kiosk; no blank panel, no grey error text.
  const count = await run({ name: 'count', args: [['det1']], kwargs: { num: 2 } });
  expect(count).not.toBe(scan);
  for (const c of canvases) {
    await expect(c).toHaveAttribute('data-lacks', 'motor');
    await expect(c).toHaveAttribute('data-run', scan);
    await expect(c).not.toHaveAttribute('data-message', /./);
    expect(await curvePixels(c)).toBeGreaterThan(100);
  }
  await applet(page, 'det vs motor').screenshot({ path: info.outputPath('kept-run.png') });
  await kiosk.screenshot({ path: info.outputPath('kept-run-kiosk.png') });
  // The next scan is drawn again as the live run.
  const again = await run({ name: 'scan', args: [['det'], 'motor', -2, 2], kwargs: { num: 5 } });
  for (const c of canvases) {
    await expect(c).toHaveAttribute('data-run', again);
    await expect(c).not.toHaveAttribute('data-lacks', /./);
  }
  await kiosk.close();
});

const note = (name: string, text: string) =>
  hutch.api('POST', '/api/applets', { name, group: 'e2e', kind: 'markdown', spec: { text }, auto_enable: true });

test('the kiosk is read-only, never asks for a login, and reconnects after a server restart', async ({ page, browser }) => {
  await note('wall note', '# Hello wall');

  // Without a key: an explanation, not a login form.
  const stranger = await browser.newPage();
  const r = await stranger.goto(`${hutch.url}/kiosk?dashboard=wall`);
  expect(r?.status()).toBe(401);
  await expect(stranger).toHaveURL(/\/kiosk\?dashboard=wall/);
  await expect(stranger.getByTestId('kiosk-refused')).toBeVisible();
  await expect(stranger.locator('input[type=password]')).toHaveCount(0);
  await stranger.close();

  await page.goto(hutch.signIn('/kiosk') + '&dashboard=wall');
  await expect(page).toHaveURL(/\/kiosk\?dashboard=wall$/);
  const state = page.getByTestId('kiosk-connection');
  await expect(state).toHaveAttribute('data-state', 'connected');
  await expect(page.locator('nav')).toHaveCount(0);
  await expect(applet(page, 'wall note').locator('h3')).toHaveText('Hello wall');
  await expect(applet(page, 'wall note').getByRole('link', { name: 'Edit' })).toHaveCount(0);
  await page.evaluate(() => ((window as any).notReloaded = true));

  await hutch.down();
  await expect(state).toHaveAttribute('data-state', 'reconnecting');
  await hutch.up();
  await expect(state).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true);

  // Changes after the restart arrive live.
  await note('after restart', '# Still here');
  await expect(applet(page, 'after restart').locator('h3')).toHaveText('Still here');
});

test('the kiosk fills a 4K wall: type, panels and plots grow with the window', async ({ browser }, info) => {
  await hutch.api('POST', '/api/applets', {
    name: 'wall plot', group: 'e2e', kind: 'line', spec: { latest: true, x: 'motor', y: ['det'] }, auto_enable: true,
  });
  await note('wall note', '# Beam is **on**');
  await openEnvironment();
  const r = await hutch.api('POST', '/api/queue/item/execute', {
    item: { name: 'scan', args: [['det'], 'motor', -1, 1], kwargs: { num: 9 }, item_type: 'plan' },
  });
  expect(r.success, r.msg).toBe(true);
  const wall = await browser.newPage({ viewport: { width: 3840, height: 2160 } });
  await wall.goto(hutch.signIn('/kiosk') + '&dashboard=wall4k');
  await expect(wall.getByTestId('kiosk-connection')).toHaveAttribute('data-state', 'connected');
  const canvas = applet(wall, 'wall plot').getByTestId('plot');
  await expect(canvas).toHaveAttribute('data-events', '9', { timeout: 30_000 });
  const kiosk = wall.getByTestId('kiosk');
  const type = await kiosk.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(type, 'kiosk type grows with the window').toBeGreaterThanOrEqual(40);
  const whole = await kiosk.boundingBox();
  expect(whole!.width, 'no wide margins').toBeGreaterThan(3700);
  const panel = await applet(wall, 'wall plot').boundingBox();
  expect(panel!.width).toBeGreaterThan(900);
  expect(panel!.height).toBeGreaterThan(600);
  const title = await applet(wall, 'wall plot').locator('header h2').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(title).toBeGreaterThanOrEqual(40);
  expect(await wall.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(3840);
  expect(await curvePixels(canvas)).toBeGreaterThan(500);
  await wall.screenshot({ path: info.outputPath('kiosk-4k.png') });
  await wall.close();
});

test('datasets are listed live and one click plots them', async ({ page }) => {
  await hutch.api('PUT', '/api/datasets/beam.current', { value: 101.5, unit: 'mA' });
  await hutch.api('PUT', '/api/datasets/scan.trace', { value: [1, 4, 2, 8] });
  await page.goto(hutch.signIn('/datasets'));
  const current = page.locator('tr[data-dataset="beam.current"]');
  await expect(current.locator('.value')).toHaveText('101.5 mA');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await hutch.api('PUT', '/api/datasets/beam.current', { value: 99.25 });
  await expect(current.locator('.value')).toHaveText('99.25 mA');
  await page.locator('tr[data-dataset="scan.trace"]').getByRole('button', { name: 'Plot' }).click();
  await expect(page.getByTestId('outcome')).toContainText('plot scan.trace: done');
  const applets = (await hutch.api('GET', '/api/applets')).applets;
  expect(applets.map((a: any) => [a.name, a.kind, a.spec])).toEqual([['scan.trace', 'line', { datasets: ['scan.trace'] }]]);
  await page.goto(`${hutch.url}/applets`);
  await expect(applet(page, 'scan.trace').getByTestId('plot')).toHaveAttribute('data-points', '4');
});
