import { unlinkSync } from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '@sibert/models/node';
import { contains, describeFsError, exists, fsStep, isAlive, sync } from './fs-safety.js';

/**
 * A refusal to open or read a run folder (it holds another run, is locked, is not a run): the
 * user's input, reported in one line; nothing was touched.
 */
export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
}

export type RunKind = 'pretrain' | 'finetune';

/** What `config.json` holds: the command, every resolved option, and what the run was built from. */
export interface RunConfig<O = unknown> {
  kind: RunKind;
  /** Format of this file. */
  version: 1;
  options: O;
  [extra: string]: unknown;
}

const CHECKPOINTS = 'checkpoints';
const LATEST = 'latest.json';
const KEEP_CHECKPOINTS = 2;
/** Written first into every folder this tool creates: what `--overwrite` may delete. */
const MARKER = '.sibert-run';
/** Held by the one process writing the folder: `{ pid, host, started }`. */
const LOCK = '.lock';
/** The files a checkpoint folder holds once it is complete. */
const CHECKPOINT_FILES = ['model.safetensors'];

interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

/** One line of metrics.jsonl that could not be read. */
export interface MetricsRepair {
  line: number;
  text: string;
}

/**
 * The folder a run writes: config.json, tokenizer.json, metrics.jsonl, checkpoints/step-N/ and
 * summary.md. One process writes it at a time (the lock). A checkpoint folder is written whole
 * under a temporary name, fsynced and renamed into place, then `checkpoints/latest.json` is
 * replaced atomically; resume trusts the folders, not latest.json, so a crash at any point leaves
 * the newest complete checkpoint usable.
 */
export class RunFolder {
  private lockHeld = false;
  private readonly releaseOnExit = () => {
    if (this.lockHeld) unlinkSync(this.path(LOCK));
  };

  private constructor(
    readonly dir: string,
    /** True when this run created the folder's contents (not a resume). */
    readonly fresh: boolean,
    /** True when the folder did not exist before this run. */
    private readonly created: boolean,
  ) {}

  /**
   * Opens `dir` for a new run (it must be empty or absent; `overwrite` replaces a folder this
   * tool wrote, never anything else and never one of `protect`) or, with `resume`, an existing
   * run of the same kind. Takes the folder's lock. Refusals are RunFolderErrors that touch nothing.
   */
  static async open(
    dir: string,
    kind: RunKind,
    flags: { resume?: boolean; overwrite?: boolean; protect?: readonly string[] },
  ): Promise<RunFolder> {
    const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      if (error.code === 'ENOTDIR') throw new RunFolderError(`--out ${dir} is a file, not a folder`);
      throw describeFsError(error, dir, 'read');
    });
    for (const other of flags.protect ?? []) {
      if (await contains(dir, other))
        throw new RunFolderError(
          `--out ${dir} is (or holds) the run this command reads, ${other}; choose another --out`,
        );
    }
    if (flags.resume) {
      const config = await RunFolder.readConfig(dir).catch(() => null);
      if (!config)
        throw new RunFolderError(`--resume: ${dir} holds no run to resume (no readable config.json)`);
      if (config.kind !== kind)
        throw new RunFolderError(`--resume: ${dir} holds a ${config.kind} run, not a ${kind} run`);
      const folder = new RunFolder(dir, false, false);
      await folder.lock();
      await folder.removeTemporaries();
      return folder;
    }
    const visible = (entries ?? []).filter((e) => e !== LOCK);
    if (visible.length > 0) {
      const ours = visible.includes(MARKER);
      const next =
        kind === 'pretrain'
          ? 'pass --resume to continue it or --overwrite to replace it'
          : 'choose another --out or pass --overwrite to replace it';
      if (!ours)
        throw new RunFolderError(
          `--out ${dir} is not empty and was not written by sibert-train; choose another folder (--overwrite only replaces sibert-train's run folders)`,
        );
      if (!flags.overwrite) throw new RunFolderError(`--out ${dir} holds another run; ${next}`);
    }
    const folder = new RunFolder(dir, true, entries === null);
    await fsStep(dir, 'create', () => mkdir(dir, { recursive: true }));
    await folder.lock();
    // The lock is ours, so no run is writing here: replace what the old run left.
    for (const entry of visible) {
      await fsStep(join(dir, entry), 'delete', () => rm(join(dir, entry), { recursive: true, force: true }));
    }
    await fsStep(dir, 'write to', () =>
      writeFileAtomic(folder.path(MARKER), `${JSON.stringify({ tool: 'sibert-train', kind })}\n`),
    );
    await fsStep(dir, 'write to', () => mkdir(join(dir, CHECKPOINTS), { recursive: true }));
    return folder;
  }

  /** An existing run of `kind` (for `--from`); `flag` names the option in errors. */
  static async existing(
    dir: string,
    kind: RunKind,
    flag: string,
  ): Promise<{ folder: RunFolder; config: RunConfig }> {
    const config = await RunFolder.readConfig(dir).catch((error: Error) => {
      throw new RunFolderError(`${flag}: ${error.message}`);
    });
    if (config.kind !== kind)
      throw new RunFolderError(`${flag} ${dir} is a ${config.kind} run, not a ${kind} run`);
    return { folder: new RunFolder(dir, false, false), config };
  }

  /** The config of the run in `dir`; a clear error when it is missing or foreign. */
  static async readConfig<O>(dir: string): Promise<RunConfig<O>> {
    let text: string;
    try {
      text = await readFile(join(dir, 'config.json'), 'utf8');
    } catch {
      throw new RunFolderError(`${dir} is not a run folder (no config.json)`);
    }
    let config: RunConfig<O>;
    try {
      config = JSON.parse(text) as RunConfig<O>;
    } catch (error) {
      throw new RunFolderError(`${dir}/config.json is not valid JSON (${(error as Error).message})`);
    }
    const modelType = (config as { model_type?: unknown }).model_type;
    if (typeof modelType === 'string')
      throw new RunFolderError(
        `${dir} is a HuggingFace model folder (model_type '${modelType}'), not a sibert-train run (finetune --from reads it)`,
      );
    if (config.version !== 1 || (config.kind !== 'pretrain' && config.kind !== 'finetune')) {
      throw new RunFolderError(
        `${dir}/config.json was not written by sibert-train (kind ${JSON.stringify(config.kind)})`,
      );
    }
    return config;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Takes the folder's lock: refused while another live process holds it (naming its pid); a
   * lock whose process is gone is taken over.
   */
  private async lock(): Promise<void> {
    const path = this.path(LOCK);
    const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(path, 'wx');
        try {
          await handle.writeFile(`${JSON.stringify(me)}\n`);
        } finally {
          await handle.close();
        }
        this.lockHeld = true;
        process.on('exit', this.releaseOnExit);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
          throw describeFsError(error, path, 'create');
      }
      const holder = await readFile(path, 'utf8')
        .then((t) => JSON.parse(t) as LockHolder)
        .catch(() => null);
      if (holder && holder.host !== me.host)
        throw new RunFolderError(
          `${this.dir} is locked by sibert-train on ${holder.host} (pid ${holder.pid}, since ${holder.started}); if that run is gone, delete ${path}`,
        );
      if (holder && isAlive(holder.pid))
        throw new RunFolderError(
          `${this.dir} is in use by another sibert-train (pid ${holder.pid}, since ${holder.started}); wait for it to finish or stop it`,
        );
      await rm(path, { force: true });
    }
  }

  /** Gives the lock back (also done at process exit). */
  async release(): Promise<void> {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    process.removeListener('exit', this.releaseOnExit);
    await rm(this.path(LOCK), { force: true });
  }

  /**
   * After a failure before anything worth keeping was written: removes what this run created, so
   * the same command can simply be run again. A resumed run is never touched.
   */
  async discard(): Promise<void> {
    if (!this.fresh) return;
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    for (const entry of entries) {
      if (entry !== LOCK) await rm(this.path(entry), { recursive: true, force: true });
    }
    await this.release();
    if (this.created) await rmdir(this.dir).catch(() => undefined);
  }

  /** Checkpoint folders a killed run left half-written (every writer holds the lock first). */
  private async removeTemporaries(): Promise<void> {
    const dir = join(this.dir, CHECKPOINTS);
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries.filter((e) => e.startsWith('.tmp-'))) {
      await rm(join(dir, entry), { recursive: true, force: true });
    }
  }

  async writeConfig(config: RunConfig): Promise<void> {
    await this.writeText('config.json', `${JSON.stringify(config, null, 2)}\n`);
  }

  async writeText(name: string, text: string): Promise<void> {
    await fsStep(this.path(name), 'write', () => writeFileAtomic(this.path(name), text));
  }

  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    const path = this.path('metrics.jsonl');
    await fsStep(path, 'write', () => appendFile(path, `${JSON.stringify(record)}\n`));
  }

  /**
   * The metric records. A torn last line (a crash mid-append) is dropped and reported; a line
   * that cannot be read before it is an error naming the line.
   */
  async readMetrics(): Promise<{ records: Record<string, unknown>[]; torn: MetricsRepair | null }> {
    const path = this.path('metrics.jsonl');
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw describeFsError(error, path, 'read');
    });
    const lines = text.split('\n');
    const records: Record<string, unknown>[] = [];
    let torn: MetricsRepair | null = null;
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch (error) {
        const last = lines.slice(i + 1).every((l) => l.trim() === '');
        if (!last)
          throw new RunFolderError(
            `${path}, line ${i + 1}, is not valid JSON (${(error as Error).message}); only a torn last line is repaired`,
          );
        torn = { line: i + 1, text: line };
      }
    }
    return { records, torn };
  }

  /** Drops metric records logged after `step` (a resumed run logs them again) and a torn last line. */
  async truncateMetrics(step: number): Promise<MetricsRepair | null> {
    const { records, torn } = await this.readMetrics();
    const kept = records.filter((r) => typeof r.step !== 'number' || r.step <= step);
    await this.writeText('metrics.jsonl', kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return torn;
  }

  /**
   * Writes checkpoint `step` with `write(folder)`: into a temporary folder, every file and the
   * folder fsynced, renamed into place, the rename fsynced; then latest.json; then the oldest
   * checkpoints beyond the newest KEEP_CHECKPOINTS are removed. `crashAt` is the fault-injection
   * seam of the tests (see SIBERT_TRAIN_CRASH_AT in pretrain.ts).
   */
  async saveCheckpoint(
    step: number,
    write: (folder: string) => Promise<void>,
    crashAt: (phase: CheckpointPhase) => void = () => {},
  ): Promise<string> {
    const name = `step-${String(step).padStart(8, '0')}`;
    const checkpoints = join(this.dir, CHECKPOINTS);
    const final = join(checkpoints, name);
    const temporary = join(checkpoints, `.tmp-${name}-${process.pid}`);
    await fsStep(temporary, 'write', async () => {
      await rm(temporary, { recursive: true, force: true });
      await mkdir(temporary, { recursive: true });
      await write(temporary);
      crashAt('files-written');
      for (const file of await readdir(temporary)) await sync(join(temporary, file));
      await sync(temporary);
      crashAt('files-synced');
      await rm(final, { recursive: true, force: true });
      await rename(temporary, final);
      crashAt('renamed');
      await sync(checkpoints);
      // The metrics up to this step are as durable as the checkpoint they describe.
      if (await exists(this.path('metrics.jsonl'))) await sync(this.path('metrics.jsonl'));
      await writeFileAtomic(join(checkpoints, LATEST), `${JSON.stringify({ step, folder: name })}\n`);
      await sync(checkpoints);
      crashAt('latest-written');
    });
    const old = (await readdir(checkpoints)).filter((f) => f.startsWith('step-') && f < name).sort();
    for (const stale of old.slice(0, Math.max(0, old.length - (KEEP_CHECKPOINTS - 1)))) {
      await rm(join(checkpoints, stale), { recursive: true, force: true });
    }
    return final;
  }

  /**
   * The complete checkpoints, newest first, and what latest.json says (a hint: it is written
   * after the folder, so a crash or a deleted file can leave it behind or missing).
   */
  async checkpoints(): Promise<{
    complete: { step: number; folder: string }[];
    latestNote: string | null;
  }> {
    const dir = join(this.dir, CHECKPOINTS);
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => /^step-\d+$/.test(n))
      .sort()
      .reverse();
    const complete: { step: number; folder: string }[] = [];
    for (const name of names) {
      const files = await readdir(join(dir, name)).catch(() => [] as string[]);
      if (CHECKPOINT_FILES.every((f) => files.includes(f)))
        complete.push({ step: Number(name.slice('step-'.length)), folder: join(dir, name) });
    }
    const latest = await readFile(join(dir, LATEST), 'utf8')
      .then((t) => JSON.parse(t) as { folder?: unknown })
      .catch(() => null);
    const newest = complete[0];
    let latestNote: string | null = null;
    if (newest && (!latest || latest.folder !== relative(dir, newest.folder)))
      latestNote = `${join(dir, LATEST)} is ${latest ? `stale (it names ${String(latest.folder)})` : 'missing or unreadable'}; using the newest complete checkpoint, ${relative(dir, newest.folder)}`;
    return { complete, latestNote };
  }

  /** The newest complete checkpoint, or null. */
  async latestCheckpoint(): Promise<{ step: number; folder: string } | null> {
    return (await this.checkpoints()).complete[0] ?? null;
  }
}

/** The points of a checkpoint write at which the fault-injection tests crash the process. */
export type CheckpointPhase = 'files-written' | 'files-synced' | 'renamed' | 'latest-written';
export const CHECKPOINT_PHASES: readonly CheckpointPhase[] = [
  'files-written',
  'files-synced',
  'renamed',
  'latest-written',
];
