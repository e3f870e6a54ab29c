import { type MaskedLanguageModel, paramGroups } from '@sibert/models';
import { CombinedOptimizer, createOptimizer, type Optimizer } from '@sibert/optim';
import { getBackend, manualSeed, memory, resetPeakMemory } from '@sibert/tensor';
import { trainStep, uploadMlmBatch } from '@sibert/train';
import { selectOurBackend, syncOurs } from './backends.js';
import { benchModel, syntheticBatch } from './mlm-batch.js';

/**
 * One row of the memory suite, in a process of its own so that its peak RSS is its own: builds the
 * model and optimizer, takes two training steps on a synthetic batch and prints one JSON line.
 * Started by memory.ts as `node memory-row.js '<RowSpec as JSON>'`; memory.ts imports its types only.
 */

export type OptimizerChoice = 'sgd' | 'adamw' | 'lamb';

export interface RowSpec {
  model: string;
  backend: 'cpu' | 'webgpu';
  /** The optimizer of everything (BERT) or of the scale-invariant encoder (SIBERT). */
  optimizer: OptimizerChoice;
  /** SIBERT only: the optimizer of the heads (the paper: LAMB). */
  headOptimizer: OptimizerChoice | null;
  updateInBackward: boolean;
  batchSize: number;
  seqLen: number;
  vocabSize: number;
}

export interface RowResult {
  paramBytes: number;
  /** Gradient bytes left when backward returns (none when the update runs inside it). */
  gradBytes: number;
  stateBytes: number;
  /** The most live tensor bytes during the second step (this process holds nothing else). */
  peakBytes: number;
  pooledBytes: number | null;
  /** The process's peak resident set (model, data, both steps, the backend's pools and runtime). */
  maxRssBytes: number;
}

type Params = ReturnType<MaskedLanguageModel['namedParameters']>;

function optimizerFor(choice: OptimizerChoice, params: Params): Optimizer {
  switch (choice) {
    case 'sgd':
      return createOptimizer('sgd', params, { lr: 1e-3, weightDecay: 1e-2 });
    case 'adamw':
      return createOptimizer('adamw', params, { lr: 1e-4, weightDecay: 1e-2 });
    case 'lamb':
      return createOptimizer('lamb', params, { lr: 1e-3, weightDecay: 1e-2 });
  }
}

function buildOptimizer(model: MaskedLanguageModel, spec: RowSpec): Optimizer {
  if (spec.headOptimizer === null) return optimizerFor(spec.optimizer, model.namedParameters());
  const groups = paramGroups(model);
  return new CombinedOptimizer(
    [optimizerFor(spec.optimizer, groups.scaleInvariant), optimizerFor(spec.headOptimizer, groups.other)],
    { cover: model.namedParameters() },
  );
}

const bytesOf = (tensors: readonly { size: number }[]) => tensors.reduce((n, t) => n + t.size * 4, 0);

async function measureRow(spec: RowSpec): Promise<RowResult> {
  await selectOurBackend(spec.backend);
  const batch = syntheticBatch(spec.batchSize, spec.seqLen, spec.vocabSize);
  manualSeed(0);
  const model = benchModel(spec.model, spec.vocabSize);
  const optimizer = buildOptimizer(model, spec);
  const step = (afterBackward?: () => void) =>
    trainStep(
      optimizer,
      () => {
        const { inputs, targets } = uploadMlmBatch(batch, model.config);
        return { loss: model.forward(inputs, targets).loss };
      },
      { updateInBackward: spec.updateInBackward, ...(afterBackward ? { afterBackward } : {}) },
    );
  let gradBytes = 0;
  await step(); // the first step allocates the optimizer's state
  // WebGPU records work and returns at once: the peak is read when nothing is in flight
  await syncOurs();
  resetPeakMemory();
  await step(() => {
    gradBytes = bytesOf(model.parameters().flatMap((p) => (p.grad ? [p.grad] : [])));
  });
  await syncOurs();
  const pooled = getBackend().describe?.().pooledBytes;
  return {
    paramBytes: bytesOf(model.parameters()),
    gradBytes,
    stateBytes: optimizer.stateBytes(),
    peakBytes: memory().peakBytes,
    pooledBytes: typeof pooled === 'number' ? pooled : null,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

const result = await measureRow(JSON.parse(process.argv[2] ?? 'null') as RowSpec);
process.stdout.write(`${JSON.stringify(result)}\n`);
getBackend().dispose();
