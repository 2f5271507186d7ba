// The loaders' value scans (assembly/scan.ts scan_f32 / scan_bf16, and src/kernels/scan.ts wasmFinder
// over them): the first value beyond a magnitude limit or not a number, as the scalar twins and the
// JavaScript finder find it, on both builds; wasmFinder also for limits that are not f32 values.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, createRng, poolCache } from './harness.js';
import { JS_FINDER } from '../../src/weights/tensor.js';
import { wasmFinder } from '../../src/kernels/scan.js';

const poolOf = poolCache();

/** Mostly values within ±limit, some beyond it, some ±Inf / NaN (f32 bits). */
function values(seed: number, n: number, limit: number, odd: number): Float32Array {
  const rng = createRng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 2 * rng.next() - 1;
    const r = odd > 0 ? rng.nextU32() % odd : 1;
    v[i] = r === 0 ? [Infinity, -Infinity, NaN, limit * 1.5, -limit * 3][rng.nextU32() % 5]! : r === 1 && odd > 0 ? Math.fround(limit) * (u < 0 ? -1 : 1) : u * limit;
  }
  return v;
}

describe('value scans (scan_f32, scan_bf16, wasmFinder) = their twins and the JavaScript finder', () => {
  for (const build of BUILDS) {
    test(`scan_f32 / scan_bf16 (${build}): every length, values at, within and beyond the limit, Inf and NaN`, () => {
      const pool = poolOf(build);
      let found = 0;
      fc.assert(fc.property(fc.integer({ min: 0, max: 70 }), fc.constantFrom(1, 2.5, 65504, 3.4028234663852886e38), fc.constantFrom(0, 9, 40, 200), fc.integer(), (n, limit, odd, seed) => {
        pool.reset();
        const v = values(seed, n, limit, odd);
        const b = pool.f32From(v.length > 0 ? v : [0]);
        const want = JS_FINDER.f32(v, limit);
        if (want >= 0) found++;
        assert.equal(pool.k.scan_f32(b.ptr, n, limit), want, 'scan_f32');
        assert.equal(pool.k.scan_f32_ref(b.ptr, n, limit), want, 'scan_f32_ref');
        // the same values' bf16 bits (the high halves), against the limit's bf16 magnitude bits
        const bits = new Uint16Array(new Uint32Array(v.buffer).map((x) => x >>> 16));
        const limitBits = Math.min(0x7f7f, new Uint32Array(new Float32Array([limit]).buffer)[0]! >>> 16);
        const hb = pool.u8From(new Uint8Array(bits.buffer.byteLength > 0 ? bits.buffer : new ArrayBuffer(2)));
        const wantB = JS_FINDER.bf16(bits, limitBits);
        assert.equal(pool.k.scan_bf16(hb.ptr, n, limitBits), wantB, 'scan_bf16');
        assert.equal(pool.k.scan_bf16_ref(hb.ptr, n, limitBits), wantB, 'scan_bf16_ref');
        pool.checkGuards();
      }), { numRuns: 400, seed: 8181 });
      assert.ok(found > 100, `cases with a value to find: ${found}`);
    });
  }

  test('wasmFinder: arrays in the runtime memory (the SIMD scan) and elsewhere (JS), any positive limit', () => {
    const pool = poolOf('relaxed');
    const finder = wasmFinder(pool.rt);
    fc.assert(fc.property(fc.integer({ min: 1, max: 90 }), fc.constantFrom(65504, 65504.7, 1e-3 + 1, 1e39, Number.MAX_VALUE), fc.constantFrom(0, 7, 30), fc.integer(), (n, limit, odd, seed) => {
      pool.reset();
      const v = values(seed, n, 65504, odd);
      v[(seed >>> 0) % n] = Math.fround(limit); // a value at the limit rounded to f32 (above it for 65504.7: beyond)
      const b = pool.f32From(v);
      const inside = new Float32Array(pool.rt.memory.buffer, b.ptr, n);
      const want = JS_FINDER.f32(v, limit);
      assert.equal(finder.f32(inside, limit), want, `in memory, limit ${limit}`);
      assert.equal(finder.f32(v, limit), want, `elsewhere, limit ${limit}`);
      for (const at of [0, 1, Math.floor(n / 2)]) assert.equal(finder.f32(inside.subarray(at), limit), JS_FINDER.f32(v.subarray(at), limit), `subarray at ${at}`);
    }), { numRuns: 200, seed: 9292 });
  });
});
