import type { Browser } from 'playwright-core';

/** The Chromium the browser tests drive: Debian's, or SIBERT_CHROMIUM. */
export const CHROMIUM: string;
/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null;
/** Headless Chromium with WebGPU; `flags` are added to the standard ones. */
export function launchChromium(flags?: readonly string[]): Promise<Browser>;
