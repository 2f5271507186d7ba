// Quantisation and packing properties: load-time quantisation (quant_q8_0 / quant_q4_0 and the TS
// path of packLinear for the other types) equals ggml's reference quantisation; refusals of non-finite
// weights and scales beyond f16 name the row and columns; pack_bf16 (round to nearest even, NaN kept) and
// pack_bf16_bits (bits kept); GGUF Q8_0 data packed as stored dequantises exactly to the reader's f32
// values (negative scales, −128 quants, subnormal scales); quant_x on special values.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, createRng, poolCache, uniform, wide } from './harness.js';
import { GROUP, bf16Value, decodeBf16Bits, quantizeX } from './quant-oracle.js';
import { QUANT_LINEAR_DTYPES, allocLinear, isSuperBlockType, packLinear, packLinearFromStored, packedBytes } from '../../src/kernels/linear.js';
import { f32BitsToBf16Bits } from '../../src/weights/tensor.js';
import { dequantizeQ8_0, quantizeQ8_0, writeGguf } from '../../src/weights/gguf-writer.js';
import { quantizeGgml } from '../../src/weights/ggml-quants.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { bytesSource } from '../../src/io/source.js';
import { NumericError } from '../../src/errors.js';

const poolOf = poolCache();
const bytesOf = (pool: Pool, ptr: number, n: number) => new Uint8Array(pool.rt.memory.buffer, ptr, n);

/** W with a mix of magnitudes per row, some all-zero groups and some single-spike groups. */
function weights(seed: number, rows: number, cols: number): Float32Array {
  const rng = createRng(seed);
  const w = rng.next() < 0.5 ? wide(rng, rows * cols) : uniform(rng, rows * cols, -3, 3);
  for (let r = 0; r < rows; r++) {
    const kind = rng.nextU32() % 6;
    const g = rng.nextU32() % Math.ceil(cols / GROUP);
    const c0 = g * GROUP, c1 = Math.min(cols, c0 + GROUP);
    if (kind === 0) w.fill(0, r * cols + c0, r * cols + c1); // a zero group
    if (kind === 1) w[r * cols + c0] = (rng.next() < 0.5 ? -1 : 1) * 1e4; // a spike
    if (kind === 2) for (let c = c0; c < c1; c++) w[r * cols + c] *= 1e-6; // a tiny group (subnormal f16 scales)
  }
  return w;
}

/** Row-major [rows, cols] zero-padded to a multiple of 32 columns. */
function padded(w: Float32Array, rows: number, cols: number): { w: Float32Array; cols: number } {
  const pc = Math.ceil(cols / 32) * 32;
  const out = new Float32Array(rows * pc);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * cols, (r + 1) * cols), r * pc);
  return { w: out, cols: pc };
}

describe('kernels/quantize', () => {
  test('load-time quantisation = ggml\'s reference quantizer for every quantised type (packLinear from f32; partial last groups as zero-padded blocks)', () => {
    const pool = new Pool('simd', 8 << 20);
    const mark = pool.rt.arena.mark();
    fc.assert(
      fc.property(fc.constantFrom(...QUANT_LINEAR_DTYPES), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 200 }), fc.integer(), (dtype, rows, c0, seed) => {
        pool.reset();
        pool.rt.arena.release(mark);
        const cols = isSuperBlockType(dtype) ? 256 * (1 + (c0 % 2)) : c0;
        const w = weights(seed, rows, cols);
        const lin = packLinear(pool.rt, 'w', dtype, pool.f32(pool.f32From(w)), rows, cols);
        // the same matrix from ggml's blocks of the zero-padded values, packed as stored
        const p = padded(w, rows, cols);
        const blocks = quantizeGgml(dtype, p.w, rows, p.cols);
        const src = pool.u8From(blocks);
        const viaBlocks = allocLinear(pool.rt, 'b', dtype, rows, cols);
        packLinearFromStored(pool.k, { ...viaBlocks, cols: p.cols }, src.ptr, 'b');
        const a = bytesOf(pool, lin.ptr, lin.bytes), b = bytesOf(pool, viaBlocks.ptr, viaBlocks.bytes);
        const at = a.findIndex((v, i) => v !== b[i]);
        assert.equal(at, -1, `${dtype} ${rows}×${cols}: first differing packed byte ${at}: ${a[at]} vs ${b[at]}`);
      }),
      { numRuns: 60 },
    );
  });

  test('quant_q8_0 / quant_q4_0 and packLinear refuse non-finite weights and scales beyond f16 (status = first bad group; the error names it)', () => {
    const pool = poolOf('simd');
    const rows = 6, cols = 70, G = 3;
    for (const dtype of ['Q8_0', 'Q4_0'] as const) {
      const limit = dtype === 'Q8_0' ? 127 * 65504 : 8 * 65504;
      for (const [bad, ok] of [[NaN, false], [Infinity, false], [-Infinity, false], [limit * 1.001, false], [limit * 0.999, true]] as const) {
        pool.reset();
        const w = uniform(createRng(3), rows * cols);
        w[4 * cols + 40] = bad; // row 4, group 1
        w[5 * cols + 1] = bad; // a later bad group: the first is reported
        const src = pool.f32From(w);
        const out = pool.alloc(packedBytes(dtype, rows, cols));
        const status = dtype === 'Q8_0' ? pool.k.quant_q8_0(out.ptr, src.ptr, rows, cols) : pool.k.quant_q4_0(out.ptr, src.ptr, rows, cols);
        if (ok) {
          assert.equal(status, -1, `${dtype} ${bad}`);
          continue;
        }
        assert.equal(status, 4 * G + 1, `${dtype} ${bad}`);
        const staging = pool.rt.arena.alloc('stage', 16 * cols * 2);
        assert.throws(
          () => packLinear(pool.rt, 'blk.4.w', dtype, w, rows, cols, staging),
          (e: unknown) => e instanceof NumericError && e.message.startsWith(`blk.4.w: row 4, columns 32..63: expected finite weights whose ${dtype} group scale fits an f16`),
        );
      }
    }
    // the TS path (other types) names the first non-finite weight
    pool.reset();
    const w = uniform(createRng(4), 4 * 256);
    w[2 * 256 + 17] = NaN;
    assert.throws(() => packLinear(pool.rt, 'blk.0.ffn_down', 'Q4_K', pool.f32(pool.f32From(w)), 4, 256), /blk\.0\.ffn_down: row 2, column 17: expected a finite weight to convert to Q4_K/);
  });

  test('pack_bf16 rounds to nearest even (ties, carries into the exponent, overflow to Inf), keeps NaN and signed zeros', () => {
    const pool = poolOf('simd');
    pool.reset();
    const specials = [
      0x3f808000, // tie, even below: 1.0
      0x3f818000, // tie, odd below: rounds up
      0x3f80ffff, // just below the next bf16
      0x3fffffff, // carries into the exponent
      0x7f7fffff, // max f32: rounds to +Inf
      0xff7f8000, // tie at the top of the negative range: rounds to −Inf
      0x7f800000, 0xff800000, // ±Inf
      0x7fc00000, 0x7f800001, 0xffa00000, // quiet and signalling NaNs
      0x00000000, 0x80000000, // ±0
      0x00000001, 0x807fffff, // subnormals
    ];
    const rng = createRng(9);
    const bits = new Uint32Array(7 * 45);
    for (let i = 0; i < bits.length; i++) bits[i] = i < specials.length ? specials[i] : rng.nextU32();
    const w = new Float32Array(bits.buffer);
    const src = pool.f32From(w);
    const packed = pool.alloc(packedBytes('BF16', 7, 45));
    pool.k.pack_bf16(packed.ptr, src.ptr, 7, 45);
    const got = decodeBf16Bits(bytesOf(pool, packed.ptr, packed.bytes), 7, 45);
    for (let i = 0; i < bits.length; i++) {
      assert.equal(got[i], f32BitsToBf16Bits(bits[i]), `0x${bits[i].toString(16)}`);
      if (Number.isNaN(w[i])) assert.ok(Number.isNaN(bf16Value(got[i])), 'NaN stays NaN');
    }
    assert.deepEqual(Array.from(got.subarray(0, 6)), [0x3f80, 0x3f82, 0x3f81, 0x4000, 0x7f80, 0xff80]);
    assert.equal(bf16Value(f32BitsToBf16Bits(0x3f818000)), 1.015625);
    pool.checkGuards();
  });

  test('pack_bf16_bits places every bit pattern unchanged (a BF16 checkpoint loads without an f32 round trip)', () => {
    const pool = poolOf('simd');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (rows, cols, seed) => {
        pool.reset();
        const rng = createRng(seed);
        const h = new Uint16Array(rows * cols).map(() => rng.nextU32() & 0xffff);
        const src = pool.alloc(rows * cols * 2);
        new Uint16Array(pool.rt.memory.buffer, src.ptr, rows * cols).set(h);
        const packed = pool.alloc(packedBytes('BF16', rows, cols));
        pool.k.pack_bf16_bits(packed.ptr, src.ptr, rows, cols);
        assert.deepEqual(decodeBf16Bits(bytesOf(pool, packed.ptr, packed.bytes), rows, cols), h);
        // and from the f32 values of those bits, pack_bf16 gives the same bytes unless a NaN gets quieted
        const asF32 = new Float32Array(Uint32Array.from(h, (v) => v << 16).buffer);
        const fsrc = pool.f32From(asF32);
        const packed2 = pool.alloc(packed.bytes);
        pool.k.pack_bf16(packed2.ptr, fsrc.ptr, rows, cols);
        if (!asF32.some(Number.isNaN)) assert.deepEqual(bytesOf(pool, packed2.ptr, packed2.bytes), bytesOf(pool, packed.ptr, packed.bytes));
        pool.checkGuards();
      }),
      { numRuns: 40 },
    );
  });

  test('GGUF Q8_0 packed as stored dequantises exactly to the reader\'s f32 values (negative scales, −128 quants, subnormal scales)', async () => {
    const pool = poolOf('simd');
    pool.reset();
    const rows = 13, cols = 96;
    const w = weights(21, rows, cols);
    const blocks = quantizeQ8_0(w);
    // negative scales (the same values as −d with −q), a −128 quant, an odd f16 subnormal scale
    const negBlock = (b: number) => {
      const p = b * 34;
      blocks[p + 1] ^= 0x80;
      for (let j = 0; j < 32; j++) blocks[p + 2 + j] = -((blocks[p + 2 + j] << 24) >> 24) & 0xff;
    };
    negBlock(1);
    negBlock(7);
    blocks[7 * 34 + 5] = 0x80; // −128 under a negative scale
    blocks[3 * 34 + 9] = 0x80; // −128 under a positive one
    blocks[10 * 34] = 0x03; // scale bits 0x0003: a subnormal f16
    blocks[10 * 34 + 1] = 0x00;
    const file = writeGguf({ metadata: [], tensors: [{ name: 'w', type: 'Q8_0', shape: [rows, cols], data: blocks }] });
    const gguf = await GgufFile.open(bytesSource('q.gguf', file));
    const raw = pool.alloc(blocks.length);
    await gguf.readTensorBytes('w', bytesOf(pool, raw.ptr, blocks.length));
    const lin = allocLinear(pool.rt, 'w', 'Q8_0', rows, cols);
    packLinearFromStored(pool.k, lin, raw.ptr, 'w');
    const deq = pool.alloc(rows * cols * 4);
    pool.k.dequant_q8_0(deq.ptr, lin.ptr, rows, cols, 0, rows);
    const readerValues = new Float32Array(rows * cols);
    await gguf.readTensorF32('w', readerValues);
    assert.deepEqual(readerValues, dequantizeQ8_0(blocks));
    assert.deepEqual(pool.f32(deq), readerValues);
    // an Inf scale is refused, naming the block
    blocks[5 * 34 + 1] = 0x7c;
    const raw2 = pool.u8From(blocks);
    const lin2 = allocLinear(pool.rt, 'w2', 'Q8_0', rows, cols);
    assert.throws(() => packLinearFromStored(pool.k, lin2, raw2.ptr, 'output.weight'), /output\.weight: row 1, columns 64\.\.95: expected a Q8_0 block with finite f16 scales/);
  });

  test('quant_x on special values: zeros, −0, tiny groups (< 2^-120 → zero), subnormals, huge values, ties', () => {
    for (const build of ['simd', 'relaxed'] as const) {
      const pool = poolOf(build);
      pool.reset();
      const cols = 96, n = 6;
      const x = new Float32Array(n * cols);
      x.fill(-0, 0, cols); // row 0: −0
      for (let c = 0; c < cols; c++) {
        x[cols + c] = c < 32 ? 2 ** -121 : c < 64 ? 2 ** -119 * ((c % 5) - 2) : 1e-45 * c; // tiny, just above, subnormal
        x[2 * cols + c] = 3e38 * Math.sin(c); // huge
        x[3 * cols + c] = (c % 11) - 5 + 0.5; // many ties in x·127/amax? (amax = 5.5 → 127/5.5)
        x[4 * cols + c] = c === 7 ? 127 : (c % 3) - 1 + 0.5 / 127 * (c & 1 ? 1 : -1); // x·inv lands near .5
        x[5 * cols + c] = c % 32 === 0 ? 1 : 0;
      }
      const xb = pool.f32From(x);
      const rec = pool.k.qx_row_bytes(cols);
      const bytes = pool.k.qx_bytes(n, cols);
      const out = pool.alloc(bytes);
      const twin = pool.alloc(bytes);
      pool.k.quant_x(out.ptr, xb.ptr, n, cols);
      pool.k.quant_x_ref(twin.ptr, xb.ptr, n, cols);
      const want = quantizeX(x, n, cols);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(new Int16Array(pool.rt.memory.buffer, out.ptr + i * rec, 96), want.q.subarray(i * 96, (i + 1) * 96), `${build} row ${i}`);
        assert.deepEqual(Array.from(new Float32Array(pool.rt.memory.buffer, out.ptr + i * rec + 3 * 96, 3)), Array.from(want.s.subarray(i * 3, i * 3 + 3)), `${build} row ${i}`);
      }
      assert.deepEqual(bytesOf(pool, twin.ptr, bytes), bytesOf(pool, out.ptr, bytes));
      assert.equal(want.s[3], 0, 'a group below 2^-120 gets scale 0');
      assert.equal(want.s[4], 0, 'a group just above 2^-120 has a scale below the smallest f16: 0, as llama.cpp\'s q8_0 has it');
      assert.equal(want.s[5], 0, 'f32-subnormal x: amax below 2^-120, zero');
      // the round trip: |x − s·q| ≤ s/2, + |q|·(the f16 rounding of s, ≤ 2^-11·s), + the f32 rounding of 127/amax and of x·inv
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < cols; c++) {
          const s = want.s[i * 3 + (c >> 5)];
          if (s < 2 ** -14) continue; // (an f16-subnormal or zero scale loses precision, as in llama.cpp)
          const err = Math.abs(x[i * cols + c] - s * want.q[i * 96 + c]);
          assert.ok(err <= s * (0.5 + 127 * 2 ** -11 + 1e-5), `row ${i} col ${c}: ${err} vs s/2 = ${s / 2}`);
        }
      }
    }
  });
});
