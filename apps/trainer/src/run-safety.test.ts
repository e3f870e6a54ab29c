/**
 * sibert-train never loses a user's data: what --overwrite may delete, every stop signal, one
 * writer per run folder, resume from the newest complete checkpoint, checks before work.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '@sibert/models/node';
import { CHECKPOINT_PHASES, describeFsError } from '@sibert/train/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { losses, metrics, SMALL, startTrain, train } from './test-support.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sibert-safety-'));
});

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** A finished small run of `steps` steps (checkpoints every 5, logs every `logEvery`). */
async function finishedRun(name: string, steps: number, extra: string[] = []): Promise<string> {
  const out = join(root, name);
  const run = await train(['pretrain', ...SMALL, '--steps', String(steps), ...extra, '--out', out]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return out;
}

const checkpointsOf = async (dir: string) =>
  (await readdir(join(dir, 'checkpoints'))).filter((f) => f.startsWith('step-')).sort();

describe('--overwrite deletes only what sibert-train wrote', () => {
  it('refuses a folder it did not write, with or without --overwrite, and keeps its files', async () => {
    const out = join(root, 'thesis-parent');
    await mkdir(join(out, 'thesis'), { recursive: true });
    await writeFile(join(out, 'thesis', 'a.tex'), 'x');
    for (const flags of [[], ['--overwrite']]) {
      const run = await train(['pretrain', ...SMALL, '--steps', '3', '--out', out, ...flags]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/is not empty and was not written by sibert-train; choose another folder/);
      expect(run.stderr).not.toMatch(/pass --overwrite/);
    }
    expect(await readFile(join(out, 'thesis', 'a.tex'), 'utf8')).toBe('x');
  });

  it('replaces its own run with --overwrite', async () => {
    const out = await finishedRun('replaced', 3);
    const run = await train([
      'pretrain',
      ...SMALL,
      '--steps',
      '2',
      '--seed',
      '7',
      '--out',
      out,
      '--overwrite',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).options.seed).toBe(7);
    expect(await checkpointsOf(out)).toEqual(['step-00000002']);
  });

  it('finetune never writes into (or deletes) the run it reads, and suggests nothing it lacks', async () => {
    const from = await finishedRun('finetune-source', 3);
    const run = await train(['finetune', '--task', 'spam', '--from', from, '--out', from, '--overwrite']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is \(or holds\) the run this command reads/);
    expect(await exists(join(from, 'tokenizer.json'))).toBe(true);
    const parent = await train(['finetune', '--task', 'spam', '--from', from, '--out', root, '--overwrite']);
    expect(parent.code).toBe(2);

    const out = join(root, 'finetune-twice');
    const args = ['finetune', '--task', 'spam', '--from', from, '--out', out, '--epochs', '1'];
    const small = ['--max-train-examples', '16', '--max-length', '32'];
    expect((await train([...args, ...small])).code).toBe(0);
    const again = await train([...args, ...small]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/holds another run; choose another --out or pass --overwrite/);
    expect(again.stderr).not.toMatch(/--resume/);
  });
});

describe('stop signals and resume', () => {
  const common = [
    ...SMALL,
    '--clip',
    'relative:0.001',
    '--steps',
    '30',
    '--log-every',
    '4',
    '--checkpoint-every',
    '1000',
  ];

  it('SIGTERM writes a checkpoint mid logging window; the resumed run logs what the uninterrupted one did', async () => {
    const whole = join(root, 'term-whole');
    expect((await train(['pretrain', ...common, '--out', whole])).code).toBe(0);
    const parts = join(root, 'term-parts');
    const first = await train(['pretrain', ...common, '--out', parts], {
      signal: 'SIGTERM',
      interruptWhen: (s) => /pretrain step (9|1\d)\/30/.test(s),
    });
    expect(first.code).toBe(143);
    expect(first.stdout).toMatch(/SIGTERM at step \d+: checkpoint written; continue with --resume/);
    const second = await train(['pretrain', '--resume', '--out', parts]);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const [a, b] = [await metrics(whole), await metrics(parts)];
    expect(b).toHaveLength(a.length);
    // The same means over the same windows, clipping counted per window (it fires on every step).
    for (const key of ['step', 'loss', 'maskedAccuracy', 'clippedSteps', 'gradNorm', 'encoderParamNorm'])
      expect(b.map((m) => m[key])).toEqual(a.map((m) => m[key]));
    expect(a.every((m) => m.clippedSteps === 4 || m.step === 30)).toBe(true);
  });

  it('SIGINT stops the run between logging steps', async () => {
    const out = join(root, 'int-quiet');
    const run = await train(
      [
        'pretrain',
        ...SMALL,
        '--steps',
        '100000',
        '--log-every',
        '100000',
        '--checkpoint-every',
        '100000',
        '--out',
        out,
      ],
      { interruptAfterMs: 1500 },
    );
    expect(run.code).toBe(130);
    const [checkpoint] = await checkpointsOf(out);
    expect(Number(checkpoint!.slice(5))).toBeLessThan(100000);
  });

  it('resumes from the newest complete checkpoint when latest.json is missing or corrupt', async () => {
    const args = [...SMALL, '--steps', '12', '--log-every', '1', '--checkpoint-every', '5'];
    const whole = join(root, 'latest-whole');
    expect((await train(['pretrain', ...args, '--out', whole])).code).toBe(0);
    const parts = join(root, 'latest-parts');
    const first = await train(['pretrain', ...args, '--out', parts], {
      interruptWhen: (s) => /pretrain step 7\/12/.test(s),
    });
    expect(first.code).toBe(130);
    for (const damage of ['corrupt', 'missing']) {
      const copy = join(root, `latest-${damage}`);
      await cp(parts, copy, { recursive: true });
      await rm(join(copy, '.lock'), { force: true });
      const latest = join(copy, 'checkpoints', 'latest.json');
      if (damage === 'corrupt') await writeFile(latest, '{"step": 5, "fol');
      else await rm(latest);
      const resumed = await train(['pretrain', '--resume', '--out', copy]);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(
        /latest\.json is missing or unreadable; using the newest complete checkpoint/,
      );
      expect(resumed.stdout).not.toMatch(/starting it over/);
      expect(await losses(copy)).toEqual(await losses(whole));
    }
  });

  it('drops a torn last metrics line, refuses a corrupt middle one naming it', async () => {
    const out = await finishedRun('torn', 12, ['--log-every', '1', '--checkpoint-every', '5']);
    // Back to step 10, as if the run had been killed while appending the log of step 11.
    await rm(join(out, 'checkpoints', 'step-00000012'), { recursive: true });
    const path = join(out, 'metrics.jsonl');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    await writeFile(path, `${lines.slice(0, 10).join('\n')}\n{"step": 11, "lo`);
    const run = await train(['pretrain', '--resume', '--out', out]);
    expect(run.stdout).toMatch(/dropped a torn last line \(line 11/);
    expect(run.code).toBe(0);
    expect(await losses(out)).toHaveLength(12);

    await writeFile(path, `${lines[0]}\n{oops\n${lines[1]}\n`);
    const bad = await train(['pretrain', '--resume', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/metrics\.jsonl, line 2, is not valid JSON/);
  });

  it('a corrupt state.json is named, and the next older checkpoint is used', async () => {
    const out = await finishedRun('bad-state', 12, ['--log-every', '1', '--checkpoint-every', '5']);
    await writeFile(join(out, 'checkpoints', 'step-00000012', 'state.json'), '{"step": 12,');
    const run = await train(['pretrain', '--resume', '--out', out]);
    expect(run.stdout).toMatch(/step-00000012\/state\.json is not valid JSON/);
    expect(run.stdout).toMatch(/resuming .* from step 10/);
    expect(run.code).toBe(0);
  });

  it('a crash at any phase of a checkpoint write resumes exactly and leaves no temporary folder', async () => {
    const args = [...SMALL, '--steps', '12', '--log-every', '1', '--checkpoint-every', '4'];
    const whole = join(root, 'crash-whole');
    expect((await train(['pretrain', ...args, '--out', whole])).code).toBe(0);
    for (const phase of CHECKPOINT_PHASES) {
      const out = join(root, `crash-${phase}`);
      const crashed = await train(['pretrain', ...args, '--out', out], {
        env: { SIBERT_TRAIN_CRASH_AT: `${phase}:8` },
      });
      expect(crashed.signal).toBe('SIGKILL');
      const resumed = await train(['pretrain', '--resume', '--out', out]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      // Written and renamed: the crash lost nothing; before the rename: it goes back to step 4.
      expect(resumed.stdout).toMatch(
        phase === 'renamed' || phase === 'latest-written' ? /from step 8/ : /from step 4/,
      );
      expect(await losses(out)).toEqual(await losses(whole));
      expect((await readdir(join(out, 'checkpoints'))).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    }
  });
});

describe('one writer per run folder', () => {
  it('refuses a second writer naming the first one’s pid, and takes over a dead one’s lock', async () => {
    const out = join(root, 'locked');
    const first = startTrain([
      'pretrain',
      ...SMALL,
      '--steps',
      '100000',
      '--log-every',
      '100000',
      '--checkpoint-every',
      '100000',
      '--out',
      out,
    ]);
    await first.waitFor(/parameters on/);
    const resume = await train(['pretrain', '--resume', '--out', out]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(new RegExp(`in use by another sibert-train \\(pid ${first.child.pid},`));
    const overwrite = await train([
      'pretrain',
      ...SMALL,
      '--steps',
      '2',
      '--seed',
      '7',
      '--out',
      out,
      '--overwrite',
    ]);
    expect(overwrite.code).toBe(2);
    first.child.kill('SIGKILL');
    await first.done;
    // The lock's process is gone: the next writer takes it over.
    const after = await train(['pretrain', ...SMALL, '--steps', '2', '--out', out, '--overwrite']);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(await exists(join(out, '.lock'))).toBe(false);
  });
});

describe('checks before work, strict numbers, and honest inputs', () => {
  const refusedBeforeWork = async (args: string[], message: RegExp) => {
    const out = join(root, `refused-${Math.random().toString(36).slice(2)}`);
    const run = await train([...args, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    // Nothing half-made is left: the same command can be run again once fixed.
    expect(await exists(out)).toBe(false);
  };

  it('refuses bad numbers and sizes with one line and leaves no folder', async () => {
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--steps', '0x10'],
      /--steps expects an integer ≥ 1, got "0x10"/,
    );
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--seed', '1e20'],
      /--seed expects an integer in \[0, 4294967295\]/,
    );
    await refusedBeforeWork(['pretrain', ...SMALL, '--seed', '4294967296'], /--seed expects an integer in/);
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--lr', '0x1'],
      /--lr expects a positive number, got "0x1"/,
    );
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--seq-len', '513'],
      /--seq-len 513 is longer than sibert-tiny's 512 positions/,
    );
    // Known only once the data is prepared: still exit 2, and the folder is removed.
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--batch-size', '100000000'],
      /--batch-size 100000000 is larger than the \d+ training sequences of 32 tokens/,
    );
    await refusedBeforeWork(
      ['pretrain', ...SMALL, '--vocab-size', '64'],
      /--vocab-size 64 is smaller than the corpora's alphabet: WordPiece needs \d+ tokens/,
    );
  });

  it('runs of 2 to 4 steps and a one-step fine-tuning work', async () => {
    for (const steps of [3, 4])
      expect(await losses(await finishedRun(`steps-${steps}`, steps))).toHaveLength(1);
    const out = await finishedRun('two-steps', 2);
    expect(await losses(out)).toHaveLength(1);
    const finetune = await train([
      'finetune',
      '--task',
      'spam',
      '--from',
      out,
      '--out',
      join(root, 'one-step'),
      '--epochs',
      '1',
      '--max-train-examples',
      '8',
      '--max-length',
      '32',
    ]);
    expect(finetune.stderr).toBe('');
    expect(finetune.code).toBe(0);
    await refusedBeforeWork(
      ['finetune', '--task', 'spam', '--from', out, '--max-length', '1000'],
      /--max-length 1000 is longer than the model's 512 positions/,
    );
  });

  it('eval and finetune check the tokenizer and the checkpoint against the run', async () => {
    const out = await finishedRun('checked', 5);
    const other = await finishedRun('checked-other', 2, ['--vocab-size', '600']);
    await cp(join(other, 'tokenizer.json'), join(out, 'tokenizer.json'));
    const evaluation = await train(['eval', '--from', out]);
    expect(evaluation.code).toBe(2);
    expect(evaluation.stderr).toMatch(
      /tokenizer\.json has \d+ tokens but the model in .*model\.safetensors has a vocabulary of \d+/,
    );
    const finetune = await train([
      'finetune',
      '--task',
      'spam',
      '--from',
      out,
      '--out',
      join(root, 'checked-ft'),
    ]);
    expect(finetune.code).toBe(2);
    expect(finetune.stderr).toMatch(/tokenizer\.json has \d+ tokens/);

    await cp(join(other, 'tokenizer.json'), join(out, 'tokenizer.json'));
    await rm(join(out, 'checkpoints'), { recursive: true });
    await cp(join(other, 'checkpoints'), join(out, 'checkpoints'), { recursive: true });
    const swapped = await train(['eval', '--from', out]);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toMatch(
      /step-00000002\/model\.safetensors holds another model than the run's config\.json/,
    );
  });

  it('a diverging run says that no checkpoint was kept; NaN weights are refused on load', async () => {
    const out = join(root, 'diverged');
    const bert = SMALL.map((a) => (a === 'sibert-tiny' ? 'bert-tiny' : a));
    const run = await train([
      'pretrain',
      ...bert,
      '--optimizer',
      'sgd',
      '--lr',
      '1e30',
      '--steps',
      '20',
      '--out',
      out,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/the loss is (NaN|Infinity) at step \d+: stopping; no checkpoint was written/);
    expect(await checkpointsOf(out)).toEqual([]);

    // Exploding but finite: only the checkpoint before the explosion is kept (measured: loss 6.05
    // at step 2, 15.1 at step 3, 138 at step 4, 1e27 by step 21).
    const exploded = join(root, 'exploded');
    const args = ['--optimizer', 'sgd', '--lr', '10', '--steps', '30', '--checkpoint-every', '2'];
    const explosion = await train(['pretrain', ...bert, ...args, '--out', exploded]);
    expect(explosion.stdout).toMatch(
      /step 4: no checkpoint written: a loss of [\d.e+]+ since the last one is exploding/,
    );
    expect(await checkpointsOf(exploded)).toEqual(['step-00000002']);

    const good = await finishedRun('nan-weights', 3);
    const file = join(good, 'checkpoints', 'step-00000003', 'model.safetensors');
    const { tensors, metadata } = await loadSafetensors(file);
    const [name, first] = [...tensors.entries()].find(([, t]) => t.dtype === 'float32')!;
    (first.data as Float32Array)[0] = Number.NaN;
    await saveSafetensors(file, tensors, metadata);
    const evaluation = await train(['eval', '--from', good]);
    expect(evaluation.code).toBe(1);
    expect(evaluation.stderr).toMatch(
      new RegExp(`model\\.safetensors: tensor ${name.replace(/\./g, '\\.')} holds NaN`),
    );
  });

  it('leftover temporary checkpoint folders are removed on the next start', async () => {
    const out = await finishedRun('leftovers', 5);
    const leftover = join(out, 'checkpoints', '.tmp-step-00000009-4242');
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'model.safetensors'), 'partial');
    const run = await train(['pretrain', '--resume', '--out', out]);
    expect(run.code).toBe(0);
    expect(await exists(leftover)).toBe(false);
  });

  it('file-system errors name the file and the cause', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(describeFsError(enospc, '/runs/a/metrics.jsonl', 'write').message).toBe(
      'cannot write /runs/a/metrics.jsonl: no space left on the device (ENOSPC)',
    );
    const erofs = Object.assign(new Error('EROFS'), { code: 'EROFS' });
    expect(describeFsError(erofs, '/mnt/ro/run', 'create').message).toMatch(
      /the file system is read-only \(EROFS\)/,
    );
  });
});
