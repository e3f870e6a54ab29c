import { type MaskedLanguageModel, paramGroups } from '@sibert/models';
import { CombinedOptimizer, createOptimizer, type Optimizer } from '@sibert/optim';
import { getBackend, manualSeed, memory, resetPeakMemory } from '@sibert/tensor';
import { trainStep, uploadMlmBatch } from '@sibert/train';
import { selectOurBackend, syncOurs } from './backends.js';
import { benchModel, syntheticBatch } from './mlm-batch.js';
import { type Column, markdownTable, mebibytes, type Row, type SuiteOutput } from './report.js';
import { Progress } from './timing.js';

export const MEMORY_MODELS = ['sibert-mini', 'sibert-base', 'bert-base'] as const;
export type MemoryModel = (typeof MEMORY_MODELS)[number];
const OPTIMIZERS = ['sgd', 'sgd-momentum', 'adamw', 'lamb'] as const;
type OptimizerChoice = (typeof OPTIMIZERS)[number];

type Params = ReturnType<MaskedLanguageModel['namedParameters']>;

function optimizerFor(choice: OptimizerChoice, params: Params): Optimizer {
  switch (choice) {
    case 'sgd':
      return createOptimizer('sgd', params, { lr: 1e-3, weightDecay: 1e-2 });
    case 'sgd-momentum':
      return createOptimizer('sgd', params, { lr: 1e-3, weightDecay: 1e-2, momentum: 0.9 });
    case 'adamw':
      return createOptimizer('adamw', params, { lr: 1e-4, weightDecay: 1e-2 });
    case 'lamb':
      return createOptimizer('lamb', params, { lr: 1e-3, weightDecay: 1e-2 });
  }
}

/**
 * The optimizer of a row: for SIBERT the named one drives the scale-invariant encoder and the heads
 * keep LAMB (the paper's setup); for BERT the named one covers every parameter.
 */
function buildOptimizer(model: MaskedLanguageModel, choice: OptimizerChoice): Optimizer {
  if (model.config.family === 'bert') return optimizerFor(choice, model.namedParameters());
  const groups = paramGroups(model);
  return new CombinedOptimizer(
    [optimizerFor(choice, groups.scaleInvariant), optimizerFor('lamb', groups.other)],
    {
      cover: model.namedParameters(),
    },
  );
}

const bytesOf = (tensors: readonly { size: number }[]) => tensors.reduce((n, t) => n + t.size * 4, 0);

export interface MemoryOptions {
  models: MemoryModel[];
  /** Sequences per batch (the peak depends on it; parameters, gradients and state do not). */
  batchSize: number;
  backend: 'cpu' | 'webgpu';
  quick: boolean;
}

export async function memorySuite(options: MemoryOptions): Promise<SuiteOutput> {
  const adapter = await selectOurBackend(options.backend);
  const [seqLen, vocab] = options.quick ? [32, 2048] : [128, 8192];
  const batchSize = options.batchSize;
  const batch = syntheticBatch(batchSize, seqLen, vocab);
  const rows: Row[] = [];
  const progress = new Progress('memory', options.models.length * OPTIMIZERS.length);
  let done = 0;
  for (const name of options.models) {
    for (const choice of OPTIMIZERS) {
      progress.update(done++, `${name} with ${choice}`);
      // Count from what is live before the row, so that its figures are its own.
      const liveBefore = memory().numBytes;
      manualSeed(0);
      const model = benchModel(name, vocab);
      const optimizer = buildOptimizer(model, choice);
      const step = (afterBackward?: () => void) =>
        trainStep(
          optimizer,
          () => {
            const { inputs, targets } = uploadMlmBatch(batch, model.config);
            return { loss: model.forward(inputs, targets).loss };
          },
          afterBackward ? { afterBackward } : {},
        );
      let gradBytes = 0;
      await step(); // the first step allocates the optimizer's state
      // Each step runs to completion before the next (WebGPU records work and returns at once;
      // the pool is read when nothing is in flight).
      await syncOurs();
      resetPeakMemory();
      await step(() => {
        gradBytes = bytesOf(model.parameters().flatMap((p) => (p.grad ? [p.grad] : [])));
      });
      await syncOurs();
      rows.push({
        model: name,
        optimizer: model.config.family === 'sibert' ? `${choice} (heads: lamb)` : choice,
        paramBytes: bytesOf(model.parameters()),
        gradBytes,
        stateBytes: optimizer.stateBytes(),
        peakBytes: memory().peakBytes - liveBefore,
        pooledBytes: pooledBytes(),
      });
      optimizer.dispose();
      model.dispose();
    }
  }
  progress.done();
  const notes = [
    `${options.backend} backend; batch ${batchSize} × seq ${seqLen}, vocab ${vocab}, no dropout. paramBytes, gradBytes: float32 parameters and their gradients after backward; stateBytes: the optimizer's own report (stateBytes()); peakBytes: the most live tensor bytes during the second training step (memory().peakBytes: parameters, activations, gradients, state)`,
    "pooled: bytes the backend's buffer pool holds for reuse after the row's second step, on top of the live tensors; the rows share one pool in table order, so a row's figure includes buffers that earlier rows freed",
    'SIBERT rows: the named optimizer drives the scale-invariant encoder; the (non-SI) MLM head keeps LAMB as in the paper. BERT rows: the named optimizer covers every parameter',
  ];
  return { rows, notes, adapter, body: markdownTable(rows, MEMORY_COLUMNS), plots: [] };
}

const MEMORY_COLUMNS: Column[] = [
  { key: 'model', title: 'model' },
  { key: 'optimizer', title: 'optimizer' },
  { key: 'paramBytes', title: 'params MiB', format: mebibytes },
  { key: 'gradBytes', title: 'grads MiB', format: mebibytes },
  { key: 'stateBytes', title: 'optimizer state MiB', format: mebibytes },
  { key: 'peakBytes', title: 'peak MiB', format: mebibytes },
  { key: 'pooledBytes', title: 'pooled MiB', format: mebibytes },
];

/** What the current backend keeps pooled (both backends report `pooledBytes` in describe()). */
function pooledBytes(): number | null {
  const value = getBackend().describe?.().pooledBytes;
  return typeof value === 'number' ? value : null;
}
