/// <reference lib="dom" />
/**
 * The browser check's page (bundled by src/browser.test.ts, run in Chromium on navigator.gpu):
 * every matmul and row-kernel layout against the CPU backend in the same page, then a few training
 * steps of sibert-tiny on WebGPU and on the CPU. The result goes to `window.sibertResult` and into
 * the page as a table (for the screenshot). `?layouts=default,register,workgroup` picks layouts.
 */
import { CpuBackend } from '@sibert/backend-cpu';
import { MaskedLanguageModel, maskedTargetsFromLabels, presetConfig } from '@sibert/models';
import { AdamW } from '@sibert/optim';
import {
  layerNorm,
  logSoftmax,
  manualSeed,
  matmul,
  registerBackend,
  setBackend,
  softmax,
  type Tensor,
  tensor,
} from '@sibert/tensor';
import { adapterKind, WebGpuBackend, type WebGpuBackendOptions } from '../../src/index.js';
import { sampleValues } from '../../src/sample-values.js';

interface Check {
  layout: string;
  op: string;
  maxError: number;
  ok: boolean;
}

interface Training {
  backend: string;
  losses: number[];
  /** Wall time per step after the first (which compiles the shaders), loss read back each step. */
  msPerStep: number;
}

export interface PageResult {
  adapter: { vendor: string; architecture: string; device: string; description: string; kind: string };
  defaults: Record<string, unknown>;
  checks: Check[];
  training: Training[];
  /** The CPU backend's default thread count on the page's main thread, which may not block: 1. */
  mainThreadCpuThreads?: number;
  crossOriginIsolated?: boolean;
  error?: string;
}

const LAYOUTS: Record<string, WebGpuBackendOptions> = {
  default: {},
  register: { matmulKernel: 'register', rowKernel: 'thread' },
  workgroup: { matmulKernel: 'workgroup', rowKernel: 'workgroup' },
};
// A read that hangs (the failure this page exists to catch) becomes an error well inside the test's bound.
const READ_TIMEOUT_MS = 60_000;
const TOLERANCE = 1e-4;

type Case = { op: string; inputs: [Float32Array, number[]][]; run: (xs: Tensor[]) => Tensor };

/** Every matmul kernel variant (transposes, K below and above the dot kernel's 512, N % 4 ≠ 0, batches) and the row kernels. */
function cases(): Case[] {
  const list: Case[] = [];
  let seed = 1;
  const input = (shape: number[]): [Float32Array, number[]] => [
    sampleValues(
      shape.reduce((a, b) => a * b, 1),
      seed++,
      -1,
      1,
    ),
    shape,
  ];
  for (const [M, K, N] of [
    [16, 128, 128],
    [16, 128, 130],
    [9, 5, 7],
    [16, 512, 64],
  ] as const) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        list.push({
          op: `matmul ${M}×${K}×${N}${transposeA ? ' Aᵀ' : ''}${transposeB ? ' Bᵀ' : ''}`,
          inputs: [input(transposeA ? [K, M] : [M, K]), input(transposeB ? [N, K] : [K, N])],
          run: ([a, b]) => matmul(a!, b!, { transposeA, transposeB }),
        });
      }
    }
  }
  list.push({
    op: 'matmul batched 4×32×64 · (4×32×64)ᵀ',
    inputs: [input([4, 32, 64]), input([4, 32, 64])],
    run: ([a, b]) => matmul(a!, b!, { transposeB: true }),
  });
  for (const shape of [
    [37, 130],
    [64, 128],
  ]) {
    list.push({ op: `softmax ${shape.join('×')}`, inputs: [input(shape)], run: ([x]) => softmax(x!) });
    list.push({ op: `logSoftmax ${shape.join('×')}`, inputs: [input(shape)], run: ([x]) => logSoftmax(x!) });
    list.push({ op: `layerNorm ${shape.join('×')}`, inputs: [input(shape)], run: ([x]) => layerNorm(x!) });
  }
  return list;
}

async function evaluate(backend: string, c: Case): Promise<Float32Array> {
  await setBackend(backend);
  const xs = c.inputs.map(([data, shape]) => tensor(data, shape));
  const y = c.run(xs);
  const out = (await y.data()) as Float32Array;
  for (const t of [...xs, y]) t.dispose();
  return out;
}

/** A few AdamW steps of sibert-tiny's MLM on one fixed batch: the loss must fall on every backend. */
async function train(backend: string): Promise<Training> {
  await setBackend(backend);
  manualSeed(3);
  const vocab = 64;
  const model = new MaskedLanguageModel(
    presetConfig('sibert-tiny', vocab, { hiddenDropout: 0, attentionDropout: 0 }),
  );
  const optimizer = new AdamW(model.parameters(), { lr: 3e-3 });
  const seqLen = 32;
  const batch = 4;
  const ids = Int32Array.from({ length: batch * seqLen }, (_, i) => 5 + ((i * 7) % (vocab - 5)));
  const labels = Int32Array.from(ids, (id, i) => (i % 6 === 1 ? id : -100));
  const masked = Int32Array.from(ids, (id, i) => (i % 6 === 1 ? 4 : id));
  const targets = maskedTargetsFromLabels(labels);
  const losses: number[] = [];
  let start = 0;
  const steps = 8;
  for (let step = 0; step < steps; step++) {
    // The first step compiles every shader; the time per step is of the warm ones.
    if (step === 1) start = performance.now();
    const inputIds = tensor(masked, [batch, seqLen], 'int32');
    const positions = tensor(targets.positions, [targets.positions.length], 'int32');
    const wanted = tensor(targets.labels, [targets.labels.length], 'int32');
    const { loss, accuracy } = model.forward({ inputIds }, { positions, labels: wanted });
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(await loss.itemAsync());
    for (const t of [inputIds, positions, wanted, loss, accuracy]) t.dispose();
  }
  const msPerStep = (performance.now() - start) / (steps - 1);
  optimizer.dispose();
  model.dispose();
  return { backend, losses, msPerStep };
}

function show(result: PageResult): void {
  const rows = result.checks
    .map(
      (c) =>
        `<tr><td>${c.layout}</td><td>${c.op}</td><td>${c.maxError.toExponential(2)}</td><td>${c.ok ? 'ok' : 'FAIL'}</td></tr>`,
    )
    .join('');
  const training = result.training
    .map(
      (t) =>
        `<li>${t.backend}: loss ${t.losses[0]!.toFixed(3)} → ${t.losses.at(-1)!.toFixed(3)}, ${t.msPerStep.toFixed(0)} ms/step</li>`,
    )
    .join('');
  document.body.innerHTML = `<h1>@sibert/backend-webgpu in Chromium</h1>
<p>adapter: ${JSON.stringify(result.adapter)}; defaults: ${JSON.stringify(result.defaults)}</p>
${result.error ? `<p id="error">${result.error}</p>` : ''}<ul>${training}</ul>
<table><tr><th>layout</th><th>op</th><th>max error</th><th></th></tr>${rows}</table>`;
}

/** Filled in as the checks run, so that a failure still shows what passed before it. */
const result: PageResult = {
  adapter: { vendor: '', architecture: '', device: '', description: '', kind: '' },
  defaults: {},
  checks: [],
  training: [],
};

async function main(): Promise<void> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
  const { vendor, architecture, device, description } = adapter.info;
  result.adapter = { vendor, architecture, device, description, kind: adapterKind(adapter.info) };
  const cpu = new CpuBackend({ threads: 1 });
  registerBackend('cpu-reference', () => cpu, 0);
  const byDefault = new CpuBackend();
  result.mainThreadCpuThreads = byDefault.threads;
  result.crossOriginIsolated = crossOriginIsolated;
  byDefault.dispose();
  const layouts = (new URLSearchParams(location.search).get('layouts') ?? 'default').split(',');
  for (const layout of layouts) {
    const backend = await WebGpuBackend.create({ ...LAYOUTS[layout], readTimeoutMs: READ_TIMEOUT_MS });
    registerBackend(`webgpu-${layout}`, () => backend, 0);
    if (layout === 'default') {
      const { matmulKernel, rowKernel } = backend.describe();
      result.defaults = { matmulKernel, rowKernel };
    }
    for (const c of cases()) {
      const want = await evaluate('cpu-reference', c);
      const got = await evaluate(`webgpu-${layout}`, c);
      let maxError = 0;
      let scale = 1;
      for (let i = 0; i < want.length; i++) {
        maxError = Math.max(maxError, Math.abs(got[i]! - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      if (got.length !== want.length) maxError = Number.POSITIVE_INFINITY;
      result.checks.push({ layout, op: c.op, maxError, ok: maxError <= TOLERANCE * scale });
      show(result);
    }
  }
  result.training.push(await train(`webgpu-${layouts[0]}`));
  result.training.push(await train('cpu-reference'));
}

const target = window as unknown as { sibertResult?: PageResult };
main()
  .catch((error: Error) => {
    result.error = `${error.name}: ${error.message}`;
  })
  .finally(() => {
    show(result);
    target.sibertResult = result;
  });
