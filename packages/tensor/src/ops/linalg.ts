import { record } from '../autograd.js';
import { tidy } from '../engine.js';
import { ShapeError } from '../errors.js';
import { broadcastShapes, formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, commonBackend, out, runKernel } from './core.js';
import { reshape } from './movement.js';
import { sumTo } from './reduce.js';

export interface MatmulOptions {
  /** Use aᵀ (the last two axes swapped), read in place. */
  transposeA?: boolean;
  /** Use bᵀ (the last two axes swapped), read in place. */
  transposeB?: boolean;
}

/**
 * Matrix product over the last two axes, batched over the leading ones (which broadcast).
 * A 1-D `a` is a row vector and a 1-D `b` a column vector; their axis is dropped from the result.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  assertFloat(op, a, b);
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      `needs tensors of rank ≥ 1, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
      op,
    );
  }
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  if (a.rank === 1 || b.rank === 1) {
    return tidy(() => {
      const a2 = a.rank === 1 ? reshape(a, transposeA ? [a.size, 1] : [1, a.size]) : a;
      const b2 = b.rank === 1 ? reshape(b, transposeB ? [1, b.size] : [b.size, 1]) : b;
      const y = matmul(a2, b2, options);
      const shape = [...y.shape];
      if (b.rank === 1) shape.pop();
      if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
      return reshape(y, shape);
    });
  }
  const [m, kA] = transposeA
    ? [a.shape[a.rank - 1]!, a.shape[a.rank - 2]!]
    : [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [kB, n] = transposeB
    ? [b.shape[b.rank - 1]!, b.shape[b.rank - 2]!]
    : [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (kA !== kB) {
    throw new ShapeError(
      `inner dimensions differ: ${formatShape(a.shape)}${transposeA ? 'ᵀ' : ''} × ${formatShape(b.shape)}${transposeB ? 'ᵀ' : ''} (${kA} vs ${kB})`,
      op,
    );
  }
  const batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const y = runKernel(
    op,
    commonBackend(op, [a, b]),
    'matmul',
    out(shape, 'float32'),
    (fn) => fn(a.view(op), b.view(op), transposeA, transposeB, out(shape, 'float32')),
    () => `${formatShape(a.shape)}${transposeA ? 'ᵀ' : ''} · ${formatShape(b.shape)}${transposeB ? 'ᵀ' : ''}`,
  );
  return record(
    op,
    [a, b],
    y,
    (dy, [a, b], needs) => {
      // C = op(A)·op(B): each gradient is another matmul with the flags rearranged, then summed over broadcast batch dims.
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (needs[0]) {
        da = transposeA
          ? matmul(b!, dy, { transposeA: transposeB, transposeB: true })
          : matmul(dy, b!, { transposeA: false, transposeB: !transposeB });
        da = sumTo(da, a!.shape);
      }
      if (needs[1]) {
        db = transposeB
          ? matmul(dy, a!, { transposeA: true, transposeB: transposeA })
          : matmul(a!, dy, { transposeA: !transposeA, transposeB: false });
        db = sumTo(db, b!.shape);
      }
      return [da, db];
    },
    [a, b],
  );
}
