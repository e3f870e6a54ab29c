// What an EncoderPool worker serves, in a Web Worker or a worker thread: its own tokenizer, and
// encodings sent back packed in transferred buffers.
import { exposeToParent, transfer } from '@sibert/workers';
import type { TokenizerJson } from './json';
import { type PackedEncodings, packEncodings, transferables } from './packed';
import { BertTokenizer, type EncodeOptions, type TextInput } from './tokenizer';

export function encoderWorkerApi() {
  let tokenizer: BertTokenizer | null = null;
  return {
    init(json: TokenizerJson): void {
      tokenizer = BertTokenizer.fromTokenizerJson(json);
    },
    encode(inputs: TextInput[], options: Omit<EncodeOptions, 'pair' | 'padding'>): PackedEncodings {
      if (!tokenizer) throw new Error('encoder worker: encode called before init');
      const packed = packEncodings(tokenizer.encodeBatch(inputs, { ...options, padding: false }));
      return transfer(packed, transferables(packed));
    },
  };
}

export type EncoderWorkerApi = ReturnType<typeof encoderWorkerApi>;

/**
 * Serves EncoderPool's requests from inside a Web Worker: the body of a page's own encoder worker
 * when its bundler does not copy `@sibert/tokenizer/web-worker` (`serveEncoderWorker()` is all
 * that module does).
 */
export function serveEncoderWorker(): void {
  exposeToParent(encoderWorkerApi());
}
