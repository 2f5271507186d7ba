/**
 * Packed linear-layer weights: the layouts the matmul kernels stream (assembly/matmul*.ts).
 *
 * W is [rows, cols] row-major, rows = output features. Every dtype uses the same scheme: panels of
 * 4 rows, each one sequential stream in which a k-block holds 16 bytes per row for the 4 rows in
 * turn; padding rows/cols hold zero weights. A thread can run whole panels [p0, p1) of any dtype:
 * `runLinear(k, lin, out, outStride, in, n, p0, p1)`.
 *
 * | dtype  | weight storage                         | k-block      | panel bytes        | reads x as      |
 * |--------|----------------------------------------|--------------|--------------------|-----------------|
 * | `f32`  | f32                                    | 4 cols, 64 B | 64·ceil(cols/4)    | f32 [n, cols]   |
 * | `bf16` | bf16 (RNE from f32, or bf16 bits kept) | 8 cols, 64 B | 64·ceil(cols/8)    | f32 [n, cols]   |
 * | `q8`   | int8 + f16 scale per row per 32 cols   | 16 cols      | 136·ceil(cols/32)  | prepared (q8x)  |
 * | `q4`   | 4-bit + f16 scale per row per 32 cols  | 32 cols      | 72·ceil(cols/32)   | prepared (q8x)  |
 *
 * f32: k-block b (cols 4b..4b+3) = 64 bytes: W[4p, 4b..4b+3], W[4p+1, 4b..], W[4p+2, 4b..], W[4p+3, 4b..].
 * bf16: k-block b (cols 8b..8b+7) = 64 bytes, 16 per row; in a row's 16 bytes, u32 lane l holds
 *   bf16(W[r, 8b+l]) in its low half and bf16(W[r, 8b+4+l]) in its high half (so `shl 16` and
 *   `and 0xffff0000` decode columns 8b..8b+3 and 8b+4..8b+7 in x's own order).
 * q8: group g (cols 32g..32g+31) of a panel = 136 bytes: [0, 64) row rr's quants of cols 32g..32g+15 at
 *   16·rr, [64, 128) cols 32g+16..32g+31 at 64 + 16·rr (in a row's 16 bytes, byte 2i is column +i and
 *   byte 2i + 1 column +8 + i), [128, 136) the 4 rows' f16 scales. Quants are symmetric int8
 *   (−127..127 when quantised here; GGUF Q8_0 data may hold −128).
 * q4: group g = 72 bytes: [0, 64) row rr's 16 bytes at 16·rr, byte 8h + i = q[32g + 16h + i] in its low
 *   nibble and q[32g + 16h + 8 + i] in its high nibble, 4-bit two's complement, q ∈ [−8, 7]; [64, 72) the
 *   4 rows' f16 scales. (test/kernels/quant-oracle.ts decodes both independently.)
 * q8/q4 weight value: d[r, g]·q[r, c]. Quantising at load (pack_q8 / pack_q4): d = the smallest f16 ≥
 * max|w|/127 (q8) or ≥ max(max⁺/7, max⁻/8) (q4), q = nearest(w/d): |w − d·q| ≤ d/2 for every weight.
 * Group size 32: GGUF Q8_0's block, so Q8_0 tensors load without re-quantising, and 2 k-blocks of 16
 * int8 = one 64-byte line of pre-widened x per group. f16 scales: the bytes per weight of q8_0
 * (8.5 bits for q8, 4.5 for q4) at 7 SIMD ops of decoding per group of 128 weights.
 *
 * Prepared input (q8x), for q8/q4: x [n, cols] quantised per row per group of 32 to int8 (stored as i16)
 * with an f32 scale: i16 [n, 32·G] then f32 [n, G] (68·G·n bytes, G = ceil(cols/32)); see
 * prepareLinearInput and assembly/matmul_quant.ts. One preparation serves every linear that reads the
 * same x (Wq, Wk, Wv; W1, W3), and every thread of a split call.
 *
 * Browser-safe.
 */
import { CapacityError, InvalidArgumentError, NumericError, ShapeError } from '../errors.js';
import type { Region, Runtime } from '../wasm/runtime.js';
import type { Kernels } from '../wasm/kernels.js';
import { f16ToF32 } from '../weights/tensor.js';

/** Rows per packed panel. */
export const PANEL_ROWS = 4;
/** Columns per scale group of the q8 and q4 dtypes (GGUF Q8_0's block size). */
export const Q_GROUP = 32;

/** Element type of packed weights (see the table at the top of this file). */
export type LinearDtype = 'f32' | 'bf16' | 'q8' | 'q4';
/** Every LinearDtype, in order of bytes per weight. */
export const LINEAR_DTYPES: readonly LinearDtype[] = ['f32', 'bf16', 'q8', 'q4'];

/** A packed weight matrix in the runtime memory. */
export interface PackedLinear {
  /** Byte address of panel 0 (64-byte aligned). */
  readonly ptr: number;
  /** Output features (rows of W). */
  readonly rows: number;
  /** Input features (columns of W, length of x). */
  readonly cols: number;
  /** Bytes of the packed region: `packedBytes(dtype, rows, cols)`. */
  readonly bytes: number;
  /** Element type of the packed weights. */
  readonly dtype: LinearDtype;
}

function checkDims(where: string, rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(cols) || cols < 1) {
    throw new InvalidArgumentError(`${where}: expected rows and cols to be integers >= 1, got ${rows}×${cols}`);
  }
}

function checkDtype(where: string, dtype: string): asserts dtype is LinearDtype {
  if (!(LINEAR_DTYPES as readonly string[]).includes(dtype)) {
    throw new InvalidArgumentError(`${where}: expected a dtype in ${LINEAR_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  }
}

/** Bytes of one packed 4-row panel of `cols` columns for no-check internal use. */
function panelBytesOf(dtype: LinearDtype, cols: number): number {
  switch (dtype) {
    case 'f32':
      return 64 * Math.ceil(cols / 4);
    case 'bf16':
      return 64 * Math.ceil(cols / 8);
    case 'q8':
      return 136 * Math.ceil(cols / Q_GROUP);
    case 'q4':
      return 72 * Math.ceil(cols / Q_GROUP);
  }
}

/** Bytes of one packed 4-row panel of `cols` columns in `dtype` (see the table at the top). */
export function panelBytes(dtype: LinearDtype, cols: number): number {
  checkDtype('panelBytes', dtype);
  checkDims('panelBytes', 1, cols);
  return panelBytesOf(dtype, cols);
}

/** Bytes of W [rows, cols] packed in `dtype`: panelBytes(dtype, cols)·ceil(rows/4). */
export function packedBytes(dtype: LinearDtype, rows: number, cols: number): number {
  checkDtype('packedBytes', dtype);
  checkDims('packedBytes', rows, cols);
  return panelBytesOf(dtype, cols) * Math.ceil(rows / PANEL_ROWS);
}

/** Bytes of one packed f32 panel (4 rows) of `cols` columns: 64·ceil(cols/4). */
export function panelBytesF32(cols: number): number {
  checkDims('panelBytesF32', 1, cols);
  return 64 * Math.ceil(cols / 4);
}

/** Bytes of W [rows, cols] packed as f32 panels: 64·ceil(rows/4)·ceil(cols/4). */
export function packedBytesF32(rows: number, cols: number): number {
  checkDims('packedBytesF32', rows, cols);
  return 64 * Math.ceil(rows / 4) * Math.ceil(cols / 4);
}

/**
 * Allocate `name` in the runtime's arena and pack row-major `src` ([rows, cols]) into it with the
 * `pack_f32` kernel. A `src` that is a view of the runtime memory is read where it is; any other
 * array is copied through `staging` (a region of at least 16·cols bytes, 4-byte aligned, reused
 * across calls by a loader) a chunk of whole panels at a time. Load time only: this allocates.
 */
export function packLinearF32(
  rt: Runtime,
  name: string,
  src: Float32Array, // [rows, cols]
  rows: number,
  cols: number,
  staging?: Region,
): PackedLinear {
  return packLinear(rt, name, 'f32', src, rows, cols, staging);
}

/**
 * Allocate `name` in the runtime's arena and pack row-major f32 `src` ([rows, cols]) into `dtype`:
 * f32 as is, bf16 rounded to nearest even, q8/q4 quantised group-wise (see the top of this file).
 * `src` inside the runtime memory is read in place; an outside array goes through `staging`
 * (≥ 16·cols bytes, 4-byte aligned) a chunk of whole panels at a time. Load time only: this allocates.
 * Throws NumericError when a q8/q4 group scale is not a finite f16 (non-finite weights, or a
 * group with max |w| beyond 127·65504 resp. 7·65504).
 */
export function packLinear(
  rt: Runtime,
  name: string,
  dtype: LinearDtype,
  src: Float32Array, // [rows, cols]
  rows: number,
  cols: number,
  staging?: Region,
): PackedLinear {
  const where = `packLinear(${name})`;
  checkDtype(where, dtype);
  checkDims(where, rows, cols);
  if (src.length !== rows * cols) {
    throw new ShapeError(`${where}: expected ${rows}×${cols} = ${rows * cols} floats, got ${src.length}`);
  }
  const inMemory = src.buffer === rt.memory.buffer;
  const panelSrcBytes = 16 * cols;
  if (!inMemory) checkStaging(where, staging, panelSrcBytes);
  // read the source address before alloc: growing the memory detaches views of a non-shared buffer
  const srcPtr = src.byteOffset;
  const lin = allocLinear(rt, name, dtype, rows, cols);
  if (inMemory) {
    packLinearFromF32(rt.k, lin, srcPtr, name);
  } else {
    const stage = staging as Region;
    const panelsPerChunk = Math.floor(stage.bytes / panelSrcBytes);
    for (let r0 = 0; r0 < rows; r0 += 4 * panelsPerChunk) {
      const r1 = Math.min(rows, r0 + 4 * panelsPerChunk);
      rt.f32(stage.ptr, (r1 - r0) * cols).set(src.subarray(r0 * cols, r1 * cols));
      packRowsFromF32(rt.k, lin, r0, r1, stage.ptr, name);
    }
  }
  return lin;
}

function checkStaging(where: string, staging: Region | undefined, need: number): void {
  if (staging === undefined) {
    throw new InvalidArgumentError(`${where}: expected a view of the runtime memory or a staging region, got an outside array and no staging`);
  }
  if (staging.ptr % 4 !== 0) {
    throw new InvalidArgumentError(`${where}: expected a 4-byte aligned staging region, got ptr ${staging.ptr}`);
  }
  if (staging.bytes < need) {
    throw new CapacityError(`${where}: staging needs >= ${need} bytes (one 4-row panel), has ${staging.bytes}`);
  }
}

/** Allocate (64-byte aligned, not yet filled) the packed region of W [rows, cols] in `dtype`. Load time. */
export function allocLinear(rt: Runtime, name: string, dtype: LinearDtype, rows: number, cols: number): PackedLinear {
  const bytes = packedBytes(dtype, rows, cols);
  return { ptr: rt.arena.alloc(name, bytes, 64).ptr, rows, cols, bytes, dtype };
}

function badGroup(name: string, lin: PackedLinear, index: number, what: string): NumericError {
  const G = Math.ceil(lin.cols / Q_GROUP);
  const r = Math.floor(index / G);
  const g = index % G;
  return new NumericError(
    `${name}: row ${r}, columns ${g * Q_GROUP}..${Math.min(lin.cols, (g + 1) * Q_GROUP) - 1}: expected ${what}, got a group that has none (non-finite or out of range)`,
  );
}

/** Pack rows [r0, r1) (r0 a multiple of 4) of a row-major f32 source at srcPtr (row r0 first) into lin. */
function packRowsFromF32(k: Kernels, lin: PackedLinear, r0: number, r1: number, srcPtr: number, name: string): void {
  const dst = lin.ptr + (r0 / PANEL_ROWS) * panelBytesOf(lin.dtype, lin.cols);
  const rows = r1 - r0;
  switch (lin.dtype) {
    case 'f32':
      k.pack_f32(dst, srcPtr, rows, lin.cols);
      return;
    case 'bf16':
      k.pack_bf16(dst, srcPtr, rows, lin.cols);
      return;
    case 'q8':
    case 'q4': {
      const bad = lin.dtype === 'q8' ? k.pack_q8(dst, srcPtr, rows, lin.cols) : k.pack_q4(dst, srcPtr, rows, lin.cols);
      if (bad >= 0) {
        throw badGroup(name, lin, bad + r0 * Math.ceil(lin.cols / Q_GROUP), `finite weights whose ${lin.dtype} group scale fits an f16`);
      }
      return;
    }
  }
}

/**
 * Fill an allocated `lin` from row-major f32 W [lin.rows, lin.cols] at srcPtr in the runtime memory
 * (quantising or rounding per lin.dtype). `name` is used in errors. Load time.
 */
export function packLinearFromF32(k: Kernels, lin: PackedLinear, srcPtr: number, name: string): void {
  packRowsFromF32(k, lin, 0, lin.rows, srcPtr, name);
}

/**
 * Fill rows [r0, r1) of an allocated `lin` (r0 a multiple of 4; r1 a multiple of 4 or lin.rows) from
 * row-major f32 at srcPtr holding those rows (row r0 first): what a loader streaming a matrix in
 * chunks of rows calls, so that no staging buffer holds a whole matrix. Load time.
 */
export function packLinearRowsFromF32(k: Kernels, lin: PackedLinear, r0: number, r1: number, srcPtr: number, name: string): void {
  checkRowRange(name, lin, r0, r1);
  packRowsFromF32(k, lin, r0, r1, srcPtr, name);
}

/** packLinearFromBf16Bits for rows [r0, r1) only (see packLinearRowsFromF32). */
export function packLinearRowsFromBf16Bits(k: Kernels, lin: PackedLinear, r0: number, r1: number, srcPtr: number, name: string): void {
  checkRowRange(name, lin, r0, r1);
  if (lin.dtype !== 'bf16') throw new InvalidArgumentError(`${name}: expected a bf16 linear for bf16 bits, got ${lin.dtype}`);
  if (srcPtr % 2 !== 0) throw new InvalidArgumentError(`${name}: expected 2-byte aligned bf16 data, got ptr ${srcPtr}`);
  k.pack_bf16_bits(lin.ptr + (r0 / PANEL_ROWS) * panelBytesOf(lin.dtype, lin.cols), srcPtr, r1 - r0, lin.cols);
}

/** packLinearFromQ8Planar for rows [r0, r1) only (scales and quants of those rows; see packLinearRowsFromF32). */
export function packLinearRowsFromQ8Planar(k: Kernels, lin: PackedLinear, r0: number, r1: number, scalesPtr: number, qsPtr: number, name: string): void {
  checkRowRange(name, lin, r0, r1);
  if (lin.dtype !== 'q8') throw new InvalidArgumentError(`${name}: expected a q8 linear for Q8_0 data, got ${lin.dtype}`);
  if (scalesPtr % 4 !== 0) throw new InvalidArgumentError(`${name}: expected 4-byte aligned scales, got ptr ${scalesPtr}`);
  const bad = k.pack_q8_planar(lin.ptr + (r0 / PANEL_ROWS) * panelBytesOf(lin.dtype, lin.cols), scalesPtr, qsPtr, r1 - r0, lin.cols);
  if (bad >= 0) throw badGroup(name, lin, bad + r0 * Math.ceil(lin.cols / Q_GROUP), 'a finite f16 scale');
}

function checkRowRange(name: string, lin: PackedLinear, r0: number, r1: number): void {
  if (!(Number.isSafeInteger(r0) && Number.isSafeInteger(r1) && r0 >= 0 && r0 < r1 && r1 <= lin.rows && r0 % PANEL_ROWS === 0 && (r1 % PANEL_ROWS === 0 || r1 === lin.rows))) {
    throw new InvalidArgumentError(`${name}: expected rows [r0, r1) of ${lin.rows} with r0 and r1 on 4-row panels (or r1 = ${lin.rows}), got [${r0}, ${r1})`);
  }
}

/**
 * Fill an allocated bf16 `lin` from row-major bf16 bit patterns (u16 [rows, cols] at srcPtr, e.g. a
 * BF16 checkpoint's bytes): no bit changes, no f32 round trip. Load time.
 */
export function packLinearFromBf16Bits(k: Kernels, lin: PackedLinear, srcPtr: number, name: string): void {
  if (lin.dtype !== 'bf16') throw new InvalidArgumentError(`${name}: expected a bf16 linear for bf16 bits, got ${lin.dtype}`);
  if (srcPtr % 2 !== 0) throw new InvalidArgumentError(`${name}: expected 2-byte aligned bf16 data, got ptr ${srcPtr}`);
  k.pack_bf16_bits(lin.ptr, srcPtr, lin.rows, lin.cols);
}

/**
 * Fill an allocated q8 `lin` from planar int8 data without re-quantising: scales f32 [rows, G] at
 * scalesPtr (each must be a finite f16 value, as GGUF Q8_0 scales are) and quants i8 [rows, cols] at
 * qsPtr — what `readTensorQ8_0` gives. Throws InvalidArgumentError for a scale that is not an f16. Load time.
 */
export function packLinearFromQ8Planar(k: Kernels, lin: PackedLinear, scalesPtr: number, qsPtr: number, name: string): void {
  if (lin.dtype !== 'q8') throw new InvalidArgumentError(`${name}: expected a q8 linear for Q8_0 data, got ${lin.dtype}`);
  if (scalesPtr % 4 !== 0) throw new InvalidArgumentError(`${name}: expected 4-byte aligned scales, got ptr ${scalesPtr}`);
  const bad = k.pack_q8_planar(lin.ptr, scalesPtr, qsPtr, lin.rows, lin.cols);
  if (bad >= 0) throw badGroup(name, lin, bad, 'a finite f16 scale');
}

// ---- reading rows back ----

/**
 * Rows of a packed matrix read back as f32, in any dtype: what the packed weights hold (f32 as stored,
 * bf16 widened, q8/q4 as d·q with the group's f16 scale d). A model whose token embedding is packed in
 * its weight type (tied: the output head itself) looks its rows up with this: `cols` values per token,
 * decoded in TypeScript (a few µs per row; a forward's matmuls take milliseconds). Allocation-free after
 * construction; its views follow the memory when it grows.
 */
export class PackedRows {
  private buffer: ArrayBufferLike | null = null;
  private f32!: Float32Array;
  private u32!: Uint32Array;
  private u16!: Uint16Array;
  private u8!: Uint8Array;
  private i8!: Int8Array;

  constructor(private readonly rt: Runtime) {}

  /** f32 [lin.cols] at dstPtr (4-byte aligned) ← row r of lin. */
  read(lin: PackedLinear, r: number, dstPtr: number): void {
    const buf = this.rt.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.f32 = new Float32Array(buf);
      this.u32 = new Uint32Array(buf);
      this.u16 = new Uint16Array(buf);
      this.u8 = new Uint8Array(buf);
      this.i8 = new Int8Array(buf);
    }
    const cols = lin.cols;
    const rr = r & 3;
    const base = lin.ptr + (r >>> 2) * panelBytesOf(lin.dtype, cols);
    const out = dstPtr >>> 2;
    const f32 = this.f32;
    switch (lin.dtype) {
      case 'f32': {
        // k-block b (cols 4b..4b+3): 64 bytes, row rr's 4 floats at 16·rr
        for (let c = 0; c < cols; c++) f32[out + c] = f32[((base + (c >>> 2) * 64 + rr * 16) >>> 2) + (c & 3)]!;
        return;
      }
      case 'bf16': {
        // k-block b (cols 8b..8b+7): 64 bytes, row rr's 16 at 16·rr; lane l: col 8b+l low, 8b+4+l high
        const u32 = this.u32;
        for (let c = 0; c < cols; c++) {
          const lane = u32[((base + (c >>> 3) * 64 + rr * 16) >>> 2) + (c & 3)]!;
          u32[out + c] = (c & 4) === 0 ? lane << 16 : lane & 0xffff0000;
        }
        return;
      }
      case 'q8': {
        // group g (cols 32g..32g+31): 136 bytes; k-block kb (cols 32g + 16kb ..) of row rr at 64kb + 16rr,
        // byte 2i = column + i, byte 2i + 1 = column + 8 + i; the rows' f16 scales at 128 + 2rr
        const i8 = this.i8;
        for (let g = 0, c0 = 0; c0 < cols; g++, c0 += Q_GROUP) {
          const at = base + g * 136;
          const d = f16ToF32(this.u16[(at + 128 + 2 * rr) >>> 1]!);
          for (let j = 0; j < Q_GROUP && c0 + j < cols; j++) {
            const c = j & 15;
            f32[out + c0 + j] = d * i8[at + 64 * (j >>> 4) + 16 * rr + (c < 8 ? 2 * c : 2 * (c - 8) + 1)]!;
          }
        }
        return;
      }
      case 'q4': {
        // group g: 72 bytes; row rr's 16 bytes at 16rr, byte 8h + i = column 16h + i (low nibble) and
        // 16h + 8 + i (high nibble), 4-bit two's complement; the rows' f16 scales at 64 + 2rr
        const u8 = this.u8;
        for (let g = 0, c0 = 0; c0 < cols; g++, c0 += Q_GROUP) {
          const at = base + g * 72;
          const d = f16ToF32(this.u16[(at + 64 + 2 * rr) >>> 1]!);
          for (let j = 0; j < Q_GROUP && c0 + j < cols; j++) {
            const byte = u8[at + 16 * rr + 8 * (j >>> 4) + (j & 7)]!;
            const nib = (j & 8) === 0 ? byte & 15 : byte >>> 4;
            f32[out + c0 + j] = d * (nib >= 8 ? nib - 16 : nib);
          }
        }
        return;
      }
    }
  }
}

// ---- the input of a linear call ----

/** What the kernels of a dtype read for x: f32 rows as they are, or the prepared int8 input (q8x). */
export type LinearInputKind = 'f32' | 'q8x';

/** The input kind of a dtype: q8 and q4 read the prepared input, f32 and bf16 read x itself. */
export function linearInputKind(dtype: LinearDtype): LinearInputKind {
  return dtype === 'q8' || dtype === 'q4' ? 'q8x' : 'f32';
}

/** Scratch bytes prepareLinearInput needs for n rows of cols (0 for dtypes that read x itself). */
export function linearInputBytes(dtype: LinearDtype, n: number, cols: number): number {
  return linearInputKind(dtype) === 'q8x' ? 68 * Math.ceil(cols / Q_GROUP) * n : 0;
}

/**
 * Prepare x [n, cols] f32 for the kernels of `dtype` and return the pointer they read: xPtr itself for
 * f32/bf16; for q8/q4, scratchPtr after quantising x into it (`quant_x_q8`, linearInputBytes(dtype, n,
 * cols) bytes, 16-byte aligned, not overlapping x). Call it once per x, before splitting panels over
 * threads; the result serves every linear of the same input kind and cols. Kernels trust it: no checks here.
 */
export function prepareLinearInput(k: Kernels, dtype: LinearDtype, xPtr: number, n: number, cols: number, scratchPtr: number): number {
  if (linearInputKind(dtype) === 'f32') return xPtr;
  k.quant_x_q8(scratchPtr, xPtr, n, cols);
  return scratchPtr;
}

/**
 * Compute the output columns of panels [p0, p1) of out = x·Wᵀ for a packed matrix of any dtype:
 * out[i, 4·p0 ..] for i < n. Threads call it on disjoint panel ranges; a single thread passes
 * [0, panelCount(lin)). inPtr: what prepareLinearInput returned for this dtype (x [n, lin.cols] f32
 * for f32/bf16, the prepared q8x input for q8/q4).
 */
export function runLinear(
  k: Kernels,
  lin: PackedLinear,
  outPtr: number, // [n, outStride]
  outStride: number,
  inPtr: number, // [n, cols] f32, or q8x [n, cols]
  n: number,
  p0: number,
  p1: number,
): void {
  const r0 = p0 * PANEL_ROWS;
  const r1 = Math.min(lin.rows, p1 * PANEL_ROWS);
  if (r1 <= r0) return;
  const w = lin.ptr + p0 * panelBytesOf(lin.dtype, lin.cols);
  const out = outPtr + r0 * 4;
  switch (lin.dtype) {
    case 'f32':
      k.matmul_f32(out, outStride, w, inPtr, n, r1 - r0, lin.cols);
      return;
    case 'bf16':
      k.matmul_bf16(out, outStride, w, inPtr, n, r1 - r0, lin.cols);
      return;
    case 'q8':
      k.matmul_q8(out, outStride, w, inPtr, n, r1 - r0, lin.cols);
      return;
    case 'q4':
      k.matmul_q4(out, outStride, w, inPtr, n, r1 - r0, lin.cols);
      return;
  }
}

/** Number of 4-row panels of a packed matrix. */
export function panelCount(lin: PackedLinear): number {
  return Math.ceil(lin.rows / PANEL_ROWS);
}
