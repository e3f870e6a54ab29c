import { packageBuild } from '../../tsup.shared';

// The worker is an entry of its own: EncoderPool starts it from dist/worker.js.
export default packageBuild(
  { index: 'src/index.ts', worker: 'src/worker.ts' },
  { dts: { entry: { index: 'src/index.ts' } } },
);
