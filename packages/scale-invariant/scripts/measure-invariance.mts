/**
 * Measures how scale invariant (or k-homogeneous) each SI module is on each available backend: the
 * largest relative change of the output over c ∈ {1e-3, 1e-1, 10, 1e3}, and the gradient
 * orthogonality of a scale-invariant loss. Prints a Markdown table (the README quotes it).
 *
 *   cd packages/scale-invariant && npx tsx --conditions=source scripts/measure-invariance.mts
 *
 * WebGPU is measured when an adapter is found (the workspace's @sibert/backend-webgpu).
 */
import '@sibert/backend-cpu';
import { probeWebGpu } from '@sibert/backend-webgpu';
import { Linear } from '@sibert/nn';
import {
  crossEntropy,
  manualSeed,
  normal,
  registerBackend,
  setBackend,
  type Tensor,
  tensor,
  tidy,
} from '@sibert/tensor';
import {
  checkScaleInvariance,
  gradientOrthogonality,
  SIAttention,
  SIEmbedding,
  SIEncoder,
  SIEncoderLayer,
  SIFeedForward,
} from '../src/index.js';

const config = {
  vocabSize: 64,
  hidden: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  maxPositions: 16,
  dropout: 0.1,
  attentionDropout: 0.1,
};

async function measure(): Promise<string[]> {
  const ids = (v: number[][]) => tensor(v, undefined, 'int32');
  const inputIds = ids([
    [2, 7, 3, 9, 1, 40, 33, 12],
    [4, 4, 11, 60, 5, 0, 0, 0],
  ]);
  const attentionMask = ids([
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 0, 0, 0],
  ]);
  const x = (seed: number, std = 1): Tensor => normal([2, 8, 32], 0, std, { seed });
  manualSeed(1);
  const rows: [string, number][] = [];
  const attention = new SIAttention(32, 4);
  rows.push([
    'SIAttention (x; x+2), x = 0',
    (await checkScaleInvariance(attention, [x(2), attentionMask])).maxRelativeChange,
  ]);
  const ff = new SIFeedForward(32, 64);
  rows.push(['SIFeedForward (0; 2)', (await checkScaleInvariance(ff, [x(3)])).maxRelativeChange]);
  const layer = new SIEncoderLayer({ hidden: 32, numHeads: 4, intermediateSize: 64 });
  rows.push([
    'SIEncoderLayer (2; 2)',
    (await checkScaleInvariance(layer, [x(4, 0.02), attentionMask])).maxRelativeChange,
  ]);
  const embedding = new SIEmbedding(config);
  rows.push(['SIEmbedding (0; 2)', (await checkScaleInvariance(embedding, [inputIds])).maxRelativeChange]);
  const encoder = new SIEncoder(config);
  rows.push([
    'SIEncoder (0; 0)',
    (await checkScaleInvariance(encoder, [inputIds, { attentionMask }])).maxRelativeChange,
  ]);
  const head = new Linear(32, 64);
  const labels = ids([
    [1, 2, 3, 4, 5, 6, 7, 8],
    [9, 10, 11, 12, 13, -100, -100, -100],
  ]);
  encoder.eval();
  const orthogonality = await gradientOrthogonality(
    () => tidy(() => crossEntropy(head.forward(encoder.forward(inputIds, { attentionMask })), labels)),
    encoder.parameters(),
  );
  return [
    ...rows.map(([name, v]) => `${name}: ${v.toExponential(1)}`),
    `gradient orthogonality: ${orthogonality.toExponential(1)}`,
  ];
}

const columns: [string, string[]][] = [['cpu', await measure()]];
const probe = await probeWebGpu();
if (probe.available) {
  registerBackend('webgpu', () => probe.backend, 0);
  await setBackend('webgpu');
  const adapter = probe.backend.describe();
  columns.push([`webgpu (${String(adapter.vendor)} ${String(adapter.description)})`, await measure()]);
  probe.backend.dispose();
} else {
  process.stderr.write(`WebGPU not measured: ${probe.reason}\n`);
}

const names = columns[0]![1].map((line) => line.split(': ')[0]!);
process.stdout.write(
  `| check | ${columns.map(([b]) => b).join(' | ')} |\n|---|${columns.map(() => '---|').join('')}\n`,
);
names.forEach((name, i) => {
  process.stdout.write(`| ${name} | ${columns.map(([, lines]) => lines[i]!.split(': ')[1]).join(' | ')} |\n`);
});
