import { readFile } from 'node:fs/promises';
import { type ModelConfig, presetConfig, validateConfig } from '@sibert/models';
import { BertTokenizer } from '@sibert/tokenizer';
import { describeFsError, RunFolder } from '@sibert/train/node';
import { dataErrorAsUsage, UsageError } from './flags.js';
import { formatClip, type PretrainOptions, type parsePretrain, resolvePretrain } from './options.js';
import {
  checkTextFiles,
  type ReadProgress,
  resolveTextFiles,
  type TextFileRecord,
  textSourceOf,
  withTextDefaults,
} from './pretrain-data.js';
import { trainTokenizer } from './setup.js';

/** The model's config for pretraining options (vocabulary size from the tokenizer). */
export function modelConfigFor(options: PretrainOptions, vocabSize: number): ModelConfig {
  return presetConfig(options.model, vocabSize, {
    hiddenDropout: options.dropout,
    attentionDropout: options.dropout,
    mlmHead: options.mlmHead,
  });
}

/** What can be checked before any work: the options against the model they build. */
export function checkBeforeWork(options: PretrainOptions): void {
  const config = modelConfigFor(options, options.vocabSize);
  if (options.seqLen > config.maxPositions)
    throw new UsageError(
      `--seq-len ${options.seqLen} is longer than ${options.model}'s ${config.maxPositions} positions`,
    );
}

/** What a run is built from: its options, tokenizer, text files and (on resume) the stored model. */
export interface PretrainSetup {
  options: PretrainOptions;
  tokenizer: BertTokenizer;
  textFiles: TextFileRecord[];
  /** The model a resumed run was built with, not today's preset of the same name; null for a new run. */
  storedModel: ModelConfig | null;
}

/** A new run: the text files resolved and a WordPiece vocabulary trained on them and the corpora. */
export async function newRunSetup(
  folder: RunFolder,
  options: PretrainOptions,
  say: (line: string) => void,
): Promise<PretrainSetup> {
  const textFiles = await resolveTextFiles(options.text).catch((error: Error) => {
    throw dataErrorAsUsage(error);
  });
  say(
    `training a WordPiece vocabulary of ${options.vocabSize} on ${sourceNames(options, textFiles).join(', ')}…`,
  );
  const tokenizer = await trainTokenizer(
    options.corpora,
    textSourceOf(options, textFiles),
    options.vocabSize,
    readingReporter(say, 'reading text for the vocabulary'),
  ).catch((error: Error) => {
    throw dataErrorAsUsage(error);
  });
  const what = options.corpora.length > 0 ? 'the corpora' : 'the text';
  if (tokenizer.vocabSize > options.vocabSize)
    throw new UsageError(
      `--vocab-size ${options.vocabSize} is smaller than ${what}'s alphabet: WordPiece needs ${tokenizer.vocabSize} tokens for their characters and the special tokens alone; pass --vocab-size ${tokenizer.vocabSize} or more`,
    );
  if (tokenizer.vocabSize < options.vocabSize)
    say(
      `${what} ${what === 'the text' ? 'yields' : 'yield'} ${tokenizer.vocabSize} tokens (asked for ${options.vocabSize}): the model uses ${tokenizer.vocabSize}`,
    );
  await folder.writeText('tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson()));
  return { options, tokenizer, textFiles, storedModel: null };
}

/** A resumed run: the stored options (flags given again must agree), tokenizer, text files and model. */
export async function resumedRunSetup(
  folder: RunFolder,
  parsed: ReturnType<typeof parsePretrain>,
  argv: readonly string[],
): Promise<PretrainSetup> {
  const stored = await RunFolder.readConfig<PretrainOptions>(folder.dir);
  const storedModel = stored.model === undefined ? null : validateConfig(stored.model);
  // Runs written before recipes existed hold every option explicitly; they took the paper's. Runs
  // written before --output-bias started it at zero, and before --update-in-backward updated after it, before --mlm-head had the standard head.
  const storedOptions = withTextDefaults({
    ...stored.options,
    recipe: stored.options.recipe ?? 'paper',
    outputBias: stored.options.outputBias ?? 'zero',
    updateInBackward: stored.options.updateInBackward ?? false,
    mlmHead: stored.options.mlmHead ?? 'standard',
  });
  const options = {
    ...resumedOptions(storedOptions, parsed.options, explicitOptions(argv)),
    out: parsed.options.out,
  };
  const tokenizerPath = folder.path('tokenizer.json');
  const tokenizer = BertTokenizer.fromTokenizerJson(
    await readFile(tokenizerPath, 'utf8').catch((error: unknown) => {
      throw describeFsError(error, tokenizerPath, 'read');
    }),
  );
  const textFiles = (stored.textFiles as TextFileRecord[] | undefined) ?? [];
  await checkTextFiles(textFiles).catch((error: Error) => {
    throw new UsageError(`--resume: ${error.message}`);
  });
  return { options, tokenizer, textFiles, storedModel };
}

/** The corpora by name and the user's files by count, for messages. */
export function sourceNames(options: PretrainOptions, textFiles: readonly TextFileRecord[]): string[] {
  return [...options.corpora, ...(textFiles.length > 0 ? [`${textFiles.length} text file(s)`] : [])];
}

/** Prints reading progress from 2 s on, every 5 s (a large corpus takes minutes; a small one prints nothing). */
export function readingReporter(say: (line: string) => void, what: string): ReadProgress {
  let last = Date.now() - 3000;
  return (counts) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    say(
      `${what}: ${counts.files} file(s), ${counts.documents.toLocaleString('en-US')} documents` +
        (counts.tokens > 0 ? `, ${counts.tokens.toLocaleString('en-US')} tokens` : '') +
        '…',
    );
  };
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
