import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RunFolderError } from '@sibert/train/node';
import { UsageError } from './flags.js';

const HELP = `sibert-train: pretrain, fine-tune and evaluate BERT and SIBERT

  sibert-train pretrain --out DIR [--model sibert-tiny] [--recipe short|paper|sgd-only] [--backend cpu|webgpu] [--steps N]
                        [--batch-size B] [--seq-len S] [--seed K] [--optimizer sgd|adam|adamw|lamb]
                        [--lr X] [--weight-decay X] [--momentum X] [--clip none|global:X|relative:C]
                        [--schedule paper|constant|linear|cosine] [--warmup-steps N]
                        [--head-optimizer lamb|adamw|adam|sgd] [--head-lr X] [--head-weight-decay X]
                        [--mlm-head standard|scale-invariant] [--init-scale X] [--output-bias unigram|zero] [--dropout X] [--vocab-size N] [--corpora moby-dick,sotu,spam]
                        [--text PATH… [--text-field text] [--holdout 0.02] [--encoding utf-8]]
                        [--max-sequences N] [--log-every N] [--checkpoint-every N] [--config FILE]
                        [--update-in-backward] [--resume] [--overwrite]
  sibert-train finetune --from DIR --out DIR2 (--task spam|sotu-party | --train FILE [--dev FILE]
                        [--test FILE] [--text-field text] [--text-pair-field F] [--label-field label]
                        [--encoding utf-8]) [--epochs E] [--optimizer …] [--lr X] [--weight-decay X]
                        [--head-optimizer … [--head-lr X] [--head-weight-decay X]] [--clip …]
                        [--batch-size B] [--max-length L] [--seed K] [--warmup-steps N]
                        [--max-train-examples N] [--dropout X] [--pooling mean|cls]
                        [--random-encoder] [--backend …] [--config FILE] [--overwrite]
  sibert-train eval     --from RUN [--text PATH… | --test FILE] [--text-field F] [--text-pair-field F]
                        [--label-field F] [--encoding E] [--batch-size B] [--backend …]
  sibert-train predict  --from FINETUNE_RUN --input FILE|- [--format jsonl|csv|tsv|txt]
                        [--output FILE [--overwrite]] [--text-field F] [--text-pair-field F]
                        [--encoding E] [--batch-size B] [--backend …]
  sibert-train export   --from RUN --out DIR [--format hf] [--overwrite] [--backend …]
  sibert-train demo     [--out runs/demo] [--steps N] [--backend …]

Your own data: --text reads .txt (paragraphs) and .jsonl (one document per record) files, folders
and globs, optionally .gz; --train/--dev/--test read labelled .jsonl, .csv or .tsv files (without
--dev/--test, seeded stratified splits of --train). finetune --from also takes a HuggingFace BERT
folder (config.json, model.safetensors, tokenizer.json or vocab.txt); export writes one.

Models: {bert,sibert}-{tiny,mini,small,base}. The default recipe, 'short', is the paper's algorithm
set for a few thousand steps: SIBERT's encoder SGD (lr 40, weight decay 5e-5: ηλ = 2e-3), relative
clipping √C = 2, ÷10 at 60% and 90%, LAMB heads at 2e-2; BERT AdamW at 2e-3 (1e-3 from mini on)
with warmup and linear decay. '--recipe paper' takes the paper's settings (SGD lr 8e-4, weight decay 1e-2; LAMB 8e-4;
BERT AdamW 1e-4). '--recipe sgd-only' (SIBERT) trains everything by plain SGD, with no optimizer
state: the short recipe with a scale-invariant MLM head (--mlm-head scale-invariant) whose weight
matrices train as the encoder does, and plain SGD for its temperature and output bias. Every option
overrides the recipe.`;

/**
 * One command's lines of HELP (its usage up to the next command), for `sibert-train CMD --help`;
 * null for a command HELP does not list.
 */
function commandUsage(command: string): string | null {
  const lines = HELP.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  sibert-train ${command} `));
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('    ')) end++;
  return [
    ...lines.slice(start, end),
    '',
    'Every option is described in `sibert-train --help` and apps/trainer/README.md.',
  ].join('\n');
}

/** Runs one command; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const usage = command === undefined ? null : commandUsage(command);
  if (usage && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'pretrain': {
        const { pretrainCommand } = await import('./pretrain.js');
        const result = await pretrainCommand(rest);
        if (result.status === 'interrupted') return result.signal === 'SIGTERM' ? 143 : 130;
        return result.status === 'done' ? 0 : 1;
      }
      case 'finetune': {
        const { finetuneCommand } = await import('./finetune.js');
        const result = await finetuneCommand(rest);
        if (result.stoppedBy) return result.stoppedBy === 'SIGTERM' ? 143 : 130;
        return 0;
      }
      case 'eval': {
        const { evalCommand } = await import('./evaluate.js');
        await evalCommand(rest);
        return 0;
      }
      case 'predict': {
        const { predictCommand } = await import('./predict.js');
        await predictCommand(rest);
        return 0;
      }
      case 'export': {
        const { exportCommand } = await import('./export.js');
        await exportCommand(rest);
        return 0;
      }
      case 'demo': {
        const { demoCommand } = await import('./demo.js');
        return (await demoCommand(rest)) ? 0 : 1;
      }
      case undefined:
      case '--help':
      case 'help':
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(
          `unknown command '${command}'; expected pretrain, finetune, eval, predict, export or demo (see sibert-train --help)`,
        );
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`sibert-train ${command ?? ''}: ${message}\n`);
    // Bad input (flags, files, a run folder that is not what the command needs) exits 2.
    return error instanceof UsageError || error instanceof RunFolderError ? 2 : 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`sibert-train: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
