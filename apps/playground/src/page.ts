/**
 * The playground page: the form, the live loss plot and the downloads. Everything heavy runs in
 * two workers the page talks to over comlink: the data worker (tokenizer training, encoding on a
 * pool of Web Workers, masked batches) and the training worker (backend, model, optimizer, loop).
 * The data worker hands batches to the training worker directly, through a MessageChannel.
 */
import * as Comlink from 'comlink';
import type { DataWorkerApi } from './data-worker.js';
import type {
  BackendChoice,
  FinetuneResult,
  ModelChoice,
  PreparedData,
  PretrainResult,
  PretrainSpec,
  TrainEvent,
} from './protocol.js';
import type { TrainWorkerApi } from './train-worker.js';

const SEQ_LEN = 64;
const VOCAB_SIZE = 2048;
const SEED = 1;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  backend: $<HTMLSelectElement>('backend'),
  steps: $<HTMLInputElement>('steps'),
  batch: $<HTMLInputElement>('batch'),
  outputBias: $<HTMLSelectElement>('output-bias'),
  backendDetail: $('backend-detail'),
  train: $<HTMLButtonElement>('train'),
  pause: $<HTMLButtonElement>('pause'),
  stop: $<HTMLButtonElement>('stop'),
  downloadModel: $<HTMLButtonElement>('download-model'),
  downloadTokenizer: $<HTMLButtonElement>('download-tokenizer'),
  status: $('status'),
  step: $('step'),
  loss: $('loss'),
  msPerStep: $('ms-per-step'),
  tokensPerSec: $('tokens-per-sec'),
  plot: $('plot') as unknown as SVGSVGElement,
  result: $('result'),
  finetuneSteps: $<HTMLInputElement>('finetune-steps'),
  finetune: $<HTMLButtonElement>('finetune'),
  finetuneResult: $('finetune-result'),
  classifyText: $<HTMLInputElement>('classify-text'),
  classify: $<HTMLButtonElement>('classify'),
  classifyResult: $('classify-result'),
};

if (!crossOriginIsolated)
  ui.status.textContent =
    'This page is not cross-origin isolated (COOP/COEP headers): the CPU backend runs on one thread. Serve it with `npm run playground`.';

let trainWorker: Worker | null = null;
let trainer: Comlink.Remote<TrainWorkerApi> | null = null;
let losses: number[] = [];
let baseline: number | null = null;
let paused = false;

/** What the page has shown, for scripts and tests (`window.sibertPlayground`). */
const state: { losses: number[]; pretrain: PretrainResult | null; finetune: FinetuneResult | null } = {
  losses,
  pretrain: null,
  finetune: null,
};
(window as unknown as { sibertPlayground: typeof state }).sibertPlayground = state;

function say(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.className = error ? 'error' : 'note';
}

/** The loss curve, the unigram baseline dashed. */
function drawPlot(steps: number): void {
  const width = 600;
  const height = 240;
  const values = baseline === null ? losses : [...losses, baseline];
  const top = Math.max(...values) + 0.1;
  const bottom = Math.max(0, Math.min(...values) - 0.3);
  const x = (i: number) => (width * i) / Math.max(1, steps - 1);
  const y = (v: number) => height - (height * (v - bottom)) / Math.max(1e-6, top - bottom);
  const points = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const line =
    baseline === null
      ? ''
      : `<line x1="0" x2="${width}" y1="${y(baseline)}" y2="${y(baseline)}" stroke="#888" stroke-dasharray="6 4"/>` +
        `<text x="${width - 4}" y="${y(baseline) - 4}" text-anchor="end" font-size="11" fill="#666">unigram baseline ${baseline.toFixed(2)}</text>`;
  ui.plot.innerHTML = `${line}<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="${points}"/>`;
}

function onEvent(event: TrainEvent): void {
  if (event.kind === 'status') say(event.text);
  else if (event.kind === 'backend') ui.backendDetail.textContent = `backend ${event.name}: ${event.detail}`;
  else {
    ui.step.textContent = `${event.step}/${event.steps}`;
    ui.loss.textContent = event.loss.toFixed(3);
    ui.msPerStep.textContent = Number.isFinite(event.msPerStep) ? event.msPerStep.toFixed(0) : '–';
    ui.tokensPerSec.textContent = Number.isFinite(event.tokensPerSec) ? event.tokensPerSec.toFixed(0) : '–';
    if (event.phase === 'pretrain') {
      losses.push(event.loss);
      drawPlot(event.steps);
    }
  }
}

function download(name: string, bytes: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function positive(input: HTMLInputElement, name: string): number {
  const value = Number(input.value);
  if (!Number.isInteger(value) || value < 2)
    throw new Error(`${name} must be an integer of at least 2, got ${input.value}`);
  return value;
}

async function train(): Promise<void> {
  const spec: PretrainSpec = {
    model: ui.model.value as ModelChoice,
    backend: ui.backend.value as BackendChoice,
    steps: positive(ui.steps, 'steps'),
    batchSize: positive(ui.batch, 'batch'),
    seqLen: SEQ_LEN,
    vocabSize: VOCAB_SIZE,
    seed: SEED,
    outputBias: ui.outputBias.value === 'zero' ? 'zero' : 'unigram',
  };
  if (spec.backend === 'webgpu' && !('gpu' in navigator))
    throw new Error('this browser has no WebGPU (navigator.gpu); pick the CPU backend');
  trainWorker?.terminate();
  trainWorker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  trainer = Comlink.wrap<TrainWorkerApi>(trainWorker);
  const dataWorker = new Worker(new URL('./data-worker.js', import.meta.url), { type: 'module' });
  const data = Comlink.wrap<DataWorkerApi>(dataWorker);
  losses = [];
  state.losses = losses;
  state.pretrain = null;
  state.finetune = null;
  baseline = null;
  ui.plot.innerHTML = '';
  ui.result.textContent = '';
  for (const b of [ui.downloadModel, ui.downloadTokenizer, ui.finetune, ui.classify]) b.disabled = true;
  try {
    const prepared: PreparedData = await data.prepare(spec, Comlink.proxy(say));
    baseline = prepared.baseline;
    say(
      `${prepared.documents} documents → ${prepared.trainSequences} training sequences of ${SEQ_LEN} tokens (${prepared.heldOutSequences} held out); tokenizer ${prepared.tokenizerMs.toFixed(0)} ms, encoding on ${prepared.encoderWorkers} workers ${prepared.encodeMs.toFixed(0)} ms`,
    );
    const channel = new MessageChannel();
    await data.connect(Comlink.transfer(channel.port1, [channel.port1]));
    ui.pause.disabled = false;
    ui.stop.disabled = false;
    const result = await trainer.pretrain(
      spec,
      prepared,
      Comlink.transfer(channel.port2, [channel.port2]),
      Comlink.proxy(onEvent),
    );
    const below = result.baseline - result.heldOutLoss;
    ui.result.innerHTML = `Held-out MLM loss <b id="held-out">${result.heldOutLoss.toFixed(3)}</b> against the unigram baseline <b id="baseline">${result.baseline.toFixed(3)}</b>: ${Math.abs(below).toFixed(3)} nats ${below >= 0 ? 'below' : 'above'} it after ${result.steps} steps (${result.status}), ${result.msPerStep.toFixed(0)} ms/step.`;
    state.pretrain = result;
    say(`pretraining ${result.status}`);
    for (const b of [ui.downloadModel, ui.downloadTokenizer, ui.finetune]) b.disabled = false;
  } finally {
    ui.pause.disabled = true;
    ui.stop.disabled = true;
    paused = false;
    ui.pause.textContent = 'Pause';
    data[Comlink.releaseProxy]();
    dataWorker.terminate();
  }
}

async function finetune(): Promise<void> {
  if (!trainer) return;
  ui.finetune.disabled = true;
  ui.stop.disabled = false;
  ui.pause.disabled = false;
  try {
    const result = await trainer.finetune(
      { steps: positive(ui.finetuneSteps, 'fine-tuning steps'), batchSize: 16, maxLength: 64, lr: 1e-3 },
      Comlink.proxy(onEvent),
    );
    ui.finetuneResult.innerHTML = `Test accuracy <b id="test-accuracy">${(100 * result.testAccuracy).toFixed(1)}%</b> on ${result.testExamples} emails, against <b id="majority">${(100 * result.majorityAccuracy).toFixed(1)}%</b> for always answering “${result.majorityLabel}”; ${result.steps} steps, ${result.msPerStep.toFixed(0)} ms/step.`;
    state.finetune = result;
    say('fine-tuning done: type a text to classify');
    ui.classify.disabled = false;
  } finally {
    ui.finetune.disabled = false;
    ui.stop.disabled = true;
    ui.pause.disabled = true;
  }
}

/** Runs a button's work, showing any failure in the status line. */
function handle(button: HTMLButtonElement, work: () => Promise<void>): void {
  button.addEventListener('click', () => {
    work().catch((error: unknown) =>
      say(`error: ${error instanceof Error ? error.message : String(error)}`, true),
    );
  });
}

handle(ui.train, train);
handle(ui.finetune, finetune);
handle(ui.pause, async () => {
  if (!trainer) return;
  paused = !paused;
  ui.pause.textContent = paused ? 'Resume' : 'Pause';
  if (paused) say(`paused after step ${await trainer.pause()}`);
  else {
    await trainer.resume();
    say('training');
  }
});
handle(ui.stop, async () => {
  await trainer?.stop();
});
handle(ui.downloadModel, async () => {
  const { model } = await trainer!.checkpoint();
  download('model.safetensors', model as Uint8Array<ArrayBuffer>, 'application/octet-stream');
});
handle(ui.downloadTokenizer, async () => {
  const { tokenizer } = await trainer!.checkpoint();
  download('tokenizer.json', tokenizer, 'application/json');
});
handle(ui.classify, async () => {
  const { label, probabilities } = await trainer!.classify(ui.classifyText.value);
  ui.classifyResult.innerHTML = `<b id="classified">${label}</b> (${Object.entries(probabilities)
    .map(([name, p]) => `${name} ${(100 * p).toFixed(1)}%`)
    .join(', ')})`;
});
