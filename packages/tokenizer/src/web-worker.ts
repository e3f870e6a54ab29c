// An EncoderPool Web Worker (a page); built as dist/web-worker.js, which EncoderPool starts by
// default. A page that bundles its own workers calls serveEncoderWorker() in its worker instead.
import { serveEncoderWorker } from './encoder-worker-api';

serveEncoderWorker();
