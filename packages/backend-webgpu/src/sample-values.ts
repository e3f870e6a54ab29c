// Kept apart from test-support.ts (which needs vitest) so the browser check's page can use it too.

/** Deterministic test inputs in [low, high) (a 32-bit LCG, independent of the backend under test). */
export function sampleValues(count: number, seed: number, low = -3, high = 3): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = low + ((high - low) * state) / 4294967296;
  }
  return values;
}
