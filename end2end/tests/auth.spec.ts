import { test, expect } from '@playwright/test';
import { serveEach } from './server';

// Multi-user mode: an account made with the CLI signs in through the login page.
const hutch = serveEach(['--auth', 'multi']);

test.beforeEach(() => {
  hutch.command(['user', 'add', 'ann', '--role', 'observer'], 'correct-horse\n');
});

test('a user signs in with a password, watches, and signs out', async ({ page }) => {
  await page.goto(hutch.url + '/history');
  await expect(page).toHaveURL(/\/login\?next=\/history$/);
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong user name or password');
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill('correct-horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/history$/);
  await page.goto(hutch.url);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('manager-state')).toHaveText('idle');
  await page.screenshot({ path: test.info().outputPath('signed-in.png'), fullPage: true });
  // An observer's browser cannot change the queue, even with the page's own token.
  const refused = await page.evaluate(async () => {
    const csrf = document.cookie.split('; ').find((c) => c.startsWith('hutch_csrf='))?.split('=')[1] ?? '';
    const r = await fetch('/api/queue/item/add', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': csrf },
      body: JSON.stringify({ item: { name: 'count', args: [['det1']], item_type: 'plan' } }),
    });
    return r.status;
  });
  expect(refused).toBe(403);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(hutch.url);
  await expect(page).toHaveURL(/\/login\?next=%2F$|\/login\?next=\/$/);
});
