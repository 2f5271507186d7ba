/**
 * Node side of the threaded executor: worker_threads as the WorkerHost, and `createNodeExecutor`.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { SerialExecutor, type Executor } from '../exec/executor.js';
import { ThreadedExecutor, type WorkerHost } from '../exec/threads.js';
import type { Runtime } from '../wasm/runtime.js';

/** The compiled worker entry, next to this file in dist/src/node/. */
const WORKER_URL = new URL('./kernel-worker.js', import.meta.url);

/** worker_threads host: one Worker per kernel thread, setup through workerData, events mapped 1:1. */
export function nodeWorkerHost(): WorkerHost {
  return {
    spawn(init, events) {
      const w = new Worker(WORKER_URL, { workerData: init, name: `spechub-kernels-${init.worker + 1}` });
      w.on('message', (m: unknown) => {
        if (m !== null && typeof m === 'object' && (m as { type?: unknown }).type === 'ready') events.ready();
      });
      w.on('error', (err) => events.error(err));
      w.on('exit', (code) => events.exit(code));
      return {
        terminate: async () => {
          await w.terminate();
        },
        unref: () => w.unref(),
      };
    },
  };
}

/** Options of createNodeExecutor. */
export interface NodeExecutorOptions {
  /** Threads in all, the calling thread included; 'auto' = os.availableParallelism(). Default 1. */
  threads?: number | 'auto';
  /** See ThreadedExecutorOptions. */
  minLinearWork?: number;
  minAttentionWork?: number;
  spinMicros?: number;
}

/**
 * An executor for `rt`: SerialExecutor for 1 thread, otherwise a ThreadedExecutor over worker_threads
 * (needs an -mt runtime: `createNodeRuntime({ threads })`). The workers do not keep the process
 * alive; call `close()` when done anyway (it stops them at once).
 */
export async function createNodeExecutor(rt: Runtime, options: NodeExecutorOptions = {}): Promise<Executor> {
  const threads = options.threads === 'auto' ? availableParallelism() : options.threads ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new InvalidArgumentError(`createNodeExecutor: expected threads to be an integer >= 1 or 'auto', got ${String(options.threads)}`);
  }
  if (threads === 1) return new SerialExecutor(rt);
  return ThreadedExecutor.create(rt, {
    threads,
    host: nodeWorkerHost(),
    minLinearWork: options.minLinearWork,
    minAttentionWork: options.minAttentionWork,
    spinMicros: options.spinMicros,
  });
}
