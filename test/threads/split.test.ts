// The threaded executor splits matmuls by panels and attention by heads, and must give results
// bit-identical to the serial executor on the same build: for every way of splitting a small
// matrix (1 .. 3T+2 panels, every row tail, T = 2 and 3 threads, 3 threads on a 2-core machine
// included), for the 4-panel-aligned split of large matrices, for random shapes with a wider output
// stride (cells outside the output columns keep their poison), and for random attention cases
// (GQA, tree masks, earlier staged rows, empty contexts). Each case runs with matmuls in chunks that
// the threads claim (the default) and in one fixed share per thread, and with the workers doing the
// work ('never' steal), the caller doing all of it ('always'), and the default ('late').
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SerialExecutor, type AttentionArgs } from '../../src/exec/executor.js';
import { DEFAULT_MIN_LINEAR_WORK, DEFAULT_MIN_ATTENTION_WORK, ThreadedExecutor, type WorkerHost } from '../../src/exec/threads.js';
import { createNodeExecutor } from '../../src/node/threads.js';
import { createRng } from '../../src/rng.js';
import { InvalidArgumentError, WasmFeatureError } from '../../src/errors.js';
import { createNodeRuntime } from '../../src/node.js';
import { isSuperBlockType, linearInputKind, type PackedLinear } from '../../src/kernels/linear.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import { assertSameBits, fillUniform, mtRuntime, poison, randomLinear, threaded } from './helpers.js';

const STEALING = ['late', 'never', 'always'] as const;
const SPLITS = ['chunks', 'shares'] as const;

for (const threads of [2, 3]) {
  describe(`threads/split: ${threads} threads`, { timeout: 60_000 }, () => {
    let rt: Runtime;
    let serial: SerialExecutor;
    const execs: ThreadedExecutor[] = [];
    let x: number, outA: number, outB: number;
    const MAX_ROWS = 4 * 70;
    const MAX_COLS = 256;
    const MAX_N = 16;
    const MAX_STRIDE = MAX_ROWS + 7;

    before(async () => {
      rt = mtRuntime('simd-mt', 16 << 20);
      serial = new SerialExecutor(rt);
      for (const split of SPLITS) {
        for (const stealing of STEALING) execs.push(await threaded(rt, { threads, minLinearWork: 0, minAttentionWork: 0, stealing, split }));
      }
      x = rt.arena.alloc('x', MAX_N * MAX_COLS * 4).ptr; // [n, cols]
      outA = rt.arena.alloc('outA', MAX_N * MAX_STRIDE * 4).ptr; // [n, outStride]
      outB = rt.arena.alloc('outB', MAX_N * MAX_STRIDE * 4).ptr;
      fillUniform(rt, createRng(1), x, MAX_N * MAX_COLS);
      // attention_f32 scratch, 4·(cacheLen + m + headDim) f32: cases below have at most 40 + 3 + 6 rows, headDim ≤ 40
      serial.reserveAttention(4 * (64 + 40) + 2 * 64 * 40); // 4·(cacheLen + m + headDim), and an f16 cache's widened head 2·(cacheLen + m)·headDim
      for (const e of execs) e.reserveAttention(4 * (64 + 40) + 2 * 64 * 40);
      serial.reserveLinearInput(MAX_N, MAX_COLS);
      for (const e of execs) e.reserveLinearInput(MAX_N, MAX_COLS);
    });
    after(async () => {
      for (const e of execs) await e.close();
    });

    function check(lin: PackedLinear, n: number, outStride: number, colOffset: number, what: string, prepare = false): void {
      const count = n * outStride;
      for (const ex of execs) {
        poison(rt, outA, count);
        poison(rt, outB, count);
        serial.linear(lin, outA + colOffset * 4, outStride, x, n, prepare ? serial.prepareInput(x, n, lin.cols) : 0);
        ex.linear(lin, outB + colOffset * 4, outStride, x, n, prepare ? ex.prepareInput(x, n, lin.cols) : 0);
        assertSameBits(rt, outA, outB, count, `${what} (${threads} threads)`);
      }
    }

    test('every panel split of small matrices (1 .. 3T+2 panels, every row tail) is bit-identical to serial', () => {
      const rng = createRng(threads);
      const mark = rt.arena.mark();
      for (let panels = 1; panels <= 3 * threads + 2; panels++) {
        for (let tail = 0; tail < 4; tail++) {
          const rows = 4 * panels - tail;
          for (const cols of [1, 6, 33]) {
            const lin = randomLinear(rt, rng, rows, cols);
            for (const n of [1, 2, 5]) check(lin, n, rows, 0, `${rows}×${cols} n=${n}`);
          }
        }
      }
      rt.arena.release(mark);
      for (const e of execs) assert.ok(e.stats.parallel > 0 && e.stats.serial > 0); // 1 panel runs here, the rest split
    });

    test('large matrices (4-panel aligned shares) are bit-identical to serial', () => {
      const rng = createRng(10 + threads);
      const mark = rt.arena.mark();
      for (const rows of [16 * 4 * threads, 16 * 4 * threads + 3, MAX_ROWS - 1]) {
        const lin = randomLinear(rt, rng, rows, 37);
        for (const n of [1, 4]) check(lin, n, rows, 0, `${rows}×37 n=${n}`);
      }
      rt.arena.release(mark);
    });

    test('chunked matmuls of many panels (up to CHUNKS_PER_THREAD chunks per thread, 4-panel aligned) are bit-identical to serial', () => {
      const rng = createRng(30 + threads);
      const mark = rt.arena.mark();
      const rows = 1030; // 258 panels: 8 chunks of ≥ 16 panels at n = 16 (rows·cols·n ≥ 8 × 2^18), 4-panel aligned
      const cols = 128;
      const wide = rt.arena.alloc('outWide', 2 * MAX_N * rows * 4).ptr;
      const lin = randomLinear(rt, rng, rows, cols);
      for (const n of [1, 3, 16]) {
        // chunks: one per MIN_CHUNK_WORK (2^18) multiply-adds, at least one per thread, at most 4 per thread
        const want = Math.max(threads, Math.min(4 * threads, Math.floor((rows * cols * n) / 2 ** 18)));
        for (const ex of execs) {
          poison(rt, wide, 2 * n * rows);
          serial.linear(lin, wide, rows, x, n);
          const before = ex.stats.chunks;
          ex.linear(lin, wide + n * rows * 4, rows, x, n);
          assert.equal(ex.stats.chunks - before, execs.indexOf(ex) < STEALING.length ? want : 0, `chunks of ${rows}×${cols} n=${n}`);
          assertSameBits(rt, wide, wide + n * rows * 4, n * rows, `${rows}×${cols} n=${n} (${threads} threads)`);
        }
      }
      rt.arena.release(mark);
    });

    test('half and quantised weights (input quantised per call or prepared once; direct and batched kernels) are bit-identical to serial', () => {
      const rng = createRng(20 + threads);
      for (const dtype of ['BF16', 'F16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q5_1', 'IQ4_NL', 'Q2_K', 'Q4_K', 'Q6_K'] as const) {
        for (let panels = 1; panels <= 2 * threads + 1; panels++) {
          const shapes = isSuperBlockType(dtype) ? [[4 * panels, 256], [4 * panels - 3, 256]] : [[4 * panels, 64], [4 * panels - 3, 37], [4 * panels - 1, 80]];
          for (const [rows, cols] of shapes as [number, number][]) {
            if (rows < 1) continue;
            const mark = rt.arena.mark();
            const lin = randomLinear(rt, rng, rows, cols, 'w', dtype);
            for (const n of [1, 3, 16]) { // 16: every type's batched path (each thread unpacks into its own scratch)
              check(lin, n, rows, 0, `${dtype} ${rows}×${cols} n=${n}`);
              if (linearInputKind(dtype) !== 'f32') check(lin, n, rows + 2, 1, `${dtype} ${rows}×${cols} n=${n} prepared`, true);
            }
            rt.arena.release(mark);
          }
        }
      }
    });

    test('random shapes into a wider output: bit-identical, cells outside the columns untouched', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: MAX_ROWS }),
          fc.integer({ min: 1, max: MAX_COLS }),
          fc.integer({ min: 1, max: MAX_N }),
          fc.integer({ min: 0, max: 7 }),
          fc.integer(),
          (rows, cols, n, extra, seed) => {
            const mark = rt.arena.mark();
            const lin = randomLinear(rt, createRng(seed), rows, cols);
            const offset = extra > 0 ? seed & 1 : 0;
            check(lin, n, rows + extra, offset, `${rows}×${cols} n=${n} stride ${rows + extra} offset ${offset}`);
            rt.arena.release(mark);
          },
        ),
        { numRuns: 60, seed: 42 + threads },
      );
    });

    test('attention split by heads (GQA, causal / tree / random masks, earlier staged rows, soft-capping, sliding windows; f32 and f16 caches, row- and head-major) is bit-identical to serial', () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 6 }),
            earlier: fc.integer({ min: 0, max: 3 }),
            nKvHeads: fc.integer({ min: 1, max: 3 }),
            group: fc.constantFrom(1, 2, 4),
            headDim: fc.integer({ min: 1, max: 20 }).map((h) => 2 * h),
            cacheLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
            masked: fc.boolean(),
            softcap: fc.constantFrom(0, 0.5, 30),
            window: fc.constantFrom(0, 1, 3, 17),
            seed: fc.integer(),
          }),
          (c) => {
            const rng = createRng(c.seed);
            const nHeads = c.nKvHeads * c.group;
            const qDim = nHeads * c.headDim;
            const kvDim = c.nKvHeads * c.headDim;
            const m = c.n + c.earlier;
            const rows = c.cacheLen + m;
            const mark = rt.arena.mark();
            const q = rt.arena.alloc('q', c.n * qDim * 4).ptr; // [n, qDim]
            const k = rt.arena.alloc('k', rows * kvDim * 4).ptr; // [rows, kvDim]
            const v = rt.arena.alloc('v', rows * kvDim * 4).ptr;
            const oA = rt.arena.alloc('oA', c.n * qDim * 4).ptr; // [n, qDim]
            const oB = rt.arena.alloc('oB', c.n * qDim * 4).ptr;
            const mask = rt.arena.alloc('mask', c.n * m).ptr; // u8 [n, m]
            const pos = rt.arena.alloc('pos', m * 4).ptr; // i32 [m]: staged rows at positions cacheLen + j
            rt.i32(pos, m).set(Array.from({ length: m }, (_, j) => c.cacheLen + j));
            fillUniform(rt, rng, q, c.n * qDim);
            fillUniform(rt, rng, k, rows * kvDim);
            fillUniform(rt, rng, v, rows * kvDim);
            const bits = rt.u8(mask, c.n * m);
            for (let i = 0; i < c.n; i++) for (let j = 0; j < m; j++) bits[i * m + j] = j === c.earlier + i || rng.next() < 0.5 ? 1 : 0;
            const a: AttentionArgs = { outPtr: oA, qPtr: q, kPtr: k, vPtr: v, maskPtr: c.masked ? mask : 0, posPtr: pos, n: c.n, m,
              nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, cacheLen: c.cacheLen, scale: 1 / Math.sqrt(c.headDim), softcap: c.softcap, window: c.window };
            // f16: the same bytes read as an f16 cache (any bit pattern widens to a finite value: same bits or not is all
            // this asks); head-major: the same bytes read as head planes of `rows` rows
            for (const ex of execs) {
              for (const f16 of [false, true]) {
                for (const headRows of [0, rows]) {
                  poison(rt, oA, c.n * qDim);
                  poison(rt, oB, c.n * qDim);
                  serial.attention({ ...a, f16, headRows });
                  ex.attention({ ...a, outPtr: oB, f16, headRows });
                  assertSameBits(rt, oA, oB, c.n * qDim, `attention${f16 ? ' (f16 cache)' : ''}${headRows ? ' (head-major)' : ''} ${JSON.stringify(c)}`);
                }
              }
            }
            rt.arena.release(mark);
          },
        ),
        { numRuns: 60, seed: 7 + threads },
      );
    });
  });
}

describe('threads/split: thresholds and executor creation', { timeout: 60_000 }, () => {
  test('default thresholds: below DEFAULT_MIN_*_WORK runs on the caller, at or above splits', async () => {
    const rt = mtRuntime();
    const ex = (await createNodeExecutor(rt, { threads: 2 })) as ThreadedExecutor;
    try {
      const rng = createRng(3);
      const x = rt.arena.alloc('x', 256 * 4).ptr;
      const out = rt.arena.alloc('out', 4 * 256 * 4).ptr;
      fillUniform(rt, rng, x, 256);
      assert.equal(DEFAULT_MIN_LINEAR_WORK, 256 * 256);
      ex.linear(randomLinear(rt, rng, 255, 256), out, 255, x, 1); // 65280 multiply-adds
      assert.deepEqual(ex.stats, { parallel: 0, serial: 1, chunks: 0 });
      ex.linear(randomLinear(rt, rng, 256, 256), out, 256, x, 1); // 65536
      assert.deepEqual(ex.stats, { parallel: 1, serial: 1, chunks: 2 }); // 65536 < 2^18 per chunk: one chunk per thread
      ex.linear(randomLinear(rt, rng, 64, 256), out, 64, x, 4); // 65536 over 4 rows of x
      assert.deepEqual(ex.stats, { parallel: 2, serial: 1, chunks: 4 });
      // attention: n·nHeads·(cacheLen + m)·headDim
      assert.equal(DEFAULT_MIN_ATTENTION_WORK, 32768);
      const kv = rt.arena.alloc('kv', 2 * 512 * 64 * 4).ptr;
      fillUniform(rt, rng, kv, 2 * 512 * 64);
      ex.reserveAttention(4 * (512 + 64)); // attention_f32 scratch 4·(cacheLen + m + headDim) f32
      const a: AttentionArgs = { outPtr: out, qPtr: x, kPtr: kv, vPtr: kv + 512 * 64 * 4, maskPtr: 0, posPtr: 0, n: 1, m: 1, nHeads: 8, nKvHeads: 8, headDim: 8, cacheLen: 510,
        scale: 1 / Math.sqrt(8), softcap: 0, window: 0 };
      ex.attention(a); // 8·511·8 = 32704
      assert.deepEqual(ex.stats, { parallel: 2, serial: 2, chunks: 4 });
      ex.attention({ ...a, cacheLen: 511 }); // 8·512·8 = 32768
      assert.deepEqual(ex.stats, { parallel: 3, serial: 2, chunks: 4 });
      ex.attention({ ...a, nHeads: 1, nKvHeads: 1, headDim: 64 }); // one head: nothing to split
      assert.deepEqual(ex.stats, { parallel: 3, serial: 3, chunks: 4 });
    } finally {
      await ex.close();
    }
  });

  test('256 threads: at most 255 chunks (the range words hold chunk indices in bytes), every panel computed', async () => {
    // test-double workers that are ready at once and never run: with stealing 'always' the caller runs every chunk
    const host: WorkerHost = { spawn: (_init, events) => { events.ready(); return { terminate: async () => {} }; } };
    const rt = mtRuntime('simd-mt', 8 << 20);
    const ex = await ThreadedExecutor.create(rt, { threads: 256, host, minLinearWork: 0, stealing: 'always' });
    try {
      const rng = createRng(4);
      const rows = 1024, cols = 256, n = 256; // 256 panels, 256 × 2^18 multiply-adds
      const lin = randomLinear(rt, rng, rows, cols);
      const x = rt.arena.alloc('x', n * cols * 4).ptr;
      fillUniform(rt, rng, x, n * cols);
      const want = rt.arena.alloc('want', n * rows * 4).ptr;
      const got = rt.arena.alloc('got', n * rows * 4).ptr;
      poison(rt, got, n * rows);
      new SerialExecutor(rt).linear(lin, want, rows, x, n);
      ex.linear(lin, got, rows, x, n);
      assert.equal(ex.stats.chunks, 255);
      assertSameBits(rt, want, got, n * rows, '256 threads');
    } finally {
      await ex.close();
    }
  });

  test('threads = 1 gives the serial executor; bad thread counts and non-shared runtimes are refused', async () => {
    const rt = mtRuntime();
    const one = await createNodeExecutor(rt, { threads: 1 });
    assert.ok(one instanceof SerialExecutor);
    assert.equal(one.threads, 1);
    await assert.rejects(createNodeExecutor(rt, { threads: 0 }), InvalidArgumentError);
    await assert.rejects(createNodeExecutor(rt, { threads: 2.5 }), InvalidArgumentError);
    await assert.rejects(threaded(rt, { threads: 1 }), InvalidArgumentError);
    await assert.rejects(threaded(rt, { threads: 2, spinMicros: -1 }), InvalidArgumentError);
    await assert.rejects(createNodeExecutor(createNodeRuntime({ build: 'simd' }), { threads: 2 }), WasmFeatureError);
  });
});
