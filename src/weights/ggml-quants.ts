/**
 * GGML tensor types: the block layouts of the quantised types, and plain-TS codecs that reproduce
 * ggml's reference code bit for bit (ggml/src/ggml-quants.c of the llama.cpp release node-llama-cpp
 * pins). Written from ggml's definitions; tests compare them with ggml's own shared library.
 *
 * - `quantizeGgml(type, src, rows, cols)` is what llama.cpp's quantizer writes into a model file
 *   (`ggml_quantize_chunk` without an importance matrix): the `quantize_row_*_ref` functions for Q4_0
 *   … Q6_K (including the K-quants' iterative scale searches make_qx_quants / make_q3_quants /
 *   make_qkx2_quants), and for IQ4_NL / IQ4_XS the model-file path (`quantize_iq4_*`, 7 scale trials).
 * - `dequantizeGgml(type, blocks, dst)` is `dequantize_row_*`: the exact f32 values llama.cpp computes
 *   with (its embedding lookup returns them as they are).
 *
 * Every f32 operation of the C code is one `Math.fround` of the same operation in f64 (exact IEEE
 * single rounding for + − × ÷ √), in the C code's order; ggml's base library is built without FMA
 * contraction, so none is modelled. Casts follow x86-64 (float → int truncates; a NaN or an
 * out-of-range value becomes INT32_MIN, whose low byte is 0), so even NaN inputs give ggml's bytes.
 *
 * Block layouts (little-endian; d, m, dmin are f16; one block covers `block` consecutive values of a row):
 *   Q4_0   32 values, 18 B: d, qs[16]: value j = d·(q − 8), q = qs[j] & 15 (j < 16), qs[j−16] >> 4
 *   Q4_1   32 values, 20 B: d, m, qs[16]: value = d·q + m
 *   Q5_0   32 values, 22 B: d, qh (u32: bit j = 5th bit of value j), qs[16]: value = d·(q − 16)
 *   Q5_1   32 values, 24 B: d, m, qh, qs[16]: value = d·q + m
 *   Q8_0   32 values, 34 B: d, qs[32] (int8): value = d·q
 *   Q2_K  256 values, 84 B: scales[16] (4-bit scale | 4-bit min << 4 per 16 values), qs[64] (2 bits), d, dmin:
 *          value = d·sc·q − dmin·m
 *   Q3_K  256 values, 110 B: hmask[32], qs[64] (2 low bits), scales[12] (16 × 6 bits, −32 offset), d:
 *          value = d·(sc − 32)·(q − 4·(1 − hbit))
 *   Q4_K  256 values, 144 B: d, dmin, scales[12] (8 × 6-bit scale and min), qs[128]: value = d·sc·q − dmin·m
 *   Q5_K  256 values, 176 B: d, dmin, scales[12], qh[32], qs[128]: as Q4_K with 5-bit q
 *   Q6_K  256 values, 210 B: ql[128], qh[64], scales[16] (int8), d: value = d·sc·(q − 32), q 6 bits
 *   IQ4_NL 32 values, 18 B: d, qs[16]: value = d·KVALUES_IQ4NL[q]
 *   IQ4_XS 256 values, 136 B: d, scales_h (u16), scales_l[4], qs[128]: value = d·(ls − 32)·KVALUES_IQ4NL[q]
 * (the exact bit positions are in each codec below.)
 *
 * Browser-safe.
 */
import { InvalidArgumentError } from '../errors.js';
import { f16ToF32, f32BitsToF16Bits } from './f16.js';

/** ggml's tensor type codes for the types spechub reads, by GGML name. */
export const GGML_TYPE_CODES = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14,
  IQ4_NL: 20, IQ4_XS: 23, BF16: 30,
} as const;

/** A GGML tensor type spechub reads (and writes). */
export type GgmlType = keyof typeof GGML_TYPE_CODES;

/** The quantised (block) types among them. */
export type GgmlQuantType = Exclude<GgmlType, 'F32' | 'F16' | 'BF16'>;

/** Every readable type, in code order. */
export const GGML_TYPES: readonly GgmlType[] = Object.keys(GGML_TYPE_CODES) as GgmlType[];

/** The quantised types, in code order. */
export const GGML_QUANT_TYPES: readonly GgmlQuantType[] = GGML_TYPES.filter((t): t is GgmlQuantType => !['F32', 'F16', 'BF16'].includes(t));

/** Names of the other ggml type codes, for messages about tensors spechub cannot read. */
export const GGML_OTHER_TYPE_NAMES: Readonly<Record<number, string>> = {
  4: 'Q4_2', 5: 'Q4_3', 9: 'Q8_1', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 21: 'IQ3_S', 22: 'IQ2_S',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 31: 'Q4_0_4_4', 32: 'Q4_0_4_8', 33: 'Q4_0_8_8', 34: 'TQ1_0',
  35: 'TQ2_0', 36: 'IQ4_NL_4_4', 37: 'IQ4_NL_4_8', 38: 'IQ4_NL_8_8', 39: 'MXFP4', 40: 'NVFP4', 41: 'Q1_0', 42: 'Q2_0',
};

/** Values per block and bytes per block of each type (1 value per "block" for F32/F16/BF16). */
export const GGML_BLOCK: Readonly<Record<GgmlType, { readonly values: number; readonly bytes: number }>> = {
  F32: { values: 1, bytes: 4 },
  F16: { values: 1, bytes: 2 },
  BF16: { values: 1, bytes: 2 },
  Q4_0: { values: 32, bytes: 18 },
  Q4_1: { values: 32, bytes: 20 },
  Q5_0: { values: 32, bytes: 22 },
  Q5_1: { values: 32, bytes: 24 },
  Q8_0: { values: 32, bytes: 34 },
  Q2_K: { values: 256, bytes: 84 },
  Q3_K: { values: 256, bytes: 110 },
  Q4_K: { values: 256, bytes: 144 },
  Q5_K: { values: 256, bytes: 176 },
  Q6_K: { values: 256, bytes: 210 },
  IQ4_NL: { values: 32, bytes: 18 },
  IQ4_XS: { values: 256, bytes: 136 },
};

/** The type of a ggml code, or undefined when spechub does not read it. */
export function ggmlTypeOfCode(code: number): GgmlType | undefined {
  return GGML_TYPES.find((t) => GGML_TYPE_CODES[t] === code);
}

/** Whether `t` is one of the GGML types spechub reads. */
export function isGgmlType(t: string): t is GgmlType {
  return Object.hasOwn(GGML_TYPE_CODES, t);
}

/** Bytes of a row of `cols` values of `type` (cols a multiple of the block size). */
export function ggmlRowBytes(type: GgmlType, cols: number): number {
  const b = GGML_BLOCK[type];
  return (cols / b.values) * b.bytes;
}

/** The 16 values of IQ4_NL / IQ4_XS quants (ggml's kvalues_iq4nl). */
export const KVALUES_IQ4NL: readonly number[] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

// ---- f32 arithmetic as C does it ----

const f = Math.fround;
const cvtF = new Float32Array(1);
const cvtI = new Int32Array(cvtF.buffer);
const cvtU = new Uint32Array(cvtF.buffer);

/** ggml's nearest_int: (bits of (v + 1.5·2^23) & 0x7fffff) − 2^22 (round half to even for |v| < 2^22). */
function nearestInt(v: number): number {
  cvtF[0] = v + 12582912;
  return (cvtI[0] & 0x7fffff) - 0x400000;
}

/** x86-64 float → int32 conversion (cvttss2si): truncation; NaN and out-of-range → INT32_MIN. */
function truncI32(v: number): number {
  return v >= -2147483648 && v < 2147483648 ? Math.trunc(v) : -2147483648;
}

/** (int8_t)(float) as gcc compiles it: the low byte of the int32 conversion, signed. */
function castI8(v: number): number {
  return (truncI32(v) << 24) >> 24;
}

/** C's roundf: half away from zero. */
function roundf(v: number): number {
  if (!(Math.abs(v) < 4503599627370496)) return v; // NaN, ±Inf and integers beyond 2^52 are their own rounding
  return Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
}

/** ggml's GGML_FP32_TO_FP16 (round to nearest even; NaN → sign | 0x7e00). */
export function ggmlFp32ToFp16(v: number): number {
  cvtF[0] = v;
  const w = cvtU[0]!;
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) & 0x8000) | 0x7e00;
  return f32BitsToF16Bits(w);
}

/** ggml's GGML_FP16_TO_FP32 (exact). */
export const ggmlFp16ToFp32 = f16ToF32;

const GROUP_MAX_EPS = f(1e-15);

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}
function half(b: Uint8Array, at: number): number {
  return ggmlFp16ToFp32(u16(b, at));
}
function putHalf(b: Uint8Array, at: number, v: number): void {
  put16(b, at, ggmlFp32ToFp16(v));
}

/**
 * The element of x[xo, xo + n) of largest magnitude, the first of equals (0 when every element is 0
 * or NaN): the signed max that ggml's quantizers scale by.
 */
function signedAbsMax(x: Float32Array, xo: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i]!;
    const a = Math.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  return max;
}

/**
 * The header of a Q4_1 / Q5_1 block of 32 values at x[xo]: d = (max − min) / nmax and min, written
 * as halves at y[yo] and y[yo + 2]. Returns [min, 1/d] (1/d is 0 when d is 0) in f32, which the
 * block's quants are computed from.
 */
function putMinScale(x: Float32Array, xo: number, y: Uint8Array, yo: number, nmax: 15 | 31): [number, number] {
  let min = 3.4028234663852886e38; // FLT_MAX
  let max = -3.4028234663852886e38;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d = f(f(max - min) / nmax);
  const id = d !== 0 ? f(1 / d) : 0;
  putHalf(y, yo, d);
  putHalf(y, yo + 2, min);
  return [min, id];
}

/**
 * The 5-bit quants of a Q5_0 / Q5_1 block, quant(x[xo + j]) for its 32 values, as ggml packs them:
 * the low nibbles of values j and j + 16 share byte y[qsAt + j], the fifth bits make the u32 at y[qhAt].
 */
function putQ5(x: Float32Array, xo: number, quant: (v: number) => number, y: Uint8Array, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const xi0 = quant(x[xo + j]);
    const xi1 = quant(x[xo + 16 + j]);
    y[qsAt + j] = (xi0 & 0xf) | ((xi1 & 0xf) << 4);
    qh |= ((xi0 & 0x10) >>> 4) << j;
    qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
  }
  put16(y, qhAt, qh & 0xffff);
  put16(y, qhAt + 2, qh >>> 16);
}

// ---- the K-quants' scale searches (ggml-quants.c: make_qx_quants, make_q3_quants, make_qkx2_quants) ----

/**
 * One least-squares pass of the symmetric searches: l = x·iscale rounded and clamped to
 * [−nmax, nmax) for x[xo, xo + n), stored as l + offset into L[lo ..] unless L is null. Returns the
 * sums [Σ w·x·l, Σ w·l²] with w = weight(x), accumulated in f32 as ggml does.
 */
function weightedSums(
  n: number, nmax: number, x: Float32Array, xo: number, iscale: number, weight: (v: number) => number,
  L: Int8Array | Uint8Array | null, lo: number, offset: number,
): [number, number] {
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i];
    let l = nearestInt(f(iscale * v));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    if (L !== null) L[lo + i] = l + offset;
    const w = weight(v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  return [sumlx, suml2];
}

/** Symmetric quants L (offset by nmax) of x[0, n) with the best least-squares scale; returns the scale. */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array | Uint8Array, lo: number, rmseType: number): number {
  const max = signedAbsMax(x, xo, n);
  const amax = Math.abs(max);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let iscale = f(-nmax / max);
  const weight = (v: number): number => (rmseType === 1 ? f(v * v) : rmseType === 2 ? 1 : rmseType === 3 ? Math.abs(v) : f(Math.sqrt(Math.abs(v))));
  if (rmseType === 0) {
    for (let i = 0; i < n; i++) L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * x[xo + i]))));
    return f(1 / iscale);
  }
  let [sumlx, suml2] = weightedSums(n, nmax, x, xo, iscale, weight, L, lo, nmax);
  let scale = suml2 !== 0 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    [sumlx, suml2] = weightedSums(n, nmax, x, xo, iscale, weight, null, lo, nmax);
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * x[xo + i]))));
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/** Q3_K's per-16 search: symmetric 3-bit quants, refined element by element (do_rmse). */
function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const max = signedAbsMax(x, xo, n);
  const amax = Math.abs(max);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let [sumlx, suml2] = weightedSums(n, nmax, x, xo, f(-nmax / max), (v) => f(v * v), L, lo, 0);
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i];
      const w = f(v * v);
      let slx = f(sumlx - f(f(w * v) * L[lo + i]));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * L[lo + i]) * L[lo + i]));
        let newL = nearestInt(f(f(v * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== L[lo + i]) {
          slx = f(slx + f(f(w * v) * newL));
          sl2 = f(sl2 + f(f(w * newL) * newL));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            L[lo + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] += nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

/**
 * Asymmetric quants L ∈ [0, nmax] of x[0, n) with weights: value ≈ scale·L − theMin; searches nstep + 1
 * inverse scales around nmax/(max − min) for the least weighted error. Returns [scale, theMin].
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xo: number, weights: Float32Array, L: Uint8Array, lo: number, Laux: Uint8Array,
  rmin: number, rdelta: number, nstep: number, useMad: boolean,
): [number, number] {
  let min = x[xo];
  let max = x[xo];
  let sumW = weights[0];
  let sumX = f(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const v = x[xo + i];
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i];
    const l = nearestInt(f(iscale * f(v - min)));
    L[lo + i] = Math.max(0, Math.min(nmax, l));
    let diff = f(f(f(scale * L[lo + i]) + min) - v);
    diff = useMad ? Math.abs(diff) : f(diff * diff);
    bestError = f(bestError + f(weights[i] * diff));
  }
  if (nstep < 1) return [scale, -min];
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i];
      let l = nearestInt(f(iscale * f(v - min)));
      l = Math.max(0, Math.min(nmax, l));
      Laux[i] = l;
      const w = weights[i];
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXL = f(sumXL + f(f(w * l) * v));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[xo + i]);
        diff = useMad ? Math.abs(diff) : f(diff * diff);
        curError = f(curError + f(weights[i] * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/** The 6-bit scale j and min j of a Q4_K / Q5_K block's 12 scale bytes at `at` (get_scale_min_k4). */
export function kScaleMin(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j] & 63, b[at + j + 4] & 63];
  return [(b[at + j + 4] & 0xf) | ((b[at + j - 4] >> 6) << 4), (b[at + j + 4] >> 4) | ((b[at + j] >> 6) << 4)];
}

/** The 16 Q3_K scales (6 bits each, before the −32 offset) of the 12 bytes at `at`. */
export function q3kScales(b: Uint8Array, at: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? b[at + j] & 0xf : b[at + j - 8] >> 4;
    out.push(low | (((b[at + 8 + (j % 4)] >> (2 * (j >> 2))) & 3) << 4));
  }
  return out;
}

// ---- one block: quantise (src[xo ..] → dst[yo ..]) ----

type Quantizer = (x: Float32Array, xo: number, y: Uint8Array, yo: number) => void;

/** Index of the value in the sorted table nearest to v (ggml's best_index_int8). */
function bestIndex(v: number): number {
  const val = KVALUES_IQ4NL;
  if (v <= val[0]) return 0;
  if (v >= val[15]) return 15;
  let ml = 0;
  let mu = 15;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (v < val[mav]) mu = mav;
    else ml = mav;
  }
  return f(v - val[mu - 1]) < f(val[mu] - v) ? mu - 1 : mu;
}

const QUANTIZERS: Readonly<Record<GgmlQuantType, Quantizer>> = {
  Q4_0(x, xo, y, yo) {
    const max = signedAbsMax(x, xo, 32);
    const d = f(max / -8);
    const id = d !== 0 ? f(1 / d) : 0; // a NaN d is "true" in C
    putHalf(y, yo, d);
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(15, castI8(f(f(x[xo + j] * id) + 8.5))) & 0xff;
      const xi1 = Math.min(15, castI8(f(f(x[xo + 16 + j] * id) + 8.5))) & 0xff;
      y[yo + 2 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  },
  Q4_1(x, xo, y, yo) {
    const [min, id] = putMinScale(x, xo, y, yo, 15);
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(15, castI8(f(f(f(x[xo + j] - min) * id) + 0.5))) & 0xff;
      const xi1 = Math.min(15, castI8(f(f(f(x[xo + 16 + j] - min) * id) + 0.5))) & 0xff;
      y[yo + 4 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  },
  Q5_0(x, xo, y, yo) {
    const max = signedAbsMax(x, xo, 32);
    const d = f(max / -16);
    const id = d !== 0 ? f(1 / d) : 0;
    putHalf(y, yo, d);
    putQ5(x, xo, (v) => Math.min(31, castI8(f(f(v * id) + 16.5))) & 0xff, y, yo + 2, yo + 6);
  },
  Q5_1(x, xo, y, yo) {
    const [min, id] = putMinScale(x, xo, y, yo, 31);
    putQ5(x, xo, (v) => truncI32(f(f(f(v - min) * id) + 0.5)) & 0xff, y, yo + 4, yo + 8); // (uint8_t)(float)
  },
  Q8_0(x, xo, y, yo) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[xo + j]);
      amax = amax > a ? amax : a; // C's MAX: a NaN wins
    }
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    putHalf(y, yo, d);
    for (let j = 0; j < 32; j++) y[yo + 2 + j] = truncI32(roundf(f(x[xo + j] * id))) & 0xff;
  },
  Q2_K(x, xo, y, yo) {
    const L = new Uint8Array(256);
    const Laux = new Uint8Array(16);
    const weights = new Float32Array(16);
    const { scales, mins, maxScale, maxMin } = subBlockScales(16, (j) => {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l]);
      return makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, Laux, f(-0.5), f(0.1), 15, true);
    });
    // y: scales[16] at 0, qs[64] at 16, d at 80, dmin at 82
    if (maxScale > 0) {
      const iscale = f(15 / maxScale);
      for (let j = 0; j < 16; j++) y[yo + j] = nearestInt(f(iscale * scales[j])) & 0xff;
      putHalf(y, yo + 80, f(maxScale / 15));
    } else {
      for (let j = 0; j < 16; j++) y[yo + j] = 0;
      putHalf(y, yo + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = f(15 / maxMin);
      for (let j = 0; j < 16; j++) y[yo + j] = (y[yo + j] | (nearestInt(f(iscale * mins[j])) << 4)) & 0xff;
      putHalf(y, yo + 82, f(maxMin / 15));
    } else {
      putHalf(y, yo + 82, 0);
    }
    for (let j = 0; j < 16; j++) {
      requantizeSubBlock(x, xo, L, 16, j, f(half(y, yo + 80) * (y[yo + j] & 0xf)), f(half(y, yo + 82) * (y[yo + j] >> 4)), 3);
    }
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) y[yo + 16 + j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
    }
  },
  Q3_K(x, xo, y, yo) {
    // y: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108
    const L = new Int8Array(256);
    const scales = new Float32Array(16);
    for (let j = 0; j < 16; j++) scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j);
    const maxScale = signedAbsMax(scales, 0, 16);
    y.fill(0, yo + 96, yo + 108);
    if (maxScale !== 0) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = (nearestInt(f(iscale * scales[j])) << 24) >> 24; // int8_t l
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) y[yo + 96 + j] = l & 0xf;
        else y[yo + 96 + j - 8] |= (l & 0xf) << 4;
        l >>= 4;
        y[yo + 96 + 8 + (j % 4)] |= l << (2 * (j >> 2));
      }
      putHalf(y, yo + 108, f(1 / iscale));
    } else {
      putHalf(y, yo + 108, 0);
    }
    const sc6 = q3kScales(y, yo + 96);
    for (let j = 0; j < 16; j++) {
      const sc = ((sc6[j] << 24) >> 24) - 32;
      const d = f(half(y, yo + 108) * sc);
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f(x[xo + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    y.fill(0, yo, yo + 32);
    let m = 0;
    let hm = 1;
    for (let j = 0; j < 256; j++) {
      if (L[j] > 3) {
        y[yo + m] |= hm;
        L[j] -= 4;
      }
      if (++m === 32) {
        m = 0;
        hm <<= 1;
      }
    }
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) {
        y[yo + 32 + j / 4 + l] = (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)) & 0xff;
      }
    }
  },
  Q4_K(x, xo, y, yo) {
    quantizeK45(x, xo, y, yo, 15);
  },
  Q5_K(x, xo, y, yo) {
    quantizeK45(x, xo, y, yo, 31);
  },
  Q6_K(x, xo, y, yo) {
    // y: ql[128] at 0, qh[64] at 128, scales[16] (int8) at 192, d at 208
    const L = new Int8Array(256);
    const scales = new Float32Array(16);
    for (let ib = 0; ib < 16; ib++) scales[ib] = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib, 1);
    const maxScale = signedAbsMax(scales, 0, 16);
    if (Math.abs(maxScale) < GROUP_MAX_EPS) {
      y.fill(0, yo, yo + 210);
      putHalf(y, yo + 208, 0);
      return;
    }
    const iscale = f(-128 / maxScale);
    putHalf(y, yo + 208, f(1 / iscale));
    for (let ib = 0; ib < 16; ib++) y[yo + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const d = f(half(y, yo + 208) * ((y[yo + 192 + j] << 24) >> 24));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f(x[xo + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] & 0xf;
        const q2 = L[j + l + 32] & 0xf;
        const q3 = L[j + l + 64] & 0xf;
        const q4 = L[j + l + 96] & 0xf;
        y[yo + j / 2 + l] = q1 | (q3 << 4);
        y[yo + j / 2 + l + 32] = q2 | (q4 << 4);
        y[yo + 128 + j / 4 + l] = ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6)) & 0xff;
      }
    }
  },
  IQ4_NL(x, xo, y, yo) {
    // y: d at 0, qs[16] at 2
    quantizeIq4(x, xo, 32, y, yo, yo + 2, -1, -1);
  },
  IQ4_XS(x, xo, y, yo) {
    // y: d at 0, scales_h (u16) at 2, scales_l[4] at 4, qs[128] at 8
    quantizeIq4(x, xo, 256, y, yo, yo + 8, yo + 2, yo + 4);
  },
};

/**
 * The first pass of an asymmetric K-quant (Q2_K, Q4_K, Q5_K): quantize(j) fits sub-block j of `count`
 * and returns its [scale, min]. Returns them as scales[j] and mins[j] (f32), with their maxima.
 */
function subBlockScales(count: number, quantize: (j: number) => [number, number]): { scales: Float32Array; mins: Float32Array; maxScale: number; maxMin: number } {
  const scales = new Float32Array(count);
  const mins = new Float32Array(count);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < count; j++) {
    const [s, m] = quantize(j);
    scales[j] = s;
    mins[j] = m;
    if (s > maxScale) maxScale = s;
    if (m > maxMin) maxMin = m;
  }
  return { scales, mins, maxScale, maxMin };
}

/**
 * The second pass of an asymmetric K-quant: sub-block j (`size` values) quantized again with the
 * scale d and min dm the block stores, into L[size * j, size * (j + 1)) clamped to [0, nmax]. A
 * sub-block whose d is 0 keeps the quants of the first pass.
 */
function requantizeSubBlock(x: Float32Array, xo: number, L: Uint8Array, size: number, j: number, d: number, dm: number, nmax: number): void {
  if (d === 0) return;
  for (let ii = 0; ii < size; ii++) {
    const l = nearestInt(f(f(x[xo + size * j + ii] + dm) / d));
    L[size * j + ii] = Math.max(0, Math.min(nmax, l));
  }
}

/** Q4_K (nmax 15) and Q5_K (nmax 31): quantize_row_q4_K_ref / quantize_row_q5_K_ref. */
function quantizeK45(x: Float32Array, xo: number, y: Uint8Array, yo: number, nmax: 15 | 31): void {
  // y: d at 0, dmin at 2, scales[12] at 4, then Q4_K: qs[128] at 16; Q5_K: qh[32] at 16, qs[128] at 48
  const L = new Uint8Array(256);
  const Laux = new Uint8Array(32);
  const weights = new Float32Array(32);
  const { scales, mins, maxScale, maxMin } = subBlockScales(8, (j) => {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xo + 32 * j + l] * x[xo + 32 * j + l]));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xo + 32 * j + l]));
    return nmax === 15
      ? makeQkx2Quants(32, 15, x, xo + 32 * j, weights, L, 32 * j, Laux, -1, f(0.1), 20, false)
      : makeQkx2Quants(32, 31, x, xo + 32 * j, weights, L, 32 * j, Laux, f(-0.5), f(0.1), 15, false);
  });
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const sc = yo + 4;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
    if (j < 4) {
      y[sc + j] = ls;
      y[sc + j + 4] = lm;
    } else {
      y[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      y[sc + j - 4] |= (ls >> 4) << 6;
      y[sc + j] |= (lm >> 4) << 6;
    }
  }
  putHalf(y, yo, f(maxScale / 63));
  putHalf(y, yo + 2, f(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const [s, m] = kScaleMin(y, sc, j);
    requantizeSubBlock(x, xo, L, 32, j, f(half(y, yo) * s), f(half(y, yo + 2) * m), nmax);
  }
  if (nmax === 15) {
    for (let j = 0; j < 256; j += 64) {
      for (let l = 0; l < 32; l++) y[yo + 16 + j / 2 + l] = L[j + l] | (L[j + l + 32] << 4);
    }
    return;
  }
  const qh = yo + 16;
  const ql = yo + 48;
  y.fill(0, qh, qh + 32);
  let m1 = 1;
  let m2 = 2;
  for (let n = 0; n < 256; n += 64) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[n + j];
      if (l1 > 15) {
        l1 -= 16;
        y[qh + j] |= m1;
      }
      let l2 = L[n + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        y[qh + j] |= m2;
      }
      y[ql + n / 2 + j] = l1 | (l2 << 4);
    }
    m1 <<= 2;
    m2 <<= 2;
  }
}

/**
 * IQ4_NL (superBlock 32) and IQ4_XS (256): ggml's quantize_row_iq4_nl_impl with 7 scale trials and no
 * importance matrix (the model-file path). hAt/lAt: the scales_h / scales_l bytes (IQ4_XS only).
 */
function quantizeIq4(x: Float32Array, xo: number, superBlock: number, y: Uint8Array, dAt: number, qAt: number, hAt: number, lAt: number): void {
  const values = KVALUES_IQ4NL;
  const ntry = 7;
  const nb = superBlock / 32;
  const L = new Uint8Array(superBlock);
  const weight = new Float32Array(32);
  const scales = new Float32Array(nb);
  y.fill(0, qAt, qAt + superBlock / 2);
  putHalf(y, dAt, 0);
  let maxScale = 0;
  let amaxScale = 0;
  for (let ib = 0; ib < nb; ib++) {
    const xb = xo + 32 * ib;
    for (let j = 0; j < 32; j++) weight[j] = f(x[xb + j] * x[xb + j]);
    const max = signedAbsMax(x, xb, 32);
    const amax = Math.abs(max);
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    let d = f(-max / values[0]);
    let id = f(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const al = f(id * x[xb + j]);
      const l = bestIndex(al);
      L[32 * ib + j] = l;
      const q = values[l];
      const w = weight[j];
      sumqx = f(sumqx + f(f(w * q) * x[xb + j]));
      sumq2 = f(sumq2 + f(f(w * q) * q));
    }
    d = sumq2 > 0 ? f(sumqx / sumq2) : 0;
    let best = f(d * sumqx);
    for (let itry = -ntry; itry <= ntry; itry++) {
      id = f((itry + values[0]) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const l = bestIndex(f(id * x[xb + j]));
        const q = values[l];
        const w = weight[j];
        sumqx = f(sumqx + f(f(w * q) * x[xb + j]));
        sumq2 = f(sumq2 + f(f(w * q) * q));
      }
      if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
        d = f(sumqx / sumq2);
        best = f(d * sumqx);
      }
    }
    scales[ib] = d;
    const absD = Math.abs(d);
    if (absD > amaxScale) {
      amaxScale = absD;
      maxScale = d;
    }
  }
  if (nb > 1) {
    put16(y, hAt, 0);
    const d = f(-maxScale / 32);
    putHalf(y, dAt, d);
    const id = d !== 0 ? f(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < nb; ib++) {
      let l = nearestInt(f(id * scales[ib]));
      l = Math.max(-32, Math.min(31, l));
      const dl = f(d * l);
      const idl = dl !== 0 ? f(1 / dl) : 0;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndex(f(idl * x[xo + 32 * ib + j]));
      l += 32;
      const lL = l & 0xf;
      const lH = l >> 4;
      if (ib % 2 === 0) y[lAt + (ib >> 1)] = lL;
      else y[lAt + (ib >> 1)] |= lL << 4;
      scalesH |= lH << (2 * (ib % 8));
    }
    put16(y, hAt, scalesH & 0xffff);
  } else {
    putHalf(y, dAt, scales[0]);
    const id = scales[0] !== 0 ? f(1 / scales[0]) : 0;
    for (let j = 0; j < superBlock; j++) L[j] = bestIndex(f(id * x[xo + j]));
  }
  for (let i = 0; i < superBlock / 32; i++) {
    for (let j = 0; j < 16; j++) y[qAt + 16 * i + j] = L[32 * i + j] | (L[32 * i + 16 + j] << 4);
  }
}

// ---- one block: dequantise (y[yo ..] → out[oo ..]) ----

type Dequantizer = (b: Uint8Array, at: number, out: Float32Array, oo: number) => void;

/**
 * Q4_K and Q5_K blocks (dequantize_row_q4_K / dequantize_row_q5_K): 8 sub-blocks of 32 values with
 * 6-bit scales and mins; Q5_K (`five`) adds each value's fifth bit from qh[32] at 16.
 */
function dequantizeK45(b: Uint8Array, at: number, out: Float32Array, oo: number, five: boolean): void {
  const d = half(b, at);
  const min = half(b, at + 2);
  const qh = at + 16;
  let o = oo;
  for (let j = 0; j < 4; j++) {
    const q = at + (five ? 48 : 16) + 32 * j;
    const [s1, m1s] = kScaleMin(b, at + 4, 2 * j);
    const [s2, m2s] = kScaleMin(b, at + 4, 2 * j + 1);
    const d1 = f(d * s1);
    const m1 = f(min * m1s);
    const d2 = f(d * s2);
    const m2 = f(min * m2s);
    const u1 = 1 << (2 * j);
    const u2 = 2 << (2 * j);
    for (let l = 0; l < 32; l++) out[o++] = f(f(d1 * ((b[q + l] & 0xf) + (five && b[qh + l] & u1 ? 16 : 0))) - m1);
    for (let l = 0; l < 32; l++) out[o++] = f(f(d2 * ((b[q + l] >> 4) + (five && b[qh + l] & u2 ? 16 : 0))) - m2);
  }
}

const DEQUANTIZERS: Readonly<Record<GgmlQuantType, Dequantizer>> = {
  Q4_0(b, at, out, oo) {
    const d = half(b, at);
    for (let j = 0; j < 16; j++) {
      out[oo + j] = f(((b[at + 2 + j] & 0xf) - 8) * d);
      out[oo + j + 16] = f(((b[at + 2 + j] >> 4) - 8) * d);
    }
  },
  Q4_1(b, at, out, oo) {
    const d = half(b, at);
    const m = half(b, at + 2);
    for (let j = 0; j < 16; j++) {
      out[oo + j] = f(f((b[at + 4 + j] & 0xf) * d) + m);
      out[oo + j + 16] = f(f((b[at + 4 + j] >> 4) * d) + m);
    }
  },
  Q5_0(b, at, out, oo) {
    const d = half(b, at);
    const qh = (u16(b, at + 2) | (u16(b, at + 4) << 16)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[oo + j] = f((((b[at + 6 + j] & 0xf) | h0) - 16) * d);
      out[oo + j + 16] = f((((b[at + 6 + j] >> 4) | h1) - 16) * d);
    }
  },
  Q5_1(b, at, out, oo) {
    const d = half(b, at);
    const m = half(b, at + 2);
    const qh = (u16(b, at + 4) | (u16(b, at + 6) << 16)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[oo + j] = f(f(((b[at + 8 + j] & 0xf) | h0) * d) + m);
      out[oo + j + 16] = f(f(((b[at + 8 + j] >> 4) | h1) * d) + m);
    }
  },
  Q8_0(b, at, out, oo) {
    const d = half(b, at);
    for (let j = 0; j < 32; j++) out[oo + j] = f(((b[at + 2 + j] << 24) >> 24) * d);
  },
  Q2_K(b, at, out, oo) {
    const d = half(b, at + 80);
    const min = half(b, at + 82);
    let q = at + 16;
    let is = 0;
    let o = oo;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half16 = 0; half16 < 2; half16++) {
          const sc = b[at + is++];
          const dl = f(d * (sc & 0xf));
          const ml = f(min * (sc >> 4));
          for (let l = 0; l < 16; l++) out[o++] = f(f(dl * ((b[q + 16 * half16 + l] >> shift) & 3)) - ml);
        }
      }
      q += 32;
    }
  },
  Q3_K(b, at, out, oo) {
    const dAll = half(b, at + 108);
    const scales = q3kScales(b, at + 96);
    let q = at + 32;
    let m = 1;
    let is = 0;
    let o = oo;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half16 = 0; half16 < 2; half16++) {
          const dl = f(dAll * (scales[is++] - 32));
          for (let l = 0; l < 16; l++) {
            const k = 16 * half16 + l;
            const v = ((b[q + k] >> shift) & 3) - ((b[at + k] & m) !== 0 ? 0 : 4);
            out[o++] = f(dl * v);
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  },
  Q4_K(b, at, out, oo) {
    dequantizeK45(b, at, out, oo, false);
  },
  Q5_K(b, at, out, oo) {
    dequantizeK45(b, at, out, oo, true);
  },
  Q6_K(b, at, out, oo) {
    const d = half(b, at + 208);
    for (let n = 0; n < 2; n++) {
      const ql = at + 64 * n;
      const qh = at + 128 + 32 * n;
      const sc = at + 192 + 8 * n;
      const o = oo + 128 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((b[ql + l] & 0xf) | (((b[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32] & 0xf) | (((b[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((b[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32] >> 4) | (((b[qh + l] >> 6) & 3) << 4)) - 32;
        const s = (i: number) => (b[sc + i] << 24) >> 24;
        out[o + l] = f(f(d * s(is)) * q1);
        out[o + l + 32] = f(f(d * s(is + 2)) * q2);
        out[o + l + 64] = f(f(d * s(is + 4)) * q3);
        out[o + l + 96] = f(f(d * s(is + 6)) * q4);
      }
    }
  },
  IQ4_NL(b, at, out, oo) {
    const d = half(b, at);
    for (let j = 0; j < 16; j++) {
      out[oo + j] = f(d * KVALUES_IQ4NL[b[at + 2 + j] & 0xf]);
      out[oo + j + 16] = f(d * KVALUES_IQ4NL[b[at + 2 + j] >> 4]);
    }
  },
  IQ4_XS(b, at, out, oo) {
    const d = half(b, at);
    const scalesH = u16(b, at + 2);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((b[at + 4 + (ib >> 1)] >> (4 * (ib % 2))) & 0xf) | (((scalesH >> (2 * ib)) & 3) << 4);
      const dl = f(d * (ls - 32));
      const q = at + 8 + 16 * ib;
      for (let j = 0; j < 16; j++) {
        out[oo + 32 * ib + j] = f(dl * KVALUES_IQ4NL[b[q + j] & 0xf]);
        out[oo + 32 * ib + j + 16] = f(dl * KVALUES_IQ4NL[b[q + j] >> 4]);
      }
    }
  },
};

function checkQuant(where: string, type: string): asserts type is GgmlQuantType {
  if (!(GGML_QUANT_TYPES as readonly string[]).includes(type)) {
    throw new InvalidArgumentError(`${where}: expected a quantised GGML type (${GGML_QUANT_TYPES.join(', ')}), got ${JSON.stringify(type)}`);
  }
}

/**
 * Quantise row-major f32 `src` [rows, cols] into `type` blocks as llama.cpp's quantizer writes them
 * into a model file (ggml_quantize_chunk without an importance matrix). cols must be a multiple of
 * the type's block size. Returns rows·(cols / block)·blockBytes bytes.
 */
export function quantizeGgml(type: GgmlQuantType, src: Float32Array, rows: number, cols: number): Uint8Array {
  checkQuant('quantizeGgml', type);
  const blk = GGML_BLOCK[type];
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols < 0 || cols % blk.values !== 0) {
    throw new InvalidArgumentError(`quantizeGgml(${type}): expected rows >= 0 and cols a multiple of ${blk.values}, got ${rows}×${cols}`);
  }
  if (src.length !== rows * cols) throw new InvalidArgumentError(`quantizeGgml(${type}): expected ${rows * cols} values, got ${src.length}`);
  const blocks = (rows * cols) / blk.values;
  const out = new Uint8Array(blocks * blk.bytes);
  const q = QUANTIZERS[type];
  for (let b = 0; b < blocks; b++) q(src, b * blk.values, out, b * blk.bytes);
  return out;
}

/**
 * Dequantise `type` blocks into `dst` (dequantize_row_*: bit-identical to ggml). `dst.length` values are
 * written from `blocks[at ..]`; dst.length must be a multiple of the block size.
 */
export function dequantizeGgml(type: GgmlQuantType, blocks: Uint8Array, dst: Float32Array, at = 0): void {
  checkQuant('dequantizeGgml', type);
  const blk = GGML_BLOCK[type];
  if (dst.length % blk.values !== 0 || at + (dst.length / blk.values) * blk.bytes > blocks.length) {
    throw new InvalidArgumentError(`dequantizeGgml(${type}): expected whole blocks of ${blk.values} values inside the input, got ${dst.length} values at byte ${at} of ${blocks.length}`);
  }
  const dq = DEQUANTIZERS[type];
  const n = dst.length / blk.values;
  for (let b = 0; b < n; b++) dq(blocks, at + b * blk.bytes, dst, b * blk.values);
}

/**
 * The exact decomposition of `count` values of `type` blocks (from blocks[at ..]): value j =
 * scale[j]·q[j] − min[j] in real arithmetic, with q the signed integer quant (offset applied, IQ4's table
 * value) and scale, min the products of the f16 and integer scales (exact in f64). ggml's dequantised
 * f32 is this value rounded once (dequantizeGgml). For tests and error analysis.
 */
export function ggmlTerms(type: GgmlQuantType, blocks: Uint8Array, count: number, at = 0): { scale: Float64Array; q: Int16Array; min: Float64Array } {
  checkQuant('ggmlTerms', type);
  const { values, bytes } = GGML_BLOCK[type];
  const scale = new Float64Array(count);
  const q = new Int16Array(count);
  const min = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const b = at + Math.floor(j / values) * bytes;
    const c = j % values;
    let s = 0, v = 0, m = 0;
    switch (type) {
      case 'Q4_0': case 'Q4_1': case 'IQ4_NL': {
        const off = type === 'Q4_1' ? 4 : 2;
        const byte = blocks[b + off + (c & 15)];
        const u = c < 16 ? byte & 15 : byte >> 4;
        s = half(blocks, b);
        v = type === 'Q4_0' ? u - 8 : type === 'IQ4_NL' ? KVALUES_IQ4NL[u] : u;
        if (type === 'Q4_1') m = -half(blocks, b + 2);
        break;
      }
      case 'Q5_0': case 'Q5_1': {
        const one = type === 'Q5_1';
        const qh = (u16(blocks, b + (one ? 4 : 2)) | (u16(blocks, b + (one ? 6 : 4)) << 16)) >>> 0;
        const byte = blocks[b + (one ? 8 : 6) + (c & 15)];
        const u = (c < 16 ? byte & 15 : byte >> 4) | (((qh >>> c) & 1) << 4);
        s = half(blocks, b);
        v = one ? u : u - 16;
        if (one) m = -half(blocks, b + 2);
        break;
      }
      case 'Q8_0':
        s = half(blocks, b);
        v = (blocks[b + 2 + c] << 24) >> 24;
        break;
      case 'Q2_K': {
        const sc = blocks[b + (c >> 4)];
        const n = c >> 7, j2 = (c >> 5) & 3, l = c & 31;
        s = half(blocks, b + 80) * (sc & 15);
        m = half(blocks, b + 82) * (sc >> 4);
        v = (blocks[b + 16 + 32 * n + l] >> (2 * j2)) & 3;
        break;
      }
      case 'Q3_K': {
        const n = c >> 7, j2 = (c >> 5) & 3, l = c & 31;
        s = half(blocks, b + 108) * (q3kScales(blocks, b + 96)[c >> 4] - 32);
        const low = (blocks[b + 32 + 32 * n + l] >> (2 * j2)) & 3;
        v = low - ((blocks[b + l] >> (4 * n + j2)) & 1 ? 0 : 4);
        break;
      }
      case 'Q4_K': case 'Q5_K': {
        const sub = c >> 5, l = c & 31;
        const [sc, mn] = kScaleMin(blocks, b + 4, sub);
        s = half(blocks, b) * sc;
        m = half(blocks, b + 2) * mn;
        const qs = b + (type === 'Q4_K' ? 16 : 48) + 32 * (sub >> 1);
        v = sub & 1 ? blocks[qs + l] >> 4 : blocks[qs + l] & 15;
        if (type === 'Q5_K') v |= ((blocks[b + 16 + l] >> sub) & 1) << 4;
        break;
      }
      case 'Q6_K': {
        const n = c >> 7, cc = c & 127, l = cc & 31, quarter = cc >> 5;
        const ql = blocks[b + 64 * n + l + ((quarter & 1) << 5)];
        const qh = blocks[b + 128 + 32 * n + l];
        s = half(blocks, b + 208) * ((blocks[b + 192 + (c >> 4)] << 24) >> 24);
        v = ((quarter < 2 ? ql & 15 : ql >> 4) | (((qh >> (2 * quarter)) & 3) << 4)) - 32;
        break;
      }
      case 'IQ4_XS': {
        const ib = c >> 5, j2 = c & 31;
        const ls = ((blocks[b + 4 + (ib >> 1)] >> (4 * (ib % 2))) & 0xf) | (((u16(blocks, b + 2) >> (2 * ib)) & 3) << 4);
        s = half(blocks, b) * (ls - 32);
        const byte = blocks[b + 8 + 16 * ib + (j2 & 15)];
        v = KVALUES_IQ4NL[j2 < 16 ? byte & 15 : byte >> 4];
        break;
      }
    }
    scale[j] = s;
    q[j] = v;
    min[j] = m;
  }
  return { scale, q, min };
}
