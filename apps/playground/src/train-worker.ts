/**
 * The page's training worker: sets up the backend (WebGPU on `navigator.gpu`, or the CPU backend,
 * whose thread pool may block here, as it may not on the page's main thread), pretrains SIBERT
 * on batches it takes from the data worker through a port, pauses and resumes between steps,
 * fine-tunes a classifier from the pretrained encoder and classifies text. One worker per run.
 */
import { CpuBackend } from '@sibert/backend-cpu';
import { WebGpuBackend } from '@sibert/backend-webgpu';
import {
  BatchIterator,
  type ClassificationBatch,
  encodeExamples,
  type MlmBatch,
  selectRows,
} from '@sibert/data';
import {
  checkpointTensors,
  encodeModel,
  initOutputBias,
  loadWeights,
  MaskedLanguageModel,
  paramGroups,
  presetConfig,
  SequenceClassifier,
} from '@sibert/models';
import { AdamW, CombinedOptimizer, LAMB, linearWarmupDecay, piecewiseSchedule, SGD } from '@sibert/optim';
import { getBackend, manualSeed, noGrad, registerBackend, setBackend, softmax, tidy } from '@sibert/tensor';
import { BertTokenizer } from '@sibert/tokenizer';
import {
  Prefetcher,
  type TrainCallback,
  trainLoop,
  trainStep,
  uploadClassificationBatch,
  uploadMlmBatch,
} from '@sibert/train';
import { exposeToParent, transfer } from '@sibert/workers';
import * as Comlink from 'comlink';
import type { BatchApi } from './data-worker.js';
import type {
  BackendChoice,
  Classified,
  FinetuneResult,
  FinetuneSpec,
  LabelledSample,
  PreparedData,
  PretrainResult,
  PretrainSpec,
  TrainEvent,
} from './protocol.js';

/** A read that never completes (a GPU hang) becomes an error, well inside any test's bound. */
const READ_TIMEOUT_MS = 60_000;

let mlm: MaskedLanguageModel | null = null;
let tokenizer: BertTokenizer | null = null;
let classifier: { model: SequenceClassifier; labelNames: string[]; maxLength: number } | null = null;
/** Pause, resume and stop requests from the page, seen by the loop between steps. */
const control = {
  paused: false,
  /** Resolves the page's pause() once the loop holds still (with the steps done). */
  onPaused: null as ((step: number) => void) | null,
  resume: null as (() => void) | null,
  stop: { requested: null as string | null },
};

/** A new loop starts unpaused and unstopped; a pause asked after the last step resolves. */
function resetControl(step: number): void {
  control.onPaused?.(step);
  control.onPaused = null;
  control.paused = false;
  control.stop.requested = null;
}

async function useBackend(choice: BackendChoice, say: (event: TrainEvent) => void): Promise<void> {
  if (choice === 'webgpu')
    registerBackend('webgpu', () => WebGpuBackend.create({ readTimeoutMs: READ_TIMEOUT_MS }));
  else registerBackend('cpu', () => new CpuBackend());
  await setBackend(choice);
  const backend = getBackend() as unknown as { describe?: () => unknown };
  say({ kind: 'backend', name: choice, detail: JSON.stringify(backend.describe?.() ?? {}) });
}

/** Waits while the page has paused training, after `step`. */
async function whilePaused(step: number): Promise<void> {
  if (!control.paused) return;
  control.onPaused?.(step);
  control.onPaused = null;
  while (control.paused) await new Promise<void>((resolve) => (control.resume = resolve));
}

/** Step timing, the first step (shader compilation, JIT warm-up) left out. */
class StepClock {
  private seconds = 0;
  private tokens = 0;
  private steps = 0;

  add(step: number, seconds: number, tokens: number): void {
    if (step === 1) return;
    this.seconds += seconds;
    this.tokens += tokens;
    this.steps++;
  }

  get msPerStep(): number {
    return this.steps === 0 ? Number.NaN : (1000 * this.seconds) / this.steps;
  }

  get tokensPerSec(): number {
    return this.seconds === 0 ? Number.NaN : this.tokens / this.seconds;
  }
}

/** Times each step, tells the page, and holds still while it has paused training. */
function stepReporter<B extends { attentionMask: Int32Array }>(
  phase: 'pretrain' | 'finetune',
  steps: number,
  clock: StepClock,
  onEvent: (event: TrainEvent) => void,
): TrainCallback<B> {
  return {
    async onStepEnd({ step, batch, result, seconds }) {
      clock.add(
        step,
        seconds,
        batch.attentionMask.reduce((n, m) => n + m, 0),
      );
      onEvent({
        kind: 'step',
        phase,
        step,
        steps,
        loss: result.loss,
        msPerStep: clock.msPerStep,
        tokensPerSec: clock.tokensPerSec,
      });
      await whilePaused(step);
    },
  };
}

/** The mean MLM loss over the held-out masked positions, in eval mode. */
async function heldOutLoss(model: MaskedLanguageModel, batches: MlmBatch[]): Promise<number> {
  model.eval();
  let total = 0;
  let count = 0;
  try {
    for (const batch of batches) {
      const loss = noGrad(() =>
        tidy(() => {
          const { inputs, targets } = uploadMlmBatch(batch, model.config);
          return model.forward(inputs, targets).loss;
        }),
      );
      total += (await loss.itemAsync()) * batch.maskedPositions.length;
      count += batch.maskedPositions.length;
      loss.dispose();
    }
  } finally {
    model.train();
  }
  return total / count;
}

const api = {
  /**
   * Pretrains `spec.model` with the short recipe of `sibert-train demo`: the encoder by SGD with
   * √C = 1 relative clipping (normalised SGD), the heads by LAMB, the output bias at the unigram
   * prior (unless `spec.outputBias` is 'zero'), no dropout. Batches come from the data worker over `dataPort`.
   */
  async pretrain(
    spec: PretrainSpec,
    data: PreparedData,
    dataPort: MessagePort,
    onEvent: (event: TrainEvent) => void,
  ): Promise<PretrainResult> {
    await useBackend(spec.backend, onEvent);
    tokenizer = BertTokenizer.fromTokenizerJson(data.tokenizer);
    manualSeed(spec.seed);
    const model = new MaskedLanguageModel(
      presetConfig(spec.model, tokenizer.vocabSize, { hiddenDropout: 0, attentionDropout: 0 }),
    );
    if (spec.outputBias === 'unigram') initOutputBias(model, data.logPrior);
    const groups = paramGroups(model);
    const optimizer = new CombinedOptimizer(
      [
        new SGD(groups.scaleInvariant, {
          lr: 40,
          weightDecay: 5e-5,
          clip: { type: 'relative', sqrtC: 1 },
          schedule: piecewiseSchedule({ factor: 0.1, atFractions: [0.6, 0.9], totalSteps: spec.steps }),
          scaleInvariant: true,
          name: 'encoder',
        }),
        new LAMB(groups.other, {
          lr: 2e-2,
          schedule: linearWarmupDecay({ warmupSteps: Math.floor(spec.steps / 10), totalSteps: spec.steps }),
          name: 'heads',
        }),
      ],
      { cover: model.namedParameters() },
    );
    const batches = Comlink.wrap<BatchApi>(dataPort);
    const prefetcher = new Prefetcher(() => batches.next(), 2);
    const clock = new StepClock();
    resetControl(0);
    onEvent({ kind: 'status', text: `pretraining ${spec.model} on ${spec.backend}` });
    const outcome = await trainLoop({
      steps: spec.steps,
      nextBatch: async () => (await prefetcher.next()).batch,
      trainOn: (batch) =>
        trainStep(optimizer, () => {
          const { inputs, targets } = uploadMlmBatch(batch, model.config);
          return model.forward(inputs, targets);
        }),
      callbacks: [stepReporter<MlmBatch>('pretrain', spec.steps, clock, onEvent)],
      stop: control.stop,
    });
    resetControl(outcome.step);
    await prefetcher.drain();
    optimizer.dispose();
    onEvent({ kind: 'status', text: 'scoring the held-out text' });
    const loss = await heldOutLoss(model, await batches.heldOut());
    batches[Comlink.releaseProxy]();
    mlm?.dispose();
    mlm = model;
    return {
      status: outcome.status,
      steps: outcome.step,
      heldOutLoss: loss,
      baseline: data.baseline,
      msPerStep: clock.msPerStep,
    };
  },

  /** Pauses after the step in progress; resolves with the steps done once the loop holds still. */
  pause(): Promise<number> {
    control.paused = true;
    return new Promise((resolve) => (control.onPaused = resolve));
  },

  resume(): void {
    control.paused = false;
    control.resume?.();
  },

  /** Ends the current training after the step in progress. */
  stop(): void {
    control.stop.requested = 'the page';
    api.resume();
  },

  /** The pretrained model as safetensors bytes, and its tokenizer.json. */
  async checkpoint(): Promise<{ model: Uint8Array; tokenizer: string }> {
    if (!mlm || !tokenizer) throw new Error('nothing is trained yet');
    const bytes = await encodeModel(mlm);
    return transfer({ model: bytes, tokenizer: JSON.stringify(tokenizer.toTokenizerJson()) }, [
      bytes.buffer as ArrayBuffer,
    ]);
  },

  /** Fine-tunes a classifier (mean pooling, AdamW) from the pretrained encoder on the bundled spam sample. */
  async finetune(spec: FinetuneSpec, onEvent: (event: TrainEvent) => void): Promise<FinetuneResult> {
    if (!mlm || !tokenizer) throw new Error('pretrain first: fine-tuning starts from the pretrained encoder');
    const response = await fetch(new URL('./data/spam.json', import.meta.url));
    if (!response.ok) throw new Error(`data/spam.json: HTTP ${response.status}`);
    const sample = (await response.json()) as LabelledSample;
    const asExamples = (rows: LabelledSample['train']) => rows.map((r) => ({ ...r, source: '' }));
    const trainSet = encodeExamples(asExamples(sample.train), tokenizer, { maxLength: spec.maxLength });
    const testSet = encodeExamples(asExamples(sample.test), tokenizer, { maxLength: spec.maxLength });
    classifier?.model.dispose();
    const model = new SequenceClassifier(
      { ...mlm.config, classifierPooling: 'mean' },
      sample.labelNames.length,
    );
    loadWeights(model, await checkpointTensors(mlm), { scope: 'encoder' });
    const optimizer = new AdamW(model.parameters(), {
      lr: spec.lr,
      weightDecay: 1e-2,
      schedule: linearWarmupDecay({ warmupSteps: Math.floor(spec.steps / 10), totalSteps: spec.steps }),
    });
    const order = new BatchIterator({ size: trainSet.batchSize, batchSize: spec.batchSize, seed: 1 })[
      Symbol.iterator
    ]();
    const clock = new StepClock();
    resetControl(0);
    onEvent({ kind: 'status', text: `fine-tuning on ${sample.train.length} spam/ham emails` });
    const outcome = await trainLoop({
      steps: spec.steps,
      nextBatch: () => selectRows(trainSet, order.next().value!.indices),
      trainOn: (rows) =>
        trainStep(optimizer, () => {
          const { inputs, labels } = uploadClassificationBatch(rows, model.config);
          return { loss: model.loss(inputs, labels).loss };
        }),
      callbacks: [stepReporter<ClassificationBatch>('finetune', spec.steps, clock, onEvent)],
      stop: control.stop,
    });
    resetControl(outcome.step);
    optimizer.dispose();
    classifier = { model, labelNames: sample.labelNames, maxLength: spec.maxLength };
    const predicted = await predict(testSet);
    let correct = 0;
    predicted.forEach((p, i) => {
      if (p === testSet.labels[i]) correct++;
    });
    const counts = sample.labelNames.map((_, c) => sample.test.filter((r) => r.label === c).length);
    const majority = counts.indexOf(Math.max(...counts));
    return {
      steps: outcome.step,
      testAccuracy: correct / sample.test.length,
      majorityAccuracy: counts[majority]! / sample.test.length,
      majorityLabel: sample.labelNames[majority]!,
      testExamples: sample.test.length,
      msPerStep: clock.msPerStep,
    };
  },

  async classify(text: string): Promise<Classified> {
    if (!classifier || !tokenizer) throw new Error('fine-tune first');
    const rows = encodeExamples([{ text, label: 0, source: '' }], tokenizer, {
      maxLength: classifier.maxLength,
    });
    const probabilities = await classProbabilities(rows);
    const best = probabilities.indexOf(Math.max(...probabilities));
    return {
      label: classifier.labelNames[best]!,
      probabilities: Object.fromEntries(classifier.labelNames.map((name, c) => [name, probabilities[c]!])),
    };
  },
};

/** Class probabilities of every row, row-major, without gradients. */
async function classProbabilities(rows: ReturnType<typeof encodeExamples>): Promise<number[]> {
  const { model } = classifier!;
  model.eval();
  try {
    const out: number[] = [];
    for (let start = 0; start < rows.batchSize; start += 32) {
      const batch = selectRows(
        rows,
        Array.from({ length: Math.min(32, rows.batchSize - start) }, (_, i) => start + i),
      );
      const p = noGrad(() =>
        tidy(() => softmax(model.forward(uploadClassificationBatch(batch, model.config).inputs), -1)),
      );
      out.push(...(await p.data()));
      p.dispose();
    }
    return out;
  } finally {
    model.train();
  }
}

/** The most probable class of every row. */
async function predict(rows: ReturnType<typeof encodeExamples>): Promise<number[]> {
  const classes = classifier!.labelNames.length;
  const p = await classProbabilities(rows);
  return Array.from({ length: rows.batchSize }, (_, r) => {
    const row = p.slice(r * classes, (r + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

export type TrainWorkerApi = typeof api;

exposeToParent(api);
