#!/usr/bin/env node
// Times training steps in the page: builds the playground, serves it, drives it in Debian's
// Chromium (playwright-core) and prints ms/step and tokens/s per backend, the first step
// (compilation, JIT) excluded. Speed only: nothing here is a test.
//   node scripts/time-steps.mjs [--backends cpu,webgpu] [--steps 30] [--batch 16] [--model sibert-tiny]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '@sibert/browser-test';
import { buildPlayground } from './build.mjs';
import { servePlayground } from './serve.mjs';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'cpu,webgpu' },
    steps: { type: 'string', default: '30' },
    batch: { type: 'string', default: '16' },
    model: { type: 'string', default: 'sibert-tiny' },
  },
});
const site = mkdtempSync(join(tmpdir(), 'sibert-playground-'));
await buildPlayground({ outDir: site });
const server = await servePlayground(site);
const rows = [];
try {
  for (const backend of values.backends.split(',')) {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/`);
      await page.selectOption('#model', values.model);
      await page.selectOption('#backend', backend);
      await page.fill('#steps', values.steps);
      await page.fill('#batch', values.batch);
      await page.click('#train');
      await page.waitForFunction(
        () =>
          window.sibertPlayground.pretrain !== null ||
          document.getElementById('status').className === 'error',
        undefined,
        { timeout: 600_000, polling: 500 },
      );
      const status = await page.textContent('#status');
      const result = await page.evaluate(() => window.sibertPlayground.pretrain);
      if (!result) throw new Error(`${backend}: ${status}`);
      rows.push({
        backend,
        detail: await page.textContent('#backend-detail'),
        msPerStep: result.msPerStep,
        tokensPerSec: Number(await page.textContent('#tokens-per-sec')),
      });
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
  rmSync(site, { recursive: true, force: true });
}
console.log(
  `| backend (in the page) | ms/step | tokens/s | ${values.model}, batch ${values.batch} × 64 tokens, ${values.steps} steps |`,
);
console.log('| --- | --- | --- | --- |');
for (const r of rows)
  console.log(`| ${r.backend} | ${r.msPerStep.toFixed(0)} | ${r.tokensPerSec.toFixed(0)} | ${r.detail} |`);
