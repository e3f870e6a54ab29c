import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchIteratorState } from '@sibert/data';
import {
  type CheckpointableModel,
  CheckpointError,
  type LoadReport,
  loadWeights,
  type ModelConfig,
  type TensorData,
} from '@sibert/models';
import { loadSafetensors, readCheckpoint, saveModel, saveSafetensors } from '@sibert/models/node';
import type { CombinedOptimizer, CombinedStateDict } from '@sibert/optim';
import { getRngState, type RngState, setRngState } from '@sibert/tensor';
import { type RunFolder, RunFolderError } from './run-folder.js';

/** Everything besides the weights that a run needs to continue exactly. */
export interface TrainingState {
  /** Steps completed. */
  step: number;
  /** The engine's RNG (dropout masks). */
  rng: RngState;
  /** The data stream's position after the last consumed batch. */
  data: BatchIteratorState;
  /** Anything else the command keeps (epoch metrics, …). */
  extra?: Record<string, unknown>;
}

/** The weights' file in every checkpoint folder (with the config in its metadata). */
export const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'state.json';

/**
 * Writes a training checkpoint into `folder` (RunFolder.saveCheckpoint makes it atomic): the model
 * (safetensors, config in the metadata), the optimizer's per-parameter buffers (safetensors) with
 * its scalar state, and the RNG and data positions (state.json).
 */
export async function writeTrainingCheckpoint(
  folder: string,
  model: CheckpointableModel,
  optimizer: CombinedOptimizer,
  state: Omit<TrainingState, 'rng'>,
): Promise<void> {
  await assertFiniteWeights(model, `the weights at step ${state.step}`);
  await saveModel(join(folder, MODEL_FILE), model, { step: String(state.step) });
  const buffers = new Map<string, TensorData>();
  const skeleton = extractBuffers(await optimizer.stateDict(), buffers);
  await saveSafetensors(join(folder, OPTIMIZER_FILE), buffers);
  const full: TrainingState & { optimizer: unknown } = { ...state, rng: getRngState(), optimizer: skeleton };
  await writeFile(join(folder, STATE_FILE), `${JSON.stringify(full, null, 2)}\n`);
}

/** Restores weights, optimizer, RNG; returns the training state. Every mismatch is a clear error. */
export async function restoreTrainingCheckpoint(
  folder: string,
  model: CheckpointableModel,
  optimizer: CombinedOptimizer,
): Promise<TrainingState> {
  const contents = await readModelFile(join(folder, MODEL_FILE), model.config);
  const report = loadWithPath(model, contents.tensors, join(folder, MODEL_FILE));
  if (report.ignored.some((name) => name.startsWith('bert.pooler.')))
    throw new CheckpointError(
      `${join(folder, MODEL_FILE)} was written when the BERT MLM model still had a pooler, so its optimizer state does not fit today's model; it cannot be resumed (eval, finetune --from and export still read it): start a new run`,
      'resume',
    );
  const statePath = join(folder, STATE_FILE);
  const state = (await readJsonFile(statePath)) as TrainingState & { optimizer: unknown };
  const optimizerPath = join(folder, OPTIMIZER_FILE);
  const { tensors } = await loadSafetensors(optimizerPath);
  try {
    await optimizer.loadStateDict(insertBuffers(state.optimizer, tensors) as CombinedStateDict);
  } catch (error) {
    throw new CheckpointError(`${optimizerPath}: ${(error as Error).message}`, 'resume');
  }
  setRngState(state.rng);
  return {
    step: state.step,
    rng: state.rng,
    data: state.data,
    ...(state.extra ? { extra: state.extra } : {}),
  };
}

/** A checkpoint's model file, checked: the config `expected` (if given) and finite weights. */
export async function readModelFile(
  path: string,
  expected?: ModelConfig,
): Promise<Awaited<ReturnType<typeof readCheckpoint>>> {
  const contents = await readCheckpoint(path);
  if (expected && JSON.stringify(contents.config) !== JSON.stringify(expected)) {
    throw new CheckpointError(
      `${path} holds another model than the run's config.json (checkpoint ${JSON.stringify(contents.config)}, run ${JSON.stringify(expected)})`,
      'checkpoint',
    );
  }
  for (const [name, tensor] of contents.tensors) {
    if (tensor.data instanceof Float32Array && !tensor.data.every(Number.isFinite))
      throw new CheckpointError(`${path}: tensor ${name} holds NaN or infinite values`, 'checkpoint');
  }
  return contents;
}

/** loadWeights, with the file named in its shape and dtype errors. */
export function loadWithPath(
  model: CheckpointableModel,
  tensors: Parameters<typeof loadWeights>[1],
  path: string,
  options?: Parameters<typeof loadWeights>[2],
): LoadReport {
  try {
    return loadWeights(model, tensors, options);
  } catch (error) {
    throw new CheckpointError(`${path}: ${(error as Error).message}`, 'checkpoint');
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${path} is not valid JSON (${(error as Error).message})`, 'resume');
  }
}

/** The weights are written only when finite: a checkpoint is something to go back to. */
export class NonFiniteWeightsError extends Error {}

async function assertFiniteWeights(model: CheckpointableModel, what: string): Promise<void> {
  for (const [name, p] of model.namedParameters()) {
    const data = await p.data();
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new NonFiniteWeightsError(`${what}: ${name} holds ${data[i]}`);
    }
  }
}

/** Replaces every Float32Array in a JSON-like value by `{ $buffer: key }`, collecting the arrays. */
function extractBuffers(value: unknown, into: Map<string, TensorData>, path = 'state'): unknown {
  if (value instanceof Float32Array) {
    into.set(path, { dtype: 'float32', shape: [value.length], data: value });
    return { $buffer: path };
  }
  if (Array.isArray(value)) return value.map((v, i) => extractBuffers(v, into, `${path}.${i}`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, extractBuffers(v, into, `${path}.${k}`)]),
    );
  }
  return value;
}

function insertBuffers(value: unknown, buffers: Map<string, TensorData>): unknown {
  if (Array.isArray(value)) return value.map((v) => insertBuffers(v, buffers));
  if (value && typeof value === 'object') {
    const key = (value as { $buffer?: string }).$buffer;
    if (typeof key === 'string') {
      const buffer = buffers.get(key);
      if (!buffer)
        throw new CheckpointError(`the optimizer state refers to a missing buffer '${key}'`, 'resume');
      return buffer.data;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, insertBuffers(v, buffers)]));
  }
  return value;
}

/**
 * Restores the newest complete checkpoint of `folder` that loads; one that does not (corrupt,
 * another model, NaN weights) is reported through `say` and the next older one tried. Null when
 * the folder has no complete checkpoint at all; a RunFolderError when none of them loads.
 */
export async function restoreNewestCheckpoint(
  folder: RunFolder,
  model: CheckpointableModel,
  optimizer: CombinedOptimizer,
  say: (line: string) => void,
): Promise<TrainingState | null> {
  const { complete, latestNote } = await folder.checkpoints();
  if (latestNote) say(latestNote);
  const failures: string[] = [];
  for (const checkpoint of complete) {
    try {
      return await restoreTrainingCheckpoint(checkpoint.folder, model, optimizer);
    } catch (error) {
      failures.push((error as Error).message);
      say(`cannot resume from ${checkpoint.folder}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0)
    throw new RunFolderError(
      `--resume: no checkpoint of ${folder.dir} can be loaded (${failures.join('; ')})`,
    );
  return null;
}
