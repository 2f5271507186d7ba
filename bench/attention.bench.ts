/**
 * Attention kernel benchmark: attention_f32 (SIMD) against its scalar twin attention_f32_ref, and
 * attention_f16 (the same kernel over an f16 KV cache, kvType 'f16'), in one run, on the shapes the
 * engine meets:
 *   (a) stories260K tree verification: 8/4 heads, headDim 8, n = m = 31 (full binary tree), cacheLen 200
 *   (b) stories260K prefill: 64 rows causal, cacheLen 0 and 256
 *   (c) stories260K decode: n = 1, cacheLen 200
 *   (d) SmolLM-135M-like: 9/3 heads, headDim 64, cacheLen 512, n = 1 (decode), 8 and 32 (tree)
 *   (e) multi-head decode (no GQA: every KV head has one query vector), headDim 48, cacheLen 200
 *   (f) long-context decode on real shapes: SmolLM2-360M (15/5 heads) and Qwen2.5-0.5B (14/2), headDim
 *       64, cacheLen 4096, one call per layer over their 32 / 24 layers' caches in turn (as a decode step
 *       reads them: 160 / 96 MiB of f32 K and V, beyond the caches), and a tree verify of 16 rows there
 * Every kernel is validated against an f64 attention on the same inputs before timing. The caches are
 * laid out as the engine lays them out, head-major (each KV head's rows one plane); the scratch is the
 * documented 4·(cacheLen + m + headDim) floats.
 *
 *   node dist/bench/attention.bench.js [--quick] [--json] [--build simd|relaxed|simd-mt|relaxed-mt]
 */
import { createNodeRuntime } from '../src/node.js';
import { createRng } from '../src/rng.js';
import { machineInfo, machineMarkdown, makeLog, markdownTable, parseBenchArgs, sig, timeCases, writeResults, type Timing } from './common.js';

interface Shape {
  readonly label: string;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly n: number;
  /** Staged rows (the queries are the last n). */
  readonly m: number;
  readonly cacheLen: number;
  readonly mask: 'causal' | 'tree';
  /** Layers whose K/V caches the timed calls take in turn (default 1: one cache, as hot as it gets). */
  readonly layers?: number;
}

const SHAPES: readonly Shape[] = [
  { label: '(a) stories260K tree verify', nHeads: 8, nKvHeads: 4, headDim: 8, n: 31, m: 31, cacheLen: 200, mask: 'tree' },
  { label: '(b) stories260K prefill', nHeads: 8, nKvHeads: 4, headDim: 8, n: 64, m: 64, cacheLen: 0, mask: 'causal' },
  { label: '(b) stories260K prefill', nHeads: 8, nKvHeads: 4, headDim: 8, n: 64, m: 64, cacheLen: 256, mask: 'causal' },
  { label: '(c) stories260K decode', nHeads: 8, nKvHeads: 4, headDim: 8, n: 1, m: 1, cacheLen: 200, mask: 'causal' },
  { label: '(d) SmolLM-like decode', nHeads: 9, nKvHeads: 3, headDim: 64, n: 1, m: 1, cacheLen: 512, mask: 'causal' },
  { label: '(d) SmolLM-like tree verify', nHeads: 9, nKvHeads: 3, headDim: 64, n: 8, m: 8, cacheLen: 512, mask: 'tree' },
  { label: '(d) SmolLM-like tree verify', nHeads: 9, nKvHeads: 3, headDim: 64, n: 32, m: 32, cacheLen: 512, mask: 'tree' },
  { label: '(e) multi-head decode (stories15M-like)', nHeads: 6, nKvHeads: 6, headDim: 48, n: 1, m: 1, cacheLen: 200, mask: 'causal' },
  { label: '(f) SmolLM2-360M decode, 32 layers', nHeads: 15, nKvHeads: 5, headDim: 64, n: 1, m: 1, cacheLen: 4096, mask: 'causal', layers: 32 },
  { label: '(f) Qwen2.5-0.5B decode, 24 layers', nHeads: 14, nKvHeads: 2, headDim: 64, n: 1, m: 1, cacheLen: 4096, mask: 'causal', layers: 24 },
  { label: '(f) Qwen2.5-0.5B tree verify, 24 layers', nHeads: 14, nKvHeads: 2, headDim: 64, n: 16, m: 16, cacheLen: 4096, mask: 'tree', layers: 24 },
];
const QUICK = new Set([0, 2, 3, 6, 7, 9]);

/** Tree mask [n, m] of a full binary tree in heap order (parent of node r is (r − 1) >> 1): ancestors and self. */
function treeMask(n: number, m: number): Uint8Array {
  const mask = new Uint8Array(n * m);
  for (let i = 0; i < n; i++) for (let j = m - n + i; j >= 0; j = j === 0 ? -1 : (j - 1) >> 1) mask[i * m + j] = 1;
  return mask;
}

/** f64 attention from the contract, for validation. */
function attentionF64(s: Shape, q: Float32Array, k: Float32Array, v: Float32Array, mask: Uint8Array | null): Float64Array {
  const { n, m, nHeads, nKvHeads, headDim, cacheLen } = s;
  const group = nHeads / nKvHeads;
  const kvDim = nKvHeads * headDim;
  const out = new Float64Array(n * nHeads * headDim);
  const scores = new Float64Array(cacheLen + m);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      let mx = -Infinity;
      for (let t = 0; t < cacheLen + m; t++) {
        const j = t - cacheLen;
        const seen = t < cacheLen || (mask === null ? j <= m - n + i : mask[i * m + j] === 1);
        let d = -Infinity;
        if (seen) {
          d = 0;
          for (let e = 0; e < headDim; e++) d += q[(i * nHeads + h) * headDim + e] * k[t * kvDim + g * headDim + e];
          d /= Math.sqrt(headDim);
        }
        scores[t] = d;
        mx = Math.max(mx, d);
      }
      let z = 0;
      for (let t = 0; t < scores.length; t++) z += scores[t] = Math.exp(scores[t] - mx);
      for (let e = 0; e < headDim; e++) {
        let o = 0;
        for (let t = 0; t < scores.length; t++) if (scores[t] > 0) o += (scores[t] / z) * v[t * kvDim + g * headDim + e];
        out[(i * nHeads + h) * headDim + e] = o;
      }
    }
  }
  return out;
}

interface Row {
  shape: Shape;
  flop: number;
  simd: Timing;
  f16: Timing;
  ref: Timing;
}

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const log = makeLog(args);
  const machine = machineInfo(args.build);
  log(`# Kernel benchmark: attention (f32 and f16 caches)\n\n${machineMarkdown(machine, args.quick ? 'quick (short timing, fewer shapes)' : 'full')}\n`);
  const rt = createNodeRuntime({ build: args.build, initialBytes: 16 << 20 });
  const { k } = rt;
  const results: Row[] = [];
  let seed = 1;
  for (const [idx, s] of SHAPES.entries()) {
    if (args.quick && !QUICK.has(idx)) continue;
    const rng = createRng(seed++);
    const qDim = s.nHeads * s.headDim;
    const kvDim = s.nKvHeads * s.headDim;
    const total = s.cacheLen + s.m;
    const L = s.layers ?? 1;
    const a = rt.arena;
    const mark = a.mark();
    const qb = a.alloc('q', s.n * qDim * 4);
    // per layer: f32 K and V, and the same values as an f16 cache
    const kbs = Array.from({ length: L }, (_, l) => a.alloc(`k${l}`, total * kvDim * 4));
    const vbs = Array.from({ length: L }, (_, l) => a.alloc(`v${l}`, total * kvDim * 4));
    const khs = Array.from({ length: L }, (_, l) => a.alloc(`k16.${l}`, total * kvDim * 2));
    const vhs = Array.from({ length: L }, (_, l) => a.alloc(`v16.${l}`, total * kvDim * 2));
    const outB = a.alloc('out', s.n * qDim * 4);
    const scratch = a.alloc('scratch', 16 * (total + s.headDim) + 8 * total * s.headDim); // f32 [4·(cacheLen + m + headDim) + 2·(cacheLen + m)·headDim]
    const maskArr = s.mask === 'tree' ? treeMask(s.n, s.m) : null;
    const mb = maskArr === null ? null : a.alloc('mask', maskArr.length);
    const fill = (ptr: number, count: number) => {
      const view = rt.f32(ptr, count);
      for (let j = 0; j < count; j++) view[j] = 2 * rng.next() - 1;
      return view;
    };
    const q = fill(qb.ptr, s.n * qDim).slice(); // a copy: later allocations may grow the memory (detaching views)
    // the engine's layout: head-major planes of `total` rows (kv_store_*), from row-major values
    const rowMajor = a.alloc('rows', total * kvDim * 4);
    let kv = new Float32Array(0);
    let vv = new Float32Array(0);
    for (let l = 0; l < L; l++) {
      for (const [f32, f16, isK] of [[kbs[l]!, khs[l]!, true], [vbs[l]!, vhs[l]!, false]] as const) {
        const values = fill(rowMajor.ptr, total * kvDim);
        if (l === 0) {
          if (isK) kv = values.slice();
          else vv = values.slice();
        }
        k.kv_store_f32(f32.ptr, rowMajor.ptr, total, s.nKvHeads, s.headDim, total);
        if (k.kv_store_f16(f16.ptr, rowMajor.ptr, total, s.nKvHeads, s.headDim, total) !== 0) throw new Error('f16 cache: values out of range');
      }
    }
    if (mb !== null && maskArr !== null) rt.u8(mb.ptr, maskArr.length).set(maskArr);
    const maskPtr = mb === null ? 0 : mb.ptr;
    const want = attentionF64(s, q, kv, vv, maskArr);
    // each call takes the next layer's cache (one layer: always the same)
    let layer = 0;
    const run = (name: 'attention_f32' | 'attention_f32_ref' | 'attention_f16') => () => {
      const [kp, vp] = name === 'attention_f16' ? [khs[layer]!.ptr, vhs[layer]!.ptr] : [kbs[layer]!.ptr, vbs[layer]!.ptr];
      layer = layer + 1 === L ? 0 : layer + 1;
      k[name](outB.ptr, qb.ptr, kp, vp, scratch.ptr, maskPtr, 0, s.n, s.m, s.nHeads, s.nKvHeads, s.headDim, s.cacheLen, 0, s.nHeads, 1 / Math.sqrt(s.headDim), 0, 0, total);
    };
    // validate before timing, on layer 0: every kernel against f64 attention (|q|, |k|, |v| ≤ 1, so 1e-5 is
    // ~100 ulp; the f16 cache's values are each within 2^-12 of the f32 ones, so 2e-3)
    for (const name of ['attention_f32', 'attention_f32_ref', 'attention_f16'] as const) {
      layer = 0;
      run(name)();
      const got = rt.f32(outB.ptr, s.n * qDim);
      const tol = name === 'attention_f16' ? 2e-3 : 1e-5;
      for (let j = 0; j < got.length; j++) {
        if (!(Math.abs(got[j] - want[j]) <= tol)) throw new Error(`validation failed: ${name} ${s.label} at ${j}: ${got[j]} vs ${want[j]}`);
      }
    }
    const key = `${s.label} n=${s.n} cache=${s.cacheLen}`;
    const [simd, f16, ref] = await timeCases(key, [
      { name: 'attention_f32', fn: run('attention_f32') },
      { name: 'attention_f16', fn: run('attention_f16') },
      { name: 'attention_f32_ref', fn: run('attention_f32_ref') },
    ], { quick: args.quick, warmup: 20 });
    // attended (query, key) pairs × heads × headDim × 2 (q·k and p·v), 2 flop per multiply-add
    let pairs = 0;
    for (let i = 0; i < s.n; i++) {
      pairs += s.cacheLen;
      for (let j = 0; j < s.m; j++) if (maskArr === null ? j <= s.m - s.n + i : maskArr[i * s.m + j] === 1) pairs++;
    }
    results.push({ shape: s, flop: 4 * pairs * s.nHeads * s.headDim, simd, f16, ref });
    log(`  ${key}: simd ${sig(simd.medianMs * 1e3)} µs, f16 cache ${sig(f16.medianMs * 1e3)} µs, scalar ${sig(ref.medianMs * 1e3)} µs`);
    a.release(mark);
  }
  const gflops = (r: Row, t: Timing) => r.flop / (t.medianMs * 1e-3) / 1e9;
  log(`\n${markdownTable(
    ['shape', 'heads', 'headDim', 'n', 'cacheLen', 'mask', 'SIMD µs', 'GFLOP/s', 'f16 cache µs', 'f32 ÷ f16', 'scalar µs', 'GFLOP/s', 'scalar/SIMD'],
    results.map((r) => [
      r.shape.label,
      `${r.shape.nHeads}/${r.shape.nKvHeads}`,
      r.shape.headDim,
      r.shape.n,
      r.shape.cacheLen,
      r.shape.mask,
      sig(r.simd.medianMs * 1e3),
      sig(gflops(r, r.simd)),
      sig(r.f16.medianMs * 1e3),
      `${sig(r.simd.medianMs / r.f16.medianMs)}×`,
      sig(r.ref.medianMs * 1e3),
      sig(gflops(r, r.ref)),
      `${sig(r.ref.medianMs / r.simd.medianMs)}×`,
    ]),
  )}\n`);
  log('Times are medians of benny samples, one call = all heads of one layer (the (f) rows: the next layer\'s cache each call). GFLOP/s counts 4·headDim flop per attended (query head, key) pair. f32 ÷ f16 > 1: the f16 cache is faster.');
  const json = {
    bench: 'attention',
    machine,
    mode: args.quick ? 'quick' : 'full',
    results: results.map((r) => ({ ...r.shape, flop: r.flop, simd: { ...r.simd, gflops: gflops(r, r.simd) }, f16: { ...r.f16, gflops: gflops(r, r.f16) }, ref: { ...r.ref, gflops: gflops(r, r.ref) }, scalarOverSimd: r.ref.medianMs / r.simd.medianMs, f32OverF16: r.simd.medianMs / r.f16.medianMs })),
  };
  const path = writeResults(args.build === 'simd' ? 'attention.json' : `attention.${args.build}.json`, json);
  log(`JSON written to ${path}`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`attention bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
