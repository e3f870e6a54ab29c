import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { MaskedLanguageModel, SequenceClassifier } from '@sibert/models';
import { saveHuggingFace } from '@sibert/models/node';
import { loadWithPath, RunFolder, type RunKind } from '@sibert/train/node';
import { readRun } from './checkpoint.js';
import { UsageError } from './flags.js';
import { parseExport } from './options.js';
import { useBackend } from './setup.js';

/**
 * `sibert-train export --format hf`: a run's newest checkpoint as a HuggingFace folder
 * (`BertForMaskedLM` / `BertForSequenceClassification` for BERT; SIBERT under its own
 * `model_type`). Files already in `--out` are replaced only with `--overwrite`, and nothing
 * else in it is touched.
 */
export async function exportCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<string[]> {
  const options = parseExport(argv);
  const { kind } = await RunFolder.readConfig(options.from).catch((error: Error) => {
    throw new UsageError(`--from: ${error.message}`);
  });
  if (existsSync(options.out) && (await readdir(options.out)).length > 0 && !options.overwrite)
    throw new UsageError(
      `--out ${options.out} is not empty; pass --overwrite to replace the files an export writes there`,
    );
  await useBackend(options.backend);
  const run = await readRun(options.from, '--from', kind as RunKind);
  const labelNames = (run.config.task as { labelNames?: string[] } | undefined)?.labelNames;
  const model =
    kind === 'finetune'
      ? new SequenceClassifier(run.contents.config, labelNames?.length ?? run.contents.numLabels!)
      : new MaskedLanguageModel(run.contents.config);
  loadWithPath(model, run.contents.tensors, run.path);
  const files = await saveHuggingFace(options.out, model, run.tokenizer, labelNames ? { labelNames } : {});
  model.dispose();
  const family = run.contents.config.family;
  out.write(
    `exported ${options.from} (step ${run.step}) to ${options.out}: ${files.join(', ')}` +
      (family === 'sibert'
        ? "\nSIBERT has no transformers class: config.json's model_type is 'sibert' (read it with @sibert/models' readHuggingFace or sibert-train finetune --from)\n"
        : `\nload it with transformers' ${kind === 'finetune' ? 'BertForSequenceClassification' : 'BertForMaskedLM'}.from_pretrained(${JSON.stringify(options.out)})\n`),
  );
  return files;
}
