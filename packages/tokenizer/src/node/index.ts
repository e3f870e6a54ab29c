// Node-only parts of @sibert/tokenizer: the encoder pool on worker threads (node:worker_threads),
// reading corpus files. The main entry stays browser-safe (its pool runs on Web Workers).

export type { CorpusOptions, CorpusSource, CorpusSplit, EncoderPoolOptions } from '../pool';
export { EncoderPool, encodeCorpus } from './pool';
