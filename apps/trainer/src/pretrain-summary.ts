import { DEFAULT_MAX_LINE_CHARS } from '@sibert/data/node';
import type { MaskedLanguageModel } from '@sibert/models';
import type { RunFolder } from '@sibert/train/node';
import { type EvalResult, plateauVerdict } from './evaluate.js';
import { formatClip, type PretrainOptions } from './options.js';
import type { TextCounts } from './pretrain-data.js';

/** The run's summary.md: what was trained, first and last logs, and the held-out result against the baseline. */
export async function pretrainSummary(
  folder: RunFolder,
  options: PretrainOptions,
  model: MaskedLanguageModel,
  heldOut: EvalResult,
  text: TextCounts,
): Promise<string> {
  const { records: metrics } = await folder.readMetrics();
  const first = metrics[0];
  const last = metrics.at(-1);
  const fmt = (v: unknown, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : '–');
  return [
    `# Pretraining run: ${options.model}`,
    '',
    `${model.numParameters().toLocaleString('en-US')} parameters, ${options.steps} steps of ${options.batchSize} × ${options.seqLen} tokens on ${options.backend}, seed ${options.seed}.`,
    '',
    `Data: ${[...options.corpora, ...(text ? [`${text.files} text file(s)`] : [])].join(', ')}.` +
      (text
        ? ` The text gave ${text.documents.toLocaleString('en-US')} documents (${text.heldOutDocuments} held out, ${options.holdout * 100}%) and ${text.tokens.toLocaleString('en-US')} tokens` +
          (text.longLines > 0
            ? `; ${text.longLines} line(s) longer than ${DEFAULT_MAX_LINE_CHARS.toLocaleString('en-US')} characters were cut (.txt) or skipped (.jsonl).`
            : '.')
        : ''),
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
      (model.config.family !== 'sibert'
        ? '.'
        : model.config.mlmHead === 'scale-invariant'
          ? `; the scale-invariant MLM head's transform and decoder: the encoder's optimizer and settings; its temperature and output bias: ${options.headOptimizer} (lr ${options.headLr}, weight decay ${options.headWeightDecay}).`
          : `; heads: ${options.headOptimizer} (lr ${options.headLr}).`),
    '',
    'Every option is in `config.json`; per-step metrics in `metrics.jsonl`.',
    '',
  ].join('\n');
}
