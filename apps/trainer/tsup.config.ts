import { defineConfig } from 'tsup';

export default defineConfig({
  // The data worker is an entry of its own: the training loop starts it from dist/data-worker.js.
  entry: { cli: 'src/cli.ts', 'data-worker': 'src/data-worker.ts' },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
  banner: { js: '#!/usr/bin/env node' },
});
