import { chromiumMissing } from '@sibert/browser-test';
import { probeWebGpu } from '../src/probe.js';
import { skipNotice } from '../src/testing.js';

/**
 * Vitest global setup: probes WebGPU and looks for Chromium once per run so that what is missing is
 * announced by one loud line (outside CI; in CI the test files fail instead, see openTestBackend
 * and browser.test.ts).
 */
export default async function setup(): Promise<void> {
  const chromium = chromiumMissing();
  if (chromium && process.env.CI !== 'true')
    process.stderr.write(`\n!!! browser tests SKIPPED: ${chromium}\n\n`);
  const probe = await probeWebGpu();
  if (probe.available) {
    probe.backend.dispose();
    return;
  }
  if (process.env.CI !== 'true') process.stderr.write(`\n${skipNotice(probe.reason)}\n\n`);
}
