import { describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  coordsOf,
  expectClose,
  inBothStorages,
  indexOf,
  randomView,
  rt,
  seeded,
  sizeOfShape,
  view,
} from '../test-support.js';
import { broadcastTo, concat, gather, oneHot, pad, scatterAdd, slice, transpose } from './movement.js';

/** Builds out[i] = f(coords of i) over `shape`. */
function tabulate(shape: number[], f: (coords: number[]) => number): number[] {
  return Array.from({ length: sizeOfShape(shape) }, (_, i) => f(coordsOf(i, shape)));
}

inBothStorages(() => {
  describe('transpose', () => {
    const random = seeded(31);
    const cases: [number[], number[]][] = [
      [
        [3, 5],
        [1, 0],
      ],
      [
        [17, 33],
        [1, 0],
      ],
      [
        [2, 3, 4],
        [0, 2, 1],
      ],
      [
        [2, 3, 4],
        [2, 0, 1],
      ],
      [
        [2, 3, 4, 5],
        [0, 2, 1, 3],
      ],
      [
        [2, 1, 4, 3, 5],
        [4, 2, 0, 3, 1],
      ],
      [
        [3, 0, 2],
        [2, 1, 0],
      ],
      [[5], [0]],
    ];
    for (const [shape, perm] of cases) {
      for (const dtype of ['float32', 'int32'] as const) {
        it(`permutes [${shape}] by [${perm}] (${dtype})`, () => {
          const x = randomView(shape, random, dtype, 100);
          const outShape = perm.map((p) => shape[p]!);
          const expected = tabulate(outShape, (c) => {
            const src = new Array<number>(shape.length);
            perm.forEach((p, i) => {
              src[p] = c[i]!;
            });
            return x.handle[indexOf(src, shape)]!;
          });
          const out = transpose(rt, x, perm, { shape: outShape, dtype });
          expect(out).toBeInstanceOf(dtype === 'float32' ? Float32Array : Int32Array);
          expect(Array.from(out)).toEqual(expected);
        });
      }
    }
  });

  describe('broadcastTo', () => {
    const random = seeded(32);
    for (const [from, to] of [
      [[], [2, 3]],
      [[3], [4, 3]],
      [
        [4, 1],
        [4, 70],
      ],
      [
        [1, 3, 1],
        [2, 2, 3, 5],
      ],
      [
        [2, 1, 1, 3, 1],
        [2, 3, 4, 3, 2],
      ],
      [[1], [0, 2]],
    ] as [number[], number[]][]) {
      it(`materialises [${from}] as [${to}]`, () => {
        const x = randomView(from, random);
        const out = broadcastTo(rt, x, { shape: to, dtype: 'float32' });
        expectClose(out, Float32Array.from(tabulate(to, (c) => x.handle[broadcastIndex(c, from)]!)), 0, 0);
      });
    }
  });

  describe('slice', () => {
    const random = seeded(33);
    for (const [shape, begin, size] of [
      [[10], [3], [5]],
      [
        [4, 100],
        [1, 10],
        [2, 80],
      ],
      [
        [3, 4, 5],
        [0, 1, 2],
        [3, 2, 3],
      ],
      [
        [2, 3, 4, 5, 6],
        [1, 0, 1, 2, 3],
        [1, 3, 2, 2, 3],
      ],
      [
        [3, 4],
        [1, 2],
        [0, 2],
      ],
      [
        [3, 4],
        [0, 0],
        [3, 4],
      ],
    ] as [number[], number[], number[]][]) {
      it(`takes [${size}] from [${shape}] at [${begin}]`, () => {
        const x = randomView(shape, random);
        const out = slice(rt, x, begin, { shape: size, dtype: 'float32' });
        const expected = tabulate(
          size,
          (c) =>
            x.handle[
              indexOf(
                c.map((v, d) => v + begin[d]!),
                shape,
              )
            ]!,
        );
        expectClose(out, Float32Array.from(expected), 0, 0);
        expect(out).not.toBe(x.handle);
      });
    }
  });

  describe('concat', () => {
    const random = seeded(34);
    for (const [shapes, axis] of [
      [[[2], [3], [0], [1]], 0],
      [
        [
          [2, 3],
          [4, 3],
        ],
        0,
      ],
      [
        [
          [2, 3],
          [2, 70],
          [2, 1],
        ],
        1,
      ],
      [
        [
          [2, 3, 4],
          [2, 1, 4],
          [2, 0, 4],
        ],
        1,
      ],
      [
        [
          [2, 3, 1, 2, 3],
          [2, 3, 1, 2, 2],
        ],
        4,
      ],
    ] as [number[][], number][]) {
      it(`joins ${shapes.map((s) => `[${s}]`).join(' ')} along ${axis}`, () => {
        const xs = shapes.map((s) => randomView(s, random));
        const outShape = [...shapes[0]!];
        outShape[axis] = shapes.reduce((sum, s) => sum + s[axis]!, 0);
        const expected = tabulate(outShape, (c) => {
          let at = c[axis]!;
          for (const x of xs) {
            if (at < x.shape[axis]!) {
              const local = [...c];
              local[axis] = at;
              return x.handle[indexOf(local, x.shape)]!;
            }
            at -= x.shape[axis]!;
          }
          throw new Error('unreachable');
        });
        expectClose(
          concat(rt, xs, axis, { shape: outShape, dtype: 'float32' }),
          Float32Array.from(expected),
          0,
          0,
        );
      });
    }

    it('joins int32 tensors', () => {
      const out = concat(rt, [view(Int32Array.of(1, 2), [2, 1]), view(Int32Array.of(3, 4), [2, 1])], 1, {
        shape: [2, 2],
        dtype: 'int32',
      });
      expect(Array.from(out)).toEqual([1, 3, 2, 4]);
    });
  });

  describe('pad', () => {
    const random = seeded(35);
    for (const [shape, paddings, value] of [
      [[3], [[2, 1]], 0],
      [
        [2, 3],
        [
          [1, 0],
          [0, 2],
        ],
        -1.5,
      ],
      [
        [2, 3, 4],
        [
          [0, 0],
          [1, 1],
          [3, 0],
        ],
        7,
      ],
      [
        [1, 2, 1, 2, 1],
        [
          [1, 0],
          [0, 1],
          [1, 1],
          [0, 0],
          [2, 0],
        ],
        0,
      ],
      [
        [0, 2],
        [
          [1, 1],
          [1, 0],
        ],
        9,
      ],
    ] as [number[], [number, number][], number][]) {
      it(`pads [${shape}] by ${JSON.stringify(paddings)} with ${value}`, () => {
        const x = randomView(shape, random);
        const outShape = shape.map((s, d) => s + paddings[d]![0] + paddings[d]![1]);
        const expected = tabulate(outShape, (c) => {
          const src = c.map((v, d) => v - paddings[d]![0]);
          return src.every((v, d) => v >= 0 && v < shape[d]!) ? x.handle[indexOf(src, shape)]! : value;
        });
        expectClose(
          pad(rt, x, paddings, value, { shape: outShape, dtype: 'float32' }),
          Float32Array.from(expected),
          0,
          0,
        );
      });
    }
  });

  describe('gather and scatterAdd', () => {
    const random = seeded(36);
    for (const [shape, axis, indexShape] of [
      [[10], 0, [4]],
      [[7, 70], 0, [2, 3]],
      [[3, 5, 4], 1, [6]],
      [[2, 5, 3, 2], 1, [2, 2]],
      [[2, 3, 4, 5, 2], 3, [3]],
      [[3, 4], 1, [0]],
      [[3, 4], 0, []],
    ] as [number[], number, number[]][]) {
      it(`gathers [${shape}] along ${axis} with indices [${indexShape}], and scatters back`, () => {
        const x = randomView(shape, random);
        const extent = shape[axis]!;
        // Repeated indices: scatterAdd must accumulate them.
        const indices = view(
          Int32Array.from({ length: sizeOfShape(indexShape) }, (_, i) => (i * 3) % extent),
          indexShape,
        );
        const outShape = [...shape.slice(0, axis), ...indexShape, ...shape.slice(axis + 1)];
        const r = indexShape.length;
        const gathered = tabulate(outShape, (c) => {
          const j = indexOf(c.slice(axis, axis + r), indexShape);
          const src = [...c.slice(0, axis), (indices.handle as Int32Array)[j]!, ...c.slice(axis + r)];
          return x.handle[indexOf(src, shape)]!;
        });
        const out = gather(rt, x, indices, axis, { shape: outShape, dtype: 'float32' });
        expectClose(out, Float32Array.from(gathered), 0, 0);

        const updates = randomView(outShape, random);
        const scattered = new Array<number>(sizeOfShape(shape)).fill(0);
        for (let i = 0; i < updates.handle.length; i++) {
          const c = coordsOf(i, outShape);
          const j = indexOf(c.slice(axis, axis + r), indexShape);
          const dst = [...c.slice(0, axis), (indices.handle as Int32Array)[j]!, ...c.slice(axis + r)];
          scattered[indexOf(dst, shape)]! += updates.handle[i]!;
        }
        expectClose(
          scatterAdd(rt, updates, indices, axis, { shape, dtype: 'float32' }),
          scattered,
          1e-6,
          1e-6,
        );
      });
    }

    it('gathers and scatters int32', () => {
      const x = view(Int32Array.of(10, 20, 30), [3]);
      const indices = view(Int32Array.of(2, 2, 0), [3]);
      expect(Array.from(gather(rt, x, indices, 0, { shape: [3], dtype: 'int32' }))).toEqual([30, 30, 10]);
      expect(Array.from(scatterAdd(rt, x, indices, 0, { shape: [3], dtype: 'int32' }))).toEqual([30, 0, 30]);
    });
  });

  describe('oneHot', () => {
    it('sets one cell per index and leaves out-of-range rows zero', () => {
      const indices = view(Int32Array.of(0, 3, -1, 4, 2, 1), [2, 3]);
      const out = oneHot(rt, indices, 4, { shape: [2, 3, 4], dtype: 'float32' });
      expect(out).toBeInstanceOf(Float32Array);
      expect(Array.from(out)).toEqual([
        ...[1, 0, 0, 0],
        ...[0, 0, 0, 1],
        ...[0, 0, 0, 0],
        ...[0, 0, 0, 0],
        ...[0, 0, 1, 0],
        ...[0, 1, 0, 0],
      ]);
    });
  });
});
