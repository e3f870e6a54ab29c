// An EncoderPool worker thread (Node); built as dist/worker.js beside dist/node.js.
import { exposeToParent } from '@sibert/workers/node';
import { encoderWorkerApi } from '../encoder-worker-api';

exposeToParent(encoderWorkerApi());
