import { test, expect, Page } from '@playwright/test';
import { serveEach, KEY } from './server';

const hutch = serveEach();

function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

test('the page loads, hydrates and shows live status', async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto(hutch.signIn());
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText('Queue');
  await expect(page.getByTestId('manager-state')).toHaveText('idle');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('stream-clients')).toHaveText('1');
  await page.screenshot({ path: test.info().outputPath('monitor.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('the status updates live when another tab connects', async ({ page, context }) => {
  await page.goto(hutch.signIn());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('stream-clients')).toHaveText('1');
  const second = await context.newPage();
  await second.goto(hutch.url);
  await expect(second.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  // The first tab learns of the second over its socket, without a reload.
  await expect(page.getByTestId('stream-clients')).toHaveText('2');
  await second.close();
  await expect(page.getByTestId('stream-clients')).toHaveText('1');
});

test('navigation works after hydration without a full reload', async ({ page }) => {
  await page.goto(hutch.signIn());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await page.evaluate(() => ((window as any).__marker = 'same document'));
  await page.getByRole('link', { name: 'Queue' }).click();
  await expect(page).toHaveURL(/\/queue$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Queue');
  expect(await page.evaluate(() => (window as any).__marker)).toBe('same document');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
});

test('the page goes reconnecting when the server stops and connected when it is back', async ({ page }) => {
  await page.goto(hutch.signIn());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await page.evaluate(() => ((window as any).__marker = 'no reload'));
  await hutch.down();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'reconnecting');
  await page.screenshot({ path: test.info().outputPath('reconnecting.png') });
  await hutch.up();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('manager-state')).toHaveText('idle');
  expect(await page.evaluate(() => (window as any).__marker)).toBe('no reload');
});

test('every page is readable without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // The login page works without a script, and the link hutch prints signs in by a redirect.
  await page.goto(hutch.url + '/queue');
  await expect(page).toHaveURL(/\/login\?next=\/queue$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in');
  await page.goto(hutch.signIn());
  await hutch.api('POST', '/api/queue/item/add', {
    item: { name: 'count', args: [['det1']], kwargs: { num: 2 }, item_type: 'plan' },
  });
  for (const [path, heading] of [
    ['/', 'Monitor'],
    ['/queue', 'Queue'],
    ['/history', 'History'],
    ['/applets', 'Applets'],
    ['/datasets', 'Datasets'],
    ['/console', 'Console'],
  ]) {
    const response = await page.goto(hutch.url + path);
    expect(response?.status(), path).toBe(200);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
  }
  // The data is in the server-rendered page, not fetched by a script.
  await page.goto(hutch.url + '/queue');
  await expect(page.getByTestId('queue-row')).toContainText('count(');
  await page.goto(hutch.url + '/history?status=failed');
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await expect(page.getByLabel('Status')).toHaveValue('failed');
  await page.goto(hutch.url);
  await expect(page.getByTestId('manager-state')).toHaveText('idle');
  await expect(page.getByTestId('items-in-queue')).toHaveText('1');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connecting');
  const missing = await page.goto(hutch.url + '/no/such/page');
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await context.close();
});

test('without the key a page goes to the login page, which takes the key', async ({ page }) => {
  await page.goto(hutch.url + '/queue');
  await expect(page).toHaveURL(/\/login\?next=\/queue$/);
  await page.getByLabel('API key').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong API key');
  await page.getByLabel('API key').fill(KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/queue$/);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  // Signing out in another tab: this one is told it is signed out, without a reload.
  const other = await page.context().newPage();
  await other.goto(hutch.url);
  await other.getByRole('button', { name: 'Sign out' }).click();
  await expect(other).toHaveURL(/\/login$/);
  await page.evaluate(() => ((window as any).__marker = 'no reload'));
  await hutch.down();
  await hutch.up();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'signed-out');
  expect(await page.evaluate(() => (window as any).__marker)).toBe('no reload');
});

test('the theme follows the system until the dashboard chooses, and the choice survives a reload', async ({ page }) => {
  const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(hutch.signIn());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const themeSwitch = page.getByTestId('theme-switch');
  await expect(themeSwitch).toHaveText('Theme: system');
  const systemDark = await background();
  await themeSwitch.click();
  await expect(themeSwitch).toHaveText('Theme: light');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  expect(await background()).toBe('rgb(245, 246, 248)');
  expect(systemDark).toBe('rgb(18, 21, 25)');
  await themeSwitch.click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  // The system turns light; the chosen dark stays, after a reload too.
  await page.emulateMedia({ colorScheme: 'light' });
  await page.reload();
  await expect(page.getByTestId('theme-switch')).toHaveText('Theme: dark');
  expect(await background()).toBe('rgb(18, 21, 25)');
  await page.screenshot({ path: test.info().outputPath('monitor-dark.png'), fullPage: true });
  await page.getByTestId('theme-switch').click();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);
  expect(await background()).toBe('rgb(245, 246, 248)');
});

test('on a 390 px phone no page is wider than the screen, and the running plan comes before the tiles', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (let i = 0; i < 3; i++) {
    await hutch.api('POST', '/api/queue/item/add', {
      item: { name: 'scan', args: [['det'], 'motor', -1, 1, 11], kwargs: { md: { sample: 'a long sample name' } }, item_type: 'plan' },
    });
  }
  for (const path of ['/', '/queue', '/history', '/console', '/datasets', '/applets']) {
    await page.goto(hutch.signIn(path));
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(390);
  }
  await page.goto(hutch.signIn('/'));
  const running = await page.getByRole('heading', { name: 'Running' }).boundingBox();
  const tiles = await page.getByTestId('manager-state').boundingBox();
  expect(running!.y).toBeLessThan(tiles!.y);
  await page.screenshot({ path: test.info().outputPath('phone-monitor.png'), fullPage: true });
  await page.goto(hutch.signIn('/queue'));
  await page.screenshot({ path: test.info().outputPath('phone-queue.png'), fullPage: true });
});
