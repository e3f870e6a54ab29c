import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeCommand, runNode } from './child-process.js';

// Starting `sibert-train` and reading what its run folders hold, for the reproduce suite.

/**
 * How to start `sibert-train`: its CLI as the @sibert/trainer package exports it — the TypeScript
 * sources (under tsx) when this runs from source with the "source" condition, else the built CLI.
 */
export function trainerCommand(): string[] {
  return nodeCommand(fileURLToPath(import.meta.resolve('@sibert/trainer/cli')));
}

/** A `sibert-train` run that exited non-zero: its exit code and what it printed. */
export class TrainerExit extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    stderr: string,
  ) {
    super(`sibert-train ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
  }
}

/** Runs `sibert-train …`, passing its last output line on; rejects with a TrainerExit. */
export async function runTrainer(args: string[], onLine: (line: string) => void): Promise<void> {
  const { code, stdout, stderr } = await runNode([...trainerCommand(), ...args], onLine);
  if (code !== 0) throw new TrainerExit(args, code, stdout, stderr);
}

/** `sibert-train pretrain` stops with this line (and exit code 1) at a non-finite loss. */
export const DIVERGED = /the loss is \S+ at step (\d+): stopping/;

export const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export async function readJson<T>(path: string): Promise<T> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** What reproduce reads from a pretraining run folder (written by `sibert-train pretrain`). */
export interface PretrainConfig {
  kind: string;
  options: {
    steps: number;
    batchSize: number;
    seqLen: number;
    optimizer: string;
    lr: number;
    weightDecay: number;
    clip: { kind: string; maxNorm?: number; sqrtC?: number };
    schedule: string;
    headOptimizer: string;
    headLr: number;
    /** Absent in runs written before the option. */
    mlmHead?: string;
  };
}

export interface PretrainEval {
  step: number;
  loss: number;
  maskedAccuracy: number;
  belowBaseline: number;
  baseline: { loss: number; accuracy: number };
}

export interface MetricsRecord {
  step: number;
  loss: number;
  clippedSteps?: number;
  elapsed: number;
}

export interface FinetuneResultFile {
  test: { accuracy: number; f1: number };
  majorityBaseline: number;
}

export async function readMetrics(dir: string): Promise<MetricsRecord[]> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricsRecord);
}

export function describeOptimizer(o: PretrainConfig['options'], family: 'bert' | 'sibert'): string {
  const clip =
    o.clip.kind === 'relative'
      ? `, relative clip √C=${o.clip.sqrtC}`
      : o.clip.kind === 'global'
        ? `, clip ${o.clip.maxNorm}`
        : '';
  const main = `${o.optimizer} lr ${o.lr}, wd ${o.weightDecay}${clip}, ${o.schedule} schedule`;
  if (family === 'bert') return main;
  return o.mlmHead === 'scale-invariant'
    ? `${main}; scale-invariant MLM head (its matrices: as the encoder; τ and bias: ${o.headOptimizer} ${o.headLr})`
    : `${main}; heads ${o.headOptimizer} ${o.headLr}`;
}

/** A pretraining run that has finished and evaluated: its eval is of the last step. */
export async function completePretraining(dir: string): Promise<boolean> {
  if (!(await exists(join(dir, 'eval.json'))) || !(await exists(join(dir, 'config.json')))) return false;
  const [config, evaluation] = await Promise.all([
    readJson<PretrainConfig>(join(dir, 'config.json')),
    readJson<PretrainEval>(join(dir, 'eval.json')),
  ]);
  return evaluation.step === config.options.steps;
}

/**
 * A fine-tuning folder left by an interrupted run of this suite (a finetune config, no result): it
 * is started over. Anything else in the way is the trainer's to refuse.
 */
export async function incompleteFinetune(dir: string): Promise<boolean> {
  if (!(await exists(join(dir, 'config.json')))) return false;
  const config = await readJson<{ kind?: string }>(join(dir, 'config.json'));
  return config.kind === 'finetune';
}
