import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { encodeExamples } from '@sibert/data';
import { labelledFormat, readLabelledFile } from '@sibert/data/node';
import { argmaxRows, classProbabilities } from './classify.js';
import { readFinetunedRun } from './finetuned-run.js';
import { dataErrorAsUsage, UsageError } from './flags.js';
import { parsePredict } from './options.js';
import { useBackend } from './setup.js';

/** Examples encoded and scored at a time, so a large input never sits in memory encoded at once. */
const CHUNK = 2048;

export interface PredictResult {
  examples: number;
  output: string | null;
}

/**
 * `sibert-train predict`: labels every example of a file (or standard input) with a fine-tuning
 * run's classifier, one JSON line per example: its input line, the label, and every class's
 * probability. Messages go to stderr, so standard output stays JSON lines.
 */
export async function predictCommand(
  argv: readonly string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<PredictResult> {
  const options = parsePredict(argv);
  if (options.output !== null && existsSync(options.output) && !options.overwrite)
    throw new UsageError(`--output ${options.output} exists; pass --overwrite to replace it`);
  await useBackend(options.backend);
  const run = await readFinetunedRun(options.from, '--from');
  try {
    const format = options.format ?? (options.input === '-' ? 'jsonl' : labelledFormat(options.input));
    const file = await readLabelledFile(options.input, {
      ...run.fields(options),
      format,
      encoding: options.encoding,
    }).catch((error: Error) => {
      throw dataErrorAsUsage(error);
    });
    const sink = options.output === null ? stdout : createWriteStream(options.output);
    const classes = run.labelNames;
    for (let start = 0; start < file.records.length; start += CHUNK) {
      const records = file.records.slice(start, start + CHUNK);
      const examples = records.map((r) => ({
        text: r.text,
        ...(r.textPair === undefined ? {} : { textPair: r.textPair }),
        label: 0,
        source: String(r.line),
      }));
      const split = encodeExamples(examples, run.tokenizer, { maxLength: run.options.maxLength });
      const probabilities = await classProbabilities(run.model, split, options.batchSize);
      const best = argmaxRows(probabilities, classes.length);
      const lines = records.map((record, i) => {
        const row = probabilities.subarray(i * classes.length, (i + 1) * classes.length);
        return `${JSON.stringify({
          line: record.line,
          label: classes[best[i]!],
          probabilities: Object.fromEntries(classes.map((name, c) => [name, Number(row[c]!.toFixed(6))])),
        })}\n`;
      });
      if (!sink.write(lines.join(''))) await once(sink, 'drain');
    }
    if (sink !== stdout) {
      sink.end();
      await once(sink, 'finish');
    }
    stderr.write(
      `labelled ${file.records.length} example(s) of ${options.input === '-' ? 'standard input' : options.input} into the classes of ${run.taskName} (${classes.join(', ')})` +
        (options.output === null ? '' : `; written to ${options.output}`) +
        (file.longTexts > 0 ? `; ${file.longTexts} text(s) were cut on reading` : '') +
        '\n',
    );
    return { examples: file.records.length, output: options.output };
  } finally {
    run.dispose();
  }
}
