import { test, expect } from '@playwright/test';
import { serveEach, curvePixels } from './server';

// A real bluesky RunEngine behind the dashboard: bluesky-queueserver's profile_collection_sim in
// the test venv's Python (`.ci/dev test` sets HUTCH_TEST_PYTHON and HUTCH_TEST_PROFILE).
const python = process.env.HUTCH_TEST_PYTHON;
const profile = process.env.HUTCH_TEST_PROFILE;
test.skip(!python || !profile, 'needs HUTCH_TEST_PYTHON and HUTCH_TEST_PROFILE (set by .ci/dev test)');

const hutch = serveEach(['--environment', 'bluesky', '--startup-dir', profile ?? '', '--python', python ?? '']);

test('a live plot fills in from a real RunEngine scan, and the form offers the profile\'s plans', async ({ page }, info) => {
  await hutch.api('POST', '/api/applets', {
    name: 'gauss',
    group: 'e2e',
    kind: 'line',
    spec: { latest_of_plan: 'scan', x: 'motor1', y: ['det1'] },
    auto_enable: true,
  });
  await page.goto(hutch.signIn('/applets') + '&dashboard=main');
  await expect(page.getByTestId('board-connection')).toHaveAttribute('data-state', 'connected');
  const canvas = page.locator('article.applet[data-applet="gauss"]').getByTestId('plot');
  await expect(canvas).toHaveAttribute('data-message', /waiting for a run of 'scan'/);

  const opened = await hutch.api('POST', '/api/environment/open');
  expect(opened.success, opened.msg).toBe(true);
  await expect
    .poll(async () => {
      const s = await hutch.api('GET', '/api/status');
      return s.worker_environment_exists && s.manager_state === 'idle';
    }, { timeout: 60_000 })
    .toBe(true);
  const started = await hutch.api('POST', '/api/queue/item/execute', {
    item: { name: 'scan', args: [['det1'], 'motor1', -2, 2, 41], item_type: 'plan' },
  });
  expect(started.success, started.msg).toBe(true);
  await expect(canvas).toHaveAttribute('data-events', '41', { timeout: 30_000 });
  await expect(canvas).not.toHaveAttribute('data-message', /./);
  // The gaussian of det1 is drawn in the first series colour (0, 114, 178).
  expect(await curvePixels(canvas)).toBeGreaterThan(200);
  await page.locator('article.applet[data-applet="gauss"]').screenshot({ path: info.outputPath('bluesky-live-plot.png') });
  await info.attach('live plot from a real RunEngine', { path: info.outputPath('bluesky-live-plot.png'), contentType: 'image/png' });

  // The Queue page's plan form lists the profile's own plans (not hutch's simulated ones).
  await page.goto(hutch.signIn('/queue'));
  await expect(page.locator('select#plan-name')).toContainText('plan_test_progress_bars');
  // And the Monitor says which environment runs.
  await page.goto(hutch.signIn('/'));
  await expect(page.getByTestId('environment-kind')).toContainText('bluesky: profile_collection_sim');
  await page.screenshot({ path: info.outputPath('bluesky-monitor.png') });
});
