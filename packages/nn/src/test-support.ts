import type { Tensor } from '@sibert/tensor';
import type { Module } from './module.js';

/**
 * Runs `fn` with some parameters of `module` (by dotted path) replaced by other tensors, then puts the
 * originals back. gradcheck perturbs its own copies of its inputs; this routes them into a layer.
 */
export function withParameters<T>(module: Module, replacements: Record<string, Tensor>, fn: () => T): T {
  const restore: (() => void)[] = [];
  for (const [path, value] of Object.entries(replacements)) {
    const parts = path.split('.');
    const field = parts.pop()!;
    let owner: Record<string, unknown> = module as unknown as Record<string, unknown>;
    for (const part of parts) owner = owner[part] as Record<string, unknown>;
    const before = owner[field];
    if (before === undefined) throw new Error(`withParameters: no parameter '${path}'`);
    owner[field] = value;
    restore.push(() => {
      owner[field] = before;
    });
  }
  try {
    return fn();
  } finally {
    for (const undo of restore) undo();
  }
}

/** Row-major float64 copy of a tensor's values. */
export function values(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** The largest |a − b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
