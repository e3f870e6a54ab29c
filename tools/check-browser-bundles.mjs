#!/usr/bin/env node
// Bundles every package's main entry as a page's bundler would (esbuild, platform browser) and
// fails if any of them reaches a Node built-in. Node-only code belongs behind the `./node`
// subpath of its package. Run after `npm run build`: it bundles what users install (dist/).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
let failed = 0;

for (const name of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entry = manifest.exports?.['.']?.import;
  if (typeof entry !== 'string') {
    console.error(`${manifest.name}: package.json has no exports["."].import to bundle`);
    failed++;
    continue;
  }
  try {
    const result = await build({
      entryPoints: [join(dir, entry)],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const bytes = result.outputFiles.reduce((n, file) => n + file.contents.byteLength, 0);
    console.log(`ok    ${manifest.name} (${(bytes / 1024).toFixed(0)} KiB bundled)`);
  } catch (error) {
    failed++;
    console.error(`FAIL  ${manifest.name}: its main entry does not bundle for a browser`);
    for (const message of error.errors ?? [{ text: String(error) }]) {
      const at = message.location
        ? `${relative(root, join(root, message.location.file))}:${message.location.line}: `
        : '';
      console.error(`      ${at}${message.text}`);
    }
  }
}

if (failed > 0) {
  console.error(
    `\n${failed} package(s) pull Node-only code into their main entry; move it behind their './node' subpath`,
  );
  process.exit(1);
}
