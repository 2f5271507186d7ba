/**
 * Node worker entry of the threaded executor: runs the kernel loop of src/exec/threads.ts with the
 * setup passed as workerData, and reports "ready" once through the parent port. The loop blocks this
 * thread until the executor sends EXIT (or terminates it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runKernelWorker, type KernelWorkerInit } from '../exec/threads.js';

if (parentPort === null) throw new Error('kernel-worker: must run as a worker_threads Worker');
const port = parentPort;
runKernelWorker(workerData as KernelWorkerInit, () => port.postMessage({ type: 'ready' }));
