// The browser path: browserWorkerHost + the Web Worker entry (src/exec/browser-kernel-worker.ts, one
// setup message through onmessage) run unchanged over a Web-Worker double built on worker_threads.
// Results are bit-identical to the serial executor; a worker that fails at start rejects create().
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ThreadedExecutor, browserWorkerHost, type WebWorkerLike } from '../../src/exec/threads.js';
import { SerialExecutor } from '../../src/exec/executor.js';
import { ThreadError } from '../../src/errors.js';
import { createNodeRuntime } from '../../src/node.js';
import { createRng } from '../../src/rng.js';
import { stories260KRef } from '../model/helpers.js';
import { assertSameArrays, assertSameBits, fillUniform, modelOn, mtRuntime, randomLinear } from './helpers.js';

const SHIM = new URL('./browser-shim-worker.js', import.meta.url);

/** A `Worker` as browsers have it (postMessage/onmessage/onerror/terminate), over worker_threads. */
class WebWorkerDouble implements WebWorkerLike {
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: { message?: string; error?: unknown; preventDefault?(): void }) => void) | null = null;
  private readonly w = new Worker(SHIM);
  constructor() {
    this.w.on('message', (data: unknown) => this.onmessage?.({ data }));
    this.w.on('error', (error: Error) => this.onerror?.({ message: error.message, error }));
  }
  postMessage(message: unknown): void {
    // a browser posts the init; worker_threads need the module and memory as they are (both clone)
    this.w.postMessage(message);
  }
  terminate(): void {
    void this.w.terminate();
  }
}

describe('threads/browser: Web Worker entry and host', { timeout: 60_000 }, () => {
  test('matmul and a stories260K forward over browser workers are bit-identical to serial', async () => {
    const rt = mtRuntime();
    const ex = await ThreadedExecutor.create(rt, { threads: 3, host: browserWorkerHost(() => new WebWorkerDouble()), minLinearWork: 0, minAttentionWork: 0 });
    try {
      const rng = createRng(9);
      const lin = randomLinear(rt, rng, 45, 19);
      const x = rt.arena.alloc('x', 3 * 19 * 4).ptr; // [3, 19]
      const a = rt.arena.alloc('a', 3 * 45 * 4).ptr; // [3, 45]
      const b = rt.arena.alloc('b', 3 * 45 * 4).ptr;
      fillUniform(rt, rng, x, 3 * 19);
      new SerialExecutor(rt).linear(lin, a, 45, x, 3);
      ex.linear(lin, b, 45, x, 3);
      assertSameBits(rt, a, b, 3 * 45, 'matmul');

      const w = stories260KRef();
      const ms = await modelOn(rt, w, new SerialExecutor(rt), { maxBatch: 8, capacity: 32 });
      const mt = await modelOn(rt, w, ex, { maxBatch: 8, capacity: 32 });
      for (const m of [ms, mt]) {
        for (let i = 0; i < 6; i++) {
          m.tokens[i] = [1, 403, 407, 261, 378, 434][i]!;
          m.positions[i] = i;
        }
        m.forward(6);
      }
      const V = w.config.vocabSize;
      assertSameArrays(ms.logits.subarray(0, 6 * V), mt.logits.subarray(0, 6 * V), 'stories260K prefill logits');
      assert.ok(ex.stats.parallel > 0);
    } finally {
      await ex.close();
    }
  });

  test('a browser worker that fails at start rejects create() with a ThreadError', async () => {
    const rt = mtRuntime();
    const plain = createNodeRuntime({ build: 'simd' });
    // hand the workers the plain-memory module: instantiating it over the shared memory fails
    const host = browserWorkerHost(() => {
      const w = new WebWorkerDouble();
      const post = w.postMessage.bind(w);
      w.postMessage = (m: unknown) => post({ ...(m as object), module: plain.module });
      return w;
    });
    await assert.rejects(ThreadedExecutor.create(rt, { threads: 2, host }), (e: unknown) => {
      assert.ok(e instanceof ThreadError, String(e));
      assert.match(e.message, /worker 1 of 1 failed to start/);
      return true;
    });
  });
});
