#!/usr/bin/env node
// How this engine compiles WebAssembly's relaxed integer dot products, measured on this machine:
// the peaks of independent chains of i32x4.dot_i16x8_s + add (the op of spechub's W8A8 batch kernels),
// i16x8.relaxed_dot_i8x16_i7x16_s + i16 add (its 4/5-bit batch kernels) and
// i32x4.relaxed_dot_i8x16_i7x16_add_s (no spechub kernel), and whether the last computes a + Σ of 4
// byte products on a few vectors. docs/performance.md §7 (session 19) quotes it for Node 20, 22 and 24:
// V8 13 (Node 24) emits one AVX-VNNI vpdpbusd for the dot-add where the CPU has it; V8 11.3 (Node 20)
// emits pmaddubsw, pmaddwd, paddd and, when the accumulator is another value than the first operand,
// returns twice the dot product instead of the sum.
//
//   node scripts/probe-dot-add.mjs            (any Node >= 20; compiles a small module with asc first)
import asc from 'assemblyscript/asc';
import { setFlagsFromString } from 'node:v8';

try {
  setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20; later versions have it on by default
} catch {
  // no such flag: relaxed SIMD is on
}

// 12 independent chains per op (enough to cover the latency at two ops per cycle), nothing else in the loop
const chains = (name, type, step, init, sum) => `
export function ${name}(iters: i32): i32 {
  const k = i8x16.splat(<i8>((iters | 3) & 0x7f));
  ${Array.from({ length: 12 }, (_, j) => `let a${j} = ${init(`iters + ${j}`)};`).join(' ')}
  for (let i = 0; i < iters; i++) {
    ${Array.from({ length: 12 }, (_, j) => `a${j} = ${step(`a${j}`)};`).join('\n    ')}
  }
  let s: ${type} = a0;
  ${Array.from({ length: 11 }, (_, j) => `s = ${sum('s', `a${j + 1}`)};`).join(' ')}
  return i32x4.extract_lane(s, 0);
}`;
const source = [
  chains('dot_i16', 'v128', (a) => `i32x4.add(${a}, i32x4.dot_i16x8_s(${a}, k))`, (v) => `i32x4.splat(${v})`, (s, a) => `i32x4.add(${s}, ${a})`),
  chains('dot_i8', 'v128', (a) => `i16x8.add(${a}, i16x8.relaxed_dot_i8x16_i7x16_s(${a}, k))`, (v) => `i16x8.splat(<i16>(${v}))`, (s, a) => `i16x8.add(${s}, ${a})`),
  chains('dot_add', 'v128', (a) => `i32x4.relaxed_dot_i8x16_i7x16_add_s(${a}, k, ${a})`, (v) => `i32x4.splat(${v})`, (s, a) => `i32x4.add(${s}, ${a})`),
  `export function dot_add_once(a: i32, k: i32, c: i32): i32 {
  return i32x4.extract_lane(i32x4.relaxed_dot_i8x16_i7x16_add_s(i32x4.splat(a), i8x16.splat(<i8>k), i32x4.splat(c)), 0);
}`,
].join('\n');

const { binary, stderr } = await asc.compileString(source, { optimizeLevel: 3, runtime: 'stub', enable: ['simd', 'relaxed-simd'] });
if (!binary) throw new Error(`asc failed: ${stderr.toString()}`);
const { instance } = await WebAssembly.instantiate(binary, { env: { abort() { throw new Error('abort'); } } });
const k = instance.exports;

/** Best of 9 timings of ~50 ms, in GOP/s (2 per multiply-add). */
function peak(fn, macsPerIter) {
  fn(1 << 12);
  let iters = 1 << 14;
  for (;;) {
    const t = performance.now();
    fn(iters);
    if (performance.now() - t >= 50) break;
    iters *= 2;
  }
  let best = 0;
  for (let s = 0; s < 9; s++) {
    const t = performance.now();
    fn(iters);
    best = Math.max(best, (2 * macsPerIter * iters) / ((performance.now() - t) * 1e6));
  }
  return best;
}

const bytes = (a) => ((a << 24) >> 24) + ((a << 16) >> 24) + ((a << 8) >> 24) + (a >> 24);
const cases = [[1, 3, 0], [1, 3, 1], [0x01020304, 5, 100], [-1, 2, 7], [0x7f80017f, 127, -5]];
const wrong = cases.filter(([a, kk, c]) => k.dot_add_once(a, kk, c) !== ((c + kk * bytes(a)) | 0));
const { cpus } = await import('node:os');
console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${cpus()[0]?.model ?? 'unknown CPU'}, one thread`);
console.log(`i32x4.dot_i16x8_s + add:                     ${peak(k.dot_i16, 96).toFixed(1)} GOP/s`);
console.log(`i16x8.relaxed_dot_i8x16_i7x16_s + i16 add:   ${peak(k.dot_i8, 192).toFixed(1)} GOP/s`);
console.log(`i32x4.relaxed_dot_i8x16_i7x16_add_s:         ${peak(k.dot_add, 192).toFixed(1)} GOP/s`);
console.log(`dot-add on ${cases.length} vectors: ${wrong.length === 0 ? 'a + Σ byte products, as specified' : `${wrong.length} wrong, e.g. a = ${wrong[0][0]}, k = ${wrong[0][1]}, c = ${wrong[0][2]} gave ${k.dot_add_once(...wrong[0])} (expected ${(wrong[0][2] + wrong[0][1] * bytes(wrong[0][0])) | 0})`}`);
