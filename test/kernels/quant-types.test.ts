// The quantised weight types' kernels (assembly/matmul_q8.ts, quant_legacy.ts, quant_k.ts): per type,
// GGUF blocks → pack_T → dequant_T and matmul_T / matmul_T_ref, property-tested (fast-check) on both
// builds, with shapes that have row tails (rows % 4 ≠ 0), one to several blocks per row, n = 1 (decode)
// and batches, output strides wider than rows and misaligned x / out:
//  - dequant_T of the packed matrix = ggml's dequantised values of the blocks, bit for bit (the repack
//    is lossless and the scalar twin decodes as ggml; dequantizeGgml is ggml's own, test/weights/ggml-quants.test.ts);
//  - matmul_T = matmul_T_ref bit for bit (every build: the integer sums are exact, the f32 steps unfused),
//    without and with the batch scratch (batches then unpack each weight block once for all rows and run
//    pairs of x rows through a 4×2 register tile; in the relaxed build the legacy types' row-lane tiles,
//    and Q8_0 from 8 rows its row-lane path in pairs of panels; Q8_0 tiles pairs without the scratch too),
//    plus properties aimed at those paths' edges: n around every threshold, odd n (the tile's last row),
//    n % 4 (the row-lane tiles' fours), row tails, panel pairs and single panels;
//  - both within (2·units + 8)·u·Σ|terms| of the exact f64 value Σ_c W[r, c]·x̂[i, c], with W the exact
//    weights (ggmlTerms) and x̂ the activations the kernel reads (the prepared input decoded);
//  - nothing written beyond rows or outside the buffers; packed regions fully written (they start poisoned).
// Blocks are either random bytes (every bit pattern of quants and scales; scales kept finite) or what
// ggml's quantizer makes from random values. Plus: quant_x = its twin = a plain-TS model; Inf/NaN scales
// are refused by the packers; quant_q8_0 / quant_q4_0 (load-time quantisation) = ggml's quantize_row_*_ref.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, Pool, U, assertWithin, createRng, poolCache, uniform, wide, type Buf } from './harness.js';
import { QUANT_LINEAR_DTYPES, packedBytes, preparedInputBytes, preparedRowBytes } from '../../src/kernels/linear.js';
import { GGML_BLOCK, dequantizeGgml, ggmlTerms, quantizeGgml, type GgmlQuantType } from '../../src/weights/ggml-quants.js';
import { sanitizeScales } from '../weights/ggml-helpers.js';
import { f16Round } from './quant-oracle.js';
import { ggmlRefQuantize } from '../tools/ggml-oracle.js';
import type { Rng } from '../../src/rng.js';

const poolOf = poolCache();
const lower = (t: GgmlQuantType) => t.toLowerCase();
const isK = (t: GgmlQuantType) => GGML_BLOCK[t].values === 256;

/**
 * Blocks of W [rows, cols]: random bytes (finite scales), ggml-quantised random values, or every byte
 * 0xff with the f16 scales made finite (every quant its type's largest: the integer sums' bounds).
 */
function makeBlocks(type: GgmlQuantType, rows: number, cols: number, rng: Rng, source: Source): Uint8Array {
  if (source === 'values') {
    const w = rng.next() < 0.5 ? uniform(rng, rows * cols, -1, 1) : wide(rng, rows * cols);
    return quantizeGgml(type, w, rows, cols);
  }
  const { values, bytes } = GGML_BLOCK[type];
  const blocks = (rows * cols) / values;
  const raw = new Uint8Array(blocks * bytes);
  for (let i = 0; i < raw.length; i++) raw[i] = source === 'extreme' ? 0xff : rng.nextU32() & 0xff;
  return sanitizeScales(type, raw, blocks);
}

/** The prepared input of x [n, cols] (quant_x), after checking it against quant_x_ref. */
function prepare(pool: Pool, x: Float32Array, n: number, cols: number, misalign: number): Buf {
  const xb = pool.f32From(x, misalign);
  const bytes = pool.k.qx_bytes(n, cols);
  assert.equal(bytes, preparedInputBytes(n, cols));
  const prep = pool.alloc(bytes);
  const twin = pool.alloc(bytes);
  pool.k.quant_x(prep.ptr, xb.ptr, n, cols);
  pool.k.quant_x_ref(twin.ptr, xb.ptr, n, cols);
  const a = new Uint8Array(pool.rt.memory.buffer, prep.ptr, bytes);
  const b = new Uint8Array(pool.rt.memory.buffer, twin.ptr, bytes);
  assert.deepEqual(a, b, 'quant_x vs quant_x_ref');
  return prep;
}

/** x̂ [n, cols] in f64: the activations a kernel of `type` reads from the prepared input (q·d of its section). */
function decodePrepared(pool: Pool, prep: Buf, n: number, cols: number, type: GgmlQuantType): Float64Array {
  const rec = preparedRowBytes(cols);
  const k = isK(type);
  const C = k ? cols : Math.ceil(cols / 32) * 32;
  const off = k ? pool.k.qx_offset_k(cols) : 0;
  const sg = k ? 256 : 32;
  const out = new Float64Array(n * cols);
  for (let i = 0; i < n; i++) {
    const base = prep.ptr + i * rec + off;
    const q = new Int16Array(pool.rt.memory.buffer, base, C);
    const d = new Float32Array(pool.rt.memory.buffer, base + 3 * C, C / sg);
    for (let c = 0; c < cols; c++) out[i * cols + c] = q[c] * d[Math.floor(c / sg)];
  }
  return out;
}

/** Section A's s (f32 [n, cols/32]) of the prepared input. */
function decodePreparedS(pool: Pool, prep: Buf, n: number, cols: number): Float64Array {
  const rec = preparedRowBytes(cols);
  const C = Math.ceil(cols / 32) * 32;
  const pad16 = (b: number) => Math.ceil(b / 16) * 16;
  const at = 3 * C + pad16(C / 8) + pad16(C / 8) + pad16(C / 16);
  const out = new Float64Array(n * (C / 32));
  for (let i = 0; i < n; i++) out.set(new Float32Array(pool.rt.memory.buffer, prep.ptr + i * rec + at, C / 32), i * (C / 32));
  return out;
}

type Source = 'bytes' | 'values' | 'extreme';

/** x [n, cols]: uniform in ±1, wide magnitudes, or each row one value of random sign (every activation quant ±127). */
function makeX(rng: Rng, kind: Case['xKind'], n: number, cols: number): Float32Array {
  if (kind === 'uniform') return uniform(rng, n * cols, -1, 1);
  if (kind === 'wide') return wide(rng, n * cols);
  const x = new Float32Array(n * cols);
  for (let i = 0; i < n; i++) x.fill((rng.next() < 0.5 ? -1 : 1) * (0.5 + rng.next()), i * cols, (i + 1) * cols);
  return x;
}

interface Case {
  type: GgmlQuantType;
  n: number;
  rows: number;
  units: number;
  extraStride: number;
  misalign: number;
  source: Source;
  xKind: 'uniform' | 'wide' | 'flat';
  seed: number;
}

function caseArb(type: GgmlQuantType): fc.Arbitrary<Case> {
  return fc.record({
    type: fc.constant(type),
    n: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 20 })),
    rows: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 14, max: 40 })),
    units: isK(type) ? fc.integer({ min: 1, max: 3 }) : fc.integer({ min: 1, max: 9 }),
    extraStride: fc.integer({ min: 0, max: 5 }),
    misalign: fc.constantFrom(0, 4, 8, 12),
    source: fc.constantFrom<Source>('bytes', 'values', 'extreme'),
    xKind: fc.constantFrom<Case['xKind']>('uniform', 'wide', 'flat'),
    seed: fc.integer(),
  });
}

/**
 * Cases aimed at the batched paths: n on both sides of each threshold (the tile from 2, the relaxed byte
 * and row-lane paths from 3, 4, 6, 8 and 16 x rows, Q8_0's row-lane path from 8), odd n (the tile's
 * one-row remainder), rows with and without a tail and up to two pairs of panels plus one, several weight
 * blocks per row (the legacy types unpack 8 groups at a time, Q8_0 4 per panel pair: 9 groups cross a chunk).
 */
function batchCaseArb(): fc.Arbitrary<Case> {
  return fc.constantFrom(...QUANT_LINEAR_DTYPES).chain((type) => fc.record({
    type: fc.constant(type),
    n: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 15, max: 17 })),
    rows: fc.integer({ min: 1, max: 19 }),
    units: isK(type) ? fc.integer({ min: 1, max: 2 }) : fc.constantFrom(1, 8, 9),
    extraStride: fc.integer({ min: 0, max: 3 }),
    misalign: fc.constantFrom(0, 4),
    source: fc.constantFrom<Source>('bytes', 'values', 'extreme'),
    xKind: fc.constantFrom<Case['xKind']>('uniform', 'wide', 'flat'),
    seed: fc.integer(),
  }));
}

/**
 * Cases aimed at the relaxed row-lane paths (quant_legacy.ts: Q4_1 from 4 x rows, Q4_0 from 6, Q5_0 /
 * Q5_1 from 3; quant_k.ts: Q4_K from 4): x rows in tiles of 4, 2 and 1 (every n % 4), panels in pairs
 * (rows ≥ 8) with 0–2 single panels after them, partial or not, and 1, 8, 9 or 17 groups (chunks of 8)
 * or 1–3 super-blocks. With 'extreme' blocks and 'flat' x a Q5 lane's Σ u·x is ±62992, beyond i16:
 * the lane sums' correction.
 */
function rowLaneCaseArb(): fc.Arbitrary<Case> {
  return fc.constantFrom<GgmlQuantType>('Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K').chain((type) => fc.record({
    type: fc.constant(type),
    n: fc.oneof(fc.integer({ min: 3, max: 13 }), fc.integer({ min: 15, max: 18 }), fc.constantFrom(32, 33)),
    rows: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 24 })),
    units: isK(type) ? fc.constantFrom(1, 2, 3) : fc.constantFrom(1, 8, 9, 17),
    extraStride: fc.integer({ min: 0, max: 3 }),
    misalign: fc.constantFrom(0, 4),
    source: fc.constantFrom<Source>('bytes', 'values', 'extreme'),
    xKind: fc.constantFrom<Case['xKind']>('uniform', 'wide', 'flat'),
    seed: fc.integer(),
  }));
}

/**
 * Cases aimed at the one-row kernels' interleaved streams (matmul_quant.ts, MATVEC_STREAMS = 8): n = 1,
 * rows giving 0–7 whole panels (no runs), runs of 1–4 panels per stream, and 0–7 panels after the runs,
 * the last one partial or not; several groups or super-blocks per panel.
 */
function streamCaseArb(type: GgmlQuantType, n: fc.Arbitrary<number> = fc.constant(1)): fc.Arbitrary<Case> {
  return fc.record({
    type: fc.constant(type),
    n,
    rows: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 31 }), weight: 1 }, { arbitrary: fc.integer({ min: 32, max: 160 }), weight: 4 }),
    // 32-column types: 1–9 groups (the small-batch streams take a stream's groups in fours)
    units: isK(type) ? fc.constantFrom(1, 2, 3) : fc.constantFrom(1, 2, 4, 5, 9),
    extraStride: fc.integer({ min: 0, max: 3 }),
    misalign: fc.constantFrom(0, 4),
    source: fc.constantFrom<Source>('bytes', 'values', 'extreme'),
    xKind: fc.constantFrom<Case['xKind']>('uniform', 'wide', 'flat'),
    seed: fc.integer(),
  });
}

/** Run matmul `kernel` (scratchPtr: the SIMD kernels' batch scratch, 0 = the direct path; twins take none). */
function runKernel(pool: Pool, kernel: string, c: Case, cols: number, packed: Buf, inp: Buf, scratchPtr = 0): Float32Array {
  const { n, rows } = c;
  const outStride = rows + c.extraStride;
  const out = pool.alloc(n * outStride * 4, c.misalign);
  (pool.k as unknown as Record<string, (...a: number[]) => void>)[kernel](out.ptr, outStride, packed.ptr, inp.ptr, n, rows, cols, scratchPtr);
  const bits = pool.u32(out);
  const vals = pool.f32(out);
  const got = new Float32Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) got[i * rows + r] = vals[i * outStride + r];
    for (let r = rows; r < outStride; r++) assert.equal(bits[i * outStride + r], POISON_BITS, `${kernel} wrote out[${i}, ${r}] beyond rows ${rows}`);
  }
  return got;
}

function checkCase(pool: Pool, c: Case): void {
  pool.reset();
  const { type, n, rows } = c;
  const cols = c.units * GGML_BLOCK[type].values;
  const rng = createRng(c.seed);
  const blocks = makeBlocks(type, rows, cols, rng, c.source);
  const src = pool.u8From(blocks);
  const packed = pool.alloc(packedBytes(type, rows, cols));
  assert.equal(pool.k[`pack_${lower(type)}` as 'pack_q4_0'](packed.ptr, src.ptr, rows, cols), -1, 'pack status');
  // dequant_T = ggml's values, bit for bit
  const deq = pool.alloc(rows * cols * 4);
  pool.k[`dequant_${lower(type)}` as 'dequant_q4_0'](deq.ptr, packed.ptr, rows, cols, 0, rows);
  const want = new Float32Array(rows * cols);
  dequantizeGgml(type, blocks, want);
  const got = new Uint32Array(pool.rt.memory.buffer, deq.ptr, rows * cols);
  const wantBits = new Uint32Array(want.buffer);
  for (let j = 0; j < rows * cols; j++) {
    if (got[j] !== wantBits[j]) assert.fail(`dequant_${lower(type)} value ${j} (row ${Math.floor(j / cols)}, col ${j % cols}): ${new Float32Array(got.buffer, got.byteOffset + 4 * j, 1)[0]} vs ggml ${want[j]}`);
  }
  // kernels
  const x = makeX(rng, c.xKind, n, cols);
  const inp = prepare(pool, x, n, cols, c.misalign);
  const simd = runKernel(pool, `matmul_${lower(type)}`, c, cols, packed, inp);
  // with the batch scratch (poisoned): batches of n ≥ 3 take the unpacking path, the same numbers
  const scratch = pool.alloc(pool.k.quant_scratch_bytes(n));
  const batched = runKernel(pool, `matmul_${lower(type)}`, c, cols, packed, inp, scratch.ptr);
  const ref = runKernel(pool, `matmul_${lower(type)}_ref`, c, cols, packed, inp);
  pool.checkGuards();
  assert.deepEqual(new Uint32Array(simd.buffer), new Uint32Array(ref.buffer), `matmul_${lower(type)} vs its twin ${JSON.stringify(c)}`);
  assert.deepEqual(new Uint32Array(batched.buffer), new Uint32Array(ref.buffer), `matmul_${lower(type)} with the batch scratch vs its twin ${JSON.stringify(c)}`);
  const xh = decodePrepared(pool, inp, n, cols, type);
  // Q4_1 / Q5_1: the min multiplies s = f16(d·Σq) per group (llama.cpp's q8_1 term) in place of Σ x̂
  const minTerm = type === 'Q4_1' || type === 'Q5_1' ? decodePreparedS(pool, inp, n, cols) : null;
  const terms = ggmlTerms(type, blocks, rows * cols);
  const exact = new Float64Array(n * rows);
  const tol = new Float64Array(n * rows);
  const steps = 2 * (isK(type) ? c.units : c.units) + 8;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, mag = 0;
      for (let cc = 0; cc < cols; cc++) {
        const j = r * cols + cc;
        const a = terms.scale[j] * terms.q[j], b = terms.min[j];
        s += a * xh[i * cols + cc];
        mag += Math.abs(a) * Math.abs(xh[i * cols + cc]);
        if (minTerm === null) {
          s -= b * xh[i * cols + cc];
          mag += Math.abs(b) * Math.abs(xh[i * cols + cc]);
        } else if (cc % 32 === 0) {
          s -= b * minTerm[i * (cols / 32) + cc / 32];
          mag += Math.abs(b * minTerm[i * (cols / 32) + cc / 32]);
        }
      }
      exact[i * rows + r] = s;
      tol[i * rows + r] = steps * U * mag + 1e-38;
    }
  }
  assertWithin(simd, exact, tol, `matmul_${lower(type)} vs exact ${JSON.stringify(c)}`);
}

describe('quantised weight types: pack → dequant (= ggml) and matmul (SIMD = twin ≈ exact)', () => {
  for (const build of BUILDS) {
    for (const type of QUANT_LINEAR_DTYPES) {
      test(`${type} (${build}): random shapes, n = 1 and batches, row tails, strides`, () => {
        const pool = poolOf(build);
        fc.assert(fc.property(caseArb(type), (c) => checkCase(pool, c)), { numRuns: 12, seed: 1000 + QUANT_LINEAR_DTYPES.indexOf(type) });
      });
    }
  }

  for (const build of BUILDS) {
    test(`batched paths (${build}): every type, n around each threshold, odd n, row tails, several blocks`, () => {
      const pool = poolOf(build);
      fc.assert(fc.property(batchCaseArb(), (c) => checkCase(pool, c)), { numRuns: 60, seed: 4242 });
    });
  }

  for (const build of BUILDS) {
    test(`one-row streams (${build}): every type, n = 1, runs of 1–4 panels per stream and 0–7 panels after them`, () => {
      const pool = poolOf(build);
      for (const type of QUANT_LINEAR_DTYPES) {
        fc.assert(fc.property(streamCaseArb(type), (c) => checkCase(pool, c)), { numRuns: 10, seed: 5151 + QUANT_LINEAR_DTYPES.indexOf(type) });
      }
    });
  }

  for (const build of BUILDS) {
    test(`small-batch streams (${build}): every type, n = 2–9 on the direct path, runs of 1–4 panels per stream, 0–7 panels after them`, () => {
      const pool = poolOf(build);
      for (const type of QUANT_LINEAR_DTYPES) {
        const runs = type === 'Q8_0' ? 40 : 10;
        fc.assert(fc.property(streamCaseArb(type, fc.integer({ min: 2, max: 9 })), (c) => checkCase(pool, c)), { numRuns: runs, seed: 6262 + QUANT_LINEAR_DTYPES.indexOf(type) });
      }
    });
  }

  for (const build of BUILDS) {
    test(`row-lane paths (${build}): Q4_0, Q4_1, Q5_0, Q5_1, Q4_K; n in tiles of 4, 2 and 1, panel pairs and single panels, chunks`, () => {
      const pool = poolOf(build);
      fc.assert(fc.property(rowLaneCaseArb(), (c) => checkCase(pool, c)), { numRuns: 120, seed: 7070 });
    });
  }

  test('packers refuse blocks with Inf/NaN scales, naming the first bad block', () => {
    const pool = poolOf('simd');
    for (const type of QUANT_LINEAR_DTYPES) {
      pool.reset();
      const cols = GGML_BLOCK[type].values * 2;
      const rows = 3;
      const blocks = makeBlocks(type, rows, cols, createRng(5), 'values');
      const bytes = GGML_BLOCK[type].bytes;
      const dAt: Record<GgmlQuantType, number> = { Q4_0: 0, Q4_1: 2, Q5_0: 0, Q5_1: 0, Q8_0: 0, IQ4_NL: 0, Q2_K: 82, Q3_K: 108, Q4_K: 2, Q5_K: 0, Q6_K: 208, IQ4_XS: 0 };
      const bad = 4; // row 2, block 0
      blocks[bad * bytes + dAt[type] + 1] = 0x7c | (blocks[bad * bytes + dAt[type] + 1] & 0x80); // Inf
      const src = pool.u8From(blocks);
      const packed = pool.alloc(packedBytes(type, rows, cols));
      assert.equal(pool.k[`pack_${lower(type)}` as 'pack_q4_0'](packed.ptr, src.ptr, rows, cols), bad, type);
    }
  });
});

/**
 * Run kernel `name` (dst, src, rows, cols) and its scalar twin `${name}_ref` into two fresh (poisoned)
 * buffers of `size` bytes: the same status and the same bytes, or the first differing byte named.
 */
function sameAsTwin(pool: Pool, name: string, srcPtr: number, rows: number, cols: number, size: number): number | undefined {
  const fast = pool.alloc(size), twin = pool.alloc(size);
  const k = pool.k as unknown as Record<string, (...a: number[]) => number | undefined>;
  const got = k[name]!(fast.ptr, srcPtr, rows, cols), want = k[`${name}_ref`]!(twin.ptr, srcPtr, rows, cols);
  pool.checkGuards();
  assert.equal(got, want, `${name} status`);
  const a = new Uint8Array(pool.rt.memory.buffer, fast.ptr, size), b = new Uint8Array(pool.rt.memory.buffer, twin.ptr, size);
  for (let i = 0; i < size; i++) if (a[i] !== b[i]) assert.fail(`${name} byte ${i} of ${size}: ${a[i]} vs twin ${b[i]} (rows ${rows}, cols ${cols})`);
  return want;
}

/**
 * pack_T (whole vectors per block: assembly/quant_k.ts placeBlock, the legacy and Q8_0 packers' fast
 * branches) = pack_T_ref (the layout's reference placement, one quant at a time, which every other test
 * here checks through dequant_T = ggml): the same bytes everywhere in the packed region and the same
 * status, on random block bytes of every bit pattern, scales included, with some blocks' scales made
 * Inf or NaN (stored as zeros, the first one's index returned), row tails and several blocks per row.
 */
describe('packers = their scalar twins, byte for byte', () => {
  const dAt: Record<GgmlQuantType, readonly number[]> = { Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], IQ4_NL: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208], IQ4_XS: [0] };
  for (const build of BUILDS) {
    test(`every type (${build}): random bytes, Inf/NaN scales, row tails`, () => {
      const pool = poolOf(build);
      const arb = fc.constantFrom(...QUANT_LINEAR_DTYPES).chain((type) => fc.record({
        type: fc.constant(type),
        rows: fc.integer({ min: 1, max: 13 }),
        units: isK(type) ? fc.integer({ min: 1, max: 3 }) : fc.integer({ min: 1, max: 9 }),
        badEvery: fc.constantFrom(0, 3, 7),
        seed: fc.integer(),
      }));
      let refused = 0;
      fc.assert(fc.property(arb, ({ type, rows, units, badEvery, seed }) => {
        pool.reset();
        const cols = units * GGML_BLOCK[type].values;
        const { bytes } = GGML_BLOCK[type];
        const rng = createRng(seed);
        const blocks = new Uint8Array((rows * cols / GGML_BLOCK[type].values) * bytes);
        for (let i = 0; i < blocks.length; i++) blocks[i] = rng.nextU32() & 0xff;
        const nb = blocks.length / bytes;
        for (let b = 0; b < nb; b++) {
          for (const o of dAt[type]) {
            // mostly finite scales (the exponent kept below 31), every ~badEvery-th block Inf or NaN
            if (badEvery > 0 && rng.nextU32() % badEvery === 0) blocks[b * bytes + o + 1] |= 0x7c;
            else if ((blocks[b * bytes + o + 1] & 0x7c) === 0x7c) blocks[b * bytes + o + 1] &= 0xbf;
          }
        }
        const src = pool.u8From(blocks);
        if (sameAsTwin(pool, `pack_${lower(type)}`, src.ptr, rows, cols, packedBytes(type, rows, cols)) !== -1) refused++;
      }), { numRuns: 200, seed: 9090 });
      assert.ok(refused > 20, `refusing cases ran: ${refused}`);
    });
  }
});

/**
 * pack_f32 / pack_bf16_bits / pack_f16_bits (whole panels or k-blocks as vectors) = their scalar twins:
 * the same bytes (and pack_f16_bits' status: the first Inf/NaN, stored as 0), any bits, row and column
 * tails (rows % 4, cols % 4 or % 8 ≠ 0).
 */
describe('float packers = their scalar twins, byte for byte', () => {
  for (const build of BUILDS) {
    test(`pack_f32 / pack_bf16_bits / pack_f16_bits (${build})`, () => {
      const pool = poolOf(build);
      const arb = fc.record({
        kind: fc.constantFrom('f32', 'bf16', 'f16'),
        rows: fc.integer({ min: 1, max: 11 }),
        cols: fc.oneof(fc.constantFrom(8, 16, 64), fc.integer({ min: 1, max: 90 })),
        nonFinite: fc.constantFrom(0, 0, 40),
        seed: fc.integer(),
      });
      let refused = 0;
      fc.assert(fc.property(arb, ({ kind, rows, cols, nonFinite, seed }) => {
        pool.reset();
        const rng = createRng(seed);
        const wide = kind === 'f32' ? 4 : 2;
        const raw = new Uint8Array(rows * cols * wide);
        for (let i = 0; i < raw.length; i++) raw[i] = rng.nextU32() & 0xff;
        if (kind === 'f16') {
          // mostly finite halves; some Inf/NaN (exponent 31) when asked
          for (let i = 1; i < raw.length; i += 2) {
            if (nonFinite > 0 && rng.nextU32() % nonFinite === 0) raw[i] = raw[i]! | 0x7c;
            else if ((raw[i]! & 0x7c) === 0x7c) raw[i] = raw[i]! & 0xbf;
          }
        }
        const src = pool.u8From(raw);
        const size = kind === 'f32' ? 64 * Math.ceil(rows / 4) * Math.ceil(cols / 4) : 64 * Math.ceil(rows / 4) * Math.ceil(cols / 8);
        const name = kind === 'f32' ? 'pack_f32' : kind === 'bf16' ? 'pack_bf16_bits' : 'pack_f16_bits';
        const status = sameAsTwin(pool, name, src.ptr, rows, cols, size);
        if (kind === 'f16' && status !== -1) refused++;
      }), { numRuns: 200, seed: 6262 });
      assert.ok(refused > 10, `refusing cases ran: ${refused}`);
    });
  }
});

/**
 * quant_q8_0 / quant_q4_0 (load-time quantisation: whole groups in f32x4 steps) = their scalar twins
 * (one weight at a time; the test below checks those against ggml's reference quantizer): the same bytes
 * and status, on weights with exact .5 ties after scaling, groups of zeros, a largest magnitude held by
 * both signs (Q4_0 takes the first one's sign), NaN and ±Inf, huge groups whose f16 scale overflows,
 * partial last groups (cols not a multiple of 32) and row tails.
 */
describe('load-time quantisers = their scalar twins, byte for byte', () => {
  for (const build of BUILDS) {
    test(`quant_q8_0 / quant_q4_0 (${build})`, () => {
      const pool = poolOf(build);
      const arb = fc.record({
        type: fc.constantFrom('Q8_0', 'Q4_0'),
        rows: fc.integer({ min: 1, max: 9 }),
        cols: fc.oneof(fc.constantFrom(32, 64, 96, 160), fc.integer({ min: 1, max: 200 })),
        seed: fc.integer(),
      });
      let refused = 0;
      fc.assert(fc.property(arb, ({ type, rows, cols, seed }) => {
        pool.reset();
        const rng = createRng(seed);
        const w = new Float32Array(rows * cols);
        for (let g = 0; g * 32 < rows * cols; g++) {
          const kind = rng.nextU32() % 8;
          for (let j = g * 32; j < Math.min(w.length, g * 32 + 32); j++) {
            const u = 2 * rng.next() - 1;
            // 0: uniform · 1: wide · 2: zeros · 3: halves (ties at 1/id = 1 or 2) · 4: ± the same largest magnitude ·
            // 5: huge (the f16 scale overflows) · 6: a NaN or ±Inf among them · 7: f32 subnormals (1/d overflows)
            w[j] = kind === 0 ? u : kind === 1 ? u * 2 ** (rng.nextU32() % 60 - 30) : kind === 2 ? 0
              : kind === 3 ? (j % 32 === 0 ? (type === 'Q8_0' ? 127 : -16) : Math.round(u * 20) + 0.5)
              : kind === 4 ? (j % 7 === 0 ? (u < 0 ? -3 : 3) : u) : kind === 5 ? u * 3e38 : kind === 7 ? Math.fround(u * 2 ** -(126 + (rng.nextU32() % 24))) : u;
          }
          if (kind === 6) w[g * 32 + (rng.nextU32() % 32)] = [NaN, Infinity, -Infinity][rng.nextU32() % 3]!;
        }
        const src = pool.f32From(w);
        if (sameAsTwin(pool, `quant_${lower(type)}`, src.ptr, rows, cols, packedBytes(type, rows, cols)) !== -1) refused++;
      }), { numRuns: 300, seed: 5151 });
      assert.ok(refused > 20, `refusing cases ran: ${refused}`);
    });
  }
});

/**
 * dequant_T (whole groups or sub-blocks as vectors, every quantised type) =
 * dequant_T_ref (one weight at a time, the decoding the test above checks against ggml): the same f32
 * bits for any rows [r0, r0 + count) (r0 anywhere in a panel), on random block bytes with finite scales
 * of any size; Q8_0 and Q4_0 also from the load-time quantisers with cols % 32 ≠ 0 (a partial last group).
 */
describe('dequantisers = their scalar twins, bit for bit', () => {
  const TWINNED = QUANT_LINEAR_DTYPES;
  const dAt: Record<GgmlQuantType, readonly number[]> = { Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], IQ4_NL: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208], IQ4_XS: [0] };
  for (const build of BUILDS) {
    test(`every vector dequantiser (${build}): random blocks, any row range, partial groups`, () => {
      const pool = poolOf(build);
      const arb = fc.constantFrom(...TWINNED).chain((type) => fc.record({
        type: fc.constant(type),
        rows: fc.integer({ min: 1, max: 13 }),
        units: isK(type) ? fc.integer({ min: 1, max: 3 }) : fc.integer({ min: 1, max: 9 }),
        fromF32: type === 'Q8_0' || type === 'Q4_0' ? fc.boolean() : fc.constant(false),
        tail: fc.integer({ min: 1, max: 31 }),
        cut: fc.tuple(fc.nat(), fc.nat()),
        seed: fc.integer(),
      }));
      let partial = 0;
      fc.assert(fc.property(arb, ({ type, rows, units, fromF32, tail, cut, seed }) => {
        pool.reset();
        const rng = createRng(seed);
        let cols = units * GGML_BLOCK[type].values;
        const packed = pool.alloc(packedBytes(type, rows, cols + (fromF32 ? tail : 0)));
        if (fromF32) {
          cols += tail; // the quantiser pads the last group
          partial++;
          const w = new Float32Array(rows * cols);
          for (let j = 0; j < w.length; j++) w[j] = (2 * rng.next() - 1) * 2 ** (rng.nextU32() % 20 - 10);
          assert.equal(pool.k[`quant_${lower(type)}` as 'quant_q4_0'](packed.ptr, pool.f32From(w).ptr, rows, cols), -1);
        } else {
          const { bytes } = GGML_BLOCK[type];
          const blocks = new Uint8Array((rows * cols / GGML_BLOCK[type].values) * bytes);
          for (let i = 0; i < blocks.length; i++) blocks[i] = rng.nextU32() & 0xff;
          for (let b = 0; b < blocks.length / bytes; b++) {
            for (const o of dAt[type]) if ((blocks[b * bytes + o + 1] & 0x7c) === 0x7c) blocks[b * bytes + o + 1] &= 0xbf; // finite f16 scales
          }
          assert.equal(pool.k[`pack_${lower(type)}` as 'pack_q4_0'](packed.ptr, pool.u8From(blocks).ptr, rows, cols), -1);
        }
        const r0 = cut[0] % rows, count = 1 + (cut[1] % (rows - r0));
        const fast = pool.alloc(count * cols * 4), twin = pool.alloc(count * cols * 4);
        const k = pool.k as unknown as Record<string, (...a: number[]) => void>;
        k[`dequant_${lower(type)}`]!(fast.ptr, packed.ptr, rows, cols, r0, count);
        k[`dequant_${lower(type)}_ref`]!(twin.ptr, packed.ptr, rows, cols, r0, count);
        pool.checkGuards();
        const a = pool.u32(fast), b = pool.u32(twin);
        for (let i = 0; i < count * cols; i++) {
          if (a[i] !== b[i]) assert.fail(`dequant_${lower(type)} row ${r0 + Math.floor(i / cols)} col ${i % cols}: bits ${a[i]} vs twin ${b[i]} (rows ${rows}, cols ${cols})`);
        }
      }), { numRuns: 300, seed: 6262 });
      assert.ok(partial > 20, `partial-group cases ran: ${partial}`);
    });
  }
});

describe('quant_x: the prepared input', () => {
  /** Plain-TS model of one row's section: quants, scales, 16- and 32-column sums, the two lane sums per 32 columns. */
  function model(x: Float32Array, cols: number, C: number, sg: number) {
    const q = new Int16Array(C);
    const d = new Float32Array(C / sg);
    const dRaw = new Float32Array(C / sg);
    for (let g = 0; g < C / sg; g++) {
      let amax = 0;
      for (let c = g * sg; c < Math.min(cols, (g + 1) * sg); c++) amax = Number.isNaN(x[c]) || Number.isNaN(amax) ? NaN : Math.max(amax, Math.abs(x[c]));
      dRaw[g] = Number.isNaN(amax) ? NaN : amax >= 2 ** -120 ? Math.fround(amax / 127) : 0;
      d[g] = sg === 32 ? f16Round(dRaw[g]) : dRaw[g];
      const inv = amax >= 2 ** -120 ? Math.fround(127 / amax) : 0;
      for (let c = g * sg; c < Math.min(cols, (g + 1) * sg); c++) {
        const t = roundEven(Math.fround(x[c] * inv));
        q[c] = Number.isNaN(t) ? 0 : Math.max(-127, Math.min(127, t));
      }
    }
    const bs16 = new Int16Array(C / 16), bs32 = new Int16Array(C / 32), ls = new Int16Array(C / 16);
    for (let c = 0; c < C; c++) {
      bs16[c >> 4] += q[c];
      bs32[c >> 5] += q[c];
      ls[2 * (c >> 5) + ((c >> 1) & 1)] += q[c]; // columns 4k, 4k + 1 | 4k + 2, 4k + 3
    }
    // section A's s: f16(d·Σq) with d = amax/127 before its rounding (llama.cpp's q8_1)
    const s = Float32Array.from(bs32, (b, g) => f16Round(Math.fround(dRaw[Math.floor((g * 32) / sg)] * b)));
    return { q, d, bs16, bs32, s, ls };
  }
  function roundEven(v: number): number {
    const r = Math.round(v);
    return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }
  const pad16 = (b: number) => Math.ceil(b / 16) * 16;

  for (const build of BUILDS) {
    test(`(${build}) sections A (per 32) and B (per 256, cols % 256 = 0) = a plain-TS model; = its twin; special values`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(256, 512, 768)), fc.integer({ min: 1, max: 9 }), fc.integer(), (cols, n, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const x = rng.next() < 0.5 ? uniform(rng, n * cols, -3, 3) : wide(rng, n * cols);
          // special groups: NaN, Inf, tiny, zero
          if (cols > 40 && n > 1) {
            // a NaN with a sign and a payload: quant_x and its twin both store one NaN scale for its group
            new Uint32Array(x.buffer, x.byteOffset)[cols + 3] = 0xffa00001;
            x[cols + 35 < 2 * cols ? cols + 35 : cols + 1] = Infinity;
          }
          if (cols >= 64) for (let c = 32; c < 64; c++) x[c] = 1e-39;
          const prep = prepare(pool, x, n, cols, 0);
          const rec = pool.k.qx_row_bytes(cols);
          assert.equal(rec, preparedRowBytes(cols));
          for (let i = 0; i < n; i++) {
            const row = x.subarray(i * cols, (i + 1) * cols);
            for (const [sg, C, off] of [[32, Math.ceil(cols / 32) * 32, 0], ...(cols % 256 === 0 ? [[256, cols, pool.k.qx_offset_k(cols)]] : [])] as [number, number, number][]) {
              const m = model(row, cols, C, sg);
              const base = prep.ptr + i * rec + off;
              const buf = pool.rt.memory.buffer;
              assert.deepEqual(new Int16Array(buf, base, C), m.q, `q16 sg ${sg}`);
              assert.deepEqual(new Int8Array(buf, base + 2 * C, C), Int8Array.from(m.q), `q8 sg ${sg}`);
              // by value: a NaN scale's payload is the engine's choice
              assert.deepEqual(Array.from(new Float32Array(buf, base + 3 * C, C / sg)), Array.from(m.d), `d sg ${sg}`);
              const bsAt = base + 3 * C + pad16(4 * (C / sg));
              assert.deepEqual(new Int16Array(buf, bsAt, C / 16), m.bs16, `bs16 sg ${sg}`);
              assert.deepEqual(new Int16Array(buf, bsAt + pad16(C / 8), C / 32), m.bs32, `bs32 sg ${sg}`);
              if (sg === 32) {
                const sAt = bsAt + pad16(C / 8) + pad16(C / 16);
                assert.deepEqual(Array.from(new Float32Array(buf, sAt, C / 32)), Array.from(m.s), 's (section A)');
                assert.deepEqual(new Int16Array(buf, sAt + pad16(C / 8) + 2 * C, C / 16), m.ls, 'ls (section A)');
                if (i < n - (n % 4)) {
                  // section T: row i is lane i % 4 of block ⌊i/4⌋'s cells, one per 32-column group
                  const G = C / 32;
                  for (let g = 0; g < G; g++) {
                    const cell = prep.ptr + n * rec + (Math.floor(i / 4) * G + g) * 192;
                    const r = i % 4;
                    const q = new Int8Array(buf, cell, 128);
                    for (let t = 0; t < 8; t++) for (let b = 0; b < 4; b++) assert.equal(q[16 * t + 4 * r + b], m.q[32 * g + 4 * t + b], `T q row ${i} group ${g}`);
                    assert.deepEqual([new Float32Array(buf, cell + 128, 4)[r]], [m.d[g]], `T d row ${i} group ${g}`);
                    assert.deepEqual(Array.from(new Int16Array(buf, cell + 144 + 4 * r, 2)), [16 * m.ls[2 * g]!, 16 * m.ls[2 * g + 1]!], `T ls row ${i} group ${g}`);
                    assert.equal(new Float32Array(buf, cell + 160, 4)[r], m.s[g], `T s row ${i} group ${g}`);
                    assert.equal(new Int32Array(buf, cell + 176, 4)[r], m.bs32[g], `T bs32 row ${i} group ${g}`);
                  }
                  // section T16 (after T): the same block and group, quants as i16 in steps of 2 columns, then d
                  for (let g = 0; g < G; g++) {
                    const cell = prep.ptr + n * rec + Math.floor(n / 4) * G * 192 + (Math.floor(i / 4) * G + g) * 272;
                    const r = i % 4;
                    const q = new Int16Array(buf, cell, 128);
                    for (let t = 0; t < 16; t++) for (let b = 0; b < 2; b++) assert.equal(q[8 * t + 2 * r + b], m.q[32 * g + 2 * t + b], `T16 q row ${i} group ${g}`);
                    assert.deepEqual([new Float32Array(buf, cell + 256, 4)[r]], [m.d[g]], `T16 d row ${i} group ${g}`);
                  }
                }
              }
            }
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});

describe('load-time quantisation (--dtype int8 / int4) = ggml\'s reference quantizer', () => {
  test('quant_q8_0 / quant_q4_0 pack the blocks quantize_row_q8_0_ref / quantize_row_q4_0_ref make, byte for byte', () => {
    const pool = poolOf('simd');
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      for (const seed of [1, 2, 3]) {
        pool.reset();
        const rows = 7, cols = 96;
        const rng = createRng(seed);
        const w = seed === 3 ? wide(rng, rows * cols) : uniform(rng, rows * cols, -2, 2);
        w.fill(0, cols, cols + 32); // an all-zero group
        w[2 * cols + 40] = -9.5; // a negative spike
        for (let c = 0; c < 32; c++) w[3 * cols + c] = 1e-6 * (c - 16); // f16-subnormal scale
        const fromF32 = pool.alloc(packedBytes(type, rows, cols));
        const src = pool.f32From(w);
        assert.equal(type === 'Q8_0' ? pool.k.quant_q8_0(fromF32.ptr, src.ptr, rows, cols) : pool.k.quant_q4_0(fromF32.ptr, src.ptr, rows, cols), -1);
        const blocks = pool.u8From(ggmlRefQuantize(type, w));
        const fromGgml = pool.alloc(packedBytes(type, rows, cols));
        assert.equal(pool.k[`pack_${lower(type)}` as 'pack_q4_0'](fromGgml.ptr, blocks.ptr, rows, cols), -1);
        const bytes = packedBytes(type, rows, cols);
        assert.deepEqual(new Uint8Array(pool.rt.memory.buffer, fromF32.ptr, bytes), new Uint8Array(pool.rt.memory.buffer, fromGgml.ptr, bytes), `${type} seed ${seed}`);
      }
    }
  });
});

describe('peak_dot_i16 (the integer-dot ceiling probe of the benches)', () => {
  /** Its 12 chains in plain JS: acc ← acc + lo16(acc)·k + hi16(acc)·k (i32, wrapping; the 4 lanes of a chain are equal). */
  function model(iters: number): number {
    const k = ((iters | 3) << 16) >> 16;
    let sum = 0;
    for (let j = 0; j < 12; j++) {
      let a = (iters + j) | 0;
      for (let i = 0; i < iters; i++) a = (a + Math.imul((a << 16) >> 16, k) + Math.imul(a >> 16, k)) | 0;
      sum = (sum + Math.imul(a, 4)) | 0;
    }
    return sum;
  }
  for (const build of BUILDS) {
    test(`(${build}) computes what its chains compute`, () => {
      const pool = poolOf(build);
      fc.assert(fc.property(fc.integer({ min: 0, max: 3000 }), (iters) => pool.k.peak_dot_i16(iters) === model(iters)), { numRuns: 30, seed: 9 });
    });
  }
});

describe('peak_dot_i8 (the byte-dot ceiling probe of the benches)', () => {
  /**
   * Its 12 chains in plain JS: per i16 lane acc ← acc + lo8(acc)·k + hi8(acc)·k (bytes signed, k = (iters | 3) & 127,
   * i16 wrapping; the 8 lanes of a chain are equal), then the lanes' pairwise i32 sums added (wrapping).
   */
  function model(iters: number): number {
    const k = (iters | 3) & 0x7f;
    let sum = 0;
    for (let j = 0; j < 12; j++) {
      let a = ((iters + j) << 16) >> 16;
      for (let i = 0; i < iters; i++) a = ((a + ((a << 24) >> 24) * k + (a >> 8) * k) << 16) >> 16;
      sum = ((sum + a) << 16) >> 16; // the 12 chains are added in i16
    }
    return Math.imul(sum, 8);
  }
  for (const build of BUILDS) {
    test(`(${build}) computes what its chains compute`, () => {
      const pool = poolOf(build);
      fc.assert(fc.property(fc.integer({ min: 0, max: 3000 }), (iters) => pool.k.peak_dot_i8(iters) === model(iters)), { numRuns: 30, seed: 10 });
    });
  }
});
