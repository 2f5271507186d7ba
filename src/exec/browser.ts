/**
 * The browser's executors: SerialExecutor for one thread, else a ThreadedExecutor over module Web
 * Workers (browser-kernel-worker.js, next to this module). Browser-safe; the runtime itself comes
 * from src/wasm/browser.ts (createBrowserRuntime).
 */
import type { Runtime } from '../wasm/runtime.js';
import { checkThreads } from '../wasm/browser.js';
import { SerialExecutor, type Executor } from './executor.js';
import { ThreadedExecutor, browserWorkerHost, type WebWorkerLike } from './threads.js';

/** Options of createBrowserExecutor. */
export interface BrowserExecutorOptions {
  /** Threads in all, the calling thread included; 'auto' = the core count where threads are available, else 1. Default 1. */
  threads?: number | 'auto';
  /** URL of browser-kernel-worker.js (default: next to this module). */
  workerUrl?: string | URL;
  /** See ThreadedExecutorOptions. */
  minLinearWork?: number;
  minAttentionWork?: number;
  spinMicros?: number;
}

/**
 * An executor for `rt`: SerialExecutor for one thread, else a ThreadedExecutor whose workers are
 * module Web Workers (needs a runtime of an -mt build: `createBrowserRuntime({ threads })`). Call
 * it from a worker, not the page's main thread: the calling thread takes a share of every kernel and
 * joins the others by blocking, which a main thread may not do (it would spin instead).
 */
export async function createBrowserExecutor(rt: Runtime, options: BrowserExecutorOptions = {}): Promise<Executor> {
  const threads = checkThreads('createBrowserExecutor', options.threads);
  if (threads === 1) return new SerialExecutor(rt);
  const create = (): WebWorkerLike =>
    (options.workerUrl !== undefined
      ? new Worker(options.workerUrl, { type: 'module', name: 'spechub-kernels' })
      : new Worker(new URL('./browser-kernel-worker.js', import.meta.url), { type: 'module', name: 'spechub-kernels' })) as unknown as WebWorkerLike;
  return ThreadedExecutor.create(rt, {
    threads,
    host: browserWorkerHost(create),
    ...(options.minLinearWork !== undefined ? { minLinearWork: options.minLinearWork } : {}),
    ...(options.minAttentionWork !== undefined ? { minAttentionWork: options.minAttentionWork } : {}),
    ...(options.spinMicros !== undefined ? { spinMicros: options.spinMicros } : {}),
  });
}
