import { readFile } from 'node:fs/promises';
import type { BatchIteratorState } from '@sibert/data';
import {
  MaskedLanguageModel,
  type ModelConfig,
  presetConfig,
  scaleEncoder,
  validateConfig,
} from '@sibert/models';
import type { StepReport } from '@sibert/optim';
import { getBackend, manualSeed, tidy } from '@sibert/tensor';
import { BertTokenizer } from '@sibert/tokenizer';
import { restoreTrainingCheckpoint, writeTrainingCheckpoint } from './checkpoint.js';
import { PrefetchingData } from './data-client.js';
import { againstBaseline, type EvalResult, formatEval, PLATEAU_MARGIN, plateauVerdict } from './evaluate.js';
import { scoreMlm, uploadMlmBatch } from './mlm.js';
import { combine, pretrainGroups } from './optimizers.js';
import {
  EVAL_BATCH_SIZE,
  formatClip,
  type PretrainOptions,
  parsePretrain,
  resolvePretrain,
  UsageError,
} from './options.js';
import { Progress } from './progress.js';
import { type RunConfig, RunFolder } from './run-folder.js';
import { trainTokenizer, useBackend } from './setup.js';

export interface PretrainResult {
  /** 'done', 'interrupted' (SIGINT: checkpoint written) or 'diverged' (last good checkpoint kept). */
  status: 'done' | 'interrupted' | 'diverged';
  step: number;
  firstLoss: number | null;
  lastLoss: number | null;
  /** The held-out evaluation that ends a finished run (null otherwise). */
  heldOut: EvalResult | null;
}

/** The model's config for pretraining options (vocabulary size from the tokenizer). */
export function modelConfigFor(options: PretrainOptions, vocabSize: number): ModelConfig {
  return presetConfig(options.model, vocabSize, {
    hiddenDropout: options.dropout,
    attentionDropout: options.dropout,
  });
}

function optionsAsRaw(options: PretrainOptions): Record<string, unknown> {
  return { ...options, clip: formatClip(options.clip), corpora: options.corpora.join(',') };
}

/** On --resume: the stored options, with any explicitly given flag checked against them. */
function resumedOptions(
  stored: PretrainOptions,
  given: PretrainOptions,
  explicit: Set<string>,
): PretrainOptions {
  const merged = resolvePretrain({
    ...optionsAsRaw(stored),
    ...Object.fromEntries(Object.entries(optionsAsRaw(given)).filter(([k]) => explicit.has(k))),
  });
  const contradictions = (Object.keys(merged) as (keyof PretrainOptions)[])
    .filter((k) => k !== 'backend' && k !== 'out')
    .filter((k) => JSON.stringify(merged[k]) !== JSON.stringify(stored[k]))
    .map((k) => `${k} ${JSON.stringify(merged[k])} (the run has ${JSON.stringify(stored[k])})`);
  if (contradictions.length > 0) {
    throw new UsageError(`--resume: the flags contradict the run's config: ${contradictions.join('; ')}`);
  }
  return { ...stored, backend: merged.backend };
}

/** Names of the options given on the command line or in --config (camelCase). */
function explicitOptions(argv: readonly string[]): Set<string> {
  return new Set(
    argv
      .filter((a) => a.startsWith('--'))
      .map((a) =>
        a
          .slice(2)
          .split('=')[0]!
          .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      ),
  );
}

export interface PretrainHooks {
  /** Output stream for progress and messages (stdout by default). */
  out?: NodeJS.WriteStream;
}

/** `sibert-train pretrain`: see the README for every option. */
export async function pretrainCommand(
  argv: readonly string[],
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  const parsed = parsePretrain(argv);
  const say = (line: string) => (hooks.out ?? process.stdout).write(`${line}\n`);
  const folder = await RunFolder.open(parsed.options.out, 'pretrain', parsed);

  let options = parsed.options;
  let tokenizer: BertTokenizer;
  let storedModel: ModelConfig | null = null;
  if (parsed.resume) {
    const stored = await RunFolder.readConfig<PretrainOptions>(folder.dir);
    // The model the run was built with, not today's preset of the same name.
    storedModel = stored.model === undefined ? null : validateConfig(stored.model);
    // Runs written before recipes existed hold every option explicitly; they took the paper's.
    const storedOptions: PretrainOptions = { ...stored.options, recipe: stored.options.recipe ?? 'paper' };
    options = {
      ...resumedOptions(storedOptions, parsed.options, explicitOptions(argv)),
      out: parsed.options.out,
    };
    tokenizer = BertTokenizer.fromTokenizerJson(await readFile(folder.path('tokenizer.json'), 'utf8'));
  } else {
    say(`training a WordPiece vocabulary of ${options.vocabSize} on ${options.corpora.join(', ')}…`);
    tokenizer = trainTokenizer(options.corpora, options.vocabSize);
    await folder.writeText('tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson()));
  }
  await useBackend(options.backend);

  manualSeed(options.seed);
  const config = storedModel ?? modelConfigFor(options, tokenizer.vocabSize);
  const model = new MaskedLanguageModel(config);
  scaleEncoder(model, options.initScale);
  const optimizer = combine(model, pretrainGroups(model, options));

  let step = 0;
  let dataState: BatchIteratorState | undefined;
  if (parsed.resume) {
    const latest = await folder.latestCheckpoint();
    if (latest) {
      const state = await restoreTrainingCheckpoint(latest.folder, model, optimizer);
      step = state.step;
      dataState = state.data;
      await folder.truncateMetrics(step);
      say(`resuming ${folder.dir} from step ${step}`);
    } else {
      say(`no checkpoint in ${folder.dir} yet: starting it over`);
    }
  } else {
    const runConfig: RunConfig<PretrainOptions> = {
      kind: 'pretrain',
      version: 1,
      options,
      model: config,
      parameters: model.numParameters(),
      backend: getBackend().describe?.() ?? { name: getBackend().name },
    };
    await folder.writeConfig(runConfig);
  }

  say(`preparing data (${options.corpora.join(', ')}, sequences of ${options.seqLen})…`);
  const data = await PrefetchingData.start(
    {
      tokenizer: tokenizer.toTokenizerJson(),
      corpora: options.corpora,
      seqLen: options.seqLen,
      batchSize: options.batchSize,
      seed: options.seed,
      maxSequences: options.maxSequences,
      ...(dataState ? { state: dataState } : {}),
    },
    EVAL_BATCH_SIZE,
  );
  const { baseline } = data.counts;
  say(
    `${options.model}: ${model.numParameters().toLocaleString('en-US')} parameters on ${options.backend}; ` +
      `${data.counts.trainSequences} training sequences, ${data.counts.heldOutSequences} held out; ` +
      `unigram baseline ${baseline.loss.toFixed(4)} nats (leaving the plateau: ${(baseline.loss - PLATEAU_MARGIN).toFixed(2)} or below)`,
  );

  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.once('SIGINT', onSigint);

  const progress = new Progress('pretrain', options.steps, step, hooks.out);
  const started = performance.now();
  const window = { loss: 0, accuracy: 0, steps: 0, tokens: 0, seconds: 0, waitedMs: 0 };
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let clipCountBefore = 0;
  let status: PretrainResult['status'] = 'done';
  let lastState = dataState ?? { epoch: 0, position: 0 };
  let heldOut: EvalResult | null = null;
  const save = (atStep: number) =>
    folder.saveCheckpoint(atStep, (dir) =>
      writeTrainingCheckpoint(dir, model, optimizer, { step: atStep, data: lastState }),
    );

  try {
    while (step < options.steps) {
      const next = await data.next();
      const stepStarted = performance.now();
      const { loss, accuracy } = tidy(() => {
        const { inputs, targets } = uploadMlmBatch(next.batch, config);
        return model.forward(inputs, targets);
      });
      const lossValue = await loss.itemAsync();
      if (!Number.isFinite(lossValue)) {
        loss.dispose();
        accuracy.dispose();
        status = 'diverged';
        progress.done();
        say(
          `the loss is ${lossValue} at step ${step + 1}: stopping; the last good checkpoint is kept in ${folder.path('checkpoints')}`,
        );
        break;
      }
      loss.backward();
      const logging = (step + 1) % options.logEvery === 0 || step + 1 === options.steps;
      let report: StepReport | undefined;
      if (logging) report = await optimizer.step({ report: true });
      else optimizer.step();
      optimizer.zeroGrad();
      const accuracyValue = await accuracy.itemAsync();
      loss.dispose();
      accuracy.dispose();
      step++;
      lastState = next.stateAfter;
      firstLoss ??= lossValue;
      lastLoss = lossValue;

      const tokens = next.batch.attentionMask.reduce((n, m) => n + m, 0);
      Object.assign(window, {
        loss: window.loss + lossValue,
        accuracy: window.accuracy + accuracyValue,
        steps: window.steps + 1,
        tokens: window.tokens + tokens,
        seconds: window.seconds + (performance.now() - stepStarted) / 1000,
        waitedMs: window.waitedMs + next.waitedMs,
      });
      const tokensPerSec = window.tokens / Math.max(window.seconds, 1e-9);
      progress.tick({ step, loss: lossValue, tokensPerSec });
      if (report) {
        const encoder = report.groups.find((g) => g.group === 'encoder') ?? report.groups[0]!;
        const heads = report.groups.find((g) => g.group === 'heads');
        const clipCount = encoder.clipCount ?? 0;
        const record = {
          step,
          loss: window.loss / window.steps,
          belowBaseline: baseline.loss - window.loss / window.steps,
          maskedAccuracy: window.accuracy / window.steps,
          lr: encoder.lr,
          headLr: heads?.lr ?? null,
          gradNorm: encoder.gradNorm,
          encoderParamNorm: encoder.paramNorm,
          effectiveLr: encoder.effectiveLr,
          clipped: encoder.clipped,
          clippedSteps: clipCount - clipCountBefore,
          tokensPerSec,
          dataWaitMs: window.waitedMs,
          elapsed: (performance.now() - started) / 1000,
        };
        clipCountBefore = clipCount;
        await folder.appendMetrics(record);
        progress.log({
          step,
          loss: record.loss,
          tokensPerSec,
          extra: `${record.belowBaseline >= 0 ? '−' : '+'}${Math.abs(record.belowBaseline).toFixed(2)} vs unigram, lr ${encoder.lr.toExponential(2)}`,
        });
        Object.assign(window, { loss: 0, accuracy: 0, steps: 0, tokens: 0, seconds: 0, waitedMs: 0 });
      }
      if (step % options.checkpointEvery === 0 || step === options.steps || stop) await save(step);
      if (stop && step < options.steps) {
        status = 'interrupted';
        progress.done();
        say(`interrupted at step ${step}: checkpoint written; continue with --resume --out ${folder.dir}`);
        break;
      }
    }
    if (status === 'done') {
      say('evaluating on the held-out documents…');
      const score = await scoreMlm(model, await data.heldOut(EVAL_BATCH_SIZE));
      heldOut = {
        step,
        ...score,
        sequences: data.counts.heldOutSequences,
        ...againstBaseline(score, baseline),
      };
      await folder.writeText('eval.json', `${JSON.stringify(heldOut, null, 2)}\n`);
      say(formatEval(heldOut));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    await data.close();
  }
  progress.done();
  if (heldOut) {
    await folder.writeText('summary.md', await pretrainSummary(folder, options, model, heldOut));
    say(plateauVerdict(heldOut));
    say(
      `done: ${step} steps, loss ${firstLoss?.toFixed(4) ?? '–'} → ${lastLoss?.toFixed(4) ?? '–'}; run folder ${folder.dir}`,
    );
  }
  for (const p of model.parameters()) p.dispose();
  return { status, step, firstLoss, lastLoss, heldOut };
}

async function pretrainSummary(
  folder: RunFolder,
  options: PretrainOptions,
  model: MaskedLanguageModel,
  heldOut: EvalResult,
): Promise<string> {
  const metrics = await folder.readMetrics();
  const first = metrics[0];
  const last = metrics.at(-1);
  const fmt = (v: unknown, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : '–');
  return [
    `# Pretraining run: ${options.model}`,
    '',
    `${model.numParameters().toLocaleString('en-US')} parameters, ${options.steps} steps of ${options.batchSize} × ${options.seqLen} tokens on ${options.backend}, seed ${options.seed}.`,
    '',
    '| | first log | last log |',
    '| --- | --- | --- |',
    `| step | ${first?.step ?? '–'} | ${last?.step ?? '–'} |`,
    `| MLM loss | ${fmt(first?.loss)} | ${fmt(last?.loss)} |`,
    `| masked-token accuracy | ${fmt(first?.maskedAccuracy)} | ${fmt(last?.maskedAccuracy)} |`,
    `| encoder parameter norm | ${fmt(first?.encoderParamNorm, 2)} | ${fmt(last?.encoderParamNorm, 2)} |`,
    `| tokens/s | ${fmt(first?.tokensPerSec, 0)} | ${fmt(last?.tokensPerSec, 0)} |`,
    '',
    '## Held out, against the unigram baseline',
    '',
    '| | this model | unigram baseline |',
    '| --- | --- | --- |',
    `| MLM loss (nats) | ${fmt(heldOut.loss)} | ${fmt(heldOut.baseline.loss)} |`,
    `| masked-token accuracy | ${fmt(heldOut.maskedAccuracy)} | ${fmt(heldOut.baseline.accuracy)} |`,
    '',
    `${plateauVerdict(heldOut)} (The baseline is a unigram model of the run's training tokens, scored on the same ${heldOut.maskedTokens} masked held-out positions; \`eval.json\` has these numbers.)`,
    '',
    `Recipe ${options.recipe}. Optimizer: ${options.optimizer} (lr ${options.lr}, weight decay ${options.weightDecay}, clip ${formatClip(options.clip)}, schedule ${options.schedule})` +
      (model.config.family === 'sibert' ? `; heads: ${options.headOptimizer} (lr ${options.headLr}).` : '.'),
    '',
    'Every option is in `config.json`; per-step metrics in `metrics.jsonl`.',
    '',
  ].join('\n');
}
