import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type CheckpointableModel,
  type CheckpointContents,
  decodeModel,
  encodeModel,
} from '../checkpoint.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type TensorData } from '../safetensors.js';

/** Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed over. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/** The bytes of `path`; a read error becomes a CheckpointError naming the file. */
async function readBytes(path: string, op: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CheckpointError(`cannot read ${path}: ${(error as Error).message}`, op);
  }
}

export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function loadSafetensors(
  path: string,
): Promise<{ tensors: Map<string, TensorData>; metadata: Record<string, string> }> {
  return decodeSafetensors(await readBytes(path, 'loadSafetensors'), path);
}

/** Saves every parameter (safetensors, atomically) with the config in `__metadata__` (`encodeModel`). */
export async function saveModel(
  path: string,
  model: CheckpointableModel,
  extra: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeModel(model, extra));
}

/** Reads a checkpoint written by `saveModel`: its config, task and tensors (nothing is built). */
export async function readCheckpoint(path: string): Promise<CheckpointContents> {
  return decodeModel(await readBytes(path, 'readCheckpoint'), path);
}
