import '@sibert/backend-cpu';
import {
  DisposedError,
  manualSeed,
  memory,
  mul,
  normal,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { ReLU } from './activation.js';
import { Dropout } from './dropout.js';
import * as init from './init.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { Module, StateDictError } from './module.js';
import { Parameter } from './parameter.js';
import { maxAbsDiff, values } from './test-support.js';

class Block extends Module<[Tensor]> {
  dense: Linear;
  activation = new ReLU();
  norm = new LayerNorm(4);
  constructor(inFeatures = 3) {
    super();
    this.dense = new Linear(inFeatures, 4);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.norm.forward(this.activation.forward(this.dense.forward(x))));
  }
}

class Net extends Module<[Tensor]> {
  layers = [new Block(3), new Block(4)];
  head = new Linear(4, 2, { bias: false });
  dropout = new Dropout(0.5);
  forward(x: Tensor): Tensor {
    return tidy(() =>
      this.head.forward(this.dropout.forward(this.layers[1]!.forward(this.layers[0]!.forward(x)))),
    );
  }
}

describe('Module', () => {
  it('names parameters by dotted path, in field order, arrays as numbered children', () => {
    manualSeed(1);
    const net = new Net();
    expect(net.namedParameters().map(([name]) => name)).toEqual([
      'layers.0.dense.weight',
      'layers.0.dense.bias',
      'layers.0.norm.weight',
      'layers.0.norm.bias',
      'layers.1.dense.weight',
      'layers.1.dense.bias',
      'layers.1.norm.weight',
      'layers.1.norm.bias',
      'head.weight',
    ]);
    expect(net.numParameters()).toBe(12 + 16 + 2 * (4 + 4 + 4) + 8);
    expect(net.eval().forward(normal([5, 3], 0, 1, { seed: 1 })).shape).toEqual([5, 2]);
    expect(net.namedModules().map(([name]) => name)).toEqual([
      '',
      'layers.0',
      'layers.0.dense',
      'layers.0.activation',
      'layers.0.norm',
      'layers.1',
      'layers.1.dense',
      'layers.1.activation',
      'layers.1.norm',
      'head',
      'dropout',
    ]);
    expect(net.parameters().every((p) => p.requiresGrad && p instanceof Parameter)).toBe(true);
    expect(net.layers[0]!.dense.weight.name).toBe('weight');
  });

  it('lists a shared parameter once, under its first path', () => {
    const a = new Linear(2, 2, { bias: false });
    const b = new Linear(2, 2, { bias: false });
    b.weight = a.weight;
    class Tied extends Module<[Tensor]> {
      first = a;
      second = b;
      forward(x: Tensor): Tensor {
        return this.second.forward(this.first.forward(x));
      }
    }
    expect(new Tied().namedParameters().map(([n]) => n)).toEqual(['first.weight']);
  });

  it('switches train/eval mode recursively', () => {
    const net = new Net();
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.dropout.training && net.layers[1]!.norm.training).toBe(true);
  });

  it('zeroGrad frees and clears gradients', () => {
    manualSeed(2);
    const layer = new Linear(3, 2);
    const loss = sum(layer.forward(normal([4, 3], 0, 1, { seed: 3 })));
    loss.backward();
    expect(layer.weight.grad?.shape).toEqual([2, 3]);
    const grad = layer.weight.grad!;
    layer.zeroGrad();
    expect(layer.weight.grad).toBeNull();
    expect(grad.isDisposed).toBe(true);
  });

  it('round-trips a state dict: a differently seeded copy computes the same outputs', () => {
    manualSeed(4);
    const source = new Block();
    manualSeed(5);
    const target = new Block();
    const x = normal([2, 3], 0, 1, { seed: 6 });
    expect(maxAbsDiff(values(source.forward(x)), values(target.forward(x)))).toBeGreaterThan(1e-3);
    const state = source.stateDict();
    expect([...state.keys()]).toEqual(['dense.weight', 'dense.bias', 'norm.weight', 'norm.bias']);
    const result = target.loadStateDict(state);
    expect(result).toEqual({ missing: [], unexpected: [] });
    expect(maxAbsDiff(values(source.forward(x)), values(target.forward(x)))).toBe(0);
    // loading shares storage; a later assign to the source does not change the target
    source.dense.weight.assign(tensor(new Float32Array(12), [4, 3]));
    expect(maxAbsDiff(values(target.dense.weight), values(source.dense.weight))).toBeGreaterThan(0);
  });

  it('lists every missing, unexpected and mis-shaped entry in one error', () => {
    const block = new Block();
    const state: Record<string, Tensor> = {
      'dense.weight': tensor(new Float32Array(12), [3, 4]),
      'norm.weight': tensor(new Float32Array(4), [4]),
      'norm.bias': tensor(new Float32Array(4), [4]),
      'extra.weight': tensor([1]),
    };
    let error: unknown;
    try {
      block.loadStateDict(state);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const e = error as StateDictError;
    expect(e.missing).toEqual(['dense.bias']);
    expect(e.unexpected).toEqual(['extra.weight']);
    expect(e.mismatched).toEqual(['dense.weight expected float32 [4, 3], got float32 [3, 4]']);
    expect(e.message).toContain('loadStateDict');
    expect(e.message).toContain('missing 1: dense.bias');
    expect(e.message).toContain('unexpected 1: extra.weight');
    expect(e.message).toContain('dense.weight expected float32 [4, 3], got float32 [3, 4]');
  });

  it('loads partially with strict: false and reports what it skipped', () => {
    const block = new Block();
    const weight = tensor(new Float32Array(4).fill(3), [4]);
    const result = block.loadStateDict({ 'norm.weight': weight, other: tensor([1]) }, { strict: false });
    expect(result.missing).toEqual(['dense.weight', 'dense.bias', 'norm.bias']);
    expect(result.unexpected).toEqual(['other']);
    expect(Array.from(block.norm.weight!.dataSync())).toEqual([3, 3, 3, 3]);
    expect(() => block.loadStateDict({ 'norm.bias': tensor([1, 2]) }, { strict: false })).toThrow(
      StateDictError,
    );
  });

  it('moves parameters to a backend by replacing them, fields included', () => {
    manualSeed(7);
    const block = new Block();
    const before = block.dense.weight;
    const snapshot = values(before);
    block.to('cpu');
    expect(block.dense.weight).not.toBe(before);
    expect(before.isDisposed).toBe(true);
    expect(block.dense.weight.requiresGrad).toBe(true);
    expect(values(block.dense.weight)).toEqual(snapshot);
    expect(block.parameters()).toContain(block.dense.weight);
  });

  it('parameters survive tidy and do not leak the tensor they were made from', () => {
    const live = memory().numTensors;
    const p = tidy(() => new Parameter(normal([3], 0, 1, { seed: 1 }), 'w'));
    expect(p.isDisposed).toBe(false);
    expect(memory().numTensors).toBe(live + 1);
    p.dispose();
    expect(memory().numTensors).toBe(live);
  });

  it('dispose frees every parameter, gradient and buffer of the tree, once; forward then fails by name', () => {
    class Scaled extends Module<[Tensor]> {
      block = new Block();
      scale = tensor([2]); // a buffer: a tensor field that is not a parameter
      forward(x: Tensor): Tensor {
        return tidy(() => mul(this.block.forward(x), this.scale));
      }
    }
    const live = memory();
    manualSeed(8);
    const net = new Scaled();
    const x = normal([2, 3], 0, 1, { seed: 9 });
    const loss = tidy(() => sum(net.forward(x)));
    loss.backward();
    loss.dispose();
    const block = net.block;
    expect(block.dense.weight.grad).not.toBeNull();
    net.dispose();
    expect(net.parameters().every((p) => p.isDisposed && p.grad === null)).toBe(true);
    expect(net.scale.isDisposed).toBe(true);
    x.dispose();
    expect(memory().numTensors).toBe(live.numTensors);
    expect(memory().numBytes).toBe(live.numBytes);
    net.dispose();
    expect(memory().numTensors).toBe(live.numTensors);
    expect(() => net.forward(x)).toThrow(DisposedError);
    expect(() => block.dense.forward(x)).toThrow('Linear: this module was disposed and cannot run forward');
  });
});

describe('init', () => {
  it('truncated normal is seeded and within mean ± 2·std', () => {
    manualSeed(11);
    const a = values(init.truncatedNormal(0.02)([64, 64]));
    manualSeed(11);
    const b = values(init.truncatedNormal(0.02)([64, 64]));
    expect(a).toEqual(b);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-7);
    const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.02);
  });

  it('normal, uniform, zeros and ones have the asked-for statistics', () => {
    manualSeed(12);
    const n = values(init.normal(2, 1)([4096]));
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.1);
    const u = values(init.uniform(-3, -1)([1000]));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(-1);
    expect(Array.from(values(init.zeros()([3])))).toEqual([0, 0, 0]);
    expect(Array.from(values(init.ones()([2])))).toEqual([1, 1]);
  });

  it('xavierUniform uses fan-in (last axis) and fan-out', () => {
    manualSeed(13);
    const w = values(init.xavierUniform()([30, 20]));
    const bound = Math.sqrt(6 / 50);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(() => init.xavierUniform()([5])).toThrow(/rank >= 2/);
  });
});
