// Browser benchmark (not a test) of live plots: frame rate at 1 000 events/s into a 4-applet page,
// redraw time of a 1 000 000-point run, and memory. Run with the release bundle:
//   .ci/dev build-site --release && cargo build -p hutch-server && (cd end2end && npx playwright test -c bench.config.ts plots)
// It prints the figures; docs/benchmarks.md records them. Nothing here asserts a time.
import { test, Page } from '@playwright/test';
import { Hutch } from '../tests/server';

test.setTimeout(600_000);

function publisher(hutch: Hutch, plan: string, fields: string[]) {
  const uid = `bench-${plan}-${Date.now()}`;
  const desc = `${uid}-d`;
  const post = (docs: unknown[]) =>
    fetch(`${hutch.url}/api/documents`, {
      method: 'POST',
      headers: { Authorization: 'ApiKey e2e-test-key', 'Content-Type': 'application/json' },
      body: JSON.stringify(docs),
    }).then(async (r) => {
      if (!r.ok) throw new Error(`publish: ${r.status} ${await r.text()}`);
    });
  let seq = 0;
  return {
    uid,
    start: () =>
      post([
        ['start', { uid, time: Date.now() / 1000, plan_name: plan, scan_id: 1 }],
        ['descriptor', {
          uid: desc, run_start: uid, name: 'primary', time: Date.now() / 1000,
          data_keys: Object.fromEntries(fields.map((f) => [f, { dtype: 'number', shape: [], source: 'bench', units: 'counts' }])),
        }],
      ]),
    page: (n: number) => {
      const seqs = Array.from({ length: n }, () => ++seq);
      const data = Object.fromEntries(fields.map((f, k) => [f, seqs.map((s) => Math.sin(s / (50 + 10 * k)) + Math.random() * 0.1)]));
      return post([['event_page', { descriptor: desc, uid: seqs.map((s) => `${uid}-${s}`), seq_num: seqs, time: seqs.map(() => Date.now() / 1000), data, timestamps: Object.fromEntries(fields.map((f) => [f, seqs.map(() => 0)])) }]]);
    },
    stop: () => post([['stop', { uid: `${uid}-stop`, run_start: uid, time: Date.now() / 1000, exit_status: 'success', num_events: { primary: seq } }]]),
  };
}

async function stats(page: Page) {
  return page.evaluate(() => {
    const s = (window as any).hutchPlots ?? { ms: [], draws: 0 };
    const ms = [...s.ms].sort((a: number, b: number) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN;
    const heap = (performance as any).memory?.usedJSHeapSize ?? NaN;
    return { draws: s.draws, median: q(0.5), p95: q(0.95), max: ms[ms.length - 1], wasmMiB: s.wasmBytes / 1048576, jsHeapMiB: heap / 1048576 };
  });
}

/** Frames per second the page renders over `ms`, the longest gap, and gaps over 50 ms. */
function measureFrames(page: Page, ms: number) {
  return page.evaluate(
    (ms) =>
      new Promise<{ fps: number; longest: number; over50: number }>((resolve) => {
        let n = 0, last = performance.now(), longest = 0, over50 = 0;
        const t0 = last;
        const tick = (t: number) => {
          n++;
          longest = Math.max(longest, t - last);
          if (t - last > 50) over50++;
          last = t;
          if (t - t0 < ms) requestAnimationFrame(tick);
          else resolve({ fps: (n * 1000) / (t - t0), longest, over50 });
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${Number.isFinite(v) ? +v.toFixed(2) : v}`).join(', ');

test('1 000 events/s into a 4-applet page', async ({ page }) => {
  const hutch = await Hutch.start();
  try {
    const fields = ['a', 'b', 'c'];
    const specs = [
      { kind: 'line', spec: { latest_of_plan: 'bench', y: ['a'] } },
      { kind: 'line', spec: { latest_of_plan: 'bench', y: ['b', 'c'] } },
      { kind: 'scatter', spec: { latest_of_plan: 'bench', x: 'a', y: 'b' } },
      { kind: 'histogram', spec: { latest_of_plan: 'bench', field: 'c', bins: 100 } },
    ];
    for (const [i, s] of specs.entries()) {
      await hutch.api('POST', '/api/applets', { name: `bench ${i}`, group: 'bench', auto_enable: true, ...s });
    }
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.goto(hutch.signIn('/applets') + '&dashboard=bench');
    await page.getByTestId('board-connection').and(page.locator('[data-state=connected]')).waitFor();
    const idle = await measureFrames(page, 3_000);
    const pub = publisher(hutch, 'bench', fields);
    await pub.start();
    await page.locator('canvas[data-events]').first().waitFor();
    // Publish 20 events every 20 ms (1 000/s) for 20 s; count frames over the middle 10 s.
    let stop = false;
    const publishing = (async () => {
      let next = Date.now();
      while (!stop) {
        await pub.page(20);
        next += 20;
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
    })();
    await page.waitForTimeout(5_000);
    const before = await stats(page);
    let cdp: any;
    if (process.env.HUTCH_PROFILE) {
      cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    if (process.env.HUTCH_TRACE) await page.context().browser()!.startTracing(page, { categories: ['devtools.timeline'] });
    const frames = await measureFrames(page, 10_000);
    if (process.env.HUTCH_TRACE) {
      const trace = JSON.parse((await page.context().browser()!.stopTracing()).toString());
      const sums = new Map<string, number>();
      for (const e of trace.traceEvents) if (e.ph === 'X' && e.dur) sums.set(e.name, (sums.get(e.name) ?? 0) + e.dur / 1000);
      console.log([...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `${v.toFixed(0)} ms ${k}`).join('\n'));
    }
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      const self = new Map<string, number>();
      const dt = profile.timeDeltas as number[];
      const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
      profile.samples.forEach((id: number, i: number) => {
        const f = byId.get(id).callFrame;
        const k = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}`;
        self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0) / 1000);
      });
      console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0)} ms ${k}`).join('\n'));
    }
    const after = await stats(page);
    const events = await page.locator('canvas[data-events]').first().getAttribute('data-events');
    // Control: the same load on a page without plots (the Monitor), to tell the plots' cost
    // from the machine's (publisher, server and browser share 2 cores).
    await page.goto(`${hutch.url}/`);
    await page.getByTestId('connection').and(page.locator('[data-state=connected]')).waitFor();
    const control = await measureFrames(page, 5_000);
    stop = true;
    await publishing;
    console.log(`Monitor page (no plots) under the same load: ${fmt(control)}`);
    console.log(`idle page: ${fmt(idle)}`);
    console.log(`4 applets at 1 000 events/s: ${fmt(frames)}; draws in 10 s ${after.draws - before.draws}; draw ms ${fmt({ median: after.median, p95: after.p95, max: after.max })}; events drawn ${events}; wasm heap ${after.wasmMiB.toFixed(1)} MiB, JS heap ${after.jsHeapMiB.toFixed(1)} MiB`);
  } finally {
    await hutch.stop();
  }
});

test('a 1 000 000-point run redraws after decimation; memory stays bounded', async ({ page }) => {
  const hutch = await Hutch.start();
  try {
    await hutch.api('POST', '/api/applets', { name: 'million', group: 'bench', kind: 'line', auto_enable: true, spec: { latest_of_plan: 'million', y: ['a'] } });
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.goto(hutch.signIn('/applets') + '&dashboard=million');
    await page.getByTestId('board-connection').and(page.locator('[data-state=connected]')).waitFor();
    const canvas = page.locator('canvas[data-testid=plot]');
    for (const round of [1, 2]) {
      const pub = publisher(hutch, 'million', ['a']);
      const t0 = Date.now();
      await pub.start();
      for (let i = 0; i < 100; i++) await pub.page(10_000);
      await pub.stop();
      const stored = Date.now() - t0;
      await page.waitForFunction(() => document.querySelector('canvas[data-testid=plot]')?.getAttribute('data-events') === '1000000', null, { timeout: 300_000 });
      const arrived = Date.now() - t0;
      // Redraw the whole run 40 times: zoom in and back out (each a full decimation + draw).
      const tools = page.locator('article.applet');
      const drawsBefore = (await stats(page)).draws;
      await page.evaluate(() => ((window as any).hutchPlots.ms.length = 0));
      for (let i = 0; i < 20; i++) {
        await tools.getByLabel('Zoom from x').fill(String(1000 * i));
        await tools.getByLabel('Zoom to x').fill(String(500_000 + 1000 * i));
        await tools.getByRole('button', { name: 'Zoom' }).click();
        await tools.getByRole('button', { name: 'Auto-scale' }).click();
      }
      await page.waitForFunction((n) => (window as any).hutchPlots.draws >= n + 40, drawsBefore);
      const s = await stats(page);
      const points = await canvas.getAttribute('data-points');
      console.log(`1 000 000-point run #${round}: stored in ${stored} ms, in the tab after ${arrived} ms; redraw ms ${fmt({ median: s.median, p95: s.p95, max: s.max })} (${points} points drawn after decimation); wasm heap ${s.wasmMiB.toFixed(1)} MiB, JS heap ${s.jsHeapMiB.toFixed(1)} MiB`);
    }
  } finally {
    await hutch.stop();
  }
});
