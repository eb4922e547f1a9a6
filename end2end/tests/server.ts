// Starts the real `hutch` binary on a free loopback port with a fresh data directory, and stops
// or restarts it on demand. Readiness is awaited by polling /api/status with a deadline.
import { test } from '@playwright/test';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..');
const bin = process.env.HUTCH_BIN ?? join(repo, 'target', 'debug', 'hutch');
export const KEY = 'e2e-test-key';
const siteDir = process.env.HUTCH_SITE_DIR ?? join(repo, 'target', 'site');

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export class Hutch {
  private child?: ChildProcess;
  private log = '';

  private constructor(readonly port: number, readonly dataDir: string, readonly extra: string[]) {}

  /** `extra`: more `hutch serve` flags, e.g. ['--auth', 'multi']. */
  static async start(extra: string[] = []): Promise<Hutch> {
    const h = new Hutch(await freePort(), mkdtempSync(join(tmpdir(), 'hutch-e2e-')), extra);
    await h.up();
    return h;
  }

  /** Runs a `hutch` command on this server's data directory (e.g. `user add`), with `input` on stdin. */
  command(args: string[], input = ''): string {
    const r = spawnSync(bin, [...args, '--data-dir', this.dataDir, ...this.extra], {
      input,
      env: { ...process.env, HUTCH_CONFIG: '/dev/null' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`hutch ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The sign-in link hutch prints at start: sets the key cookie, then shows the page. */
  signIn(path = '/'): string {
    return `${this.url}${path}?api_key=${KEY}`;
  }

  async up(): Promise<void> {
    const child = spawn(bin, ['serve', '--bind', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--site-dir', siteDir, ...this.extra], {
      env: { ...process.env, HUTCH_CONFIG: '/dev/null', HUTCH_API_KEY: KEY, RUST_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => (this.log += d));
    child.stderr?.on('data', (d) => (this.log += d));
    this.child = child;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`hutch exited early (${child.exitCode}):\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/api/status`, { headers: { Authorization: `ApiKey ${KEY}` } });
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`hutch did not answer within 20 s:\n${this.log}`);
  }

  /** Stops the server with SIGTERM and waits for the process to exit. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Calls the API with the key; returns the JSON reply. */
  async api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `ApiKey ${KEY}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return r.json();
  }

  output(): string {
    return this.log;
  }
}

/**
 * A fresh server for every test of the file: started before each test, stopped after it (its log
 * printed when the test failed). Returns a stand-in that forwards to the current server.
 */
export function serveEach(extra: string[] = []): Hutch {
  let current: Hutch | undefined;
  test.beforeEach(async () => {
    current = await Hutch.start(extra);
  });
  test.afterEach(async ({}, info) => {
    await current?.stop();
    if (info.status !== 'passed') console.log(current?.output());
  });
  return new Proxy({} as Hutch, {
    get(_, key) {
      if (!current) throw new Error('the server is only there inside a test');
      const value = (current as any)[key];
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** Pixels of a plot canvas in the first series colour (0, 114, 178): how much curve is drawn. */
export async function curvePixels(canvas: import('@playwright/test').Locator): Promise<number> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 0) < 40 && Math.abs(d[i + 1] - 114) < 40 && Math.abs(d[i + 2] - 178) < 40) n++;
    return n;
  });
}
