import { existsSync } from 'node:fs';

/** The Chromium the browser tests drive: Debian's, or SIBERT_CHROMIUM. */
export const CHROMIUM = process.env.SIBERT_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `no Chromium at ${CHROMIUM} (set SIBERT_CHROMIUM, or: sudo bash tools/setup-chromium.sh)`;
}
