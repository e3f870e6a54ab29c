import { defineConfig } from 'tsup';

export default defineConfig({
  // memory-row runs in a process of its own per row (the memory suite's peak RSS)
  entry: { cli: 'src/cli.ts', 'memory-row': 'src/memory-row.ts' },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
  banner: { js: '#!/usr/bin/env node' },
});
