import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bf16ToF32, f16BitsToF32Bits, f16ToF32, f32BitsToBf16Bits, f32BitsToF16Bits } from '../../src/weights/tensor.js';

const bitsToF32 = (u: number): number => new Float32Array(new Uint32Array([u]).buffer)[0];
const f32ToBits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];

test('f16: known values (normals, subnormals, extremes, ±0, ±Inf, NaN)', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x03ff, 1023 * 2 ** -24],
    [0x0001, 2 ** -24],
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [h, v] of cases) {
    assert.equal(f16ToF32(h), v, `0x${h.toString(16)}`);
    assert.equal(bitsToF32(f16BitsToF32Bits(h)), v, `bits 0x${h.toString(16)}`);
  }
  assert.ok(Object.is(f16ToF32(0x8000), -0));
  assert.equal(f16BitsToF32Bits(0x8000), 0x80000000);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)) && Number.isNaN(bitsToF32(f16BitsToF32Bits(0x7c01))));
  assert.equal(f16BitsToF32Bits(0x7e01), 0x7fc02000); // NaN payload kept
});

test('f16: encoding ties go to even, in normals and subnormals; overflow at 65520', () => {
  const enc = (x: number): number => f32BitsToF16Bits(f32ToBits(x));
  assert.equal(enc(1 + 2 ** -11), 0x3c00); // halfway 1 … 1+2^-10: even is 1
  assert.equal(enc(1 + 3 * 2 ** -11), 0x3c02); // halfway 1+2^-10 … 1+2^-9: even is 1+2^-9
  assert.equal(enc(2 ** -25), 0x0000); // halfway 0 … 2^-24
  assert.equal(enc(3 * 2 ** -25), 0x0002);
  assert.equal(enc(-(2 ** -26)), 0x8000);
  assert.equal(enc(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
  assert.equal(enc(65519), 0x7bff);
  assert.equal(enc(65520), 0x7c00);
  assert.equal(enc(-1e9), 0xfc00);
});

test('f16: all 65536 patterns: the bit-level and arithmetic decoders agree, and encoding inverts decoding', () => {
  for (let h = 0; h < 0x10000; h++) {
    const bits = f16BitsToF32Bits(h);
    const v = f16ToF32(h);
    if (Number.isNaN(v)) {
      assert.ok(Number.isNaN(bitsToF32(bits)), `NaN 0x${h.toString(16)}`);
      assert.equal(f32BitsToF16Bits(bits) & 0x7c00, 0x7c00);
      assert.notEqual(f32BitsToF16Bits(bits) & 0x3ff, 0);
    } else {
      assert.ok(Object.is(bitsToF32(bits), v), `0x${h.toString(16)}: ${bitsToF32(bits)} vs ${v}`);
      assert.equal(f32BitsToF16Bits(bits), h, `round trip 0x${h.toString(16)}`);
    }
  }
});

test('f16: encoding rounds every f32 to the nearest f16, ties to even, overflow to Inf', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
      const x = bitsToF32(u);
      fc.pre(!Number.isNaN(x));
      const h = f32BitsToF16Bits(u);
      const y = f16ToF32(h);
      assert.equal(Math.sign(y) || (Object.is(y, -0) ? -1 : 1), Math.sign(x) || (Object.is(x, -0) ? -1 : 1));
      const ax = Math.abs(x);
      if (ax >= 65520) {
        assert.equal(Math.abs(y), Infinity); // 65520 = max + half an ulp: rounds up to Inf (tie goes to even = Inf)
        return;
      }
      // Compare with the two neighbours of h (same sign): none is strictly closer; a tie picks the even one.
      const mag = h & 0x7fff;
      for (const other of [mag - 1, mag + 1]) {
        if (other < 0 || other > 0x7bff) continue;
        const d0 = Math.abs(ax - Math.abs(y));
        const d1 = Math.abs(ax - f16ToF32(other));
        assert.ok(d0 <= d1, `x=${x}: chose ${y}, ${f16ToF32(other)} is closer`);
        if (d0 === d1) assert.equal(mag & 1, 0, `tie at x=${x} must go to even`);
      }
    }),
    { numRuns: 20000 },
  );
});

test('bf16: decoding is the top half of an f32; encoding rounds to nearest even and keeps NaN', () => {
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc049), -3.140625);
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.ok(Number.isNaN(bf16ToF32(0x7fc1)));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
      const x = bitsToF32(u);
      const b = f32BitsToBf16Bits(u);
      if (Number.isNaN(x)) {
        assert.ok(Number.isNaN(bf16ToF32(b)));
        return;
      }
      const lo = u & 0xffff;
      const trunc = u >>> 16;
      const expected = lo > 0x8000 || (lo === 0x8000 && (trunc & 1) === 1) ? trunc + 1 : trunc;
      assert.equal(b, expected & 0xffff);
      assert.equal(f32ToBits(bf16ToF32(b)), (b << 16) >>> 0);
    }),
    { numRuns: 20000 },
  );
});
