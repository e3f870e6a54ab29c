import { access, open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

// File-system helpers of the run folder: errors that name the path and the cause, fsync, liveness.

/**
 * A file-system failure with the path and the cause in words: Node's own messages for write and
 * fsync name neither the file nor, for EROFS, the reason in plain terms.
 */
export function describeFsError(error: unknown, path: string, action: string): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const cause: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EDQUOT: 'disk quota exceeded',
    ENOENT: 'no such file or folder',
    ENOTDIR: 'a part of the path is a file, not a folder',
  };
  if (code === undefined || !(code in cause))
    return error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(`cannot ${action} ${path}: ${cause[code]} (${code})`);
  (wrapped as NodeJS.ErrnoException).code = code;
  return wrapped;
}

export async function fsStep<T>(path: string, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw describeFsError(error, path, action);
  }
}

/** fsync of a file or a folder (a folder's, so a rename inside it survives a power loss). */
export async function sync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Whether `inner` is `outer` or lies inside it (symlinks resolved): deleting `outer` deletes it. */
export async function contains(outer: string, inner: string): Promise<boolean> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  const rel = relative(await real(outer), await real(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
