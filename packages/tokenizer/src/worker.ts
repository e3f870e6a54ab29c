/// <reference path="./comlink-node-adapter.d.ts" />
// The worker side of EncoderPool: holds its own tokenizer and encodes the chunks it is sent.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { TokenizerJson } from './json';
import { type PackedEncodings, packEncodings, transferables } from './packed';
import { BertTokenizer, type EncodeOptions, type TextInput } from './tokenizer';

let tokenizer: BertTokenizer | null = null;

const api = {
  init(json: TokenizerJson): void {
    tokenizer = BertTokenizer.fromTokenizerJson(json);
  },
  encode(inputs: TextInput[], options: Omit<EncodeOptions, 'pair' | 'padding'>): PackedEncodings {
    if (!tokenizer) throw new Error('encoder worker: encode called before init');
    const packed = packEncodings(tokenizer.encodeBatch(inputs, { ...options, padding: false }));
    return Comlink.transfer(packed, transferables(packed));
  },
};

export type EncoderWorkerApi = typeof api;

if (!parentPort) throw new Error('encoder worker: must run in a worker thread');
Comlink.expose(api, nodeEndpoint(parentPort));
