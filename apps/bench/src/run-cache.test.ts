import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunCache } from './run-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sibert-run-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RunCache', () => {
  const settings = { recipe: 'BERT SGD', steps: 10, initScale: 0.01 };

  it('returns null for a run not yet finished, and the stored result after save', async () => {
    const cache = new RunCache<typeof settings, { losses: number[] }>(join(dir, 'runs'));
    expect(await cache.load('BERT SGD init 0.01', settings)).toBeNull();
    await cache.save('BERT SGD init 0.01', settings, { losses: [7, 6.5] });
    expect(await new RunCache(join(dir, 'runs')).load('BERT SGD init 0.01', settings)).toEqual({
      losses: [7, 6.5],
    });
    // one whole file, no temporary left behind
    expect(await readdir(join(dir, 'runs'))).toEqual(['BERT_SGD_init_0.01.json']);
  });

  it('refuses a stored run made with other settings, and a file that is not a run, naming the file', async () => {
    const cache = new RunCache<typeof settings, number>(dir);
    await cache.save('r', settings, 1);
    await expect(cache.load('r', { ...settings, steps: 20 })).rejects.toThrow(
      /r\.json holds a run with other settings/,
    );
    await writeFile(join(dir, 'broken.json'), '{"settings":');
    await expect(cache.load('broken', settings)).rejects.toThrow(/broken\.json: not a finished run's JSON/);
  });
});
