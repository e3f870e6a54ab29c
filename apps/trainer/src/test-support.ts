/** Helpers of the trainer's tests: the CLI in a child process, a small fast configuration. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

export interface Run {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface TrainOptions {
  /** Sends `signal` (SIGINT by default) once the output so far satisfies this. */
  interruptWhen?: (stdout: string) => boolean;
  signal?: NodeJS.Signals;
  /** Sends `signal` this many ms after the process printed its data line. */
  interruptAfterMs?: number;
  env?: Record<string, string>;
  /** Written to the process's standard input, which is then closed. */
  stdin?: string;
}

/** A sibert-train child process still running: its output so far and its end. */
export interface RunningTrain {
  child: ChildProcess;
  /** Resolves once the output so far matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  done: Promise<Run>;
}

/** Starts sibert-train from its TypeScript sources in a child process. */
export function startTrain(args: string[], options: TrainOptions = {}): RunningTrain {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], {
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    child.kill(options.signal ?? 'SIGINT');
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (options.interruptWhen?.(stdout)) interrupt();
    if (options.interruptAfterMs !== undefined && /parameters on/.test(stdout))
      setTimeout(interrupt, options.interruptAfterMs);
    for (const w of waiters.filter((w) => w.pattern.test(stdout))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    waitFor: (pattern) =>
      pattern.test(stdout) ? Promise.resolve() : new Promise((resolve) => waiters.push({ pattern, resolve })),
  };
}

/** Runs sibert-train from its TypeScript sources in a child process, to its end. */
export function train(args: string[], options: TrainOptions = {}): Promise<Run> {
  return startTrain(args, options).done;
}

/** A small, fast pretraining configuration (tiny vocabulary, short sequences, a slice of one corpus). */
export const SMALL = [
  '--model',
  'sibert-tiny',
  '--corpora',
  'moby-dick',
  '--vocab-size',
  '400',
  '--seq-len',
  '32',
  '--batch-size',
  '8',
  '--max-sequences',
  '400',
  '--init-scale',
  '0.1',
  '--lr',
  '0.1',
  '--head-lr',
  '0.01',
  '--dropout',
  '0.1',
];

export async function metrics(dir: string): Promise<Record<string, number>[]> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);
}

export async function losses(dir: string): Promise<number[]> {
  return (await metrics(dir)).map((m) => m.loss!);
}
