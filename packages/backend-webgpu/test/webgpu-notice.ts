import { probeWebGpu } from '../src/probe.js';
import { skipNotice } from '../src/testing.js';

/**
 * Vitest global setup: probes WebGPU once per run so a missing adapter is announced by one loud
 * line (outside CI; in CI the test files fail instead, see openTestBackend).
 */
export default async function setup(): Promise<void> {
  const probe = await probeWebGpu();
  if (probe.available) {
    probe.backend.dispose();
    return;
  }
  if (process.env.CI !== 'true') process.stderr.write(`\n${skipNotice(probe.reason)}\n\n`);
}
