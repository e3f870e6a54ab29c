/**
 * The playground in a real browser: built from the packages' sources (scripts/build.mjs), served
 * cross-origin isolated (scripts/serve.mjs), driven through its form in Debian's Chromium by
 * playwright-core. CPU: train, pause and resume, download the model and the tokenizer, fine-tune,
 * classify. WebGPU (Chromium's SwiftShader), with default flags and with
 * --enable-webgpu-developer-features: a few steps whose loss falls. Screenshots land in
 * .browser-test/. Without Chromium the tests are skipped with a notice; in CI (CI=true) they fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, launchChromium } from '@sibert/browser-test';
import { decodeModel } from '@sibert/models';
import { BertTokenizer } from '@sibert/tokenizer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground } from '../scripts/build.mjs';
import { servePlayground } from '../scripts/serve.mjs';
import type { FinetuneResult, PretrainResult } from '../src/protocol.js';

const missing = chromiumMissing();
if (missing && process.env.CI === 'true') throw new Error(`the browser tests are required in CI: ${missing}`);
if (missing) process.stderr.write(`\n!!! playground browser tests SKIPPED: ${missing}\n\n`);
const appDir = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOTS = join(appDir, '.browser-test');
const RUN_TIMEOUT_MS = 240_000;

interface Shown {
  losses: number[];
  pretrain: PretrainResult | null;
  finetune: FinetuneResult | null;
}

let site = '';
let server: Awaited<ReturnType<typeof servePlayground>> | null = null;

beforeAll(async () => {
  if (missing) return;
  site = mkdtempSync(join(tmpdir(), 'sibert-playground-'));
  await buildPlayground({ outDir: site, sources: true });
  server = await servePlayground(site);
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

async function openPage(flags: string[] = []) {
  const browser = await launchChromium(flags);
  const page = await browser.newPage({ acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server!.origin}/`);
  return { browser, page, errors };
}

const shown = (page: Page) =>
  page.evaluate(() => (window as unknown as { sibertPlayground: Shown }).sibertPlayground);
const text = async (page: Page, selector: string) => (await page.textContent(selector))?.trim() ?? '';

/** Fills the pretraining form and starts it. */
async function startPretraining(
  page: Page,
  o: { backend: string; steps: number; batch: number; outputBias: string },
) {
  await page.selectOption('#model', 'sibert-tiny');
  await page.selectOption('#backend', o.backend);
  await page.fill('#steps', String(o.steps));
  await page.fill('#batch', String(o.batch));
  await page.selectOption('#output-bias', o.outputBias);
  await page.click('#train');
}

async function pretrained(page: Page): Promise<PretrainResult> {
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { sibertPlayground: Shown }).sibertPlayground;
      return s.pretrain !== null || document.getElementById('status')!.className === 'error';
    },
    undefined,
    { timeout: RUN_TIMEOUT_MS },
  );
  expect(await page.getAttribute('#status', 'class'), await text(page, '#status')).not.toBe('error');
  return (await shown(page)).pretrain!;
}

/** The mean loss of the last quarter of the steps is at least `by` nats below the first quarter's. */
function expectFalls(losses: number[], by: number): void {
  expect(losses.every(Number.isFinite)).toBe(true);
  const k = Math.max(1, Math.floor(losses.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(losses.slice(-k))).toBeLessThan(mean(losses.slice(0, k)) - by);
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, timeout: 30_000 });
}

describe.skipIf(missing !== null)('the playground in Chromium', () => {
  it(
    'CPU (Web Workers on shared memory): trains, pauses and resumes, downloads, fine-tunes and classifies',
    async () => {
      const { browser, page, errors } = await openPage();
      try {
        expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
        await startPretraining(page, { backend: 'cpu', steps: 40, batch: 8, outputBias: 'zero' });
        // Pause once training is under way: the step count holds still until Resume.
        await page.waitForFunction(
          () => /^([5-9]|\d\d)\//.test(document.getElementById('step')!.textContent!),
          undefined,
          {
            timeout: RUN_TIMEOUT_MS,
          },
        );
        await page.click('#pause');
        await page.waitForFunction(() =>
          document.getElementById('status')!.textContent!.startsWith('paused'),
        );
        const atPause = await text(page, '#step');
        expect(await text(page, '#status')).toBe(`paused after step ${atPause.split('/')[0]}`);
        await page.waitForTimeout(1500);
        expect(await text(page, '#step')).toBe(atPause);
        expect(await text(page, '#pause')).toBe('Resume');
        await page.click('#pause');
        const result = await pretrained(page);
        expect(result.status).toBe('done');
        expect(result.steps).toBe(40);
        expect(await text(page, '#step')).toBe('40/40');
        // The CPU backend's pool runs Web Workers inside the training worker.
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        const detail = await text(page, '#backend-detail');
        expect(detail).toContain(`"threads":${cores}`);
        expect(detail).toContain('wasm-shared-memory');
        const { losses } = await shown(page);
        expect(losses).toHaveLength(40);
        expectFalls(losses, 0.3);
        expect(Number(await text(page, '#loss'))).toBeCloseTo(losses.at(-1)!, 3);
        expect(Number(await text(page, '#held-out'))).toBeCloseTo(result.heldOutLoss, 3);
        expect(Number(await text(page, '#ms-per-step'))).toBeGreaterThan(0);
        expect(await page.locator('#plot polyline').count()).toBe(1);
        await screenshot(page, 'playground-cpu-pretrained');

        const [modelDownload] = await Promise.all([
          page.waitForEvent('download'),
          page.click('#download-model'),
        ]);
        expect(modelDownload.suggestedFilename()).toBe('model.safetensors');
        const checkpoint = decodeModel(readFileSync((await modelDownload.path())!), 'model.safetensors');
        expect(checkpoint.task).toBe('mlm');
        expect(checkpoint.config.family).toBe('sibert');
        const [tokenizerDownload] = await Promise.all([
          page.waitForEvent('download'),
          page.click('#download-tokenizer'),
        ]);
        const tokenizer = BertTokenizer.fromTokenizerJson(
          readFileSync((await tokenizerDownload.path())!, 'utf8'),
        );
        expect(tokenizer.vocabSize).toBe(checkpoint.config.vocabSize);

        await page.fill('#finetune-steps', '150');
        await page.click('#finetune');
        await page.waitForFunction(
          () =>
            (window as unknown as { sibertPlayground: Shown }).sibertPlayground.finetune !== null ||
            document.getElementById('status')!.className === 'error',
          undefined,
          { timeout: RUN_TIMEOUT_MS },
        );
        const finetune = (await shown(page)).finetune!;
        expect(finetune, await text(page, '#status')).not.toBeNull();
        expect(finetune.steps).toBe(150);
        expect(finetune.testAccuracy, JSON.stringify(finetune)).toBeGreaterThan(finetune.majorityAccuracy);
        expect(await text(page, '#test-accuracy')).toBe(`${(100 * finetune.testAccuracy).toFixed(1)}%`);
        await page.fill('#classify-text', 'Dear friend, claim your FREE prize money now!!! Click here');
        await page.click('#classify');
        await page.waitForSelector('#classified');
        expect(['ham', 'spam']).toContain(await text(page, '#classified'));
        await screenshot(page, 'playground-cpu-finetuned');
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    3 * RUN_TIMEOUT_MS,
  );

  for (const [name, flags] of [
    ['default flags', []],
    ['--enable-webgpu-developer-features', ['--enable-webgpu-developer-features']],
  ] as const) {
    it(
      `WebGPU (SwiftShader), ${name}: a few steps whose loss falls, shown in the page`,
      async () => {
        const { browser, page, errors } = await openPage([...flags]);
        try {
          await startPretraining(page, { backend: 'webgpu', steps: 8, batch: 4, outputBias: 'zero' });
          const result = await pretrained(page);
          expect(result.status).toBe('done');
          expect(await text(page, '#step')).toBe('8/8');
          expect(await text(page, '#backend-detail')).toContain('backend webgpu');
          const { losses } = await shown(page);
          expectFalls(losses, 0.1);
          expect(Number.isFinite(result.heldOutLoss)).toBe(true);
          await screenshot(
            page,
            `playground-webgpu-${flags.length === 0 ? 'default' : 'developer-features'}`,
          );
          expect(errors).toEqual([]);
        } finally {
          await browser.close();
        }
      },
      2 * RUN_TIMEOUT_MS,
    );
  }
});
