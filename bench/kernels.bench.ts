/**
 * Linear-layer kernel benchmark: matmul_f32 (packed 4-row panels, SIMD) against its scalar twin
 * matmul_f32_ref (same packed layout) and a plain-JS loop on row-major Float32Arrays, all in one
 * run, for SmolLM-135M / Llama-2-style shapes and batches n = 1 (decode), 8, 32 (tree verification).
 * Then the other weight dtypes at the same shapes and batches, each next to its scalar twin and the
 * f32 kernel of the same run: bf16 (matmul_bf16), int8 W8A8 (matmul_q8), int4 W4A8 (matmul_q4).
 * GB/s counts the packed bytes each call streams (scales included); GOP/s = 2·rows·cols·n / time.
 * q8/q4 kernels read the prepared input (quant_x_q8 of x, once per x); its cost is timed separately
 * ("prep µs") and is not in the kernel times.
 *
 * Weights: shapes whose packed W exceeds COLD_BYTES (twice the last-level cache) are "cold" by themselves (they stream from
 * DRAM each call). Smaller shapes are measured "hot" (one copy, cache-resident) and "cold" (each
 * call takes the next of several copies spanning a pool larger than L3, as in docs/performance.md §2).
 *
 *   node dist/bench/kernels.bench.js [--quick] [--json] [--build simd|relaxed|simd-mt|relaxed-mt]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createNodeRuntime } from '../src/node.js';
import { createRng } from '../src/rng.js';
import { linearInputBytes, packedBytes as packedBytesOf, packedBytesF32, type LinearDtype } from '../src/kernels/linear.js';
import type { Runtime } from '../src/wasm/runtime.js';
import { machineInfo, machineMarkdown, makeLog, markdownTable, parseBenchArgs, sig, timeCases, writeResults, type Timing } from './common.js';

const SHAPES: readonly (readonly [number, number])[] = [[576, 576], [1536, 576], [49152, 576], [768, 768], [32000, 768]];
const BATCHES = [1, 8, 32];
const QUICK_CASES: readonly (readonly [number, number, number])[] = [[576, 576, 1], [576, 576, 8], [49152, 576, 1], [49152, 576, 8]];
/**
 * The last-level cache this machine reports (Linux sysfs), or 32 MiB where it cannot be read: the AMD
 * EPYC of round 1 had 32 MiB of L3 per CCD, the Intel Xeon of later sessions shows 260 MiB to one VM,
 * which holds every shape below and a 128 MiB pool of copies, so a fixed "cold" size measured L3 there.
 */
function lastLevelCacheBytes(): number {
  let best = 0;
  try {
    const dir = '/sys/devices/system/cpu/cpu0/cache';
    for (const index of readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const size = readFileSync(`${dir}/${index}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)$/.exec(size);
      if (m) best = Math.max(best, Number(m[1]) * (m[2] === 'G' ? 2 ** 30 : m[2] === 'M' ? 2 ** 20 : m[2] === 'K' ? 2 ** 10 : 1));
    }
  } catch {
    // not Linux, or no sysfs: the default below
  }
  return best > 0 ? best : 32 * 2 ** 20;
}
const LLC_BYTES = lastLevelCacheBytes();
/** Packed weights above this stream from DRAM by themselves (twice the last-level cache, at least 32 MiB). */
const COLD_BYTES = Math.max(32 * 2 ** 20, 2 * LLC_BYTES);

/** Plain JS: out[i, r] = Σ_c x[i, c]·w[r, c], row-major; 4 accumulators for n = 1, a 2×2 register tile otherwise. */
function matmulJs(out: Float32Array, w: Float32Array, x: Float32Array, n: number, rows: number, cols: number): void {
  if (n === 1) {
    const c4 = cols & ~3;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let c = 0;
      for (; c < c4; c += 4) {
        s0 += w[o + c] * x[c];
        s1 += w[o + c + 1] * x[c + 1];
        s2 += w[o + c + 2] * x[c + 2];
        s3 += w[o + c + 3] * x[c + 3];
      }
      for (; c < cols; c++) s0 += w[o + c] * x[c];
      out[r] = s0 + s1 + s2 + s3;
    }
    return;
  }
  for (let i = 0; i < n; i += 2) {
    const i1 = Math.min(i + 1, n - 1); // odd n: the last row is computed twice, written once
    const xa = i * cols, xb = i1 * cols;
    for (let r = 0; r < rows; r += 2) {
      const r1 = Math.min(r + 1, rows - 1);
      const wa = r * cols, wb = r1 * cols;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let c = 0; c < cols; c++) {
        const x0 = x[xa + c], x1 = x[xb + c], w0 = w[wa + c], w1 = w[wb + c];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
      }
      out[i * rows + r] = s00;
      out[i * rows + r1] = s01;
      out[i1 * rows + r] = s10;
      out[i1 * rows + r1] = s11;
    }
  }
}

/** Largest |a − b| / tol, tol = 2(cols + 4)·2^-24·max|w|·Σ|x row| (a bound on each output's rounding). */
function checkClose(what: string, a: Float32Array, b: Float32Array, n: number, rows: number, cols: number, wMax: number, x: Float32Array): void {
  for (let i = 0; i < n; i++) {
    let xs = 0;
    for (let c = 0; c < cols; c++) xs += Math.abs(x[i * cols + c]);
    const tol = 2 * (cols + 4) * 2 ** -24 * wMax * xs;
    for (let r = 0; r < rows; r++) {
      const d = Math.abs(a[i * rows + r] - b[i * rows + r]);
      if (!(d <= tol)) throw new Error(`validation failed: ${what} at [${i}, ${r}]: ${a[i * rows + r]} vs ${b[i * rows + r]} (tol ${tol})`);
    }
  }
}

/** The dtypes measured next to f32, with their kernels (quantised ones read the prepared input). */
const DTYPE_KERNELS = {
  BF16: { pack: 'pack_bf16', simd: 'matmul_bf16', ref: 'matmul_bf16_ref', prepared: false },
  Q8_0: { pack: 'quant_q8_0', simd: 'matmul_q8_0', ref: 'matmul_q8_0_ref', prepared: true },
  Q4_0: { pack: 'quant_q4_0', simd: 'matmul_q4_0', ref: 'matmul_q4_0_ref', prepared: true },
} as const;
type OtherDtype = keyof typeof DTYPE_KERNELS;
const OTHER_DTYPES = Object.keys(DTYPE_KERNELS) as OtherDtype[];
type MatmulFn = (outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number) => void;

interface DtypeRow {
  rows: number;
  cols: number;
  n: number;
  weights: 'hot' | 'cold';
  dtype: LinearDtype;
  copies: number;
  weightBytes: number;
  flop: number;
  simd: Timing;
  ref: Timing;
  /** matmul_f32 of the same shape, n and weights, from the same run. */
  f32: Timing;
  /** quant_x_q8 of x [n, cols] (q8/q4 only). */
  prep: Timing | null;
}

/**
 * One runtime holding `copies` packed copies of the same random W (values as setupShape: seed, [-1, 1))
 * in `dtype`, x [maxN, cols] and its prepared input.
 */
function setupDtype(build: Runtime['build'], dtype: OtherDtype, rows: number, cols: number, copies: number, maxN: number, seed: number) {
  const bytes = packedBytesOf(dtype, rows, cols);
  const rawBytes = rows * cols * 4;
  const prepBytes = linearInputBytes('Q8_0', maxN, cols);
  const rt = createNodeRuntime({ build, initialBytes: copies * bytes + rawBytes + prepBytes + 4 * maxN * (rows + cols) * 4 + (8 << 20) });
  const rng = createRng(seed);
  const raw = rt.arena.alloc('w', rawBytes);
  const w = rt.f32(raw.ptr, rows * cols);
  for (let j = 0; j < w.length; j++) w[j] = 2 * rng.next() - 1;
  const x = rt.arena.alloc('x', maxN * cols * 4);
  const xs = rt.f32(x.ptr, maxN * cols);
  for (let j = 0; j < xs.length; j++) xs[j] = 2 * rng.next() - 1;
  const k = rt.k as unknown as Record<string, (...a: number[]) => number>;
  const packedPtrs = Array.from({ length: copies }, (_, c) => {
    const p = rt.arena.alloc(`p${c}`, bytes).ptr;
    const status = k[DTYPE_KERNELS[dtype].pack](p, raw.ptr, rows, cols);
    if (dtype !== 'BF16' && status !== -1) throw new Error(`pack ${dtype}: status ${status}`);
    return p;
  });
  return {
    rt,
    packedPtrs,
    x,
    xView: xs,
    prep: rt.arena.alloc('prep', prepBytes),
    out: rt.arena.alloc('out', maxN * rows * 4),
    outRef: rt.arena.alloc('outRef', maxN * rows * 4),
    bytes,
  };
}

interface Row {
  rows: number;
  cols: number;
  n: number;
  weights: 'hot' | 'cold';
  copies: number;
  weightBytes: number;
  flop: number;
  simd: Timing;
  ref: Timing;
  js: Timing;
}

/** One runtime per shape (freed with it), holding `copies` row-major and packed copies of one random W. */
function setupShape(build: Runtime['build'], rows: number, cols: number, copies: number, maxN: number, seed: number) {
  const packedBytes = packedBytesF32(rows, cols);
  const rawBytes = rows * cols * 4;
  const rt = createNodeRuntime({ build, initialBytes: copies * (packedBytes + rawBytes) + 4 * maxN * (rows + cols) * 4 + (8 << 20) });
  const rng = createRng(seed);
  const raw = Array.from({ length: copies }, (_, c) => rt.arena.alloc(`w${c}`, rawBytes));
  const packed = Array.from({ length: copies }, (_, c) => rt.arena.alloc(`p${c}`, packedBytes));
  const x = rt.arena.alloc('x', maxN * cols * 4);
  const out = rt.arena.alloc('out', maxN * rows * 4);
  const outRef = rt.arena.alloc('outRef', maxN * rows * 4);
  const w0 = rt.f32(raw[0].ptr, rows * cols);
  for (let j = 0; j < w0.length; j++) w0[j] = 2 * rng.next() - 1;
  const xs = rt.f32(x.ptr, maxN * cols);
  for (let j = 0; j < xs.length; j++) xs[j] = 2 * rng.next() - 1;
  for (let c = 0; c < copies; c++) {
    if (c > 0) rt.f32(raw[c].ptr, rows * cols).set(w0);
    rt.k.pack_f32(packed[c].ptr, raw[c].ptr, rows, cols);
  }
  return {
    rt,
    rawViews: raw.map((r) => rt.f32(r.ptr, rows * cols)),
    packedPtrs: packed.map((p) => p.ptr),
    x,
    xView: xs,
    out,
    outRef,
    outJs: new Float32Array(maxN * rows),
    packedBytes,
    rawBytes,
  };
}

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const log = makeLog(args);
  const machine = machineInfo(args.build);
  const mode = args.quick ? 'quick (short timing, few shapes)' : 'full';
  log(`# Kernel benchmark: linear layers (f32, bf16, int8, int4)\n\n${machineMarkdown(machine, mode)}\n`);

  // (rows, cols) → batches to run
  const plan = new Map<string, number[]>();
  if (args.quick) for (const [rows, cols, n] of QUICK_CASES) plan.set(`${rows}x${cols}`, [...(plan.get(`${rows}x${cols}`) ?? []), n]);
  else for (const [rows, cols] of SHAPES) plan.set(`${rows}x${cols}`, BATCHES);
  // a pool of copies twice the last-level cache, so that each call's copy comes from DRAM
  const poolBytes = Math.max(args.quick ? 64 * 2 ** 20 : 128 * 2 ** 20, 2 * LLC_BYTES);
  log(`- Last-level cache ${sig(LLC_BYTES / 2 ** 20)} MiB (sysfs; 32 MiB assumed where unreadable): "cold" weights are copies spanning ${sig(poolBytes / 2 ** 20)} MiB, or one matrix above ${sig(COLD_BYTES / 2 ** 20)} MiB\n`);

  const results: Row[] = [];
  const dtypeResults: DtypeRow[] = [];
  let seed = 1;
  for (const [key, batches] of plan) {
    const [rows, cols] = key.split('x').map(Number);
    const packedBytes = packedBytesF32(rows, cols);
    const variants: ('hot' | 'cold')[] = packedBytes > COLD_BYTES ? ['cold'] : ['hot', 'cold'];
    for (const weights of variants) {
      const copies = weights === 'hot' || packedBytes > COLD_BYTES ? 1 : Math.ceil(poolBytes / packedBytes);
      const maxN = Math.max(...batches);
      const s = setupShape(args.build, rows, cols, copies, maxN, seed++);
      const { k } = s.rt;
      for (const n of batches) {
        // validate before timing: SIMD vs scalar twin, JS vs scalar twin (llm.c: no timing for a wrong kernel)
        k.matmul_f32(s.out.ptr, rows, s.packedPtrs[0], s.x.ptr, n, rows, cols);
        k.matmul_f32_ref(s.outRef.ptr, rows, s.packedPtrs[0], s.x.ptr, n, rows, cols);
        matmulJs(s.outJs, s.rawViews[0], s.xView, n, rows, cols);
        const got = s.rt.f32(s.out.ptr, n * rows);
        const want = s.rt.f32(s.outRef.ptr, n * rows);
        checkClose(`matmul_f32 ${key} n=${n}`, got, want, n, rows, cols, 1, s.xView);
        checkClose(`plain JS ${key} n=${n}`, s.outJs, want, n, rows, cols, 1, s.xView);

        let cs = 0, cr = 0, cj = 0;
        const [simd, ref, js] = await timeCases(`${key} n=${n} ${weights}`, [
          { name: 'matmul_f32', fn: () => k.matmul_f32(s.out.ptr, rows, s.packedPtrs[cs++ % copies], s.x.ptr, n, rows, cols) },
          { name: 'matmul_f32_ref', fn: () => k.matmul_f32_ref(s.outRef.ptr, rows, s.packedPtrs[cr++ % copies], s.x.ptr, n, rows, cols) },
          { name: 'plain JS', fn: () => matmulJs(s.outJs, s.rawViews[cj++ % copies], s.xView, n, rows, cols) },
        ], { quick: args.quick });
        const row: Row = { rows, cols, n, weights, copies, weightBytes: packedBytes, flop: 2 * rows * cols * n, simd, ref, js };
        results.push(row);
        log(`  ${key} n=${n} ${weights}: simd ${sig(simd.medianMs)} ms, scalar ${sig(ref.medianMs)} ms, js ${sig(js.medianMs)} ms`);
      }

      // the same W in the other dtypes, same batches, same hot/cold regime
      for (const dtype of OTHER_DTYPES) {
        const bytes = packedBytesOf(dtype, rows, cols);
        const dCopies = weights === 'hot' || packedBytes > COLD_BYTES ? 1 : Math.ceil(poolBytes / bytes);
        const d = setupDtype(args.build, dtype, rows, cols, dCopies, maxN, seed - 1);
        const kk = d.rt.k as unknown as Record<string, MatmulFn>;
        const spec = DTYPE_KERNELS[dtype];
        for (const n of batches) {
          const inPtr = spec.prepared ? d.prep.ptr : d.x.ptr;
          if (spec.prepared) d.rt.k.quant_x(d.prep.ptr, d.x.ptr, n, cols);
          // validate before timing: SIMD vs its scalar twin (equal in the plain build; within rounding in relaxed)
          kk[spec.simd](d.out.ptr, rows, d.packedPtrs[0], inPtr, n, rows, cols);
          kk[spec.ref](d.outRef.ptr, rows, d.packedPtrs[0], inPtr, n, rows, cols);
          checkClose(`${spec.simd} ${key} n=${n}`, d.rt.f32(d.out.ptr, n * rows), d.rt.f32(d.outRef.ptr, n * rows), n, rows, cols, 1.01, d.xView);
          let cs = 0, cr = 0;
          const cases: { name: string; fn: () => void }[] = [
            { name: spec.simd, fn: () => kk[spec.simd](d.out.ptr, rows, d.packedPtrs[cs++ % dCopies], inPtr, n, rows, cols) },
            { name: spec.ref, fn: () => kk[spec.ref](d.outRef.ptr, rows, d.packedPtrs[cr++ % dCopies], inPtr, n, rows, cols) },
          ];
          if (spec.prepared) cases.push({ name: 'quant_x', fn: () => d.rt.k.quant_x(d.prep.ptr, d.x.ptr, n, cols) });
          const [simd, ref, prep] = await timeCases(`${key} n=${n} ${weights} ${dtype}`, cases, { quick: args.quick });
          const f32 = results.find((r) => r.rows === rows && r.cols === cols && r.n === n && r.weights === weights)!.simd;
          dtypeResults.push({ rows, cols, n, weights, dtype, copies: dCopies, weightBytes: bytes, flop: 2 * rows * cols * n, simd, ref, f32, prep: prep ?? null });
          log(`  ${key} n=${n} ${weights} ${dtype}: simd ${sig(simd.medianMs)} ms, scalar ${sig(ref.medianMs)} ms (f32 simd ${sig(f32.medianMs)} ms)`);
        }
      }
    }
  }

  const gflops = (r: Row, t: Timing) => r.flop / (t.medianMs * 1e-3) / 1e9;
  const gbps = (r: Row, t: Timing) => r.weightBytes / (t.medianMs * 1e-3) / 1e9;
  const table = markdownTable(
    ['shape (rows×cols)', 'n', 'W', 'SIMD ms', 'GFLOP/s', 'GB/s', 'scalar ms', 'GFLOP/s', 'JS ms', 'GFLOP/s', 'SIMD/scalar', 'SIMD/JS'],
    results.map((r) => [
      `${r.rows}×${r.cols}`,
      r.n,
      r.weights,
      sig(r.simd.medianMs),
      sig(gflops(r, r.simd)),
      sig(gbps(r, r.simd)),
      sig(r.ref.medianMs),
      sig(gflops(r, r.ref)),
      sig(r.js.medianMs),
      sig(gflops(r, r.js)),
      `${sig(r.ref.medianMs / r.simd.medianMs)}×`,
      `${sig(r.js.medianMs / r.simd.medianMs)}×`,
    ]),
  );
  log(`\n${table}\n`);
  log(
    'Times are medians of benny samples. GFLOP/s = 2·rows·cols·n / time; GB/s = packed weight bytes / time. ' +
      '"cold": each call reads a different copy of W (or W alone exceeds the last-level cache), so weights come from DRAM; "hot": one cache-resident copy.',
  );
  const dOps = (r: DtypeRow, t: Timing) => r.flop / (t.medianMs * 1e-3) / 1e9;
  const dBps = (r: DtypeRow, t: Timing) => r.weightBytes / (t.medianMs * 1e-3) / 1e9;
  const dtypeTable = markdownTable(
    ['shape (rows×cols)', 'n', 'W', 'dtype', 'B/weight', 'SIMD ms', 'GB/s', 'GOP/s', 'scalar ms', 'GOP/s', 'SIMD/scalar', 'f32 SIMD ms', 'f32 time / dtype time', 'prep µs'],
    dtypeResults.map((r) => [
      `${r.rows}×${r.cols}`,
      r.n,
      r.weights,
      r.dtype,
      sig(r.weightBytes / (r.rows * r.cols)),
      sig(r.simd.medianMs),
      sig(dBps(r, r.simd)),
      sig(dOps(r, r.simd)),
      sig(r.ref.medianMs),
      sig(dOps(r, r.ref)),
      `${sig(r.ref.medianMs / r.simd.medianMs)}×`,
      sig(r.f32.medianMs),
      `${sig(r.f32.medianMs / r.simd.medianMs)}×`,
      r.prep ? sig(r.prep.medianMs * 1e3) : '–',
    ]),
  );
  log(`\n## Weight dtypes (same W, same run)\n\n${dtypeTable}\n`);
  log(
    'bf16: 2 bytes/weight, f32 sums. q8: int8 + f16 scale per 32 columns (8.5 bits/weight, as GGUF q8_0), activations quantised to int8 per 32 (W8A8). ' +
      'q4: 4-bit + f16 scale per 32 (4.5 bits/weight), W4A8. GOP/s counts a multiply-add as 2 ops whatever the dtype. ' +
      '"f32 time / dtype time" > 1 means the dtype kernel is faster than matmul_f32 on the same shape; "prep µs": quant_x_q8 of x, once per x (shared by the linears reading it), not included in the kernel time.',
  );

  const json = {
    bench: 'kernels',
    machine,
    mode: args.quick ? 'quick' : 'full',
    results: results.map((r) => ({
      shape: [r.rows, r.cols],
      n: r.n,
      weights: r.weights,
      copies: r.copies,
      weightBytes: r.weightBytes,
      simd: { ...r.simd, gflops: gflops(r, r.simd), gbps: gbps(r, r.simd) },
      ref: { ...r.ref, gflops: gflops(r, r.ref), gbps: gbps(r, r.ref) },
      js: { ...r.js, gflops: gflops(r, r.js), gbps: gbps(r, r.js) },
      simdOverScalar: r.ref.medianMs / r.simd.medianMs,
      simdOverJs: r.js.medianMs / r.simd.medianMs,
    })),
    dtypes: dtypeResults.map((r) => ({
      shape: [r.rows, r.cols],
      n: r.n,
      weights: r.weights,
      dtype: r.dtype,
      copies: r.copies,
      weightBytes: r.weightBytes,
      simd: { ...r.simd, gops: dOps(r, r.simd), gbps: dBps(r, r.simd) },
      ref: { ...r.ref, gops: dOps(r, r.ref), gbps: dBps(r, r.ref) },
      f32SimdMs: r.f32.medianMs,
      speedupOverF32: r.f32.medianMs / r.simd.medianMs,
      simdOverScalar: r.ref.medianMs / r.simd.medianMs,
      prepUs: r.prep ? r.prep.medianMs * 1e3 : null,
    })),
  };
  const path = writeResults(args.build === 'simd' ? 'kernels.json' : `kernels.${args.build}.json`, json);
  log(`JSON written to ${path}`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`kernels bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
