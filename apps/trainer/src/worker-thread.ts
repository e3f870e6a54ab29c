import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits beside this file: `name.js` when running from the
 * build, `name.ts` from the TypeScript sources (tsx, vitest), loaded through tsx's API because
 * Node 20 does not carry loader hooks into worker threads. Workspace packages resolve to their
 * sources there too (the "source" export condition).
 */
export function startWorker(name: string): Worker {
  // tsx's tsImport adds a query to the URL of what it loads, so the path decides.
  if (!new URL(import.meta.url).pathname.endsWith('.ts'))
    return new Worker(new URL(`./${name}.js`, import.meta.url));
  const require = createRequire(import.meta.url);
  const tsxPackage = require.resolve('tsx/package.json');
  const tsxApi = JSON.parse(readFileSync(tsxPackage, 'utf8')).exports['./esm/api'].import.default as string;
  const bootstrap = `
    const { tsImport } = await import(${JSON.stringify(pathToFileURL(join(dirname(tsxPackage), tsxApi)).href)});
    await tsImport(${JSON.stringify(new URL(`./${name}.ts`, import.meta.url).href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
    execArgv: [...process.execArgv.filter((a) => !a.startsWith('--conditions')), '--conditions=source'],
  });
}
