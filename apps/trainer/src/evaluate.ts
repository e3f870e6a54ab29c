import type { UnigramScore } from '@sibert/data';
import { MaskedLanguageModel, writeFileAtomic } from '@sibert/models';
import { loadWithPath, readPretrainedRun } from './checkpoint.js';
import { type MlmScore, scoreMlm } from './mlm.js';
import { type PretrainOptions, parseEval } from './options.js';
import { PretrainData } from './pretrain-data.js';
import { useBackend } from './setup.js';

/** A run has left the unigram plateau once its held-out loss is this many nats below the baseline. */
export const PLATEAU_MARGIN = 0.5;

export interface EvalResult extends MlmScore {
  step: number;
  sequences: number;
  /** The unigram model of the run's training tokens on the same masked positions. */
  baseline: UnigramScore;
  /** baseline.loss − loss: how far below the plateau the run is (negative: above it). */
  belowBaseline: number;
  leftPlateau: boolean;
}

/** The held-out score set against the unigram baseline. */
export function againstBaseline(
  score: MlmScore,
  baseline: UnigramScore,
): Pick<EvalResult, 'baseline' | 'belowBaseline' | 'leftPlateau'> {
  const belowBaseline = baseline.loss - score.loss;
  return { baseline, belowBaseline, leftPlateau: belowBaseline >= PLATEAU_MARGIN };
}

/** One sentence on where a run stands against the unigram plateau. */
export function plateauVerdict(result: Pick<EvalResult, 'loss' | 'baseline' | 'belowBaseline'>): string {
  const gap = Math.abs(result.belowBaseline).toFixed(3);
  const base = `the unigram baseline (word frequencies alone: ${result.baseline.loss.toFixed(4)})`;
  if (result.belowBaseline >= PLATEAU_MARGIN)
    return `The model has left the unigram plateau: held-out loss ${result.loss.toFixed(4)} is ${gap} nats below ${base}, so it uses context.`;
  if (result.belowBaseline > 0)
    return `The model has not left the unigram plateau yet: held-out loss ${result.loss.toFixed(4)} is ${gap} nats below ${base}; it has left it at ${PLATEAU_MARGIN} or more.`;
  return `The model has not reached the unigram plateau: held-out loss ${result.loss.toFixed(4)} is ${gap} nats above ${base}.`;
}

/** One line of held-out numbers with the baseline beside them. */
export function formatEval(result: EvalResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return (
    `held-out MLM at step ${result.step}: loss ${result.loss.toFixed(4)} (unigram baseline ${result.baseline.loss.toFixed(4)}, ` +
    `${result.belowBaseline >= 0 ? `${result.belowBaseline.toFixed(3)} nats below` : `${(-result.belowBaseline).toFixed(3)} nats above`}), ` +
    `masked-token accuracy ${pct(result.maskedAccuracy)} (unigram ${pct(result.baseline.accuracy)}); ` +
    `${result.maskedTokens} masked tokens in ${result.sequences} sequences`
  );
}

/**
 * `sibert-train eval`: MLM loss and masked-token accuracy of a pretraining run on its held-out
 * documents, beside the unigram model of its training tokens on the same masked positions.
 */
export async function evalCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<EvalResult> {
  const options = parseEval(argv);
  const { folder, config, contents, step, tokenizer, path } = await readPretrainedRun(options.from, '--from');
  const run = config.options as PretrainOptions;
  await useBackend(options.backend);
  const model = new MaskedLanguageModel(contents.config);
  loadWithPath(model, contents.tensors, path);
  const tokenizerJson = tokenizer.toTokenizerJson();
  // The training sequences are built too: the baseline is fitted on them.
  const data = PretrainData.build({
    tokenizer: tokenizerJson,
    corpora: run.corpora,
    seqLen: run.seqLen,
    batchSize: run.batchSize,
    seed: run.seed,
    maxSequences: run.maxSequences,
  });
  const score = await scoreMlm(model, data.heldOutBatches(options.batchSize));
  if (!Number.isFinite(score.loss))
    throw new Error(
      `the held-out loss of ${options.from} at step ${step} is ${score.loss}: the model is broken`,
    );
  const result: EvalResult = {
    step,
    ...score,
    sequences: data.heldOut.length,
    ...againstBaseline(score, data.unigramBaseline(options.batchSize)),
  };
  await writeFileAtomic(folder.path('eval.json'), `${JSON.stringify(result, null, 2)}\n`);
  out.write(`${formatEval(result)}\n${plateauVerdict(result)}\nwritten to ${folder.path('eval.json')}\n`);
  for (const p of model.parameters()) p.dispose();
  return result;
}
