/**
 * The backend in a real browser: test/browser/page.ts bundled for the browser, served from
 * localhost (cross-origin isolated, as the CPU backend's shared memory needs), run in Debian's
 * Chromium on its WebGPU adapter (SwiftShader) through playwright-core. Once with Chromium's default
 * flags and once with --enable-webgpu-developer-features, which fills in the adapter's description
 * (the setting under which the register matmul once hung SwiftShader). Without Chromium the tests
 * are skipped with a notice; in CI (CI=true) they fail.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, launchChromium } from '@sibert/browser-test';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageResult } from '../test/browser/page.js';

const missing = chromiumMissing(); // announced by test/webgpu-notice.ts when skipped
if (missing && process.env.CI === 'true') throw new Error(`the browser tests are required in CI: ${missing}`);
const available = missing === null;
const packageDir = fileURLToPath(new URL('..', import.meta.url));
/** Screenshots land here (ignored by git). */
const SCREENSHOTS = join(packageDir, '.browser-test');
const PAGE_TIMEOUT_MS = 240_000;

let server: Server;
let origin = '';

beforeAll(async () => {
  if (!available) return;
  const bundle = await build({
    entryPoints: [join(packageDir, 'test/browser/page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['source'],
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.contents;
  server = createServer((request, response) => {
    // Cross-origin isolation: SharedArrayBuffer for the CPU backend's heap.
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (request.url === '/page.js') {
      response.setHeader('Content-Type', 'text/javascript');
      response.end(script);
    } else {
      response.setHeader('Content-Type', 'text/html');
      response.end(
        '<!doctype html><meta charset="utf-8"><title>sibert</title><script type="module" src="/page.js"></script>',
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);

afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function runPage(name: string, flags: string[], layouts: string): Promise<PageResult> {
  const browser = await launchChromium(flags);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/?layouts=${layouts}`);
    await page.waitForFunction(() => 'sibertResult' in globalThis, undefined, { timeout: PAGE_TIMEOUT_MS });
    const result = (await page.evaluate('window.sibertResult')) as PageResult;
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 30_000 });
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser.close();
  }
}

function expectHealthy(result: PageResult): void {
  expect(result.error).toBeUndefined();
  const failed = result.checks.filter((c) => !c.ok).map((c) => `${c.layout} ${c.op}: ${c.maxError}`);
  expect(failed).toEqual([]);
  expect(result.checks.length).toBeGreaterThan(20);
  for (const run of result.training) {
    expect(run.losses.every(Number.isFinite), run.backend).toBe(true);
    expect(run.losses.at(-1)!, run.backend).toBeLessThan(run.losses[0]! * 0.9);
  }
}

describe.skipIf(!available)('WebGPU in Chromium (SwiftShader)', () => {
  it(
    'default flags: every matmul and row layout matches the CPU backend, and sibert-tiny trains',
    async () => {
      const result = await runPage('chromium-default', [], 'default,register,workgroup');
      expectHealthy(result);
      // SwiftShader is recognised from info.architecture even with an empty description.
      expect(result.adapter.kind).toBe('swiftshader');
      expect(result.defaults).toEqual({ matmulKernel: 'register', rowKernel: 'thread' });
      // Cross-origin isolated, yet the CPU backend keeps the main thread, which may not block, to itself.
      expect(result.crossOriginIsolated).toBe(true);
      expect(result.mainThreadCpuThreads).toBe(1);
    },
    PAGE_TIMEOUT_MS + 60_000,
  );

  it(
    '--enable-webgpu-developer-features: the same adapter described in full, and nothing hangs',
    async () => {
      const result = await runPage(
        'chromium-developer-features',
        ['--enable-webgpu-developer-features'],
        'default',
      );
      expectHealthy(result);
      expect(result.adapter.kind).toBe('swiftshader');
    },
    PAGE_TIMEOUT_MS + 60_000,
  );
});
