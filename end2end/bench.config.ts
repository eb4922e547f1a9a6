import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `npx playwright test -c bench.config.ts`: the browser benchmarks in bench/ (see docs/benchmarks.md).
export default defineConfig({ ...base, testDir: './bench', reporter: [['list']], use: { ...base.use, screenshot: 'off' } });
