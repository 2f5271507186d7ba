// The benches' compute ceilings (bench/lib/bandwidth.ts): which integer-dot probe bounds a tensor
// type's prefill kernel in each build, and the mixed-type prefill ceiling of a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefillCeiling, prefillPeakOp, readKernelBytes, validateReadKernel } from '../../bench/lib/bandwidth.js';

test('prefillPeakOp: byte dots for the 4/5-bit types in relaxed builds only, i16 otherwise, none for floats', () => {
  for (const t of ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K']) {
    assert.equal(prefillPeakOp(t, 'relaxed'), 'i8', t);
    assert.equal(prefillPeakOp(t, 'relaxed-mt'), 'i8', t);
    assert.equal(prefillPeakOp(t, 'simd'), 'i16', t);
  }
  for (const t of ['Q8_0', 'Q6_K', 'Q3_K', 'Q2_K', 'IQ4_NL', 'IQ4_XS']) assert.equal(prefillPeakOp(t, 'relaxed'), 'i16', t);
  for (const t of ['F32', 'F16', 'BF16']) assert.equal(prefillPeakOp(t, 'relaxed'), null, t);
});

test('prefillCeiling: threads ÷ Σ 2·weights ÷ peak over the types, null when a peak is missing', () => {
  const peaks = { i16: 80, i8: 160 };
  // 1e9 Q8_0 weights at 80 GOP/s: 25 ms a token; 2e9 Q4_K weights at 160: 25 ms more → 20 tok/s per thread
  assert.ok(Math.abs(prefillCeiling({ Q8_0: 1e9, Q4_K: 2e9 }, 'relaxed', 1, peaks)! - 20) < 1e-9);
  assert.ok(Math.abs(prefillCeiling({ Q8_0: 1e9, Q4_K: 2e9 }, 'relaxed', 2, peaks)! - 40) < 1e-9);
  // the plain build runs Q4_K on i16 dots: 25 + 50 ms
  assert.ok(Math.abs(prefillCeiling({ Q8_0: 1e9, Q4_K: 2e9 }, 'simd', 1, peaks)! - 1000 / 75) < 1e-9);
  assert.equal(prefillCeiling({ Q4_K: 1e9 }, 'relaxed', 1, { i16: 80, i8: null }), null);
  assert.equal(prefillCeiling({ F32: 1e9 }, 'relaxed', 1, peaks), null);
  assert.equal(prefillCeiling({}, 'relaxed', 1, peaks), null);
});

test('the read-bandwidth kernel: 8 interleaved streams sum every 32-bit word of the range exactly once', () => {
  validateReadKernel();
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const read = new WebAssembly.Instance(new WebAssembly.Module(readKernelBytes()), { env: { memory } }).exports.read as (p: number, n: number) => number;
  const u32 = new Uint32Array(memory.buffer);
  // word i holds 1 << (i % 29) + i: a sum that misses or repeats any 64-byte piece of any stream differs
  for (let i = 0; i < u32.length; i++) u32[i] = ((1 << (i % 29)) + i) >>> 0;
  for (const [p, n] of [[0, 512], [512, 4096], [1024, 65536]] as const) {
    let want = 0;
    for (let i = p / 4; i < (p + n) / 4; i++) want = (want + u32[i]!) | 0;
    assert.equal(read(p, n), want, `read(${p}, ${n})`);
  }
});
