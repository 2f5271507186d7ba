// Test double of a browser module worker, on worker_threads: gives the global scope the two members
// a Web Worker's scope has and src/exec/browser-kernel-worker.ts uses (onmessage, postMessage), then
// loads that entry unchanged. Used by test/threads/browser.test.ts.
import { parentPort } from 'node:worker_threads';

if (parentPort === null) throw new Error('browser-shim-worker: must run as a worker');
const port = parentPort;
const scope = globalThis as unknown as { onmessage: ((ev: { data: unknown }) => void) | null; postMessage(m: unknown): void };
scope.onmessage = null;
scope.postMessage = (m) => port.postMessage(m);
await import('../../src/exec/browser-kernel-worker.js'); // sets scope.onmessage
// listen only now: a message delivered during the import would find no handler (browsers queue them)
port.on('message', (data: unknown) => scope.onmessage?.({ data }));
