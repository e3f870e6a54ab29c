// A worker for the link tests: echoes, doubles a transferred buffer, or exits on request.
import { exposeToParent, transfer } from '../src/node/index';

const api = {
  echo(text: string): string {
    return text;
  },
  double(values: Float32Array): Float32Array {
    for (let i = 0; i < values.length; i++) values[i]! *= 2;
    return transfer(values, [values.buffer as ArrayBuffer]);
  },
  exit(code: number): void {
    process.exit(code);
  },
};

export type EchoApi = typeof api;
exposeToParent(api);
