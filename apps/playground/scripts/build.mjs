#!/usr/bin/env node
// Builds the playground into a folder a static server can serve: the page and its three workers
// bundled for the browser (esbuild), index.html, and the bundled data (a Moby-Dick sample to
// pretrain on, a spam/ham sample to fine-tune on) as JSON the workers fetch.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pretrainingDocuments, spamTask } from '@sibert/data/node';
import { build } from 'esbuild';

const appDir = fileURLToPath(new URL('..', import.meta.url));

/** About this many characters of Moby-Dick, whole chapters: a tokenizer and a few hundred steps' worth. */
const CORPUS_CHARS = 400_000;
const SPAM_TRAIN = 1_200;
const SPAM_TEST = 400;

/** The bundled text: the first chapters of Moby-Dick, as pretraining documents. */
function corpusSample() {
  const documents = [];
  let chars = 0;
  for (const document of pretrainingDocuments({ corpora: ['moby-dick'] })) {
    documents.push(document);
    chars += document.paragraphs.reduce((n, p) => n + p.length, 0);
    if (chars >= CORPUS_CHARS) break;
  }
  return documents;
}

/** `n` examples of each of the spam task's train and test splits, evenly spaced through them (both classes). */
function spamSample() {
  const task = spamTask();
  const rows = (examples, n) => {
    const stride = examples.length / Math.min(n, examples.length);
    return Array.from(
      { length: Math.min(n, examples.length) },
      (_, i) => examples[Math.floor(i * stride)],
    ).map(({ text, label }) => ({ text, label }));
  };
  return {
    labelNames: [...task.labelNames],
    train: rows(task.train, SPAM_TRAIN),
    test: rows(task.test, SPAM_TEST),
  };
}

/**
 * Writes the playground into `outDir`. `sources`: bundle the workspace packages from their
 * TypeScript sources (the "source" export condition: tests, no build needed) instead of their builds.
 */
export async function buildPlayground({ outDir = join(appDir, 'dist'), sources = false } = {}) {
  mkdirSync(join(outDir, 'data'), { recursive: true });
  await build({
    entryPoints: Object.fromEntries(
      ['page', 'train-worker', 'data-worker', 'encoder-worker'].map((name) => [
        name,
        join(appDir, 'src', `${name}.ts`),
      ]),
    ),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: outDir,
    sourcemap: true,
    conditions: sources ? ['source'] : [],
    logLevel: 'warning',
  });
  copyFileSync(join(appDir, 'src/index.html'), join(outDir, 'index.html'));
  writeFileSync(join(outDir, 'data/corpus.json'), JSON.stringify(corpusSample()));
  writeFileSync(join(outDir, 'data/spam.json'), JSON.stringify(spamSample()));
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = await buildPlayground();
  console.log(`playground built in ${outDir}`);
}
