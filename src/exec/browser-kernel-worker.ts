/**
 * Browser (Web Worker, `type: 'module'`) entry of the threaded executor: the first message is the
 * setup (KernelWorkerInit); the worker then runs the kernel loop of ./threads.ts, which blocks it
 * until the executor sends EXIT or terminates it. Start it through `browserWorkerHost`.
 */
import { runKernelWorker, type KernelWorkerInit } from './threads.js';

interface WorkerScope {
  onmessage: ((ev: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (ev) => {
  scope.onmessage = null; // one setup message; the loop below never returns to the event loop
  runKernelWorker(ev.data as KernelWorkerInit, () => scope.postMessage({ type: 'ready' }));
};
