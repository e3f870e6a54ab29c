// The tokenizer's pool worker, bundled as dist/encoder-worker.js for the data worker to start.
import { serveEncoderWorker } from '@sibert/tokenizer';

serveEncoderWorker();
