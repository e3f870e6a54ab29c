import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/index';
import { besideModule, nodeWorkerLink, startNodeWorker } from '../src/node/index';
import type { EchoApi } from './echo-worker';

function echoClient(): WorkerClient<EchoApi> {
  return new WorkerClient<EchoApi>(
    nodeWorkerLink(startNodeWorker(besideModule(import.meta.url, 'echo-worker')), 'echo'),
  );
}

describe('nodeWorkerLink', () => {
  it('calls a worker started from TypeScript sources, buffers transferred both ways', async () => {
    const client = echoClient();
    try {
      expect(await client.call(client.api.echo('hello'))).toBe('hello');
      const doubled = await client.call(client.api.double(new Float32Array([1, 2.5, -3])));
      expect(Array.from(doubled)).toEqual([2, 5, -6]);
    } finally {
      await client.close();
    }
  });

  it("a call on a worker that dies rejects with the worker's name and exit code", async () => {
    const client = echoClient();
    try {
      await expect(client.call(client.api.exit(3))).rejects.toThrow('echo: the worker exited (code 3)');
      await expect(client.call(client.api.echo('late'))).rejects.toThrow('echo: the worker exited (code 3)');
    } finally {
      await client.close();
    }
  });

  it('besideModule picks the build or the sources by the caller’s extension', () => {
    expect(besideModule('file:///p/dist/node.js', 'worker').href).toBe('file:///p/dist/worker.js');
    expect(besideModule('file:///p/src/node/pool.ts?tsx-namespace=1', 'worker').href).toBe(
      'file:///p/src/node/worker.ts',
    );
  });
});
