import { defineConfig, type Options } from 'tsup';

/** The build every package shares: ESM with declarations and source maps for Node ≥ 20 and browsers. */
export function packageBuild(entry: Options['entry'] = { index: 'src/index.ts' }, extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    ...extra,
  });
}
