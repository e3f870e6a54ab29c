import '@sibert/backend-cpu';
import { MaskedLanguageModel, presetConfig } from '@sibert/models';
import {
  getRngState,
  manualSeed,
  registerBackend,
  setBackend,
  setRngState,
  type Tensor,
  tensor,
  tidy,
} from '@sibert/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestBackend } from './testing.js';

const backend = await openTestBackend();
if (backend) registerBackend('webgpu', () => backend, 0);
afterAll(() => backend?.dispose());

/**
 * Gradient tolerance of the parity check: |g_gpu − g_cpu| ≤ 1e-4 + 1e-3·|g_cpu|. Both sides run in
 * float32 but sum in different orders (tiled matmuls and tree reductions on the GPU), and WGSL does
 * not pin exp/erf precision, so individual gradient entries differ by a few ulps of their largest
 * contributions; the loss agrees to 1e-4 relative.
 */
const GRAD_TOLERANCE = { atol: 1e-4, rtol: 1e-3 };

/** One training step's loss and gradients, dropout on, from a fixed RNG state. */
async function step(model: MaskedLanguageModel, rng: ReturnType<typeof getRngState>) {
  setRngState(rng);
  const ids = Int32Array.of(2, 11, 12, 13, 14, 15, 16, 3, 2, 21, 22, 23, 3, 0, 0, 0);
  const mask = Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0);
  const { loss } = tidy(() =>
    model.forward(
      { inputIds: tensor(ids, [2, 8], 'int32'), attentionMask: tensor(mask, [2, 8], 'int32') },
      {
        positions: tensor(Int32Array.of(1, 4, 10), [3], 'int32'),
        labels: tensor(Int32Array.of(30, 31, 32), [3], 'int32'),
      },
    ),
  );
  loss.backward();
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) {
    if (p.grad) grads.set(name, (await p.grad.data()) as Float32Array);
  }
  const value = await loss.itemAsync();
  loss.dispose();
  model.zeroGrad();
  return { loss: value, grads };
}

describe.skipIf(!backend)('CPU and WebGPU run the same seeded training step', () => {
  for (const family of ['sibert', 'bert'] as const) {
    it(`${family}: 2 layers, dropout on — same loss and every parameter gradient`, async () => {
      const config = presetConfig(`${family}-tiny`, 40, {
        numLayers: 2,
        hiddenSize: 32,
        numHeads: 2,
        intermediateSize: 64,
        maxPositions: 16,
        hiddenDropout: 0.1,
        attentionDropout: 0.1,
      });
      await setBackend('cpu');
      manualSeed(11);
      const cpuModel = new MaskedLanguageModel(config);
      const rng = getRngState();
      const cpu = await step(cpuModel, rng);

      await setBackend('webgpu');
      const gpuModel = new MaskedLanguageModel(config);
      gpuModel.loadStateDict(cpuModel.stateDict() as Map<string, Tensor>); // copies the CPU weights over
      const gpu = await step(gpuModel, rng);
      await setBackend('cpu');

      expect(Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-4);
      expect([...gpu.grads.keys()]).toEqual([...cpu.grads.keys()]);
      for (const [name, expected] of cpu.grads) {
        const actual = gpu.grads.get(name)!;
        for (let i = 0; i < expected.length; i++) {
          const bound = GRAD_TOLERANCE.atol + GRAD_TOLERANCE.rtol * Math.abs(expected[i]!);
          if (!(Math.abs(actual[i]! - expected[i]!) <= bound)) {
            expect.fail(`${family} ${name}[${i}]: webgpu ${actual[i]}, cpu ${expected[i]} (bound ${bound})`);
          }
        }
      }
      for (const model of [cpuModel, gpuModel]) for (const p of model.parameters()) p.dispose();
    });
  }
});
