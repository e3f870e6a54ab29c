import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadWeights, MaskedLanguageModel, readCheckpoint, writeFileAtomic } from '@sibert/models';
import { noGrad, tidy } from '@sibert/tensor';
import { type PretrainOptions, parseEval, UsageError } from './options.js';
import { uploadMlmBatch } from './pretrain.js';
import { PretrainData } from './pretrain-data.js';
import { RunFolder } from './run-folder.js';
import { useBackend } from './setup.js';

export interface EvalResult {
  step: number;
  /** Mean cross-entropy per masked token. */
  loss: number;
  maskedAccuracy: number;
  maskedTokens: number;
  sequences: number;
}

/** `sibert-train eval`: MLM loss and masked-token accuracy of a pretraining run on its held-out documents. */
export async function evalCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<EvalResult> {
  const options = parseEval(argv);
  const { folder, config } = await RunFolder.existing(options.from, 'pretrain', '--from');
  const run = config.options as PretrainOptions;
  const latest = await folder.latestCheckpoint();
  if (!latest) throw new UsageError(`--from ${options.from} has no checkpoint yet`);
  await useBackend(options.backend);
  const checkpoint = await readCheckpoint(join(latest.folder, 'model.safetensors'));
  const model = new MaskedLanguageModel(checkpoint.config);
  loadWeights(model, checkpoint.tensors);
  model.eval();
  const tokenizerJson = JSON.parse(await readFile(folder.path('tokenizer.json'), 'utf8'));
  const data = PretrainData.build({
    tokenizer: tokenizerJson,
    corpora: run.corpora,
    seqLen: run.seqLen,
    batchSize: options.batchSize,
    seed: run.seed,
    maxSequences: 0,
    heldOutOnly: true,
  });
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  for (const batch of data.heldOutBatches(options.batchSize)) {
    const masked = batch.maskedPositions.length;
    if (masked === 0) continue;
    const { loss, accuracy } = noGrad(() =>
      tidy(() => {
        const { inputs, targets } = uploadMlmBatch(batch);
        return model.forward(inputs, targets);
      }),
    );
    lossSum += (await loss.itemAsync()) * masked;
    correct += (await accuracy.itemAsync()) * masked;
    tokens += masked;
    loss.dispose();
    accuracy.dispose();
  }
  const result: EvalResult = {
    step: latest.step,
    loss: lossSum / tokens,
    maskedAccuracy: correct / tokens,
    maskedTokens: tokens,
    sequences: data.heldOut.length,
  };
  await writeFileAtomic(folder.path('eval.json'), `${JSON.stringify(result, null, 2)}\n`);
  out.write(
    `held-out MLM at step ${result.step}: loss ${result.loss.toFixed(4)}, masked-token accuracy ${(result.maskedAccuracy * 100).toFixed(1)}% ` +
      `(${tokens} masked tokens in ${result.sequences} sequences); written to ${folder.path('eval.json')}\n`,
  );
  for (const p of model.parameters()) p.dispose();
  return result;
}
