// Quantisation and packing properties: pack_q8 / pack_q4 (group scales, round trip ≤ d/2, zero and
// extreme groups, refusals), pack_bf16 (round to nearest even, NaN kept) and pack_bf16_bits (bits
// kept), pack_q8_planar from real GGUF Q8_0 data (equal to the reader's dequantisation, negative
// scales), and quant_x_q8 on special values. Layouts are read back with the documented decoders.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, createRng, poolCache, uniform, wide } from './harness.js';
import { GROUP, bf16Value, decodeBf16, decodeBf16Bits, decodeQ4, decodeQ8, f16CeilBits, quantizeX, roundEven } from './quant-oracle.js';
import { packLinear, packedBytes, allocLinear, packLinearFromQ8Planar } from '../../src/kernels/linear.js';
import { f16ToF32, f32BitsToBf16Bits } from '../../src/weights/tensor.js';
import { dequantizeQ8_0, quantizeQ8_0, writeGguf } from '../../src/weights/gguf-writer.js';
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

function packQ(pool: Pool, dtype: 'q8' | 'q4', w: Float32Array, rows: number, cols: number): { status: number; ptr: number } {
  const src = pool.f32From(w);
  const out = pool.alloc(packedBytes(dtype, rows, cols));
  const status = dtype === 'q8' ? pool.k.pack_q8(out.ptr, src.ptr, rows, cols) : pool.k.pack_q4(out.ptr, src.ptr, rows, cols);
  return { status, ptr: out.ptr };
}

describe('kernels/quantize', () => {
  for (const dtype of ['q8', 'q4'] as const) {
    test(`pack_${dtype}: scale = the smallest f16 ≥ ${dtype === 'q8' ? 'max|w|/127' : 'max(max⁺/7, max⁻/8)'}, q = nearest(w/d), |w − d·q| ≤ d/2, zero groups stay zero`, () => {
      const pool = poolOf('simd');
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 200 }), fc.integer(), (rows, cols, seed) => {
          pool.reset();
          const w = weights(seed, rows, cols);
          const { status, ptr } = packQ(pool, dtype, w, rows, cols);
          assert.equal(status, -1);
          const bytes = bytesOf(pool, ptr, packedBytes(dtype, rows, cols));
          const { q, dBits } = dtype === 'q8' ? decodeQ8(bytes, rows, cols) : decodeQ4(bytes, rows, cols);
          const G = Math.ceil(cols / GROUP);
          const [qmin, qmax] = dtype === 'q8' ? [-127, 127] : [-8, 7];
          for (let r = 0; r < rows; r++) {
            for (let g = 0; g < G; g++) {
              let pos = 0, neg = 0;
              for (let c = g * GROUP; c < Math.min(cols, (g + 1) * GROUP); c++) {
                pos = Math.max(pos, w[r * cols + c]);
                neg = Math.max(neg, -w[r * cols + c]);
              }
              const t = dtype === 'q8' ? Math.max(pos, neg) / 127 : Math.max(pos / 7, neg / 8);
              const h = dBits[r * G + g];
              assert.equal(h, f16CeilBits(t), `row ${r} group ${g}: scale bits`);
              const d = f16ToF32(h);
              assert.ok(d >= t && (h === 0 || f16ToF32(h - 1) < t), 'd is the smallest f16 ≥ t');
              for (let c = g * GROUP; c < Math.min(cols, (g + 1) * GROUP); c++) {
                const v = w[r * cols + c];
                const qq = q[r * cols + c];
                assert.ok(qq >= qmin && qq <= qmax, `quant ${qq} in range`);
                if (d === 0) {
                  assert.equal(qq, 0);
                  assert.equal(v, 0);
                  continue;
                }
                assert.equal(qq, roundEven(v / d) + 0, `w ${v} / d ${d}`);
                assert.ok(Math.abs(v - d * qq) <= (d / 2) * (1 + 2 ** -40), `|w − d·q| = ${Math.abs(v - d * qq)} > d/2 = ${d / 2}`);
              }
            }
          }
          pool.checkGuards();
        }),
        { numRuns: 150 },
      );
    });
  }

  test('pack_q4 uses −8 when the negative side dominates and never clamps', () => {
    const pool = poolOf('simd');
    pool.reset();
    const w = new Float32Array(32);
    w[0] = -8;
    w[1] = 6.9;
    w[2] = 7; // 7/8 = 0.875 of max⁻: d = max(7/7, 8/8) = 1
    w[3] = -0.5; // a tie: nearest even → 0
    w[4] = 1.5; // tie → 2
    const { ptr } = packQ(pool, 'q4', w, 1, 32);
    const { q, dBits } = decodeQ4(bytesOf(pool, ptr, 72), 1, 32);
    assert.equal(f16ToF32(dBits[0]), 1);
    assert.deepEqual(Array.from(q.subarray(0, 5)), [-8, 7, 7, 0, 2]);
  });

  test('pack_q8 / pack_q4 refuse non-finite weights and scales beyond f16 (status = first bad group; packLinear names it in a NumericError)', () => {
    const pool = poolOf('simd');
    const rows = 6, cols = 70, G = 3;
    for (const dtype of ['q8', 'q4'] as const) {
      const limit = dtype === 'q8' ? 127 * 65504 : 7 * 65504;
      for (const [bad, ok] of [[NaN, false], [Infinity, false], [-Infinity, false], [limit * 1.001, false], [limit, true], [-65504 * 8, true]] as const) {
        pool.reset();
        const w = uniform(createRng(3), rows * cols);
        w[4 * cols + 40] = bad; // row 4, group 1
        w[5 * cols + 1] = bad; // a later bad group: the first is reported
        const { status, ptr } = packQ(pool, dtype, w, rows, cols);
        if (ok) {
          assert.equal(status, -1, `${dtype} ${bad}`);
          continue;
        }
        assert.equal(status, 4 * G + 1, `${dtype} ${bad}`);
        const bytes = bytesOf(pool, ptr, packedBytes(dtype, rows, cols));
        const { q, dBits } = dtype === 'q8' ? decodeQ8(bytes, rows, cols) : decodeQ4(bytes, rows, cols);
        assert.equal(dBits[4 * G + 1], 0, 'a refused group is stored as zeros');
        assert.ok(q.subarray(4 * cols + 32, 4 * cols + 64).every((v) => v === 0));
        const staging = pool.rt.arena.alloc('stage', 16 * cols * 2);
        assert.throws(
          () => packLinear(pool.rt, 'blk.4.w', dtype, w, rows, cols, staging),
          (e: unknown) => e instanceof NumericError && e.message.startsWith(`blk.4.w: row 4, columns 32..63: expected finite weights whose ${dtype} group scale fits an f16`),
        );
      }
    }
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
    const packed = pool.alloc(packedBytes('bf16', 7, 45));
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
        const packed = pool.alloc(packedBytes('bf16', rows, cols));
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

  test('GGUF Q8_0: pack_q8_planar of readTensorQ8_0 data dequantises exactly to the reader’s f32 values (no re-quantising)', async () => {
    const pool = poolOf('simd');
    pool.reset();
    const rows = 13, cols = 96;
    const w = weights(21, rows, cols);
    const blocks = quantizeQ8_0(w);
    // make some blocks negative-scaled (same values: −d with −q) and one with an odd f16 subnormal scale
    const negBlock = (b: number) => {
      const p = b * 34;
      blocks[p + 1] ^= 0x80;
      for (let j = 0; j < 32; j++) blocks[p + 2 + j] = -((blocks[p + 2 + j] << 24) >> 24) & 0xff;
    };
    negBlock(1);
    negBlock(7);
    blocks[10 * 34] = 0x03; // scale bits 0x0003: a subnormal f16
    blocks[10 * 34 + 1] = 0x00;
    const file = writeGguf({ metadata: [], tensors: [{ name: 'w', type: 'Q8_0', shape: [rows, cols], data: blocks }] });
    const gguf = await GgufFile.open(bytesSource('q.gguf', file));
    const G = cols / 32;
    const scales = pool.alloc(rows * G * 4);
    const qs = pool.alloc(rows * cols);
    await gguf.readTensorQ8_0('w', new Float32Array(pool.rt.memory.buffer, scales.ptr, rows * G), new Int8Array(pool.rt.memory.buffer, qs.ptr, rows * cols));
    const lin = allocLinear(pool.rt, 'w', 'q8', rows, cols);
    packLinearFromQ8Planar(pool.k, lin, scales.ptr, qs.ptr, 'w');
    const dec = decodeQ8(bytesOf(pool, lin.ptr, lin.bytes), rows, cols);
    const readerValues = new Float32Array(rows * cols);
    await gguf.readTensorF32('w', readerValues);
    assert.deepEqual(readerValues, dequantizeQ8_0(blocks));
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = f16ToF32(dec.dBits[r * G + (c >> 5)]) * dec.q[r * cols + c];
        assert.ok(Object.is(v + 0, readerValues[r * cols + c] + 0), `[${r}, ${c}]: ${v} vs ${readerValues[r * cols + c]}`);
      }
    }
    // the stored quants are the file's (sign-flipped with a negative scale), not re-quantised ones
    assert.equal(dec.dBits[0], blocks[0] | (blocks[1] << 8));
    assert.equal(dec.q[0], (blocks[2] << 24) >> 24);
    assert.equal(dec.dBits[1], (blocks[34] | (blocks[35] << 8)) & 0x7fff);
    assert.equal(dec.q[32], -((blocks[36] << 24) >> 24) | 0);
  });

  test('pack_q8_planar refuses scales that are not f16 values and a −128 quant under a negative scale', () => {
    const pool = poolOf('simd');
    const rows = 3, cols = 64;
    for (const [scale, q0, badIndex] of [[0.1, 5, 2], [-0.5, -128, 2], [-0.5, -127, -1], [NaN, 1, 2], [70000, 1, 2], [2 ** -24, -128, -1]] as const) {
      pool.reset();
      const scales = pool.f32From(new Float32Array(rows * 2).fill(0.25).map((v, i) => (i === 2 ? scale : v)));
      const qs = pool.alloc(rows * cols);
      const q = new Int8Array(pool.rt.memory.buffer, qs.ptr, rows * cols).fill(3);
      q[cols] = q0; // row 1, group 0 (index 2 = 1·G + 0)
      const out = pool.alloc(packedBytes('q8', rows, cols));
      assert.equal(pool.k.pack_q8_planar(out.ptr, scales.ptr, qs.ptr, rows, cols), badIndex, `scale ${scale}, q ${q0}`);
      if (badIndex >= 0) {
        const lin = { ptr: out.ptr, rows, cols, bytes: out.bytes, dtype: 'q8' as const };
        assert.throws(() => packLinearFromQ8Planar(pool.k, lin, scales.ptr, qs.ptr, 'output.weight'), /output\.weight: row 1, columns 0\.\.31: expected a finite f16 scale/);
      } else {
        const dec = decodeQ8(bytesOf(pool, out.ptr, out.bytes), rows, cols);
        assert.equal(f16ToF32(dec.dBits[2]) * dec.q[cols], scale * q0);
      }
    }
  });

  test('quant_x_q8 on special values: zeros, −0, tiny groups (< 2^-120 → zero), subnormals, huge values, ties', () => {
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
      const bytes = n * 3 * 68;
      const out = pool.alloc(bytes);
      const twin = pool.alloc(bytes);
      pool.k.quant_x_q8(out.ptr, xb.ptr, n, cols);
      pool.k.quant_x_q8_ref(twin.ptr, xb.ptr, n, cols);
      const want = quantizeX(x, n, cols);
      assert.deepEqual(new Int16Array(pool.rt.memory.buffer, out.ptr, n * 96), want.q, build);
      assert.deepEqual(new Float32Array(pool.rt.memory.buffer, out.ptr + n * 3 * 64, n * 3), want.s, build);
      assert.deepEqual(bytesOf(pool, twin.ptr, bytes), bytesOf(pool, out.ptr, bytes));
      assert.equal(want.s[3], 0, 'a group below 2^-120 gets scale 0');
      assert.ok(want.s[4] > 0, 'a group just above 2^-120 is quantised');
      // the round trip: |x − s·q| ≤ s/2 (+ the f32 rounding of 127/amax and of x·inv)
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < cols; c++) {
          const s = want.s[i * 3 + (c >> 5)];
          if (s === 0) continue;
          const err = Math.abs(x[i * cols + c] - s * want.q[i * 96 + c]);
          assert.ok(err <= s * (0.5 + 1e-5), `row ${i} col ${c}: ${err} vs s/2 = ${s / 2}`);
        }
      }
    }
  });
});
