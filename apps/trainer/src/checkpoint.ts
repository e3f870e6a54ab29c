import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchIteratorState } from '@sibert/data';
import {
  type CheckpointableModel,
  CheckpointError,
  loadSafetensors,
  loadWeights,
  readCheckpoint,
  saveModel,
  saveSafetensors,
  type TensorData,
} from '@sibert/models';
import type { CombinedOptimizer, CombinedStateDict } from '@sibert/optim';
import { getRngState, type RngState, setRngState } from '@sibert/tensor';

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

const MODEL_FILE = 'model.safetensors';
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
  const contents = await readCheckpoint(join(folder, MODEL_FILE));
  if (JSON.stringify(contents.config) !== JSON.stringify(model.config)) {
    throw new CheckpointError(
      `${folder}: the checkpoint's model config differs from the run's (checkpoint ${JSON.stringify(contents.config)}, run ${JSON.stringify(model.config)})`,
      'resume',
    );
  }
  loadWeights(model, contents.tensors);
  const state = JSON.parse(await readFile(join(folder, STATE_FILE), 'utf8')) as TrainingState & {
    optimizer: unknown;
  };
  const { tensors } = await loadSafetensors(join(folder, OPTIMIZER_FILE));
  await optimizer.loadStateDict(insertBuffers(state.optimizer, tensors) as CombinedStateDict);
  setRngState(state.rng);
  return {
    step: state.step,
    rng: state.rng,
    data: state.data,
    ...(state.extra ? { extra: state.extra } : {}),
  };
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
