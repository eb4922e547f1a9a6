import { test, expect, Page } from '@playwright/test';
import { serveEach } from './server';

// The operator's flows through the real built app: the generated form, reordering, spreadsheet
// upload, running the queue, pause/resume, history filters and detail, two tabs in sync.
const hutch = serveEach();

const count = (det: string, num: number, extra: object = {}) => ({
  item: { name: 'count', args: [[det]], kwargs: { num, ...extra }, item_type: 'plan' },
});

async function open(page: Page, path: string) {
  await page.goto(hutch.signIn(path));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
}

function rows(page: Page) {
  return page.getByTestId('queue-row');
}

test('a plan is added through the form generated from its parameters', async ({ page }) => {
  await open(page, '/queue');
  const form = page.locator('form.plan-form');
  await form.getByLabel('Plan').selectOption('count');
  // Types in words, detectors only in the detector picker, no internal parameters.
  await expect(form.locator('[data-param="detectors"]')).toContainText('list of detectors');
  await expect(form).not.toContainText('__READABLE__');
  await expect(form.locator('[data-param="detectors"]').getByLabel('motor', { exact: true })).toHaveCount(0);
  await expect(form.locator('[data-param="per_step"]')).toHaveCount(0);
  // Client-side check: a required parameter left empty is named beside its field.
  await form.getByRole('button', { name: 'Add to queue' }).click();
  await expect(form.locator('[data-param="detectors"] .field-error')).toHaveText('required');
  await form.locator('[data-param="detectors"]').getByLabel('det1').check();
  await form.locator('#param-num').fill('3');
  await form.getByRole('button', { name: 'Add to queue' }).click();
  await expect(page.getByTestId('editor-outcome')).toContainText('Added count');
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('count(detectors=[det1], num=3)');
  // A scan's motors as rows (bluesky's motor, start, stop pattern), each cell checked as typed.
  await form.getByLabel('Plan').selectOption('scan');
  await form.locator('[data-param="detectors"]').getByLabel('det1').check();
  const args = form.locator('[data-param="args"]');
  await args.getByLabel('motor of row 1').selectOption('motor');
  await args.getByLabel('start of row 1').fill('-1');
  await args.getByLabel('stop of row 1').fill('one');
  await expect(args.locator('.field-error')).toHaveText("row 1: stop 'one' is not a number");
  await args.getByLabel('stop of row 1').fill('1');
  await expect(args.locator('.field-error')).toHaveText('');
  // JSON checked as typed: broken JSON in md is named at once and never sent as text.
  await form.locator('#param-md').fill('{"sample": ');
  await expect(form.locator('[data-param="md"] .field-error')).toContainText('not valid JSON');
  await page.screenshot({ path: test.info().outputPath('queue-form-checks.png'), fullPage: true });
  await form.locator('#param-md').fill('{"sample": "Si"}');
  await expect(form.locator('[data-param="md"] .field-error')).toHaveText('');
  // The server's own validation, beside the field it names (num must be at least 1).
  await form.locator('#param-num').fill('0');
  await form.getByRole('button', { name: 'Add to queue' }).click();
  await expect(page.getByTestId('editor-outcome')).toContainText('validation failed');
  await expect(form.locator('[data-param="num"] .field-error')).toContainText('out of range');
  await expect(rows(page)).toHaveCount(1);
  await form.locator('#param-num').fill('3');
  await form.getByRole('button', { name: 'Add to queue' }).click();
  await expect(rows(page)).toHaveCount(2);
  const scan = (await hutch.api('GET', '/api/queue/get')).items[1];
  expect(scan.args).toEqual([['det1'], 'motor', -1, 1]);
  expect(scan.kwargs).toEqual({ num: 3, md: { sample: 'Si' } });
  // Edit: the form is filled with the item; saving keeps its place.
  await rows(page).first().getByRole('button', { name: 'Edit' }).click();
  await expect(form.locator('#param-num')).toHaveValue('3');
  await form.locator('#param-num').fill('7');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(rows(page).first()).toContainText('num=7');
  // Duplicate puts a copy right after it.
  await rows(page).first().getByRole('button', { name: 'Duplicate' }).click();
  await expect(rows(page)).toHaveCount(3);
  await expect(rows(page).nth(1)).toContainText('num=7');
  await page.screenshot({ path: test.info().outputPath('queue-form.png'), fullPage: true });
});

test('rows are reordered by dragging, and several are moved or removed at once', async ({ page }) => {
  for (const det of ['det1', 'det2', 'det3']) await hutch.api('POST', '/api/queue/item/add', count(det, 1));
  await open(page, '/queue');
  await expect(rows(page)).toHaveCount(3);
  await rows(page).nth(2).dragTo(rows(page).nth(0));
  await expect(rows(page).nth(0)).toContainText('det3');
  const q = await hutch.api('GET', '/api/queue/get');
  expect(q.items.map((i: any) => i.args[0][0])).toEqual(['det3', 'det1', 'det2']);
  // Keyboard-friendly: the arrow buttons.
  await rows(page).nth(0).getByRole('button', { name: 'Move down' }).click();
  await expect(rows(page).nth(1)).toContainText('det3');
  // Select two and remove them.
  await rows(page).nth(0).getByRole('checkbox').check();
  await rows(page).nth(1).getByRole('checkbox').check();
  page.on('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Remove selected' }).click();
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('det2');
});

test('a spreadsheet with a bad row is previewed and added all or nothing', async ({ page }) => {
  await open(page, '/queue');
  const bad = 'name,detectors,num\ncount,"[""det1""]",2\nno_such_plan,,1\ncount,"[""det2""]",1\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'plans.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await expect(page.getByTestId('upload-row')).toHaveCount(3);
  // The server checks every row before anything can be added: the bad row is named, the
  // others pass, and "Add" stays off.
  await expect(page.getByTestId('upload-row').nth(1)).toHaveClass(/bad/);
  await expect(page.getByTestId('upload-row').nth(1)).toContainText('no_such_plan');
  await expect(page.getByTestId('upload-row').nth(0)).toContainText('ok');
  await expect(page.getByTestId('upload-outcome')).toContainText('The server refuses some rows');
  await expect(page.getByRole('button', { name: 'Add all 3 plans' })).toBeDisabled();
  await page.screenshot({ path: test.info().outputPath('upload-refused.png'), fullPage: true });
  expect((await hutch.api('GET', '/api/queue/get')).items).toEqual([]);
  // A file that cannot be read as a table names its rows and offers nothing to add.
  await page.getByLabel('CSV file').setInputFiles({ name: 'x.csv', mimeType: 'text/csv', buffer: Buffer.from('plan\ncount\n') });
  await expect(page.getByTestId('upload-errors')).toContainText("no 'name' column");
  const good = 'name,detectors,num\ncount,"[""det1""]",2\ncount,"[""det2""]",1\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'plans.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await expect(page.getByTestId('upload-row').nth(1)).toContainText('ok');
  await page.getByRole('button', { name: 'Add all 2 plans' }).click();
  await expect(page.getByTestId('upload-outcome')).toContainText('Added 2 plans');
  await expect(rows(page)).toHaveCount(2);
});

test('the queue runs to the end from the Monitor, and history shows, filters and copies it back', async ({ page }) => {
  await hutch.api('POST', '/api/queue/item/add', count('det1', 5, { md: { sample: 'silicon' } }));
  await open(page, '/');
  await page.getByRole('button', { name: 'Open environment' }).click();
  await expect(page.getByTestId('readiness')).toHaveText('ready');
  await page.getByRole('button', { name: 'Start queue' }).click();
  await expect(page.getByTestId('items-in-history')).toHaveText('1');
  await expect(page.getByTestId('manager-state')).toHaveText('idle');
  await expect(page.getByTestId('items-in-queue')).toHaveText('0');
  await page.screenshot({ path: test.info().outputPath('monitor-done.png'), fullPage: true });

  await page.getByRole('link', { name: 'History' }).click();
  await expect(page.getByTestId('history-row')).toHaveCount(1);
  await expect(page.getByTestId('history-row').first()).toContainText('completed');
  await page.getByLabel('Status').selectOption('failed');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await page.goto(hutch.url + '/history?q=silicon');
  await expect(page.getByTestId('history-row')).toHaveCount(1);
  await page.getByTestId('history-row').first().getByRole('link').click();
  await expect(page.getByTestId('dispatch-status')).toHaveText('completed');
  await expect(page.getByTestId('run-plot')).toBeVisible();
  // The server's picture of the run (plot.svg), loaded.
  await expect.poll(() => page.getByTestId('run-plot').evaluate((i: HTMLImageElement) => i.complete ? i.naturalWidth : 0)).toBeGreaterThan(0);
  await expect(page.getByRole('link', { name: /Download documents/ })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('history-detail.png'), fullPage: true });
  await page.getByRole('button', { name: 'Copy back to queue' }).click();
  await expect(page.getByTestId('copy-outcome')).toContainText('Copied back');
  expect((await hutch.api('GET', '/api/queue/get')).items).toHaveLength(1);
});

test('a running plan is paused and resumed from the Monitor, with its progress shown', async ({ page }) => {
  await hutch.api('POST', '/api/queue/item/add', count('det1', 40, { delay: 0.1 }));
  await hutch.api('POST', '/api/queue/item/add', count('det2', 3));
  await hutch.api('POST', '/api/environment/open');
  await open(page, '/');
  await expect(page.getByTestId('readiness')).toHaveText('ready');
  await expect(page.getByTestId('up-next')).toContainText('count([det1]; delay=0.1, num=40)');
  await page.getByRole('button', { name: 'Start queue' }).click();
  await expect(page.getByTestId('progress')).toContainText('of 40 points');
  // Scan id, what it does, time so far and an estimate; the next plan below.
  await expect(page.getByTestId('run-facts')).toContainText(/Scan \d+ · Taking data · [\d.]+ s elapsed · about .+ left/);
  await expect(page.getByTestId('up-next')).toContainText('count([det2]; num=3)');
  await expect(page.getByTestId('up-next')).not.toContainText('det1');
  // The live plot of the running scan, drawn by the server, loaded.
  await expect.poll(() => page.getByTestId('live-plot').evaluate((i: HTMLImageElement) => i.complete ? i.naturalWidth : 0)).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Pause now' }).click();
  await expect(page.getByTestId('manager-state')).toHaveText('paused');
  await expect(page.getByTestId('run-facts')).toContainText(/Scan \d+ · Paused · [\d.]+ s elapsed$/);
  await page.screenshot({ path: test.info().outputPath('paused.png'), fullPage: true });
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('manager-state')).toHaveText('executing_queue');
  await expect(page.getByTestId('items-in-history')).toHaveText('2', { timeout: 30_000 });
  await expect(page.getByTestId('up-next')).toHaveText('The queue is empty.');
  const h = await hutch.api('GET', '/api/history/get');
  expect(h.items.map((i: any) => i.result.exit_status)).toEqual(['completed', 'completed']);
});

test('controls are enabled only when the server would accept them, and say why not', async ({ page }) => {
  await open(page, '/');
  const button = (name: string) => page.getByRole('button', { name, exact: true });
  // Closed environment: only opening it makes sense.
  await expect(button('Open environment')).toBeEnabled();
  for (const name of ['Start queue', 'Close environment', 'Resume', 'Pause now']) {
    await expect(button(name)).toBeDisabled();
  }
  await expect(button('Start queue')).toHaveAttribute('title', 'RE Worker environment does not exist.');
  await expect(button('Resume')).toHaveAttribute('title', "RE Manager is not paused: current state is 'idle'");
  await expect(page.getByTestId('headline')).toHaveText('Environment closed');
  await button('Open environment').click();
  await expect(page.getByTestId('readiness')).toHaveText('ready');
  await expect(page.getByTestId('headline')).toHaveText('Ready');
  await expect(button('Open environment')).toBeDisabled();
  await expect(button('Open environment')).toHaveAttribute('title', 'RE Worker environment already exists.');
  await expect(button('Start queue')).toBeEnabled();
  await expect(button('Close environment')).toBeEnabled();
  // Running: pause and stop are offered, start and close are not; after a pause, resume is.
  await hutch.api('POST', '/api/queue/item/add', count('det1', 40, { delay: 0.1 }));
  await button('Start queue').click();
  await expect(button('Pause now')).toBeEnabled();
  await expect(button('Start queue')).toBeDisabled();
  await expect(button('Close environment')).toHaveAttribute('title', 'Queue execution is in progress.');
  await button('Stop queue after this plan').click();
  await expect(button('Cancel the stop')).toBeEnabled();
  await expect(button('Stop queue after this plan')).toBeDisabled();
  await button('Pause now').click();
  await expect(page.getByTestId('headline')).toHaveText('Paused at a checkpoint');
  await expect(button('Resume')).toBeEnabled();
  await expect(button('Pause now')).toBeDisabled();
  await page.screenshot({ path: test.info().outputPath('controls-paused.png'), fullPage: true });
  await button('Resume').click();
  await expect(page.getByTestId('manager-state')).toHaveText('idle', { timeout: 30_000 });
  await expect(button('Resume')).toBeDisabled();
});

test('a worker killed mid-plan: the Monitor and the kiosk say what failed and why, and the Monitor recovers', async ({ page, context }) => {
  await hutch.api('POST', '/api/queue/item/add', count('det1', 400, { delay: 0.05 }));
  await hutch.api('POST', '/api/environment/open');
  await open(page, '/');
  const kiosk = await context.newPage();
  await kiosk.goto(hutch.url + '/kiosk');
  await expect(page.getByTestId('readiness')).toHaveText('ready');
  await page.getByRole('button', { name: 'Start queue', exact: true }).click();
  await expect(page.getByTestId('progress')).toContainText('of 400 points');
  const status = await hutch.api('GET', '/api/status');
  process.kill(status.hutch.worker_pid, 'SIGKILL');
  const banner = page.getByTestId('attention');
  await expect(banner).toContainText('count([det1]; delay=0.05, num=400) failed');
  await expect(banner.getByTestId('attention-reason')).not.toBeEmpty();
  await expect(banner.getByTestId('attention-queue')).toHaveText('The queue stopped; 1 plan waits.');
  await expect(kiosk.getByTestId('attention')).toContainText('failed');
  await expect(kiosk.getByTestId('attention').getByRole('button')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath('failure-banner.png'), fullPage: true });
  await kiosk.screenshot({ path: test.info().outputPath('failure-banner-kiosk.png') });
  // Recover from the banner: open the environment again, then acknowledge.
  await banner.getByRole('button', { name: 'Open environment' }).click();
  await expect(page.getByTestId('readiness')).toHaveText('ready');
  await expect(banner.getByRole('button', { name: 'Start queue' })).toBeVisible();
  await banner.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(page.getByTestId('attention')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('attention')).toHaveCount(0);
});

test('the queue is started from the Queue page once the environment is open', async ({ page }) => {
  await hutch.api('POST', '/api/queue/item/add', count('det1', 2));
  await open(page, '/queue');
  const start = page.getByRole('button', { name: 'Start queue' });
  await expect(start).toBeDisabled();
  await expect(page.getByTestId('start-why')).toHaveText('Open the environment on the Monitor first.');
  await hutch.api('POST', '/api/environment/open');
  await expect(start).toBeEnabled();
  await expect(page.getByTestId('start-why')).toBeEmpty();
  await start.click();
  await expect.poll(async () => (await hutch.api('GET', '/api/history/get')).items.length).toBe(1);
});

test('two tabs stay in sync', async ({ page, context }) => {
  await open(page, '/queue');
  const other = await context.newPage();
  await other.goto(hutch.url + '/queue');
  await expect(other.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await page.getByRole('button', { name: 'Add a stop instruction' }).click();
  await expect(rows(other)).toHaveCount(1);
  await expect(rows(other).first()).toContainText('queue_stop');
  await rows(other).first().getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('queue-empty')).toBeVisible();
});

test('the console shows live lines and filters them', async ({ page }) => {
  await open(page, '/console');
  await hutch.api('POST', '/api/environment/open');
  await expect(page.getByTestId('console')).toContainText('environment', { ignoreCase: true });
  // Each line with its time; a plan's start said once.
  await expect(page.getByTestId('console').locator('time').first()).toHaveText(/^\d\d:\d\d:\d\d$/);
  await expect.poll(async () => (await hutch.api('GET', '/api/status')).worker_environment_exists).toBe(true);
  await hutch.api('POST', '/api/queue/item/add', count('det1', 1));
  await hutch.api('POST', '/api/queue/start');
  await expect.poll(async () => (await hutch.api('GET', '/api/history/get')).items.length).toBe(1);
  await page.reload();
  await page.getByLabel('Search').fill('Starting plan');
  await expect(page.getByTestId('console-count')).toHaveText('1 line');
  await page.getByLabel('Search').fill('no such text anywhere');
  await expect(page.getByTestId('console-count')).toHaveText('0 lines');
});
