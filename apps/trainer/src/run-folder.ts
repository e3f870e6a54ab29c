import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@sibert/models';
import { UsageError } from './options.js';

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

/**
 * The folder a run writes: config.json, tokenizer.json, metrics.jsonl, checkpoints/step-N/ and
 * summary.md. A checkpoint folder is written whole under a temporary name and renamed into place,
 * then `checkpoints/latest.json` is replaced atomically, so a crash leaves the previous checkpoint.
 */
export class RunFolder {
  private constructor(readonly dir: string) {}

  /**
   * Opens `dir` for a new run (it must be empty or absent, unless `overwrite`) or, with `resume`,
   * an existing run of the same kind. Refusals are UsageErrors that touch nothing.
   */
  static async open(
    dir: string,
    kind: RunKind,
    flags: { resume?: boolean; overwrite?: boolean },
  ): Promise<RunFolder> {
    const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      if (error.code === 'ENOTDIR') throw new UsageError(`--out ${dir} is a file, not a folder`);
      throw error;
    });
    const folder = new RunFolder(dir);
    if (flags.resume) {
      const config = await RunFolder.readConfig(dir).catch(() => null);
      if (!config) throw new UsageError(`--resume: ${dir} holds no run to resume (no readable config.json)`);
      if (config.kind !== kind)
        throw new UsageError(`--resume: ${dir} holds a ${config.kind} run, not a ${kind} run`);
      return folder;
    }
    if (entries && entries.length > 0) {
      const isRun = entries.includes('config.json');
      if (!flags.overwrite) {
        throw new UsageError(
          isRun
            ? `--out ${dir} holds another run; pass --resume to continue it or --overwrite to replace it`
            : `--out ${dir} is not empty and is not a run folder; choose another folder or pass --overwrite`,
        );
      }
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(join(dir, CHECKPOINTS), { recursive: true });
    return folder;
  }

  /** An existing run of `kind` (for `--from`); `flag` names the option in errors. */
  static async existing(
    dir: string,
    kind: RunKind,
    flag: string,
  ): Promise<{ folder: RunFolder; config: RunConfig }> {
    const config = await RunFolder.readConfig(dir).catch((error: Error) => {
      throw new UsageError(`${flag}: ${error.message}`);
    });
    if (config.kind !== kind)
      throw new UsageError(`${flag} ${dir} is a ${config.kind} run, not a ${kind} run`);
    return { folder: new RunFolder(dir), config };
  }

  /** The config of the run in `dir`; a clear error when it is missing or foreign. */
  static async readConfig<O>(dir: string): Promise<RunConfig<O>> {
    let text: string;
    try {
      text = await readFile(join(dir, 'config.json'), 'utf8');
    } catch {
      throw new UsageError(`${dir} is not a run folder (no config.json)`);
    }
    let config: RunConfig<O>;
    try {
      config = JSON.parse(text) as RunConfig<O>;
    } catch (error) {
      throw new UsageError(`${dir}/config.json is not valid JSON (${(error as Error).message})`);
    }
    if (config.version !== 1 || (config.kind !== 'pretrain' && config.kind !== 'finetune')) {
      throw new UsageError(
        `${dir}/config.json was not written by sibert-train (kind ${JSON.stringify(config.kind)})`,
      );
    }
    return config;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async writeConfig(config: RunConfig): Promise<void> {
    await writeFileAtomic(this.path('config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(this.path(name), text);
  }

  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.path('metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  async readMetrics(): Promise<Record<string, unknown>[]> {
    const text = await readFile(this.path('metrics.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Drops metric records logged after `step` (a resumed run logs them again). */
  async truncateMetrics(step: number): Promise<void> {
    const kept = (await this.readMetrics()).filter((r) => typeof r.step !== 'number' || r.step <= step);
    await writeFileAtomic(this.path('metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Writes checkpoint `step` with `write(folder)`, atomically, and keeps the newest ones. */
  async saveCheckpoint(step: number, write: (folder: string) => Promise<void>): Promise<string> {
    const name = `step-${String(step).padStart(8, '0')}`;
    const final = join(this.dir, CHECKPOINTS, name);
    const temporary = join(this.dir, CHECKPOINTS, `.tmp-${name}-${process.pid}`);
    await rm(temporary, { recursive: true, force: true });
    await mkdir(temporary, { recursive: true });
    await write(temporary);
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
    await writeFileAtomic(join(this.dir, CHECKPOINTS, LATEST), `${JSON.stringify({ step, folder: name })}\n`);
    const old = (await readdir(join(this.dir, CHECKPOINTS)))
      .filter((f) => f.startsWith('step-') && f < name)
      .sort();
    for (const stale of old.slice(0, Math.max(0, old.length - (KEEP_CHECKPOINTS - 1)))) {
      await rm(join(this.dir, CHECKPOINTS, stale), { recursive: true, force: true });
    }
    return final;
  }

  /** The newest complete checkpoint, or null. */
  async latestCheckpoint(): Promise<{ step: number; folder: string } | null> {
    try {
      const latest = JSON.parse(await readFile(join(this.dir, CHECKPOINTS, LATEST), 'utf8')) as {
        step: number;
        folder: string;
      };
      const folder = join(this.dir, CHECKPOINTS, latest.folder);
      await stat(folder);
      return { step: latest.step, folder };
    } catch {
      return null;
    }
  }
}
