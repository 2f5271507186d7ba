// Failures never hang the caller: a kernel that traps on a worker, a worker loop that dies, a
// worker terminated from outside, a worker that cannot start; and the life cycle edges: close()
// twice, close() without any job, use after close().
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadError } from '../../src/errors.js';
import { nodeWorkerHost } from '../../src/node/threads.js';
import { ThreadedExecutor, type WorkerHandle, type WorkerHost } from '../../src/exec/threads.js';
import { SerialExecutor } from '../../src/exec/executor.js';
import { panelBytesF32, type PackedLinear } from '../../src/kernels/linear.js';
import { createNodeRuntime } from '../../src/node.js';
import { createRng } from '../../src/rng.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import { POISON_BITS, assertSameBits, fillUniform, mtRuntime, poison, randomLinear, threaded } from './helpers.js';

/** A matrix of 8 panels whose last 4 (the worker's share at T = 2) lie beyond the end of memory. */
function halfOutOfBounds(rt: Runtime): PackedLinear {
  const cols = 16;
  const pb = panelBytesF32(cols);
  const end = rt.memory.buffer.byteLength;
  return { ptr: end - 4 * pb, rows: 32, cols, bytes: 8 * pb, dtype: 'F32' };
}

/** A good call and its serial result, to check an executor still computes correctly. */
function goodCall(rt: Runtime) {
  const rng = createRng(5);
  const lin = randomLinear(rt, rng, 37, 11);
  const x = rt.arena.alloc('x', 2 * 11 * 4).ptr; // [2, 11]
  const want = rt.arena.alloc('want', 2 * 37 * 4).ptr; // [2, 37]
  const got = rt.arena.alloc('got', 2 * 37 * 4).ptr;
  fillUniform(rt, rng, x, 22);
  new SerialExecutor(rt).linear(lin, want, 37, x, 2);
  return { lin, x, want, got };
}

describe('threads/failures', { timeout: 60_000 }, () => {
  test('a kernel trapping on a worker surfaces as a ThreadError naming the thread; the executor then refuses work', async () => {
    const rt = mtRuntime();
    const { lin: good, x, got } = goodCall(rt);
    const ex = await threaded(rt, { threads: 2, minLinearWork: 0, stealing: 'never' });
    try {
      const out = rt.arena.alloc('out', 32 * 4).ptr;
      assert.throws(() => ex.linear(halfOutOfBounds(rt), out, 32, x, 1), (e: unknown) => {
        assert.ok(e instanceof ThreadError, String(e));
        assert.match(e.message, /worker 1 of 1: kernel failed: RuntimeError: memory access out of bounds/);
        return true;
      });
      assert.throws(() => ex.linear(good, got, 37, x, 2), /unusable after an earlier failure/);
      assert.throws(() => ex.ping(), ThreadError);
    } finally {
      await ex.close();
    }
  });

  test('with late stealing the same trap surfaces either from the worker (ThreadError) or here (RuntimeError), never silently', async () => {
    const rt = mtRuntime();
    const { lin: good, x, want, got } = goodCall(rt);
    const ex = await threaded(rt, { threads: 2, minLinearWork: 0 });
    try {
      const out = rt.arena.alloc('out', 32 * 4).ptr;
      let err: unknown = undefined;
      try {
        ex.linear(halfOutOfBounds(rt), out, 32, x, 1);
      } catch (e) {
        err = e;
      }
      if (err instanceof ThreadError) {
        assert.throws(() => ex.linear(good, got, 37, x, 2), ThreadError);
      } else {
        // the caller ran the share itself and trapped like the serial executor; the workers are fine
        assert.ok(err instanceof WebAssembly.RuntimeError, `expected a trap, got ${String(err)}`);
        ex.linear(good, got, 37, x, 2);
        assertSameBits(rt, want, got, 2 * 37, 'after a trap on the calling thread');
      }
    } finally {
      await ex.close();
    }
  });

  test('a trap in the calling thread\'s own share propagates as the trap after the workers finished', async () => {
    const rt = mtRuntime();
    const { lin: good, x, want, got } = goodCall(rt);
    const ex = await threaded(rt, { threads: 2, minLinearWork: 0, stealing: 'never', split: 'shares' });
    try {
      // 8 panels starting 4 panels below 2^32: this thread's share (panels 0-3) lies far beyond the memory
      // and traps; the worker's share (panels 4-7) wraps around to address 0 as a wasm i32 and runs
      const pb = panelBytesF32(16);
      const bad: PackedLinear = { ptr: 2 ** 32 - 4 * pb, rows: 32, cols: 16, bytes: 8 * pb, dtype: 'F32' };
      const out = rt.arena.alloc('out', 32 * 4).ptr;
      poison(rt, out, 32);
      assert.throws(() => ex.linear(bad, out, 32, x, 1), WebAssembly.RuntimeError);
      assert.equal(ex.stats.parallel, 1);
      // the worker's columns were written before the trap was rethrown (the join completed)
      const cells = new Uint32Array(rt.memory.buffer, out, 32);
      for (let c = 16; c < 32; c++) assert.notEqual(cells[c], POISON_BITS, `column ${c}`);
      ex.linear(good, got, 37, x, 2);
      assertSameBits(rt, want, got, 2 * 37, 'after a trap here');
    } finally {
      await ex.close();
    }
  });

  test('a worker loop that dies makes the next job throw a ThreadError instead of hanging', async () => {
    const rt = mtRuntime();
    const { lin, x, got } = goodCall(rt);
    for (const stealing of ['late', 'never'] as const) {
      const ex = await threaded(rt, { threads: 3, minLinearWork: 0, stealing });
      try {
        ex.linear(lin, got, 37, x, 2);
        ex.injectWorkerFault(1);
        assert.throws(() => ex.linear(lin, got, 37, x, 2), (e: unknown) => {
          assert.ok(e instanceof ThreadError);
          assert.match(e.message, /worker 2 of 2: worker loop died: Error: fault injected by the test hook/);
          return true;
        });
        assert.throws(() => ex.ping(), ThreadError);
      } finally {
        await ex.close();
      }
    }
  });

  test('a worker terminated from outside is seen through its exit event: the next call throws', async () => {
    const rt = mtRuntime();
    const { lin, x, got } = goodCall(rt);
    const handles: WorkerHandle[] = [];
    const base = nodeWorkerHost();
    const host: WorkerHost = {
      spawn(init, events) {
        const h = base.spawn(init, events);
        handles.push(h);
        return h;
      },
    };
    const ex = await ThreadedExecutor.create(rt, { threads: 2, host, minLinearWork: 0 });
    try {
      ex.linear(lin, got, 37, x, 2);
      await handles[0]!.terminate();
      await new Promise((r) => setImmediate(r)); // let the exit event through
      assert.throws(() => ex.linear(lin, got, 37, x, 2), /worker 1 of 1: worker exited unexpectedly/);
    } finally {
      await ex.close();
    }
  });

  test('workers that cannot start reject create() with a ThreadError and leave no thread behind', async () => {
    const rt = mtRuntime();
    const throwing: WorkerHost = {
      spawn() {
        throw new Error('no workers here');
      },
    };
    await assert.rejects(ThreadedExecutor.create(rt, { threads: 2, host: throwing }), /could not start worker 1 of 1: Error: no workers here/);

    // a worker handed a plain-memory module: instantiating it over the shared memory fails in the worker
    const plain = createNodeRuntime({ build: 'simd' });
    const spawned: WorkerHandle[] = [];
    const base = nodeWorkerHost();
    let exits = 0;
    const broken: WorkerHost = {
      spawn(init, events) {
        const h = base.spawn({ ...init, module: plain.module }, { ...events, exit: (code) => { exits++; events.exit(code); } });
        spawned.push(h);
        return h;
      },
    };
    await assert.rejects(ThreadedExecutor.create(rt, { threads: 3, host: broken }), (e: unknown) => {
      assert.ok(e instanceof ThreadError);
      assert.match(e.message, /worker \d of 2 (failed to start|exited during start)/);
      return true;
    });
    assert.equal(spawned.length, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(exits, 2, 'both workers are gone');
  });

  test('a worker that starts only after close() (another failed to start) sees EXIT and ends by itself', async () => {
    const rt = mtRuntime();
    const plain = createNodeRuntime({ build: 'simd' });
    const base = nodeWorkerHost();
    let lateExit: (code: number) => void = () => {};
    const lateExited = new Promise<number>((resolve) => (lateExit = resolve));
    const host: WorkerHost = {
      spawn(init, events) {
        if (init.worker === 0) return base.spawn({ ...init, module: plain.module }, events); // fails at once
        // worker 1 starts late, and its handle never terminates it: it must leave on its own
        setTimeout(() => base.spawn(init, { ready: () => {}, error: () => {}, exit: (code) => lateExit(code) }), 200);
        return { terminate: async () => {} };
      },
    };
    await assert.rejects(ThreadedExecutor.create(rt, { threads: 3, host }), /worker 1 of 2 (failed to start|exited during start)/);
    assert.equal(await lateExited, 0, 'exit code 0: the loop returned (a terminated worker exits with 1)');
  });

  test('idle workers park after spinning (they do not burn a core forever) and wake for the next job', async () => {
    const rt = mtRuntime();
    const { lin, x, want, got } = goodCall(rt);
    const ex = await threaded(rt, { threads: 3, minLinearWork: 0, stealing: 'never', spinMicros: 2000 });
    try {
      for (let round = 0; round < 3; round++) {
        ex.linear(lin, got, 37, x, 2);
        assertSameBits(rt, want, got, 2 * 37, `round ${round}`);
        while (ex.parkedWorkers < 2) await new Promise((r) => setTimeout(r, 5)); // ends once both parked
        ex.ping();
      }
    } finally {
      await ex.close();
    }
  });

  test('close() twice, close() without any job, use after close()', async () => {
    const rt = mtRuntime();
    const { lin, x, got } = goodCall(rt);
    const idle = await threaded(rt, { threads: 3 });
    const p1 = idle.close();
    const p2 = idle.close();
    assert.equal(p1, p2);
    await p1;
    await idle.close();

    const used = await threaded(rt, { threads: 2, minLinearWork: 0 });
    used.linear(lin, got, 37, x, 2);
    await used.close();
    assert.throws(() => used.linear(lin, got, 37, x, 2), /used after close\(\)/);
    assert.throws(() => used.ping(), ThreadError);
    await used.close();
  });
});
