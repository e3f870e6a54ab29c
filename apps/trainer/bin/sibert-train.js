#!/usr/bin/env node
// The installed command: a committed file, so npm links it at install time, before the build
// has written dist/ (a bin pointing into dist/ is skipped on a fresh clone).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('sibert-train: not built yet; run `npm run build` at the repository root first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
