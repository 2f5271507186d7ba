// Plain-TS oracles for the bf16 / q8 / q4 weight dtypes, written from the layout documentation
// (src/kernels/linear.ts, assembly/matmul_*.ts), independent of the AssemblyScript code:
//  - decoders of the packed bytes (which also check that every padding byte is zero),
//  - the activation quantiser (bit-exact model of quant_x_q8),
//  - the kernels' f32 arithmetic (bit-exact model of the plain-SIMD build) and the exact value of the
//    quantised math in f64 (dequantise, then an f64 dot product).
import assert from 'node:assert/strict';
import { f16ToF32, f32BitsToF16Bits } from '../../src/weights/tensor.js';

export const GROUP = 32;
const f32 = Math.fround;

/** Round half to even (JS Math.round rounds half up). */
export function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The smallest f16 ≥ t (t ≥ 0 finite, ≤ 65504), as a bit pattern. */
export function f16CeilBits(t: number): number {
  if (t <= 0) return 0;
  const bits = new Uint32Array(new Float32Array([t]).buffer)[0];
  let h = f32BitsToF16Bits(bits);
  while (f16ToF32(h) < t) h++;
  while (h > 0 && f16ToF32(h - 1) >= t) h--;
  return h;
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

/** Quantised weights: q [rows, cols] and the f16 scale bits [rows, G]. */
export interface QuantWeights {
  readonly q: Int8Array; // [rows, cols]
  readonly dBits: Uint16Array; // [rows, G]
}

/** q8 panels → quants and scales, checking zero padding (quants beyond cols, whole padding rows). */
export function decodeQ8(bytes: Uint8Array, rows: number, cols: number): QuantWeights {
  const G = Math.ceil(cols / GROUP);
  assert.equal(bytes.length, 136 * G * Math.ceil(rows / 4), 'q8 packed size');
  const q = new Int8Array(rows * cols);
  const dBits = new Uint16Array(rows * G);
  for (let r = 0; r < Math.ceil(rows / 4) * 4; r++) {
    const rr = r & 3;
    for (let g = 0; g < G; g++) {
      const grp = (r >> 2) * 136 * G + 136 * g;
      for (let j = 0; j < GROUP; j++) {
        const kb = j >> 4; // k-block 2g + kb, columns c0 = 32g + 16kb
        const c = j & 15; // byte 2i = column c0 + i, byte 2i + 1 = column c0 + 8 + i
        const at = grp + 64 * kb + 16 * rr + (c < 8 ? 2 * c : 2 * (c - 8) + 1);
        const v = (bytes[at] << 24) >> 24;
        const col = g * GROUP + j;
        if (r < rows && col < cols) q[r * cols + col] = v;
        else assert.equal(v, 0, `q8 padding quant at row ${r}, col ${col}`);
      }
      const h = u16(bytes, grp + 128 + 2 * rr);
      if (r < rows) dBits[r * G + g] = h;
      else assert.equal(h, 0, `q8 padding scale at row ${r}`);
      assert.equal(h & 0x8000, 0, 'q8 scales are stored non-negative');
    }
  }
  return { q, dBits };
}

/** q4 panels → quants and scales, checking zero padding. */
export function decodeQ4(bytes: Uint8Array, rows: number, cols: number): QuantWeights {
  const G = Math.ceil(cols / GROUP);
  assert.equal(bytes.length, 72 * G * Math.ceil(rows / 4), 'q4 packed size');
  const q = new Int8Array(rows * cols);
  const dBits = new Uint16Array(rows * G);
  for (let r = 0; r < Math.ceil(rows / 4) * 4; r++) {
    const rr = r & 3;
    for (let g = 0; g < G; g++) {
      const grp = (r >> 2) * 72 * G + 72 * g;
      for (let j = 0; j < GROUP; j++) {
        // byte 8h + i: column 16h + i (bits 0..3), column 16h + 8 + i (bits 4..7)
        const h = j >> 4;
        const i = j & 7;
        const high = (j & 8) !== 0;
        const b = bytes[grp + 16 * rr + 8 * h + i];
        const nib = high ? b >> 4 : b & 15;
        const v = nib >= 8 ? nib - 16 : nib;
        const col = g * GROUP + j;
        if (r < rows && col < cols) q[r * cols + col] = v;
        else assert.equal(v, 0, `q4 padding quant at row ${r}, col ${col}`);
      }
      const h = u16(bytes, grp + 64 + 2 * rr);
      if (r < rows) dBits[r * G + g] = h;
      else assert.equal(h, 0, `q4 padding scale at row ${r}`);
      assert.equal(h & 0x8000, 0, 'q4 scales are stored non-negative');
    }
  }
  return { q, dBits };
}

/** Dequantised weights d·q as f64 values. */
export function dequantize(w: QuantWeights, rows: number, cols: number): Float64Array {
  const G = Math.ceil(cols / GROUP);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = f16ToF32(w.dBits[r * G + (c >> 5)]) * w.q[r * cols + c];
  }
  return out;
}

/** The prepared input: quants [n, 32·G] and scales [n, G]. */
export interface PreparedX {
  readonly q: Int16Array;
  readonly s: Float32Array;
}

const X_TINY = 2 ** -120;

/** quant_x_q8 in plain TS (bit-exact model of the documented rule). */
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
      s[i * G + g] = Number.isNaN(amax) ? NaN : amax >= X_TINY ? f32(amax / 127) : 0;
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
 * The q8/q4 kernels' arithmetic in the plain-SIMD build, bit for bit: per output, group by group,
 * acc ← f32(f32(2^k·Σ)·f32(d·2^-k·s)) + acc (k = 8 for q8, 12 for q4; both scalings exact).
 */
export function quantMatmulF32(kind: 'q8' | 'q4', w: QuantWeights, x: PreparedX, n: number, rows: number, cols: number): Float32Array {
  const G = Math.ceil(cols / GROUP);
  const k = kind === 'q8' ? 8 : 12;
  const out = new Float32Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let g = 0; g < G; g++) {
        let sum = 0;
        for (let c = g * GROUP; c < Math.min(cols, (g + 1) * GROUP); c++) sum += w.q[r * cols + c] * x.q[i * G * GROUP + c];
        const t = f32(f32(f16ToF32(w.dBits[r * G + g]) * 2 ** -k) * x.s[i * G + g]);
        acc = f32(f32(sum * 2 ** k * t) + acc); // sum·2^k·t is exact in f64 (≤ 48 bits): one rounding, as in f32
      }
      out[i * rows + r] = acc;
    }
  }
  return out;
}

/** The exact value of the quantised math, Σ_c d·qw·s·qx in f64, and Σ_g |d·s·Σ_g| (the rounding scale). */
export function quantMatmulExact(w: QuantWeights, x: PreparedX, n: number, rows: number, cols: number): { want: Float64Array; mag: Float64Array } {
  const G = Math.ceil(cols / GROUP);
  const want = new Float64Array(n * rows);
  const mag = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let total = 0;
      let m = 0;
      for (let g = 0; g < G; g++) {
        let sum = 0;
        for (let c = g * GROUP; c < Math.min(cols, (g + 1) * GROUP); c++) sum += w.q[r * cols + c] * x.q[i * G * GROUP + c];
        const v = f16ToF32(w.dBits[r * G + g]) * x.s[i * G + g] * sum;
        total += v;
        m += Math.abs(v);
      }
      want[i * rows + r] = total;
      mag[i * rows + r] = m;
    }
  }
  return { want, mag };
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
