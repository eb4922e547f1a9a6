// Browser benchmark (not a test): first paint of each page on localhost, and the bundle size.
// Run: HUTCH_SITE_DIR=target/site (release bundle) `cd end2end && npx playwright test -c bench.config.ts`
// It prints a table; docs/benchmarks.md records the figures. Nothing here asserts a time.
import { test } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Hutch } from '../tests/server';

test('first paint and bundle size', async ({ browser }) => {
  const hutch = await Hutch.start();
  try {
    for (let i = 0; i < 3; i++) {
      await hutch.api('POST', '/api/queue/item/add', {
        item: { name: 'count', args: [['det1']], kwargs: { num: 3 }, item_type: 'plan' },
      });
    }
    const site = process.env.HUTCH_SITE_DIR ?? resolve(__dirname, '..', '..', 'target', 'site');
    const wasm = readFileSync(join(site, 'pkg', 'hutch_bg.wasm'));
    const js = readFileSync(join(site, 'pkg', 'hutch.js'));
    console.log(`bundle: wasm ${(wasm.length / 1048576).toFixed(2)} MiB, gzip ${(gzipSync(wasm, { level: 9 }).length / 1048576).toFixed(3)} MiB; js gzip ${(gzipSync(js).length / 1024).toFixed(1)} KiB`);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(hutch.signIn('/'));
    await page.waitForLoadState('networkidle');
    console.log('page      first-contentful-paint ms (median of 7, warm)   hydrated ms');
    for (const path of ['/', '/queue', '/history', '/console']) {
      const fcp: number[] = [];
      const hyd: number[] = [];
      for (let i = 0; i < 7; i++) {
        await page.goto(hutch.url + path, { waitUntil: 'load' });
        await page.waitForSelector('[data-testid="connection"][data-state="connected"]');
        const t = await page.evaluate(() => {
          const p = performance.getEntriesByName('first-contentful-paint')[0];
          return { fcp: p ? p.startTime : -1, now: performance.now() };
        });
        fcp.push(t.fcp);
        hyd.push(t.now);
      }
      const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
      console.log(`${path.padEnd(10)}${med(fcp).toFixed(0).padStart(8)}${med(hyd).toFixed(0).padStart(44)}`);
    }
    await context.close();
  } finally {
    await hutch.stop();
  }
});
