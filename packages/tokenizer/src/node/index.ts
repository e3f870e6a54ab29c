// Node-only parts of @sibert/tokenizer: encoding on worker threads (node:worker_threads) and
// reading corpus files. The main entry stays browser-safe.

export {
  type CorpusOptions,
  type CorpusSource,
  EncoderPool,
  type EncoderPoolOptions,
  encodeCorpus,
} from './pool';
