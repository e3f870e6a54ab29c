import { defineConfig } from 'tsup';

export default defineConfig({
  // The worker is an entry of its own: EncoderPool starts it from dist/worker.js.
  entry: { index: 'src/index.ts', worker: 'src/worker.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
