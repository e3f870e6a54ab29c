import { packageBuild } from '../../tsup.shared';

// The worker is an entry of its own: EncoderPool (dist/node.js) starts it from dist/worker.js.
export default packageBuild(
  { index: 'src/index.ts', node: 'src/node/index.ts', worker: 'src/worker.ts' },
  { dts: { entry: { index: 'src/index.ts', node: 'src/node/index.ts' } } },
);
