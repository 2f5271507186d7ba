/**
 * Quantised weight types: the kernels behind GGUF Q4_0 … Q6_K (src/kernels/linear.ts), each next to
 * its scalar twin and the f32 kernel of the same shape, in one run:
 *
 *  - matrix–vector (decode), cold: W streams from DRAM each call (a pool of copies larger than the
 *    last-level cache), 16384×1024 (the activation preparation, quant_x, timed apart): GB/s of packed
 *    bytes, billions of weights per second, and the share of this machine's measured 1-thread read
 *    bandwidth (the ceiling: bytes per weight ÷ bandwidth);
 *  - batched (prefill, tree verification), hot: 1024×1024 at n = 1, 8, 32: GOP/s (2·rows·cols·n / time)
 *    of the SIMD kernel (with its batch scratch, as the executors run it) and of its scalar twin, and SIMD / twin;
 *  - the ceiling of those: the measured integer-dot peaks of one thread (measureDotPeak, bench/lib/bandwidth.ts: i16 dots, and the byte dots of the relaxed build's 4/5-bit kernels);
 *  - the load-time repack (pack_T: GGUF blocks → the kernels' panels, what a model load spends most of its
 *    time in) of a 2048×4096 matrix beside its scalar twin pack_T_ref: MB/s of GGUF bytes and the ratio,
 *    outputs checked byte for byte first;
 *  - the load-time conversions: dequant_T (panels → f32 rows) for the types that decode in vectors, and the
 *    quantisers quant_q8_0 / quant_q4_0 (f32 rows → panels), each beside its scalar twin (same bits first).
 *
 * Weights are random blocks (every quant bit pattern; f16 scales set to moderate values): the kernels'
 * speed does not depend on the values. Every kernel is validated against its twin (bit-identical) before
 * it is timed. CPU model, load average and bandwidth go in the header: the machine may be shared, so
 * compare ratios from one run.
 *
 *   node dist/bench/quants.bench.js [--quick] [--json] [--build simd|relaxed] [--types Q8_0,Q5_0,…]
 */
import { loadavg } from 'node:os';
import { createNodeRuntime } from '../src/node.js';
import { createRng } from '../src/rng.js';
import { LINEAR_DTYPES, linearInputKind, packedBytes, preparedInputBytes, type LinearDtype } from '../src/kernels/linear.js';
import { GGML_BLOCK, type GgmlQuantType } from '../src/weights/ggml-quants.js';
import type { Runtime } from '../src/wasm/runtime.js';
import { machineInfo, machineMarkdown, makeLog, markdownTable, parseBenchArgs, sig, timeCases, writeResults, type Timing } from './common.js';
import { measureBandwidth1, measureDotPeak, prefillPeakOp, validateReadKernel } from './lib/bandwidth.js';

const COLD: readonly [number, number] = [16384, 1024];
const HOT: readonly [number, number] = [1024, 1024];
const BATCHES = [1, 8, 32];
/** Bytes the cold pool of copies spans: well beyond a 32 MiB last-level cache. */
const POOL_BYTES = 160 * 2 ** 20;

/** A matmul kernel; the quantised SIMD ones take the batch scratch last (others ignore an extra argument). */
type Kernel = (outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr?: number) => void;

/** Offsets of each block type's f16 fields (set to moderate values so no weight is huge or subnormal). */
const HALF_FIELDS: Readonly<Record<GgmlQuantType, readonly number[]>> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2],
  Q6_K: [208], IQ4_NL: [0], IQ4_XS: [0],
};

/** W [rows, cols] as `copies` packed copies of one random matrix; returns their pointers. */
function packedCopies(rt: Runtime, dtype: LinearDtype, rows: number, cols: number, copies: number, seed: number): number[] {
  const rng = createRng(seed);
  const bytes = packedBytes(dtype, rows, cols);
  const ptrs = Array.from({ length: copies }, (_, c) => rt.arena.alloc(`w${c}`, bytes, 64).ptr);
  const mark = rt.arena.mark();
  const k = rt.k as unknown as Record<string, (...a: number[]) => number>;
  if (dtype === 'F32' || dtype === 'BF16' || dtype === 'F16') {
    const raw = rt.arena.alloc('raw', rows * cols * 4);
    const v = rt.f32(raw.ptr, rows * cols);
    for (let i = 0; i < v.length; i++) v[i] = 2 * rng.next() - 1;
    if (dtype === 'F16') {
      const h = new Uint16Array(rt.memory.buffer, raw.ptr, rows * cols); // f16 bits of values in [0.5, 1)
      for (let i = 0; i < h.length; i++) h[i] = 0x3800 | (rng.nextU32() & 0x83ff);
      k.pack_f16_bits!(ptrs[0]!, raw.ptr, rows, cols);
    } else {
      k[dtype === 'F32' ? 'pack_f32' : 'pack_bf16']!(ptrs[0]!, raw.ptr, rows, cols);
    }
  } else {
    const { values, bytes: bb } = GGML_BLOCK[dtype];
    const blocks = (rows * cols) / values;
    const raw = rt.arena.alloc('raw', blocks * bb);
    const u8 = rt.u8(raw.ptr, blocks * bb);
    for (let i = 0; i < u8.length; i++) u8[i] = rng.nextU32() & 0xff;
    for (let b = 0; b < blocks; b++) for (const off of HALF_FIELDS[dtype]) u8[b * bb + off + 1] = 0x20 | (u8[b * bb + off + 1]! & 0x83); // |d| ≈ 2^-7
    const status = k[`pack_${dtype.toLowerCase()}`]!(ptrs[0]!, raw.ptr, rows, cols);
    if (status !== -1) throw new Error(`pack ${dtype}: status ${status}`);
  }
  rt.arena.release(mark);
  const u8 = new Uint8Array(rt.memory.buffer);
  for (let c = 1; c < copies; c++) u8.copyWithin(ptrs[c]!, ptrs[0]!, ptrs[0]! + bytes);
  return ptrs;
}

interface Setup {
  rt: Runtime;
  ptrs: number[];
  x: number; // f32 [maxN, cols]
  input: number; // what the kernel reads: x, or the prepared input
  out: number;
  outRef: number;
  /** The quantised kernels' batch scratch (quant_scratch_bytes(maxN)). */
  scratch: number;
}

function setup(build: Runtime['build'], dtype: LinearDtype, rows: number, cols: number, copies: number, maxN: number, seed: number): Setup {
  const bytes = packedBytes(dtype, rows, cols);
  const rt = createNodeRuntime({ build, initialBytes: copies * bytes + 2 * maxN * rows * 4 + preparedInputBytes(maxN, cols) + maxN * cols * 4 + rows * cols * 8 + (16 << 20) });
  const ptrs = packedCopies(rt, dtype, rows, cols, copies, seed);
  const x = rt.arena.alloc('x', maxN * cols * 4).ptr;
  const xs = rt.f32(x, maxN * cols);
  const rng = createRng(seed + 1);
  for (let i = 0; i < xs.length; i++) xs[i] = 2 * rng.next() - 1;
  const prep = rt.arena.alloc('prep', preparedInputBytes(maxN, cols)).ptr;
  rt.k.quant_x(prep, x, maxN, cols);
  return {
    rt, ptrs, x,
    input: linearInputKind(dtype) === 'qx' ? prep : x,
    out: rt.arena.alloc('out', maxN * rows * 4).ptr,
    outRef: rt.arena.alloc('outRef', maxN * rows * 4).ptr,
    scratch: rt.arena.alloc('scratch', rt.k.quant_scratch_bytes(maxN), 64).ptr,
  };
}

function kernels(rt: Runtime, dtype: LinearDtype): { simd: Kernel; ref: Kernel } {
  const k = rt.k as unknown as Record<string, Kernel>;
  const name = `matmul_${dtype.toLowerCase()}`;
  return { simd: k[name]!, ref: k[`${name}_ref`]! };
}

/** SIMD vs twin on the first copy: bit-identical for quantised types; within f32 rounding for F32 (another summation order) and relaxed half types. */
function validate(s: Setup, dtype: LinearDtype, n: number, rows: number, cols: number): void {
  const { simd, ref } = kernels(s.rt, dtype);
  simd(s.out, rows, s.ptrs[0]!, s.input, n, rows, cols, s.scratch);
  ref(s.outRef, rows, s.ptrs[0]!, s.input, n, rows, cols);
  const a = s.rt.f32(s.out, n * rows), b = s.rt.f32(s.outRef, n * rows);
  const exact = linearInputKind(dtype) === 'qx' || (dtype !== 'F32' && !s.rt.build.startsWith('relaxed'));
  for (let i = 0; i < a.length; i++) {
    const ok = exact ? Object.is(a[i], b[i]) : Math.abs(a[i]! - b[i]!) <= 1e-4 * (1 + Math.abs(b[i]!));
    if (!ok) throw new Error(`validation failed: matmul_${dtype.toLowerCase()} ${rows}×${cols} n=${n} at ${i}: ${a[i]} vs ${b[i]}`);
  }
}

interface PackRow {
  dtype: GgmlQuantType; fileBytes: number; packed: number; fast: Timing; ref: Timing; mbps: number; refMbps: number; ofBandwidth: number;
  /** dequant_T (panels → f32 rows, what a load converting the type to another runs) and its scalar twin, where it has one. */
  dequant?: { fast: Timing; ref: Timing };
}
interface QuantRow { dtype: 'Q8_0' | 'Q4_0'; fast: Timing; ref: Timing }

/** pack_T vs pack_T_ref on one random matrix (moderate scales): same bytes, then both timed. */
async function packRow(build: Runtime['build'], dtype: GgmlQuantType, rows: number, cols: number, bwGbps: number, quick: boolean): Promise<PackRow> {
  const { values, bytes: bb } = GGML_BLOCK[dtype];
  const fileBytes = (rows * cols / values) * bb;
  const packed = packedBytes(dtype, rows, cols);
  const rt = createNodeRuntime({ build, initialBytes: fileBytes + 2 * packed + 8 * rows * cols + (16 << 20) });
  const raw = rt.arena.alloc('raw', fileBytes, 64).ptr;
  const a = rt.arena.alloc('a', packed, 64).ptr, b = rt.arena.alloc('b', packed, 64).ptr;
  const rng = createRng(21);
  const u8 = rt.u8(raw, fileBytes);
  for (let i = 0; i < u8.length; i++) u8[i] = rng.nextU32() & 0xff;
  for (let k = 0; k < fileBytes / bb; k++) for (const off of HALF_FIELDS[dtype]) u8[k * bb + off + 1] = 0x20 | (u8[k * bb + off + 1]! & 0x83);
  const k = rt.k as unknown as Record<string, (...a: number[]) => number>;
  const [tf, tr] = await beside(rt, 'pack', `pack_${dtype.toLowerCase()}`, raw, a, b, rows, cols, packed, quick);
  const pa = rt.u8(a, packed);
  const row: PackRow = { dtype, fileBytes, packed, fast: tf, ref: tr, mbps: fileBytes / (tf.medianMs * 1e-3) / 1e6, refMbps: fileBytes / (tr.medianMs * 1e-3) / 1e6, ofBandwidth: (fileBytes + packed) / (tf.medianMs * 1e-3) / 1e9 / bwGbps };
  const dq = k[`dequant_${dtype.toLowerCase()}`]!, dqRef = k[`dequant_${dtype.toLowerCase()}_ref`];
  if (dqRef !== undefined) {
    // the packed matrix a into two f32 [rows, cols] buffers: the same bits first
    const o1 = rt.arena.alloc('o1', 4 * rows * cols, 64).ptr, o2 = rt.arena.alloc('o2', 4 * rows * cols, 64).ptr;
    const w = a;
    const d1 = dq, d2 = dqRef;
    d1(o1, w, rows, cols, 0, rows);
    d2(o2, w, rows, cols, 0, rows);
    const x = new Uint32Array(rt.memory.buffer, o1, rows * cols), y = new Uint32Array(rt.memory.buffer, o2, rows * cols);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) throw new Error(`validation failed: dequant_${dtype.toLowerCase()} value ${i} differs from its twin`);
    const [df, dr] = await timeCases(`dequant ${dtype} ${rows}×${cols}`, [
      { name: 'dequant', fn: () => d1(o1, w, rows, cols, 0, rows) },
      { name: 'twin', fn: () => d2(o2, w, rows, cols, 0, rows) },
    ], { quick });
    row.dequant = { fast: df!, ref: dr! };
  }
  return row;
}

/** quant_T vs quant_T_ref (f32 rows → panels, what --dtype int8 / int4 and the self-drafts run) on one matrix: same bytes, then both timed. */
async function quantRow(build: Runtime['build'], dtype: 'Q8_0' | 'Q4_0', rows: number, cols: number, quick: boolean): Promise<QuantRow> {
  const packed = packedBytes(dtype, rows, cols);
  const rt = createNodeRuntime({ build, initialBytes: 4 * rows * cols + 2 * packed + (16 << 20) });
  const src = rt.arena.alloc('src', 4 * rows * cols, 64).ptr;
  const a = rt.arena.alloc('a', packed, 64).ptr, b = rt.arena.alloc('b', packed, 64).ptr;
  const f = rt.f32(src, rows * cols);
  const rng = createRng(22);
  for (let i = 0; i < f.length; i++) f[i] = (2 * rng.next() - 1) * 0.05;
  const [tf, tr] = await beside(rt, 'quant', `quant_${dtype.toLowerCase()}`, src, a, b, rows, cols, packed, quick);
  return { dtype, fast: tf, ref: tr };
}

/**
 * Run kernel `name` (dst, src, rows, cols → −1 or a refused unit) into a and its twin `${name}_ref` into
 * b, check that both accept and write the same `bytes` bytes, then time both (cases `label` and twin): [kernel, twin].
 */
async function beside(rt: Runtime, label: string, name: string, src: number, a: number, b: number, rows: number, cols: number, bytes: number, quick: boolean): Promise<[Timing, Timing]> {
  const k = rt.k as unknown as Record<string, (...a: number[]) => number>;
  const fast = k[name]!, ref = k[`${name}_ref`]!;
  if (fast(a, src, rows, cols) !== -1 || ref(b, src, rows, cols) !== -1) throw new Error(`${name}: a block or group refused`);
  const pa = rt.u8(a, bytes), pb = rt.u8(b, bytes);
  for (let i = 0; i < bytes; i++) if (pa[i] !== pb[i]) throw new Error(`validation failed: ${name} byte ${i} differs from its twin`);
  const [tf, tr] = await timeCases(`${label} ${name.slice(label.length + 1).toUpperCase()} ${rows}×${cols}`, [
    { name: label, fn: () => fast(a, src, rows, cols) },
    { name: 'twin', fn: () => ref(b, src, rows, cols) },
  ], { quick });
  return [tf!, tr!];
}

interface ColdRow { dtype: LinearDtype; bytesPerWeight: number; simd: Timing; prep: Timing | null; gbps: number; gw: number; ofCeiling: number }
interface HotRow { dtype: LinearDtype; n: number; simd: Timing; ref: Timing; gops: number; refGops: number }

/** `--types A,B` (or `--types=A,B`): time only these weight types; the other arguments are returned for parseBenchArgs. */
function takeTypes(argv: readonly string[], usage: string): { rest: string[]; only: LinearDtype[] | null } {
  const rest: string[] = [];
  let only: LinearDtype[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a !== '--types' && !a.startsWith('--types=')) {
      rest.push(a);
      continue;
    }
    const v = a === '--types' ? argv[++i] ?? '' : a.slice('--types='.length);
    only = v.split(',').map((t) => {
      if (!(LINEAR_DTYPES as readonly string[]).includes(t)) {
        process.stderr.write(`--types: expected a comma-separated list of ${LINEAR_DTYPES.join(', ')}, got ${t}\nusage: ${usage}\n`);
        process.exit(2);
      }
      return t as LinearDtype;
    });
  }
  return { rest, only };
}

async function main(): Promise<void> {
  const usage = 'node dist/bench/quants.bench.js [--quick] [--json] [--build simd|relaxed] [--types Q8_0,Q5_0,…]';
  const { rest, only } = takeTypes(process.argv.slice(2), usage);
  const args = parseBenchArgs(rest, usage);
  const log = makeLog(args);
  const machine = machineInfo(args.build);
  validateReadKernel();
  const bw = measureBandwidth1(args.quick ? 64 : 256, args.quick ? 3 : 7);
  const peak = measureDotPeak(createNodeRuntime({ build: args.build }), args.quick ? 3 : 15);
  const bytePeak = args.build.startsWith('relaxed') ? measureDotPeak(createNodeRuntime({ build: args.build }), args.quick ? 3 : 15, 'i8') : null;
  const peakOf = (d: string): number | null => {
    const op = prefillPeakOp(d, args.build);
    return op === 'i16' ? peak.gops : op === 'i8' ? (bytePeak?.gops ?? null) : null;
  };
  const load = loadavg();
  log(`# Quantised weight types (kernels)\n\n${machineMarkdown(machine, args.quick ? 'quick' : 'full')}`);
  log(`- measured 1-thread read bandwidth: ${sig(bw.gbps)} GB/s (${bw.bufferMiB} MiB, median of ${bw.samples.length}); load average at start ${load.map((l) => l.toFixed(2)).join(' / ')}`);
  log(`- measured integer-dot peak: ${sig(peak.gops)} GOP/s per thread (2 ops per MAC; i32x4.dot_i16x8_s + i32x4.add chains, best of ${peak.samples.length}; median ${sig(peak.medianGops)}): the ceiling of exact W8A8 matmuls in 128-bit WASM SIMD${bytePeak ? '' : '\n'}`);
  if (bytePeak) log(`- measured byte-dot peak: ${sig(bytePeak.gops)} GOP/s per thread (i16x8.relaxed_dot_i8x16_i7x16_s + i16x8.add chains, best of ${bytePeak.samples.length}; median ${sig(bytePeak.medianGops)}): the ceiling of this build's 4/5-bit batch kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K)\n`);
  const types = only ?? (args.quick ? (['F32', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as LinearDtype[]) : LINEAR_DTYPES);
  const [cr, cc] = args.quick ? [4096, 1024] : COLD;
  const [hr, hc] = HOT;
  const cold: ColdRow[] = [];
  const hot: HotRow[] = [];
  for (const dtype of types) {
    // cold matrix–vector
    const bytes = packedBytes(dtype, cr, cc);
    const copies = Math.max(2, Math.ceil((args.quick ? POOL_BYTES / 4 : POOL_BYTES) / bytes));
    const s = setup(args.build, dtype, cr, cc, copies, 1, 11);
    validate(s, dtype, 1, cr, cc);
    const { simd } = kernels(s.rt, dtype);
    let c = 0;
    const cases = [{ name: `matmul_${dtype.toLowerCase()}`, fn: () => simd(s.out, cr, s.ptrs[c++ % copies]!, s.input, 1, cr, cc, s.scratch) }];
    if (linearInputKind(dtype) === 'qx') cases.push({ name: 'quant_x', fn: () => s.rt.k.quant_x(s.input, s.x, 1, cc) });
    const [t, prep] = await timeCases(`${dtype} ${cr}×${cc} n=1 cold`, cases, { quick: args.quick });
    const sec = t!.medianMs * 1e-3;
    const row: ColdRow = { dtype, bytesPerWeight: bytes / (cr * cc), simd: t!, prep: prep ?? null, gbps: bytes / sec / 1e9, gw: (cr * cc) / sec / 1e9, ofCeiling: bytes / sec / 1e9 / bw.gbps };
    cold.push(row);
    log(`  ${dtype} cold matvec: ${sig(t!.medianMs)} ms, ${sig(row.gbps)} GB/s (${sig(100 * row.ofCeiling)} % of the read bandwidth)`);
    // hot batched
    const h = setup(args.build, dtype, hr, hc, 1, Math.max(...BATCHES), 12);
    const kh = kernels(h.rt, dtype);
    for (const n of BATCHES) {
      // the prepared input of exactly n rows (its sections T and T16 follow the n records)
      if (linearInputKind(dtype) === 'qx') h.rt.k.quant_x(h.input, h.x, n, hc);
      validate(h, dtype, n, hr, hc);
      const [ts, tr] = await timeCases(`${dtype} ${hr}×${hc} n=${n} hot`, [
        { name: 'simd', fn: () => kh.simd(h.out, hr, h.ptrs[0]!, h.input, n, hr, hc, h.scratch) },
        { name: 'ref', fn: () => kh.ref(h.outRef, hr, h.ptrs[0]!, h.input, n, hr, hc) },
      ], { quick: args.quick });
      const ops = 2 * hr * hc * n;
      hot.push({ dtype, n, simd: ts!, ref: tr!, gops: ops / (ts!.medianMs * 1e-3) / 1e9, refGops: ops / (tr!.medianMs * 1e-3) / 1e9 });
    }
    log(`  ${dtype} hot: ${hot.filter((r) => r.dtype === dtype).map((r) => `n=${r.n} ${sig(r.gops)} GOP/s (twin ${sig(r.refGops)})`).join(', ')}`);
  }

  const f32Cold = cold.find((r) => r.dtype === 'F32');
  const coldTable = markdownTable(
    ['type', 'bytes/weight', 'matvec ms', 'GB/s', 'Gweights/s', '% of read BW', 'tok/s vs F32 (same weights)', 'quant_x µs'],
    cold.map((r) => [
      r.dtype, sig(r.bytesPerWeight), sig(r.simd.medianMs), sig(r.gbps), sig(r.gw), `${sig(100 * r.ofCeiling)} %`,
      f32Cold ? `${sig(f32Cold.simd.medianMs / r.simd.medianMs)}×` : '–', r.prep ? sig(r.prep.medianMs * 1e3) : '–',
    ]),
  );
  log(`\n## Matrix–vector, cold (${cr}×${cc}, W from DRAM)\n\n${coldTable}\n`);
  const hotTable = markdownTable(
    ['type', ...BATCHES.map((n) => `n=${n} GOP/s`), `n=${BATCHES[BATCHES.length - 1]} of its op's peak`, ...BATCHES.map((n) => `twin n=${n}`), 'SIMD / twin (n=1 / 8 / 32)'],
    types.map((d) => {
      const rs = hot.filter((r) => r.dtype === d);
      return [d, ...rs.map((r) => sig(r.gops)), peakOf(d) === null ? '–' : `${sig((100 * rs[rs.length - 1]!.gops) / peakOf(d)!)} % (${prefillPeakOp(d, args.build)})`, ...rs.map((r) => sig(r.refGops)), rs.map((r) => `${sig(r.ref.medianMs / r.simd.medianMs)}×`).join(' / ')];
    }),
  );
  log(`## Batched, hot (${hr}×${hc}, cache-resident)\n\n${hotTable}\n`);
  log(
    'GB/s counts the packed bytes a call streams (scales included); the ceiling of a type is the read bandwidth: decode tok/s ≤ bandwidth ÷ bytes per token. ' +
      'GOP/s = 2·rows·cols·n / time whatever the type. Quantised kernels read activations quantised per call (quant_x, once per x, shared by the linears that read it: timed apart).',
  );
  const packRows: PackRow[] = [];
  const [pr, pc] = args.quick ? [512, 4096] : [2048, 4096];
  for (const dtype of types) if (dtype in HALF_FIELDS) packRows.push(await packRow(args.build, dtype as GgmlQuantType, pr, pc, bw.gbps, args.quick));
  if (packRows.length > 0) {
    const packTable = markdownTable(
      ['type', 'GGUF MB', 'pack ms', 'pack MB/s', '(read + write) % of read BW', 'twin ms', 'twin MB/s', 'pack / twin'],
      packRows.map((r) => [r.dtype, sig(r.fileBytes / 1e6), sig(r.fast.medianMs), sig(r.mbps), `${sig(100 * r.ofBandwidth)} %`, sig(r.ref.medianMs), sig(r.refMbps), `${sig(r.ref.medianMs / r.fast.medianMs)}×`]),
    );
    log(`\n## Load-time repack (${pr}×${pc}: GGUF blocks → panels, pack_T vs its scalar twin pack_T_ref)\n\n${packTable}\n`);
    log('MB/s counts the GGUF bytes read; a load streams every matrix through its packer once, so this is the load\'s speed for the weights once the file is in memory. The ceiling: reading the blocks and writing the panels at the read bandwidth.');
  }
  const quantRows: QuantRow[] = [];
  for (const dtype of ['Q8_0', 'Q4_0'] as const) if (types.includes(dtype)) quantRows.push(await quantRow(args.build, dtype, pr, pc, args.quick));
  const convRows = [
    ...packRows.filter((r) => r.dequant !== undefined).map((r) => [`dequant_${r.dtype.toLowerCase()}`, r.dequant!.fast, r.dequant!.ref] as const),
    ...quantRows.map((r) => [`quant_${r.dtype.toLowerCase()}`, r.fast, r.ref] as const),
  ];
  if (convRows.length > 0) {
    const gw = (t: Timing) => sig((pr * pc) / (t.medianMs * 1e-3) / 1e9);
    const convTable = markdownTable(
      ['kernel', 'ms', 'G weights/s', 'twin ms', 'twin G weights/s', 'kernel / twin'],
      convRows.map(([name, f, r]) => [name, sig(f.medianMs), gw(f), sig(r.medianMs), gw(r), `${sig(r.medianMs / f.medianMs)}×`]),
    );
    log(`\n## Load-time conversions (${pr}×${pc}: panels → f32 rows, f32 rows → Q8_0 / Q4_0 panels; each beside its scalar twin)\n\n${convTable}\n`);
    log('A load that converts a quantised file to another weight type runs pack_T, dequant_T and the target type\'s packer or quantiser over every matrix (--dtype f32 / bf16 / int8 / int4, and the int8 / int4 self-drafts of a speculative run).');
  }
  const json = { bench: 'quants', machine, loadavg: load, bandwidth: bw, dotPeak: peak, byteDotPeak: bytePeak, mode: args.quick ? 'quick' : 'full', cold, hot, pack: packRows, quant: quantRows };
  const path = writeResults(args.build === 'simd' ? 'quants.json' : `quants.${args.build}.json`, json);
  log(`JSON written to ${path}`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`quants bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});


