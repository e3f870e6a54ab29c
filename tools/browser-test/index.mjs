// What the browser tests and the playground's timing script share (never published): Debian's
// Chromium driven by playwright-core with WebGPU on (Chromium's SwiftShader) and the flags a root
// CI box needs. Plain JavaScript (types in index.d.ts), so scripts run it with `node` as well.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** The Chromium the browser tests drive: Debian's, or SIBERT_CHROMIUM. */
export const CHROMIUM = process.env.SIBERT_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing() {
  return existsSync(CHROMIUM)
    ? null
    : `no Chromium at ${CHROMIUM} (set SIBERT_CHROMIUM, or: sudo bash tools/setup-chromium.sh)`;
}

/** Headless Chromium with WebGPU; `flags` are added to the standard ones. */
export function launchChromium(flags = []) {
  // launch() starts from a fresh temporary profile of its own (the --user-data-dir the guide asks for).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-gpu-sandbox',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...flags,
    ],
  });
}
