// Plain-TS oracles written from the layout documentation (src/kernels/linear.ts, assembly/matmul_*.ts),
// independent of the AssemblyScript code:
//  - the decoder of BF16/F16 panels (which also checks that every padding byte is zero) and the
//    kernels' f32 arithmetic for them (bit-exact model of the plain-SIMD build);
//  - the activation quantiser's section A (bit-exact model of quant_x per 32 columns).
// The quantised types' packed data is checked through dequant_* against ggml (quant-types.test.ts).
import assert from 'node:assert/strict';

export const GROUP = 32;
import { ggmlFp16ToFp32, ggmlFp32ToFp16 } from '../../src/weights/ggml-quants.js';

const f32 = Math.fround;

/** Round half to even (JS Math.round rounds half up). */
export function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** bf16 bits → value. */
export function bf16Value(h: number): number {
  return new Float32Array(new Uint32Array([(h & 0xffff) << 16]).buffer)[0];
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

/** bf16 panels → W [rows, cols] values, checking that padding rows and columns are +0. */
export function decodeBf16(bytes: Uint8Array, rows: number, cols: number): Float32Array {
  return Float32Array.from(decodeBf16Bits(bytes, rows, cols), bf16Value);
}

/** bf16 panels → W [rows, cols] as bf16 bit patterns (NaN payloads intact), checking zero padding. */
export function decodeBf16Bits(bytes: Uint8Array, rows: number, cols: number): Uint16Array {
  const C8 = Math.ceil(cols / 8);
  assert.equal(bytes.length, 64 * C8 * Math.ceil(rows / 4), 'bf16 packed size');
  const w = new Uint16Array(rows * cols);
  for (let r = 0; r < Math.ceil(rows / 4) * 4; r++) {
    for (let c = 0; c < C8 * 8; c++) {
      // u16 index (r >> 2)·32·C8 + (c >> 3)·32 + (r & 3)·8 + 2·(c & 3) + ((c >> 2) & 1)
      const at = 2 * ((r >> 2) * 32 * C8 + (c >> 3) * 32 + (r & 3) * 8 + 2 * (c & 3) + ((c >> 2) & 1));
      const h = u16(bytes, at);
      if (r < rows && c < cols) w[r * cols + c] = h;
      else assert.equal(h, 0, `bf16 padding at row ${r}, col ${c}`);
    }
  }
  return w;
}

/** The prepared input: quants [n, 32·G] and scales [n, G]. */
export interface PreparedX {
  readonly q: Int16Array;
  readonly s: Float32Array;
}

const X_TINY = 2 ** -120;

/** Section A's rounding of d and s (as llama.cpp's q8_0 / q8_1 store them): to f16, nearest even, kept beyond ±65504. */
export function f16Round(d: number): number {
  return Math.abs(d) <= 65504 ? ggmlFp16ToFp32(ggmlFp32ToFp16(d)) : d;
}

/** quant_x's section A in plain TS (bit-exact model of the documented rule): quants [n, 32·G], scales [n, G]. */
export function quantizeX(x: Float32Array, n: number, cols: number): PreparedX {
  const G = Math.ceil(cols / GROUP);
  const q = new Int16Array(n * G * GROUP);
  const s = new Float32Array(n * G);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < G; g++) {
      let amax = 0;
      const c1 = Math.min(cols, (g + 1) * GROUP);
      for (let c = g * GROUP; c < c1; c++) {
        const v = x[i * cols + c];
        amax = Number.isNaN(v) || Number.isNaN(amax) ? NaN : Math.max(amax, Math.abs(v));
      }
      s[i * G + g] = Number.isNaN(amax) ? NaN : amax >= X_TINY ? f16Round(f32(amax / 127)) : 0;
      const inv = amax >= X_TINY ? f32(127 / amax) : 0;
      for (let c = g * GROUP; c < c1; c++) {
        const t = roundEven(f32(x[i * cols + c] * inv));
        q[i * G * GROUP + c] = Number.isNaN(t) ? 0 : Math.max(-127, Math.min(127, t));
      }
    }
  }
  return { q, s };
}

/**
 * matmul_bf16 in the plain-SIMD build, bit for bit: per output and lane l = c mod 4 of each 8-column
 * k-block, s_l ← s_l + (w[c]·x[c] + w[c+4]·x[c+4]) (x = 0 beyond cols), then (s0 + s2) + (s1 + s3).
 */
export function bf16MatmulF32(w: Float32Array, x: Float32Array, n: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(n * rows);
  const C8 = Math.ceil(cols / 8);
  const at = (a: Float32Array, row: number, c: number) => (c < cols ? a[row * cols + c] : 0);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      const s = [0, 0, 0, 0];
      for (let b = 0; b < C8; b++) {
        for (let l = 0; l < 4; l++) {
          const c = 8 * b + l;
          s[l] = f32(s[l] + f32(f32(at(w, r, c) * at(x, i, c)) + f32(at(w, r, c + 4) * at(x, i, c + 4))));
        }
      }
      out[i * rows + r] = f32(f32(s[0] + s[2]) + f32(s[1] + s[3]));
    }
  }
  return out;
}
