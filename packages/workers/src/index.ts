/**
 * One view of a worker for SIBERT's pools (the tokenizer's encoder pool, the trainer's data
 * prefetch, a page's training worker): a comlink endpoint, a promise that rejects when the worker
 * dies, and a way to stop it. This entry is browser-safe (Web Workers); `@sibert/workers/node`
 * gives the same link over `worker_threads`.
 */
import * as Comlink from 'comlink';

export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** A started worker, seen the same way in a page and in Node. */
export interface WorkerLink {
  /** What comlink talks through. */
  readonly endpoint: Comlink.Endpoint;
  /** Rejects when the worker fails or exits; a dead worker never answers, so calls race against it. */
  readonly died: Promise<never>;
  /** Stops the worker. */
  terminate(): Promise<void>;
}

/** A Web Worker as this package needs it (the DOM's `Worker` fits). */
export interface WebWorker extends Comlink.Endpoint {
  terminate(): void;
}

interface ErrorEventLike {
  message?: string;
  preventDefault?: () => void;
}

/** A link to a Web Worker; `name` says whose worker it is in errors. */
export function webWorkerLink(worker: WebWorker, name: string): WorkerLink {
  const died = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event: object) => {
      const error = event as unknown as ErrorEventLike;
      // Handled here: without this the page reports it again as an uncaught error.
      error.preventDefault?.();
      reject(new WorkerError(`${name}: the worker failed: ${error.message || 'its script did not load'}`));
    });
    worker.addEventListener('messageerror', () =>
      reject(new WorkerError(`${name}: a message from the worker could not be read`)),
    );
  });
  // Nobody may be waiting when it dies (e.g. after terminate()).
  died.catch(() => {});
  return {
    endpoint: worker,
    died,
    async terminate() {
      worker.terminate();
    },
  };
}

/** A comlink proxy of the worker's API whose calls, awaited through `call`, fail when the worker dies. */
export class WorkerClient<Api> {
  readonly api: Comlink.Remote<Api>;

  constructor(readonly link: WorkerLink) {
    this.api = Comlink.wrap<Api>(link.endpoint);
  }

  /** `promise` (a call on `api`), or the worker's death, whichever comes first. */
  call<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.link.died]);
  }

  /** Releases the proxy and stops the worker. */
  async close(): Promise<void> {
    this.api[Comlink.releaseProxy]();
    await this.link.terminate();
  }
}

/** The worker side, in a Web Worker: serves `api` to the thread that started it. */
export function exposeToParent(api: object): void {
  const scope = globalThis as unknown as Comlink.Endpoint & { importScripts?: unknown };
  if (typeof scope.postMessage !== 'function' || typeof scope.importScripts !== 'function') {
    throw new WorkerError(
      "exposeToParent: not running in a Web Worker (in Node, use exposeToParent from '@sibert/workers/node')",
    );
  }
  Comlink.expose(api, scope);
}

export { proxy, transfer } from 'comlink';
