/// <reference path="./comlink-node-adapter.d.ts" />
// The Node side of @sibert/workers: links over node:worker_threads, and workers started from a
// package's build or from its TypeScript sources.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { WorkerError, type WorkerLink } from '../index';

export { transfer } from 'comlink';

/**
 * Starts the worker module at `url`. A `.js` module starts as it is; a `.ts` module (the sources,
 * under tsx or vitest) starts through tsx's API, because Node 20 does not carry loader hooks into
 * worker threads, with workspace packages resolved to their sources (the "source" condition).
 */
export function startNodeWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const require = createRequire(import.meta.url);
  const tsxPackage = require.resolve('tsx/package.json');
  const tsxApi = JSON.parse(readFileSync(tsxPackage, 'utf8')).exports['./esm/api'].import.default as string;
  const bootstrap = `
    const { tsImport } = await import(${JSON.stringify(pathToFileURL(join(dirname(tsxPackage), tsxApi)).href)});
    await tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
    execArgv: [...withoutConditions(process.execArgv), '--conditions=source'],
  });
}

/** `argv` without its export conditions (`--conditions X`, `--conditions=X`, `-C X`). */
function withoutConditions(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--conditions' || arg === '-C') i++;
    else if (!arg.startsWith('--conditions=')) kept.push(arg);
  }
  return kept;
}

/**
 * The worker module named `name` beside the calling module `from` (its `import.meta.url`):
 * `name.js` in a build, `name.ts` beside TypeScript sources. tsx adds a query to the URLs of what
 * it loads, so the path decides.
 */
export function besideModule(from: string, name: string): URL {
  const ext = new URL(from).pathname.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./${name}.${ext}`, from);
}

/** A link to a worker thread; `name` says whose worker it is in errors. */
export function nodeWorkerLink(worker: Worker, name: string): WorkerLink {
  const died = new Promise<never>((_, reject) => {
    worker.once('error', (e) => reject(new WorkerError(`${name}: the worker failed: ${e.message}`)));
    worker.once('exit', (code) => reject(new WorkerError(`${name}: the worker exited (code ${code})`)));
  });
  died.catch(() => {});
  return {
    endpoint: nodeEndpoint(worker),
    died,
    async terminate() {
      await worker.terminate();
    },
  };
}

/** The worker side, in a worker thread: serves `api` to the thread that started it. */
export function exposeToParent(api: object): void {
  if (!parentPort) throw new WorkerError('exposeToParent: not running in a worker thread');
  Comlink.expose(api, nodeEndpoint(parentPort));
}
