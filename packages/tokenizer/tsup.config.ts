import { packageBuild } from '../../tsup.shared';

// The workers are entries of their own: EncoderPool starts dist/worker.js (Node, from dist/node.js)
// or dist/web-worker.js (a page, from dist/index.js) beside itself.
export default packageBuild(
  {
    index: 'src/index.ts',
    node: 'src/node/index.ts',
    worker: 'src/node/worker.ts',
    'web-worker': 'src/web-worker.ts',
  },
  { dts: { entry: { index: 'src/index.ts', node: 'src/node/index.ts' } } },
);
