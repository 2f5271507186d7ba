/**
 * Packed linear-layer weights: the layouts the matmul kernels stream (assembly/matmul*.ts,
 * quant_legacy.ts, quant_k.ts), named by their GGML type.
 *
 * W is [rows, cols] row-major, rows = output features. Every type uses the same scheme: panels of
 * 4 rows, each one sequential stream in which a unit of columns (a k-block, a 32-column group or a
 * 256-column super-block) holds the 4 rows' bytes in turn, followed by their scales; padding rows/cols
 * hold zero weights. A thread runs whole panels [p0, p1) of any type:
 * `runLinear(k, lin, out, outStride, in, n, p0, p1)`.
 *
 * | type    | stored per row                                   | unit          | panel bytes per unit | file bytes ×4 |
 * |---------|--------------------------------------------------|---------------|----------------------|---------------|
 * | F32     | f32                                              | 4 cols        | 64                   | 64            |
 * | BF16    | bf16 bits (RNE from f32, or a BF16 tensor's bits) | 8 cols        | 64                   | 64            |
 * | F16     | binary16 bits (a GGUF F16 tensor's)               | 8 cols        | 64                   | 64            |
 * | Q8_0    | int8 + f16 d per 32                               | 32 cols       | 136                  | 136           |
 * | Q4_0    | 4-bit + f16 d per 32                              | 32 cols       | 72                   | 72            |
 * | Q4_1    | 4-bit + f16 d, m per 32                           | 32 cols       | 80                   | 80            |
 * | Q5_0    | 5-bit + f16 d per 32                              | 32 cols       | 88                   | 88            |
 * | Q5_1    | 5-bit + f16 d, m per 32                           | 32 cols       | 96                   | 96            |
 * | IQ4_NL  | 4-bit index into a 16-value table + f16 d per 32  | 32 cols       | 72                   | 72            |
 * | Q2_K    | 2-bit, 4-bit scale/min per 16, f16 d, dmin        | 256 cols      | 336                  | 336           |
 * | Q3_K    | 3-bit, 6-bit scale per 16, f16 d                  | 256 cols      | 456                  | 440           |
 * | Q4_K    | 4-bit, 6-bit scale/min per 32, f16 d, dmin        | 256 cols      | 592                  | 576           |
 * | Q5_K    | 5-bit, 6-bit scale/min per 32, f16 d, dmin        | 256 cols      | 720                  | 704           |
 * | Q6_K    | 6-bit, int8 scale per 16, f16 d                   | 256 cols      | 840                  | 840           |
 * | IQ4_XS  | 4-bit index, 6-bit scale per 32, f16 d            | 256 cols      | 552                  | 544           |
 *
 * Exact byte layouts: F32 in assembly/matmul.ts, BF16/F16 in matmul_bf16.ts, Q8_0 in matmul_q8.ts, the
 * 32-column types in quant_legacy.ts, the 256-column types in quant_k.ts. Quantised types keep GGUF's
 * values bit for bit (repacked, never re-rounded): their weights are exactly ggml's dequantised values
 * (`dequantRows` reproduces dequantize_row_*); the K-quants' 6-bit scale codes are unpacked to bytes at
 * load (≤ 3 % more memory than the file).
 *
 * Input (the x a kernel reads): F32/BF16/F16 read x [n, cols] f32 itself; quantised types read the
 * prepared input of `prepareLinearInput` (assembly/matmul_quant.ts): every x row quantised to int8 per
 * 32 columns (section A, for Q8_0 and the 32-column types, as llama.cpp's q8_0 activations) and, when
 * cols % 256 == 0, per 256 columns (section B, for the K-quants, as llama.cpp's q8_K). One preparation
 * serves every quantised linear that reads the same x (Wq, Wk, Wv; W1, W3), whatever its type, and
 * every thread of a split call.
 *
 * Browser-safe.
 */
import { CapacityError, InvalidArgumentError, NumericError, ShapeError, WeightsFormatError } from '../errors.js';
import type { Region, Runtime } from '../wasm/runtime.js';
import type { Kernels } from '../wasm/kernels.js';
import { GGML_BLOCK, quantizeGgml, type GgmlQuantType } from '../weights/ggml-quants.js';
import { f32BitsToF16Bits } from '../weights/f16.js';

/** Rows per packed panel. */
export const PANEL_ROWS = 4;

/** Weight type of a packed linear layer: its GGML type name (see the table at the top of this file). */
export type LinearDtype = 'F32' | 'BF16' | 'F16' | GgmlQuantType;

/** Every LinearDtype. */
export const LINEAR_DTYPES: readonly LinearDtype[] = [
  'F32', 'BF16', 'F16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'IQ4_NL', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_XS',
];

/** The quantised LinearDtypes (they read the prepared input). */
export const QUANT_LINEAR_DTYPES: readonly GgmlQuantType[] = LINEAR_DTYPES.filter((t): t is GgmlQuantType => t !== 'F32' && t !== 'BF16' && t !== 'F16');

/**
 * The user-facing weight-type names (`--dtype`, LlamaLoadOptions.dtype) and the GGML type each one
 * means. `auto` (not in the table) keeps every tensor as stored (GGUF) or f32 (safetensors).
 *   f32 → F32, bf16 → BF16, f16 → F16, int8 → Q8_0, int4 → Q4_0, and each GGML quantised type by its
 *   lower-case name: q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_xs.
 */
export const WEIGHT_TYPE_ALIASES: Readonly<Record<string, LinearDtype>> = {
  f32: 'F32', bf16: 'BF16', f16: 'F16', int8: 'Q8_0', int4: 'Q4_0',
  q8_0: 'Q8_0', q4_0: 'Q4_0', q4_1: 'Q4_1', q5_0: 'Q5_0', q5_1: 'Q5_1', iq4_nl: 'IQ4_NL',
  q2_k: 'Q2_K', q3_k: 'Q3_K', q4_k: 'Q4_K', q5_k: 'Q5_K', q6_k: 'Q6_K', iq4_xs: 'IQ4_XS',
};

/**
 * A weight-type name as the loaders take it: `auto`, a WEIGHT_TYPE_ALIASES key, or a GGML type name.
 * `auto` keeps each tensor's stored type (F32, F16, BF16, or its GGML quantised type).
 */
export type WeightDtype =
  | 'auto' | 'f32' | 'bf16' | 'f16' | 'int8' | 'int4' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'iq4_nl'
  | 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k' | 'iq4_xs' | LinearDtype;

/**
 * The LinearDtype of a weight-type name: a WEIGHT_TYPE_ALIASES key (case-insensitive) or a GGML type
 * name as written ('Q4_K'). Throws InvalidArgumentError naming the accepted names otherwise.
 */
export function resolveWeightType(where: string, name: string): LinearDtype {
  if (typeof name === 'string') {
    if ((LINEAR_DTYPES as readonly string[]).includes(name)) return name as LinearDtype;
    const alias = WEIGHT_TYPE_ALIASES[name.toLowerCase()];
    if (alias !== undefined && Object.hasOwn(WEIGHT_TYPE_ALIASES, name.toLowerCase())) return alias;
  }
  throw new InvalidArgumentError(`${where}: expected a weight type (auto, ${Object.keys(WEIGHT_TYPE_ALIASES).join(', ')}), got ${JSON.stringify(name)}`);
}

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
  /** Weight type of the packed matrix. */
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

/** Whether a type is a 256-column super-block type. */
export function isSuperBlockType(dtype: LinearDtype): boolean {
  return dtype === 'Q2_K' || dtype === 'Q3_K' || dtype === 'Q4_K' || dtype === 'Q5_K' || dtype === 'Q6_K' || dtype === 'IQ4_XS';
}

/** Panel bytes per 256-column super-block of each K type. */
const SUPER_BLOCK_PANEL_BYTES: Readonly<Record<string, number>> = { Q2_K: 336, Q3_K: 456, Q4_K: 592, Q5_K: 720, Q6_K: 840, IQ4_XS: 552 };
/** Panel bytes per 32-column group of each 32-column type. */
const GROUP_PANEL_BYTES: Readonly<Record<string, number>> = { Q8_0: 136, Q4_0: 72, Q4_1: 80, Q5_0: 88, Q5_1: 96, IQ4_NL: 72 };

/**
 * Why W [rows, cols] cannot be held as `dtype` (null when it can): the 256-column types need
 * cols % 256 == 0. (32-column types pad a last partial group; GGUF data always has whole blocks.)
 */
export function linearShapeProblem(dtype: LinearDtype, cols: number): string | null {
  if (isSuperBlockType(dtype) && cols % 256 !== 0) return `${dtype} needs a multiple of 256 columns, got ${cols}`;
  return null;
}

/**
 * The type a matrix of `cols` columns gets when `dtype` was asked for: `dtype` itself, except that a
 * 256-column type on a column count it does not divide falls back as llama.cpp's quantizer does
 * (tensor_type_fallback): Q2_K, Q3_K → Q4_0; Q4_K → Q5_0; Q5_K → Q5_1; Q6_K → Q8_0; IQ4_XS → IQ4_NL.
 * (32-column types need no fallback here: a partial last group is padded.)
 */
export function fallbackType(dtype: LinearDtype, cols: number): LinearDtype {
  if (!isSuperBlockType(dtype) || cols % 256 === 0) return dtype;
  switch (dtype) {
    case 'Q4_K': return 'Q5_0';
    case 'Q5_K': return 'Q5_1';
    case 'Q6_K': return 'Q8_0';
    case 'IQ4_XS': return 'IQ4_NL';
    default: return 'Q4_0';
  }
}

/** Bytes of one packed 4-row panel of `cols` columns for no-check internal use. */
function panelBytesOf(dtype: LinearDtype, cols: number): number {
  switch (dtype) {
    case 'F32':
      return 64 * Math.ceil(cols / 4);
    case 'BF16':
    case 'F16':
      return 64 * Math.ceil(cols / 8);
    default:
      if (isSuperBlockType(dtype)) return SUPER_BLOCK_PANEL_BYTES[dtype]! * Math.ceil(cols / 256);
      return GROUP_PANEL_BYTES[dtype]! * Math.ceil(cols / 32);
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
  return packLinear(rt, name, 'F32', src, rows, cols, staging);
}

/**
 * Allocate `name` in the runtime's arena and pack row-major f32 `src` ([rows, cols]) into `dtype`:
 * F32 as is, BF16 rounded to nearest even, F16 rounded to nearest even, quantised types with ggml's
 * reference quantisation (see packLinearFromF32). `src` inside the runtime memory is read in place;
 * an outside array goes through `staging` (≥ 16·cols bytes, 4-byte aligned) a chunk of whole panels at
 * a time. Load time only: this allocates. Throws InvalidArgumentError for weights the type cannot
 * hold (non-finite values, or scales beyond f16) and ShapeError for a K type with cols % 256 ≠ 0.
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
  const problem = linearShapeProblem(dtype, cols);
  if (problem !== null) throw new ShapeError(`${where}: ${problem}`);
  const inMemory = src.buffer === rt.memory.buffer;
  const panelSrcBytes = 16 * cols;
  if (!inMemory) checkStaging(where, staging, panelSrcBytes);
  // read the source address before alloc: growing the memory detaches views of a non-shared buffer
  const srcPtr = src.byteOffset;
  const lin = allocLinear(rt, name, dtype, rows, cols);
  if (inMemory) {
    packLinearFromF32(rt, lin, srcPtr, name);
  } else {
    const stage = staging as Region;
    const panelsPerChunk = Math.floor(stage.bytes / panelSrcBytes);
    for (let r0 = 0; r0 < rows; r0 += 4 * panelsPerChunk) {
      const r1 = Math.min(rows, r0 + 4 * panelsPerChunk);
      rt.f32(stage.ptr, (r1 - r0) * cols).set(src.subarray(r0 * cols, r1 * cols));
      packRowsFromF32(rt, lin, r0, r1, stage.ptr, name);
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

/** The error for a packing kernel's "first bad unit" index (a block, a group or an element). */
function badUnit(name: string, lin: PackedLinear, index: number, unitCols: number, what: string, stored = false): NumericError | WeightsFormatError {
  const perRow = Math.ceil(lin.cols / unitCols);
  const r = Math.floor(index / perRow);
  const u = index % perRow;
  const cols = unitCols === 1 ? `column ${u}` : `columns ${u * unitCols}..${Math.min(lin.cols, (u + 1) * unitCols) - 1}`;
  // weights a type cannot hold are a numeric problem of the conversion; stored data that no kernel can
  // compute with (an Inf/NaN scale) is a broken file
  const message = `${name}: row ${r}, ${cols}: expected ${what}, got none (non-finite or out of range)`;
  return stored ? new WeightsFormatError(message) : new NumericError(message);
}

/** Pack rows [r0, r1) (r0 a multiple of 4) of a row-major f32 source at srcPtr (row r0 first) into lin. */
function packRowsFromF32(rt: Runtime, lin: PackedLinear, r0: number, r1: number, srcPtr: number, name: string): void {
  const k = rt.k;
  const dst = lin.ptr + (r0 / PANEL_ROWS) * panelBytesOf(lin.dtype, lin.cols);
  const rows = r1 - r0;
  const G = Math.ceil(lin.cols / 32);
  switch (lin.dtype) {
    case 'F32':
      k.pack_f32(dst, srcPtr, rows, lin.cols);
      return;
    case 'BF16':
      k.pack_bf16(dst, srcPtr, rows, lin.cols);
      return;
    case 'Q8_0':
    case 'Q4_0': {
      const bad = lin.dtype === 'Q8_0' ? k.quant_q8_0(dst, srcPtr, rows, lin.cols) : k.quant_q4_0(dst, srcPtr, rows, lin.cols);
      if (bad >= 0) throw badUnit(name, lin, bad + r0 * G, 32, `finite weights whose ${lin.dtype} group scale fits an f16`);
      return;
    }
    default: {
      // F16 and the other quantised types: ggml's reference quantisation in TS, then the GGUF repacker
      const values = rt.f32(srcPtr, rows * lin.cols);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) throw badUnit(name, lin, r0 * lin.cols + i, 1, `a finite weight to convert to ${lin.dtype}`);
      }
      // 32-column types pad a partial last group with zeros, as ggml would quantise a zero-padded block
      const packCols = lin.dtype === 'F16' ? lin.cols : Math.ceil(lin.cols / 32) * 32;
      const bytes = lin.dtype === 'F16' ? f16Bytes(values) : quantizeGgml(lin.dtype, padColumns(values, rows, lin.cols, 32), rows, packCols);
      const mark = rt.arena.mark();
      try {
        const blocks = rt.arena.alloc(`${name}.convert`, bytes.length, 16); // (may grow the memory: no views of it are held here)
        rt.u8(blocks.ptr, bytes.length).set(bytes);
        const bad = packFromGgml(k, lin.dtype, dst, blocks.ptr, rows, packCols);
        if (bad >= 0) throw badUnit(name, lin, bad + r0 * (lin.dtype === 'F16' ? lin.cols : Math.ceil(lin.cols / GGML_BLOCK[lin.dtype].values)),
          lin.dtype === 'F16' ? 1 : GGML_BLOCK[lin.dtype].values, `weights whose ${lin.dtype} scales are finite f16`);
      } finally {
        rt.arena.release(mark);
      }
    }
  }
}

/** Row-major f32 [rows, cols] with each row zero-padded to a multiple of `to` columns. */
function padColumns(values: Float32Array, rows: number, cols: number, to: number): Float32Array {
  const padded = Math.ceil(cols / to) * to;
  if (padded === cols) return values;
  const out = new Float32Array(rows * padded);
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols, (r + 1) * cols), r * padded);
  return out;
}

function f16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** The GGUF repacker of a type: raw tensor bytes (row-major) → panels; returns −1 or the first bad unit. */
function packFromGgml(k: Kernels, dtype: LinearDtype, dst: number, src: number, rows: number, cols: number): number {
  switch (dtype) {
    case 'F32':
      k.pack_f32(dst, src, rows, cols);
      return -1;
    case 'BF16':
      k.pack_bf16_bits(dst, src, rows, cols);
      return -1;
    case 'F16': return k.pack_f16_bits(dst, src, rows, cols);
    case 'Q8_0': return k.pack_q8_0(dst, src, rows, cols);
    case 'Q4_0': return k.pack_q4_0(dst, src, rows, cols);
    case 'Q4_1': return k.pack_q4_1(dst, src, rows, cols);
    case 'Q5_0': return k.pack_q5_0(dst, src, rows, cols);
    case 'Q5_1': return k.pack_q5_1(dst, src, rows, cols);
    case 'IQ4_NL': return k.pack_iq4_nl(dst, src, rows, cols);
    case 'Q2_K': return k.pack_q2_k(dst, src, rows, cols);
    case 'Q3_K': return k.pack_q3_k(dst, src, rows, cols);
    case 'Q4_K': return k.pack_q4_k(dst, src, rows, cols);
    case 'Q5_K': return k.pack_q5_k(dst, src, rows, cols);
    case 'Q6_K': return k.pack_q6_k(dst, src, rows, cols);
    case 'IQ4_XS': return k.pack_iq4_xs(dst, src, rows, cols);
  }
}

/**
 * Fill an allocated `lin` from row-major f32 W [lin.rows, lin.cols] at srcPtr in the runtime memory:
 * F32 as is; BF16 and F16 rounded to nearest even; Q8_0 and Q4_0 with ggml's quantize_row_*_ref (in
 * the kernel, a partial last group as if zero-padded); the other quantised types with ggml's reference
 * quantisation in TS (src/weights/ggml-quants.ts; the K-quants' scale searches run at about 1 µs per
 * weight). `name` is used in errors. Load time (may allocate temporarily).
 */
export function packLinearFromF32(rt: Runtime, lin: PackedLinear, srcPtr: number, name: string): void {
  packRowsFromF32(rt, lin, 0, lin.rows, srcPtr, name);
}

/**
 * packLinearFromF32 for rows [r0, r0 + count) of W only (row-major f32 at srcPtr, row r0 first; r0 a
 * multiple of 4): matrices fill in slices through a small staging region.
 */
export function packLinearRowsFromF32(rt: Runtime, lin: PackedLinear, r0: number, count: number, srcPtr: number, name: string): void {
  checkRowSlice(name, lin, r0, count);
  packRowsFromF32(rt, lin, r0, r0 + count, srcPtr, name);
}

function checkRowSlice(name: string, lin: PackedLinear, r0: number, count: number): void {
  if (!(Number.isSafeInteger(r0) && Number.isSafeInteger(count) && r0 % PANEL_ROWS === 0 && count >= 1 && r0 + count <= lin.rows)) {
    throw new InvalidArgumentError(`${name}: expected rows [r0, r0 + count) inside [0, ${lin.rows}) with r0 a multiple of ${PANEL_ROWS}, got [${r0}, ${r0 + count})`);
  }
}

/** Bytes a tensor of `dtype` [rows, cols] takes as stored (GGUF / safetensors), cols whole blocks. */
export function storedBytes(dtype: LinearDtype, rows: number, cols: number): number {
  const b = GGML_BLOCK[dtype];
  return rows * Math.ceil(cols / b.values) * b.bytes;
}

/**
 * Fill an allocated `lin` from a tensor's stored bytes in the runtime memory at srcPtr (row-major, as
 * GGUF / safetensors store it) of the same type, keeping every value: F32 floats, BF16 or F16 bit
 * patterns, or GGML blocks of lin.dtype (cols a multiple of the block size). Throws
 * InvalidArgumentError for an Inf/NaN scale (or F16 weight), which the kernels cannot compute with.
 */
export function packLinearFromStored(k: Kernels, lin: PackedLinear, srcPtr: number, name: string): void {
  packLinearRowsFromStored(k, lin, 0, lin.rows, srcPtr, name);
}

/** packLinearFromStored for rows [r0, r0 + count) only (their stored bytes at srcPtr; r0 a multiple of 4). */
export function packLinearRowsFromStored(k: Kernels, lin: PackedLinear, r0: number, count: number, srcPtr: number, name: string): void {
  checkRowSlice(name, lin, r0, count);
  const block = lin.dtype === 'F32' || lin.dtype === 'BF16' || lin.dtype === 'F16' ? 1 : GGML_BLOCK[lin.dtype].values;
  if (lin.cols % block !== 0) throw new ShapeError(`${name}: ${lin.dtype} data needs rows of whole ${block}-value blocks, got ${lin.cols} columns`);
  if (srcPtr % (lin.dtype === 'F32' ? 4 : 2) !== 0) throw new InvalidArgumentError(`${name}: expected aligned ${lin.dtype} data, got ptr ${srcPtr}`);
  const dst = lin.ptr + (r0 / PANEL_ROWS) * panelBytesOf(lin.dtype, lin.cols);
  const bad = packFromGgml(k, lin.dtype, dst, srcPtr, count, lin.cols);
  if (bad >= 0) throw badUnit(name, lin, bad + r0 * (lin.cols / block), block, block === 1 ? 'a finite f16 weight' : `a ${lin.dtype} block with finite f16 scales`, true);
}

/** Round up to a multiple of 64 bytes (the panels' and the arena regions' alignment). */
export function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

/**
 * Bytes of runtime memory {@link dequantStoredRows} works in for `rows` rows of `dtype` [rows, cols]:
 * the stored blocks, then their packed panels (each region 64-byte aligned).
 */
export function storedDequantBytes(dtype: GgmlQuantType, rows: number, cols: number): number {
  return align64(storedBytes(dtype, rows, cols)) + align64(packedBytes(dtype, rows, cols));
}

/**
 * Dequantise `count` rows of `dtype` blocks, stored row-major at `workPtr` as the file holds them, into
 * f32 [count, cols] at dstPtr, in WebAssembly: the type's packer puts them into panels right after them
 * (workPtr + the stored bytes rounded up to 64; {@link storedDequantBytes} bytes in all), and its
 * dequantiser writes what ggml's dequantize_row_* gives (dequantizeGgml's values, bit for bit). How a
 * load converts a GGML matrix to another weight type without a value-by-value pass in TypeScript.
 * A block with a non-finite scale is a WeightsFormatError naming its row (r0 + its row here) and columns.
 */
export function dequantStoredRows(k: Kernels, dtype: GgmlQuantType, count: number, cols: number, workPtr: number, dstPtr: number, name: string, r0 = 0): void {
  const block = GGML_BLOCK[dtype].values;
  if (cols % block !== 0) throw new ShapeError(`${name}: ${dtype} data needs rows of whole ${block}-value blocks, got ${cols} columns`);
  if (workPtr % 64 !== 0) throw new InvalidArgumentError(`${name}: expected 64-byte aligned work memory, got ptr ${workPtr}`);
  const panels = workPtr + align64(storedBytes(dtype, count, cols));
  const bad = packFromGgml(k, dtype, panels, workPtr, count, cols);
  const lin: PackedLinear = { ptr: panels, rows: count, cols, bytes: packedBytes(dtype, count, cols), dtype };
  if (bad >= 0) throw badUnit(name, lin, bad + r0 * (cols / block), block, `a ${dtype} block with finite f16 scales`, true);
  dequantRows(k, lin, 0, count, dstPtr);
}

/**
 * Write rows [r0, r0 + count) of `lin`'s weights, dequantised, into dst (f32 [count, lin.cols]) at
 * dstPtr: exactly the values the kernels multiply (for quantised types, ggml's dequantize_row_*).
 * The embedding lookup of a model whose token embedding is stored as a packed linear.
 */
export function dequantRows(k: Kernels, lin: PackedLinear, r0: number, count: number, dstPtr: number): void {
  const args = [dstPtr, lin.ptr, lin.rows, lin.cols, r0, count] as const;
  switch (lin.dtype) {
    case 'F32': return k.dequant_f32(...args);
    case 'BF16': return k.dequant_bf16(...args);
    case 'F16': return k.dequant_f16(...args);
    case 'Q8_0': return k.dequant_q8_0(...args);
    case 'Q4_0': return k.dequant_q4_0(...args);
    case 'Q4_1': return k.dequant_q4_1(...args);
    case 'Q5_0': return k.dequant_q5_0(...args);
    case 'Q5_1': return k.dequant_q5_1(...args);
    case 'IQ4_NL': return k.dequant_iq4_nl(...args);
    case 'Q2_K': return k.dequant_q2_k(...args);
    case 'Q3_K': return k.dequant_q3_k(...args);
    case 'Q4_K': return k.dequant_q4_k(...args);
    case 'Q5_K': return k.dequant_q5_k(...args);
    case 'Q6_K': return k.dequant_q6_k(...args);
    case 'IQ4_XS': return k.dequant_iq4_xs(...args);
  }
}


// ---- the input of a linear call ----

/** What the kernels of a dtype read for x: f32 rows as they are, or the prepared int8 input (qx). */
export type LinearInputKind = 'f32' | 'qx';

/** The input kind of a dtype: quantised types read the prepared input, F32/BF16/F16 read x itself. */
export function linearInputKind(dtype: LinearDtype): LinearInputKind {
  return dtype === 'F32' || dtype === 'BF16' || dtype === 'F16' ? 'f32' : 'qx';
}

function pad16(b: number): number {
  return Math.ceil(b / 16) * 16;
}

/** Bytes of one section of the prepared input (C columns, scale groups of sg); mirrors assembly/matmul_quant.ts. */
function qxSectionBytes(C: number, sg: number): number {
  return 3 * C + pad16(4 * (C / sg)) + pad16(C / 8) + pad16(C / 16) + (sg === 32 ? pad16(C / 8) + 2 * C + pad16(C / 8) : 0);
}

/** Bytes of the prepared input of one x row of `cols` columns (= the kernel qx_row_bytes). */
export function preparedRowBytes(cols: number): number {
  const a = qxSectionBytes(Math.ceil(cols / 32) * 32, 32);
  return cols % 256 === 0 ? a + qxSectionBytes(cols, 256) : a;
}

/** Scratch bytes prepareLinearInput needs for n rows of cols (0 for dtypes that read x itself). */
export function linearInputBytes(dtype: LinearDtype, n: number, cols: number): number {
  return linearInputKind(dtype) === 'qx' ? preparedInputBytes(n, cols) : 0;
}

/** Bytes of one cell of the prepared input's section T (4 x rows × one 32-column group; assembly/matmul_quant.ts). */
const QXT_CELL = 192;
/** Bytes of one cell of section T16 (the same block and group as i16, for Q8_0's row lanes). */
const QXT16_CELL = 272;

/** Bytes of the prepared input of n rows of cols (what any quantised linear reads; = the kernel qx_bytes): n records, then sections T and T16. */
export function preparedInputBytes(n: number, cols: number): number {
  return n * preparedRowBytes(cols) + Math.floor(n / 4) * Math.ceil(cols / 32) * (QXT_CELL + QXT16_CELL);
}

/**
 * Bytes that hold the prepared input of n rows of any column count ≤ cols (preparedInputBytes is not
 * monotonic: a multiple of 256 adds the second section).
 */
export function preparedInputCapacity(n: number, cols: number): number {
  const k = Math.floor(cols / 256) * 256;
  return n * (qxSectionBytes(Math.ceil(cols / 32) * 32, 32) + (k > 0 ? qxSectionBytes(k, 256) : 0)) + Math.floor(n / 4) * Math.ceil(cols / 32) * (QXT_CELL + QXT16_CELL);
}

/**
 * Prepare x [n, cols] f32 for the kernels of `dtype` and return the pointer they read: xPtr itself for
 * F32/BF16/F16; for quantised types, scratchPtr after quantising x into it (`quant_x`,
 * preparedInputBytes(n, cols) bytes, 16-byte aligned, not overlapping x). Call it once per x, before
 * splitting panels over threads; the result serves every quantised linear of the same cols. Kernels
 * trust it: no checks here.
 */
export function prepareLinearInput(k: Kernels, dtype: LinearDtype, xPtr: number, n: number, cols: number, scratchPtr: number): number {
  if (linearInputKind(dtype) === 'f32') return xPtr;
  k.quant_x(scratchPtr, xPtr, n, cols);
  return scratchPtr;
}

/**
 * Compute the output columns of panels [p0, p1) of out = x·Wᵀ for a packed matrix of any dtype:
 * out[i, 4·p0 ..] for i < n. Threads call it on disjoint panel ranges; a single thread passes
 * [0, panelCount(lin)). inPtr: what prepareLinearInput returned for this dtype (x [n, lin.cols] f32
 * for F32/BF16/F16, the prepared input for quantised types). scratchPtr: the calling thread's own
 * linearScratchBytes(k, n) bytes, or 0; quantised kernels use it for batches (from 3 to 16 rows up,
 * per type: each weight block unpacked once for all rows; the same results either way).
 */
export function runLinear(
  k: Kernels,
  lin: PackedLinear,
  outPtr: number, // [n, outStride]
  outStride: number,
  inPtr: number, // [n, cols] f32, or the prepared input of n rows of cols
  n: number,
  p0: number,
  p1: number,
  scratchPtr = 0,
): void {
  const r0 = p0 * PANEL_ROWS;
  const r1 = Math.min(lin.rows, p1 * PANEL_ROWS);
  if (r1 <= r0) return;
  const w = lin.ptr + p0 * panelBytesOf(lin.dtype, lin.cols);
  const out = outPtr + r0 * 4;
  const rows = r1 - r0;
  const cols = lin.cols;
  switch (lin.dtype) {
    case 'F32': return k.matmul_f32(out, outStride, w, inPtr, n, rows, cols);
    case 'BF16': return k.matmul_bf16(out, outStride, w, inPtr, n, rows, cols);
    case 'F16': return k.matmul_f16(out, outStride, w, inPtr, n, rows, cols);
    case 'Q8_0': return k.matmul_q8_0(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q4_0': return k.matmul_q4_0(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q4_1': return k.matmul_q4_1(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q5_0': return k.matmul_q5_0(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q5_1': return k.matmul_q5_1(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'IQ4_NL': return k.matmul_iq4_nl(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q2_K': return k.matmul_q2_k(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q3_K': return k.matmul_q3_k(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q4_K': return k.matmul_q4_k(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q5_K': return k.matmul_q5_k(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'Q6_K': return k.matmul_q6_k(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
    case 'IQ4_XS': return k.matmul_iq4_xs(out, outStride, w, inPtr, n, rows, cols, scratchPtr);
  }
}

/** Bytes of the per-thread scratch runLinear's quantised kernels use for batches of up to n rows. */
export function linearScratchBytes(k: Kernels, n: number): number {
  return k.quant_scratch_bytes(n);
}

/** Number of 4-row panels of a packed matrix. */
export function panelCount(lin: PackedLinear): number {
  return Math.ceil(lin.rows / PANEL_ROWS);
}
