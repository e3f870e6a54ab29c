import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A folder of finished runs, one JSON file each, so that a long suite stopped part-way (a closed
 * session, a reboot) resumes where it was: a run whose file exists is read instead of trained. A
 * file records the settings that made it; one found under the same name with other settings is
 * an error, never silently reused or overwritten.
 */
export class RunCache<Settings extends object, Result> {
  constructor(readonly dir: string) {}

  /** The stored result of the run `name`, or null when it has not finished. */
  async load(name: string, settings: Settings): Promise<Result | null> {
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let stored: { settings: unknown; result: Result };
    try {
      stored = JSON.parse(text) as typeof stored;
    } catch (error) {
      throw new Error(
        `${path}: not a finished run's JSON (${(error as Error).message}); delete it to rerun the run`,
      );
    }
    if (JSON.stringify(stored.settings) !== JSON.stringify(settings)) {
      throw new Error(
        `${path} holds a run with other settings (${JSON.stringify(stored.settings)}, this suite: ${JSON.stringify(settings)}); give another --runs folder, or delete the file to rerun it`,
      );
    }
    return stored.result;
  }

  /** Stores a finished run: written to a temporary name, then renamed, so a file is whole or absent. */
  async save(name: string, settings: Settings, result: Result): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = this.path(name);
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, `${JSON.stringify({ settings, result })}\n`);
    await rename(partial, path);
  }

  private path(name: string): string {
    return join(this.dir, `${name.replace(/[^A-Za-z0-9.+-]+/g, '_')}.json`);
  }
}
