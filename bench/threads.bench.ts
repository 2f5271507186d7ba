/**
 * Threaded executor benchmark: what splitting a kernel over threads costs and gains.
 *
 * 1. Dispatch: `ping()` (an empty job: dispatch + join, workers spinning) and the wake-up of a job
 *    whose worker had parked (idle longer than spinMicros).
 * 2. Threshold sweep: small matmuls (n = 1, hot weights) and attention calls, serial vs split over
 *    2 threads with the thresholds forced to 0: where splitting starts to pay (DEFAULT_MIN_*_WORK).
 * 3. f32 matmul 576×576, 1536×576, 49152×576 at n = 1, 8, 64: 1 thread (SerialExecutor) vs
 *    2 threads (ThreadedExecutor), same -mt runtime; small shapes cold (a pool of copies > L3).
 * 4. How a matmul is split over 2 threads: chunks the threads claim one at a time (the default) vs one
 *    fixed share per thread (split 'shares', the executor before chunks), on the seven matrices of a
 *    Qwen2.5-0.5B layer in Q8_0 and F32 at n = 1, 4, 64. Blocks of calls alternate between the two
 *    executors, each block after a pause in which the other's worker parks, and the ratio is the median
 *    block time of one over the other.
 *
 * Every threaded result is checked bit-identical to the serial one before timing.
 *
 *   node dist/bench/threads.bench.js [--quick] [--json] [--build simd|relaxed|simd-mt|relaxed-mt]
 * (simd / relaxed mean their -mt twins: threads need the shared-memory builds.)
 */
import { createNodeRuntime } from '../src/node.js';
import { createNodeExecutor, nodeWorkerHost } from '../src/node/threads.js';
import { SerialExecutor, type AttentionArgs, type Executor } from '../src/exec/executor.js';
import { ThreadedExecutor } from '../src/exec/threads.js';
import { packLinear, packedBytesF32, type LinearDtype, type PackedLinear } from '../src/kernels/linear.js';
import { createRng } from '../src/rng.js';
import { median } from '../src/util/stats.js';
import type { Runtime } from '../src/wasm/runtime.js';
import type { WasmBuild } from '../src/wasm/kernels.js';
import { machineInfo, machineMarkdown, makeLog, markdownTable, parseBenchArgs, sig, timeCases, writeResults } from './common.js';

const SHAPES: readonly (readonly [number, number])[] = [[576, 576], [1536, 576], [49152, 576]];
const BATCHES = [1, 8, 64];
/** Packed weights above this do not fit the last-level cache. */
const COLD_BYTES = 32 * 2 ** 20;
/** Square-ish small matmuls for the threshold sweep: rows×cols at n = 1. */
const SWEEP: readonly (readonly [number, number])[] = [[64, 64], [128, 64], [128, 128], [256, 128], [256, 256], [512, 256], [512, 512], [1024, 512]];
/** Attention sweep: nHeads, headDim, context (cacheLen) at n = 1. */
const ATT_SWEEP: readonly (readonly [number, number, number])[] = [[8, 8, 64], [8, 8, 512], [8, 64, 64], [8, 64, 256], [9, 64, 512], [9, 64, 2048]];

function mtBuild(b: WasmBuild): WasmBuild {
  return b.endsWith('-mt') ? b : (`${b}-mt` as WasmBuild);
}

function fillRandom(rt: Runtime, ptr: number, count: number, seed: number): void {
  const rng = createRng(seed);
  const v = rt.f32(ptr, count);
  for (let i = 0; i < count; i++) v[i] = 2 * rng.next() - 1;
}

function sameBits(rt: Runtime, a: number, b: number, count: number, what: string): void {
  const x = new Uint32Array(rt.memory.buffer, a, count);
  const y = new Uint32Array(rt.memory.buffer, b, count);
  for (let i = 0; i < count; i++) if (x[i] !== y[i]) throw new Error(`validation failed: ${what}: threaded differs from serial at ${i}`);
}

/** `copies` packed copies of one random W [rows, cols] (copies > 1: a cold pool). Allocates in rt's arena. */
function packedCopies(rt: Runtime, rows: number, cols: number, copies: number, seed: number): PackedLinear[] {
  const bytes = packedBytesF32(rows, cols);
  const out: PackedLinear[] = [];
  for (let c = 0; c < copies; c++) out.push({ ptr: rt.arena.alloc(`w${c}`, bytes).ptr, rows, cols, bytes, dtype: 'F32' });
  const mark = rt.arena.mark();
  const raw = rt.arena.alloc('raw', rows * cols * 4); // [rows, cols] row-major staging
  fillRandom(rt, raw.ptr, rows * cols, seed);
  rt.k.pack_f32(out[0]!.ptr, raw.ptr, rows, cols);
  rt.arena.release(mark);
  const u8 = new Uint8Array(rt.memory.buffer);
  for (let c = 1; c < copies; c++) u8.copyWithin(out[c]!.ptr, out[0]!.ptr, out[0]!.ptr + bytes);
  return out;
}

interface MatRow { rows: number; cols: number; n: number; weights: 'hot' | 'cold'; t1: number; t2: number }
interface SplitRow { dtype: LinearDtype; n: number; sharesMs: number; chunksMs: number; chunksPerLayer: number }

/** The seven matrices of a Qwen2.5-0.5B layer (q, k, v, o, gate, up, down), rows × cols. */
const LAYER: readonly (readonly [number, number])[] = [[896, 896], [128, 896], [128, 896], [896, 896], [4864, 896], [4864, 896], [896, 4864]];

/** Section 4: chunks vs shares, blocks of layer passes alternating between the two executors. */
async function splitCompare(rt: Runtime, quick: boolean, log: (s: string) => void): Promise<SplitRow[]> {
  const shares = await ThreadedExecutor.create(rt, { threads: 2, host: nodeWorkerHost(), split: 'shares' });
  const chunks = await ThreadedExecutor.create(rt, { threads: 2, host: nodeWorkerHost() });
  const out: SplitRow[] = [];
  try {
    for (const dtype of ['Q8_0', 'F32'] as const) {
      const mark = rt.arena.mark();
      const mats = LAYER.map(([rows, cols], i) => {
        const raw = rt.arena.alloc(`split.raw${i}`, rows * cols * 4); // staging, released with the mark
        fillRandom(rt, raw.ptr, rows * cols, 500 + i);
        return packLinear(rt, `split.w${i}`, dtype, rt.f32(raw.ptr, rows * cols), rows, cols);
      });
      const x = rt.arena.alloc('split.x', 64 * 4864 * 4);
      fillRandom(rt, x.ptr, 64 * 4864, 9);
      const outA = rt.arena.alloc('split.outA', 64 * 4864 * 4);
      const outB = rt.arena.alloc('split.outB', 64 * 4864 * 4);
      for (const ex of [shares, chunks]) ex.reserveLinearInput(64, 4864);
      for (const n of [1, 4, 64]) {
        for (const m of mats) {
          shares.linear(m, outA.ptr, m.rows, x.ptr, n);
          chunks.linear(m, outB.ptr, m.rows, x.ptr, n);
          sameBits(rt, outA.ptr, outB.ptr, n * m.rows, `split ${dtype} ${m.rows}×${m.cols} n=${n}`);
        }
        const passes = Math.max(1, Math.round((n === 1 ? 40 : n === 4 ? 12 : 1) * (dtype === 'F32' ? 0.5 : 1)));
        const times: [number[], number[]] = [[], []];
        const c0 = chunks.stats.chunks;
        let timedPasses = 0;
        for (let block = 0; block < (quick ? 6 : 20); block++) {
          for (const [i, ex] of [shares, chunks].entries()) {
            await new Promise((r) => setTimeout(r, 5)); // > spinMicros: the other executor's worker parks
            for (const m of mats) ex.linear(m, outB.ptr, m.rows, x.ptr, n); // wake the worker
            const t0 = performance.now();
            for (let p = 0; p < passes; p++) for (const m of mats) ex.linear(m, outB.ptr, m.rows, x.ptr, n);
            times[i]!.push((performance.now() - t0) / passes);
            if (i === 1) timedPasses += passes + 1;
          }
        }
        const row: SplitRow = { dtype, n, sharesMs: median(times[0]), chunksMs: median(times[1]), chunksPerLayer: (chunks.stats.chunks - c0) / timedPasses };
        out.push(row);
        log(`  ${dtype} layer n=${n}: one share per thread ${sig(row.sharesMs)} ms, chunks ${sig(row.chunksMs)} ms (${sig(row.sharesMs / row.chunksMs)}×; ${sig(row.chunksPerLayer)} chunks per layer)`);
      }
      rt.arena.release(mark);
    }
  } finally {
    await shares.close();
    await chunks.close();
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const log = makeLog(args);
  const build = mtBuild(args.build);
  const machine = machineInfo(build);
  log(`# Threaded executor benchmark\n\n${machineMarkdown(machine, args.quick ? 'quick (short timing)' : 'full')}\n`);
  const poolBytes = args.quick ? 64 * 2 ** 20 : 128 * 2 ** 20;
  const rt = createNodeRuntime({ build, initialBytes: 8 << 20 });
  const serial = new SerialExecutor(rt);
  const threaded = (await createNodeExecutor(rt, { threads: 2 })) as ThreadedExecutor;
  const forced = (await createNodeExecutor(rt, { threads: 2, minLinearWork: 0, minAttentionWork: 0 })) as ThreadedExecutor;
  const q = { quick: args.quick, warmup: 20 };

  try {
    // ---- 1. dispatch ----
    const [ping] = await timeCases('dispatch', [{ name: 'ping (2 threads, spinning)', fn: () => threaded.ping() }], q);
    const wakes: number[] = [];
    for (let i = 0; i < (args.quick ? 10 : 40); i++) {
      await new Promise((r) => setTimeout(r, 5)); // > spinMicros: the worker parks
      const t0 = performance.now();
      threaded.ping();
      wakes.push((performance.now() - t0) * 1e3);
    }
    wakes.sort((a, b) => a - b);
    const wakeMedian = wakes[wakes.length >> 1]!;
    log(`dispatch + join of an empty job: ${sig(ping!.medianMs * 1e3)} µs (workers spinning); after parking: median ${sig(wakeMedian)} µs (min ${sig(wakes[0]!)}, max ${sig(wakes[wakes.length - 1]!)})\n`);

    // ---- 2. threshold sweep ----
    const x = rt.arena.alloc('x', 64 * 49152 * 4); // [64, ≤ 49152] input / scratch rows
    fillRandom(rt, x.ptr, 64 * 1536, 7);
    const outA = rt.arena.alloc('outA', 64 * 49152 * 4);
    const outB = rt.arena.alloc('outB', 64 * 49152 * 4);
    const sweep: { rows: number; cols: number; serialUs: number; splitUs: number }[] = [];
    for (const [rows, cols] of SWEEP) {
      const [w] = packedCopies(rt, rows, cols, 1, rows + cols);
      serial.linear(w!, outA.ptr, rows, x.ptr, 1);
      forced.linear(w!, outB.ptr, rows, x.ptr, 1);
      sameBits(rt, outA.ptr, outB.ptr, rows, `sweep ${rows}×${cols}`);
      const [s, t] = await timeCases(`sweep ${rows}x${cols}`, [
        { name: 'serial', fn: () => serial.linear(w!, outA.ptr, rows, x.ptr, 1) },
        { name: 'split 2', fn: () => forced.linear(w!, outB.ptr, rows, x.ptr, 1) },
      ], q);
      sweep.push({ rows, cols, serialUs: s!.medianMs * 1e3, splitUs: t!.medianMs * 1e3 });
      log(`  sweep ${rows}×${cols} (${rows * cols} MACs): serial ${sig(s!.medianMs * 1e3)} µs, split ${sig(t!.medianMs * 1e3)} µs`);
    }
    const attSweep: { nHeads: number; headDim: number; ctx: number; work: number; serialUs: number; splitUs: number }[] = [];
    const maxCtx = Math.max(...ATT_SWEEP.map((c) => c[2]));
    const maxHeadDim = Math.max(...ATT_SWEEP.map((c) => c[1]));
    // attention_f32 scratch, 4·(cacheLen + m + headDim) f32, before the marks below: it must outlive the per-case memory
    serial.reserveAttention(4 * (maxCtx + 1 + maxHeadDim));
    forced.reserveAttention(4 * (maxCtx + 1 + maxHeadDim));
    for (const [nHeads, headDim, ctx] of ATT_SWEEP) {
      const kvDim = nHeads * headDim;
      const mark = rt.arena.mark();
      const kv = rt.arena.alloc('kv', 2 * (ctx + 1) * kvDim * 4);
      fillRandom(rt, kv.ptr, 2 * (ctx + 1) * kvDim, ctx);
      const a: AttentionArgs = { outPtr: outA.ptr, qPtr: x.ptr, kPtr: kv.ptr, vPtr: kv.ptr + (ctx + 1) * kvDim * 4, maskPtr: 0, posPtr: 0,
        n: 1, m: 1, nHeads, nKvHeads: nHeads, headDim, cacheLen: ctx, scale: 1 / Math.sqrt(headDim), softcap: 0, window: 0 };
      const b = { ...a, outPtr: outB.ptr };
      serial.attention(a);
      forced.attention(b);
      sameBits(rt, outA.ptr, outB.ptr, kvDim, `attention ${nHeads}×${headDim} ctx ${ctx}`);
      const [s, t] = await timeCases(`att ${nHeads}x${headDim} ctx ${ctx}`, [
        { name: 'serial', fn: () => serial.attention(a) },
        { name: 'split 2', fn: () => forced.attention(b) },
      ], q);
      const work = nHeads * (ctx + 1) * headDim;
      attSweep.push({ nHeads, headDim, ctx, work, serialUs: s!.medianMs * 1e3, splitUs: t!.medianMs * 1e3 });
      log(`  attention ${nHeads} heads × ${headDim}, context ${ctx} (work ${work}): serial ${sig(s!.medianMs * 1e3)} µs, split ${sig(t!.medianMs * 1e3)} µs`);
      rt.arena.release(mark);
    }

    // ---- 3. matmul 1 vs 2 threads ----
    const rowsOut: MatRow[] = [];
    let seed = 100;
    for (const [rows, cols] of SHAPES) {
      const bytes = packedBytesF32(rows, cols);
      const cold = bytes > COLD_BYTES;
      const copies = cold ? 1 : Math.ceil(poolBytes / bytes);
      const mark = rt.arena.mark();
      const ws = packedCopies(rt, rows, cols, copies, seed++);
      for (const n of BATCHES) {
        serial.linear(ws[0]!, outA.ptr, rows, x.ptr, n);
        threaded.linear(ws[0]!, outB.ptr, rows, x.ptr, n);
        sameBits(rt, outA.ptr, outB.ptr, n * rows, `matmul ${rows}×${cols} n=${n}`);
        let c1 = 0, c2 = 0;
        const run = (ex: Executor, i: number, out: number) => ex.linear(ws[i % copies]!, out, rows, x.ptr, n);
        const [t1, t2] = await timeCases(`${rows}x${cols} n=${n}`, [
          { name: '1 thread', fn: () => run(serial, c1++, outA.ptr) },
          { name: '2 threads', fn: () => run(threaded, c2++, outB.ptr) },
        ], q);
        rowsOut.push({ rows, cols, n, weights: 'cold', t1: t1!.medianMs, t2: t2!.medianMs });
        log(`  ${rows}×${cols} n=${n}: 1 thread ${sig(t1!.medianMs)} ms, 2 threads ${sig(t2!.medianMs)} ms (${sig(t1!.medianMs / t2!.medianMs)}×)`);
      }
      rt.arena.release(mark);
    }

    // ---- 4. chunks vs one share per thread ----
    const splitRows = await splitCompare(rt, args.quick, log);

    log(`\n## Dispatch\n\n${markdownTable(['what', 'µs'], [
      ['dispatch + join, empty job, workers spinning', sig(ping!.medianMs * 1e3)],
      ['same, worker parked (idle > spinMicros), median', sig(wakeMedian)],
    ])}\n`);
    log(`## Threshold sweep (n = 1, hot, thresholds forced to 0)\n\n${markdownTable(['rows×cols', 'MACs', 'serial µs', 'split µs', 'speed-up'],
      sweep.map((r) => [`${r.rows}×${r.cols}`, r.rows * r.cols, sig(r.serialUs), sig(r.splitUs), `${sig(r.serialUs / r.splitUs)}×`]))}\n`);
    log(`${markdownTable(['attention heads×headDim, context', 'work', 'serial µs', 'split µs', 'speed-up'],
      attSweep.map((r) => [`${r.nHeads}×${r.headDim}, ${r.ctx}`, r.work, sig(r.serialUs), sig(r.splitUs), `${sig(r.serialUs / r.splitUs)}×`]))}\n`);
    const gflops = (r: MatRow, ms: number) => (2 * r.rows * r.cols * r.n) / (ms * 1e-3) / 1e9;
    log(`## f32 matmul, cold weights, 1 vs 2 threads\n\n${markdownTable(['rows×cols', 'n', '1 thread ms', 'GFLOP/s', '2 threads ms', 'GFLOP/s', 'speed-up'],
      rowsOut.map((r) => [`${r.rows}×${r.cols}`, r.n, sig(r.t1), sig(gflops(r, r.t1)), sig(r.t2), sig(gflops(r, r.t2)), `${sig(r.t1 / r.t2)}×`]))}\n`);
    log('Times are medians of benny samples; 1 thread = SerialExecutor, 2 threads = ThreadedExecutor (default thresholds), same runtime and build.\n');
    log(`## How a matmul is split over 2 threads: chunks vs one share per thread\n\n${markdownTable(['weights', 'n', 'one share per thread, ms per layer', 'chunks, ms per layer', 'shares ÷ chunks', 'chunks per layer'],
      splitRows.map((r) => [r.dtype, r.n, sig(r.sharesMs), sig(r.chunksMs), `${sig(r.sharesMs / r.chunksMs)}×`, sig(r.chunksPerLayer)]))}\n`);
    log('The seven matrices of a Qwen2.5-0.5B layer (896×896, 2 × 128×896, 896×896, 2 × 4864×896, 896×4864), random weights, hot in the last-level cache as far as they fit. ' +
      'Two 2-thread executors over one runtime; blocks of layer passes alternate between them (each after a 5 ms pause in which the other\'s worker parks); medians of the blocks. ' +
      '"One share per thread" is the split before chunks (ThreadedExecutor option split: \'shares\'), results bit-identical.');

    const json = {
      bench: 'threads',
      machine,
      mode: args.quick ? 'quick' : 'full',
      dispatch: { pingUs: ping!.medianMs * 1e3, wakeFromParkUs: { median: wakeMedian, min: wakes[0], max: wakes[wakes.length - 1] } },
      thresholds: { minLinearWork: threaded.minLinearWork, minAttentionWork: threaded.minAttentionWork },
      linearSweep: sweep,
      attentionSweep: attSweep,
      matmul: rowsOut.map((r) => ({ ...r, speedup: r.t1 / r.t2, gflops1: gflops(r, r.t1), gflops2: gflops(r, r.t2) })),
      split: splitRows.map((r) => ({ ...r, sharesOverChunks: r.sharesMs / r.chunksMs })),
    };
    const path = writeResults(`threads.${build}.json`, json);
    log(`JSON written to ${path}`);
    if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  } finally {
    await threaded.close();
    await forced.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`threads bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
