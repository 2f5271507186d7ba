/**
 * What every weight reader (safetensors, sharded safetensors, GGUF) has in common: tensor dtypes,
 * the TensorInfo of one stored tensor, the TensorDirectory interface, and the decoders that turn
 * stored bytes into f32 in bounded chunks, straight into a destination view (e.g. wasm memory).
 *
 * Non-finite policy: weights are checked as they are decoded. A NaN or ±Inf anywhere in a tensor
 * read with readTensorF32 is a WeightsFormatError naming the file, tensor and element, unless the
 * caller passes `allowNonFinite: true` (for inspection tools). A model with a NaN weight produces
 * NaN logits for some inputs; refusing it at load time is the only place that error is cheap.
 */
import { ShapeError, WeightsFormatError } from '../errors.js';
import { readInto, type ByteSource } from '../io/source.js';
import { GGML_BLOCK, GGML_QUANT_TYPES, dequantizeGgml, type GgmlQuantType } from './ggml-quants.js';
import { f16ToF32, f32BitsToF16Bits } from './f16.js';

export { f16ToF32, f32BitsToF16Bits };

/** Element types of safetensors (format v1, byte-sized ones). */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2';

/** Every stored element type a reader may report: safetensors' and GGML's quantised block types. */
export type TensorDtype = SafetensorsDtype | GgmlQuantType;

/** The dtypes `readTensorF32` decodes: F32, F16, BF16 and every GGML quantised type spechub reads. */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | GgmlQuantType;

/** The decodable dtypes, for messages. */
export const FLOAT_DTYPES_TEXT = `F32, F16, BF16 or a GGML quantised type (${GGML_QUANT_TYPES.join(', ')})`;

/** Bytes per element of each safetensors dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** Q8_0 (GGML): blocks of 32 values, each an f16 scale followed by 32 int8: 34 bytes per block. */
export const Q8_0_BLOCK = 32;
/** Bytes of one Q8_0 block: an f16 scale and 32 int8 values. */
export const Q8_0_BLOCK_BYTES = 34;

/** One stored tensor. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: TensorDtype;
  /** Row-major, outermost first (GGUF's innermost-first dims are reversed into this order). */
  readonly shape: readonly number[];
  /** Product of shape (1 for a scalar, shape []). */
  readonly elements: number;
  readonly byteLength: number;
  /** File holding the tensor (as named in errors). */
  readonly file: string;
  /** Absolute byte offset of the first element in that file. */
  readonly offset: number;
}

/**
 * Row order of a tensor read: dest row rowMap(r) receives stored row r (a row is the last
 * dimension). Used to un-permute GGUF's interleaved-RoPE q/k rows; identity when absent.
 */
export type RowMap = (storedRow: number) => number;

/** Options of readTensorBytes. */
export interface ReadBytesOptions {
  /**
   * Read only the stored rows [start, start + count) (a row is the last dimension), as if they were the
   * whole tensor: dest holds count rows, and rowMap (if any) maps row indices inside the slice. Used to
   * split fused tensors (Phi-3's qkv_proj and gate_up_proj) into their parts without a copy.
   */
  readonly rows?: readonly [start: number, count: number];
  /** Permute whole rows while reading (see RowMap). Must be a permutation of [0, rows). */
  readonly rowMap?: RowMap;
}

/** Options of readTensorF32. */
export interface ReadF32Options extends ReadBytesOptions {
  /** Accept NaN / ±Inf values (default false: a non-finite weight is a WeightsFormatError). */
  readonly allowNonFinite?: boolean;
  /** Record finite values beyond `range.limit` here (at no cost for values within it). */
  readonly range?: WeightRange;
  /** What finds the values that need a look (default: JS_FINDER, a loop in JavaScript). */
  readonly finder?: ValueFinder;
}

/**
 * Where the first value that needs a look sits (the weight checks of a load scan every value, and
 * all but a few are fine): a JavaScript loop (JS_FINDER), or the runtime's SIMD scans over its own
 * memory (src/kernels/scan.ts wasmFinder).
 */
export interface ValueFinder {
  /** The first index i of `values` with !(|values[i]| ≤ limit) (NaN included), or −1. */
  f32(values: Float32Array, limit: number): number;
  /** The first index i of `bits` (bf16 patterns) whose magnitude bits (& 0x7fff) exceed limitBits, or −1. */
  bf16(bits: Uint16Array, limitBits: number): number;
}

/** ValueFinder in plain JavaScript (any array, anywhere). */
export const JS_FINDER: ValueFinder = {
  f32(values, limit) {
    for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]!) <= limit)) return i;
    return -1;
  },
  bf16(bits, limitBits) {
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7fff) > limitBits) return i;
    return -1;
  },
};

/**
 * Largest weight magnitude a sane checkpoint has: the f16 range. Real models stay orders of
 * magnitude below it (fp16 inference would overflow otherwise); files beyond it are corrupt or
 * hostile, and their forward passes overflow f32 (NaN logits) sooner or later.
 */
export const SANE_WEIGHT_LIMIT = 65504;

/** Whether a load warning is WeightRange's (weights beyond the sane range), among a model's other warnings. */
export function isWeightRangeWarning(warning: string): boolean {
  return /^\d+ weights? beyond ±/.test(warning);
}

/** Finite weights beyond a limit, counted while tensors are read (see ReadF32Options.range). */
export class WeightRange {
  /** Values beyond the limit. */
  count = 0;
  /** The largest magnitude seen beyond the limit (0 when none). */
  maxAbs = 0;
  /** The tensor that holds it. */
  maxTensor = '';

  constructor(readonly limit = SANE_WEIGHT_LIMIT) {}

  /** Count `v` of tensor `tensor` (a value already known to be beyond the limit). */
  note(tensor: string, v: number): void {
    this.count++;
    const a = Math.abs(v);
    if (a > this.maxAbs) {
      this.maxAbs = a;
      this.maxTensor = tensor;
    }
  }

  /** One line for a load warning (see isWeightRangeWarning), or null when every value was within the limit. */
  describe(): string | null {
    if (this.count === 0) return null;
    return `${this.count} weight${this.count === 1 ? '' : 's'} beyond ±${this.limit} (the f16 range), the largest ${this.maxAbs.toPrecision(3)} in ${this.maxTensor}: out of any sane range; generation will likely stop with non-finite values`;
  }
}

/** A validated set of tensors from one file or a sharded checkpoint. */
export interface TensorDirectory {
  /** Name used in messages (a file, or the index file of a sharded checkpoint). */
  readonly name: string;
  /** Which naming scheme the tensors use: Hugging Face names (safetensors) or GGUF names. */
  readonly format: 'safetensors' | 'gguf';
  /** Every tensor, by name. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /**
   * Decode tensor `name` to f32 into `dest` (exactly `elements` long; may be a view into wasm memory).
   * Reads in bounded chunks; F32 data is read straight into `dest`.
   */
  readTensorF32(name: string, dest: Float32Array, options?: ReadF32Options): Promise<void>; // dest: [elements]
  /** Copy the stored bytes of tensor `name` (exactly `byteLength`) into `dest`. */
  readTensorBytes(name: string, dest: Uint8Array, options?: ReadBytesOptions): Promise<void>; // dest: [byteLength]
  /** Formats with Q8_0 tensors (GGUF): planar scales and quants (see readQ8_0Planar). */
  readTensorQ8_0?(name: string, scales: Float32Array, qs: Int8Array, options?: ReadF32Options): Promise<void>; // scales: [rows, cols/32], qs: [rows, cols]
}

/** Look up `name` in a directory or throw a WeightsFormatError naming the directory. */
export function getTensor(dir: { readonly name: string; readonly tensors: ReadonlyMap<string, TensorInfo> }, name: string): TensorInfo {
  const t = dir.tensors.get(name);
  if (!t) throw new WeightsFormatError(`${dir.name}: no tensor named ${JSON.stringify(name)}`);
  return t;
}

/** "F32[2048, 128]" */
export function describeTensor(t: Pick<TensorInfo, 'dtype' | 'shape'>): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

// ---- scalar conversions ----

/** IEEE binary16 bit pattern → the exact f32 bit pattern (subnormals, ±Inf and NaN payloads kept). */
export function f16BitsToF32Bits(h: number): number {
  const s = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  let m = h & 0x3ff;
  if (e === 0x1f) return (s | 0x7f800000 | (m << 13)) >>> 0; // Inf / NaN
  if (e !== 0) return (s | ((e + 112) << 23) | (m << 13)) >>> 0; // normal: rebias 15 → 127
  if (m === 0) return s >>> 0; // ±0
  let e32 = 113; // subnormal m·2^-24: normalise so bit 10 is the implicit one
  while ((m & 0x400) === 0) {
    m <<= 1;
    e32--;
  }
  return (s | (e32 << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** bfloat16 bit pattern → its value (exact). */
export function bf16ToF32(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, (h & 0xffff) << 16);
  return b.getFloat32(0);
}

/** f32 bit pattern → bfloat16 bit pattern, rounding to nearest even; NaN stays NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encode f32 values as binary16 bit patterns (round to nearest even). */
export function f32ToF16Array(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

/** Encode f32 values as bfloat16 bit patterns (round to nearest even). */
export function f32ToBf16Array(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}

// ---- bulk decoding ----

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Largest chunk read at once when a tensor needs decoding (F32 is read straight into dest). */
export const CHUNK_BYTES = 1 << 22;

/** Stored bytes per decoding unit (an element, or a GGML block) and elements per unit. */
function unitOf(dtype: FloatDtype): { bytes: number; elements: number } {
  switch (dtype) {
    case 'F32':
      return { bytes: 4, elements: 1 };
    case 'F16':
    case 'BF16':
      return { bytes: 2, elements: 1 };
    default:
      return { bytes: GGML_BLOCK[dtype].bytes, elements: GGML_BLOCK[dtype].values };
  }
}

/**
 * The stored rows [start, start + count) of `t` as a tensor of their own (same dtype and file, the
 * offset moved to the first row), for ReadBytesOptions.rows. Throws ShapeError for a slice outside the
 * tensor or a tensor without rows.
 */
export function rowSlice(file: string, t: TensorInfo, rows: readonly [number, number]): TensorInfo {
  const [start, count] = rows;
  const outer = t.shape.length < 2 ? 0 : t.shape[0]!;
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0 && start + count <= outer)) {
    throw new ShapeError(`${file}: tensor ${t.name} ${describeTensor(t)}: expected a row slice inside [0, ${outer}), got rows [${start}, ${start + count})`);
  }
  const rowElements = t.elements / outer;
  const rowBytes = t.byteLength / outer;
  return {
    ...t,
    shape: [count, ...t.shape.slice(1)],
    elements: count * rowElements,
    byteLength: count * rowBytes,
    offset: t.offset + start * rowBytes,
  };
}

/** Whether `dtype` decodes to f32. */
export function isFloatDtype(dtype: TensorDtype): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || (GGML_QUANT_TYPES as readonly string[]).includes(dtype);
}

/**
 * Decode `count` elements of `dtype` from `src[pos..]` into dest[at..]. `bits` is a Uint32Array
 * over the same memory as `dest` (f16/bf16 are written as exact bit patterns). GGML block types are
 * dequantised exactly as ggml's dequantize_row_* (src/weights/ggml-quants.ts).
 */
function decode(dtype: FloatDtype, src: Uint8Array, pos: number, dest: Float32Array, bits: Uint32Array, at: number, count: number): void {
  switch (dtype) {
    case 'F32':
      new Uint8Array(dest.buffer, dest.byteOffset + at * 4, count * 4).set(src.subarray(pos, pos + count * 4));
      return;
    case 'F16':
      for (let i = 0; i < count; i++, pos += 2) bits[at + i] = f16BitsToF32Bits(src[pos] | (src[pos + 1] << 8));
      return;
    case 'BF16':
      for (let i = 0; i < count; i++, pos += 2) bits[at + i] = ((src[pos] | (src[pos + 1] << 8)) << 16) >>> 0;
      return;
    default:
      dequantizeGgml(dtype, src, dest.subarray(at, at + count), pos);
  }
}

/**
 * Throw if dest[at, at + count) holds a NaN or ±Inf (when `check`); note values beyond
 * `range.limit` in `range`. One comparison per value when everything is in range.
 */
function checkValues(file: string, t: TensorInfo, dest: Float32Array, at: number, count: number, firstElement: number, check: boolean, range: WeightRange | undefined, finder: ValueFinder): void {
  const limit = range?.limit ?? Number.MAX_VALUE; // ±Inf is beyond MAX_VALUE
  for (let i = 0; i < count; ) {
    const j = finder.f32(dest.subarray(at + i, at + count), limit);
    if (j < 0) return;
    i += j;
    const v = dest[at + i]!;
    if (v - v === 0) range?.note(t.name, v);
    else if (check) {
      throw new WeightsFormatError(
        `${file}: tensor ${t.name}: element ${firstElement + i} is ${v}; expected finite weights (pass allowNonFinite to read it anyway)`,
      );
    }
    i++;
  }
}

/**
 * Check f32 weights decoded outside readF32 (GGML blocks dequantised in WebAssembly) as readF32 checks
 * its values: a NaN or ±Inf is a WeightsFormatError naming the file, tensor and element (first: the
 * index of values[0] in the tensor); finite values beyond `range.limit` are noted in `range`.
 */
export function checkF32Values(file: string, tensor: TensorInfo, values: Float32Array, first: number, range?: WeightRange, finder: ValueFinder = JS_FINDER): void {
  checkValues(file, tensor, values, 0, values.length, first, true, range, finder);
}

/**
 * Check bfloat16 bit patterns (a raw BF16 read): a NaN or ±Inf is a WeightsFormatError naming the
 * file and tensor (as readF32 refuses them); finite values beyond `range.limit` are noted in `range`.
 */
export function checkBf16Values(file: string, tensor: string, bits: Uint16Array, range?: WeightRange, finder: ValueFinder = JS_FINDER): void {
  // |x| ≤ limit ⇔ magnitude bits ≤ limitBits: the limit's f32 bits truncated to bf16 (or the largest finite)
  const limitBits = range ? Math.min(0x7f7f, new Uint32Array(new Float32Array([range.limit]).buffer)[0]! >>> 16) : 0x7f7f;
  for (let i = 0; i < bits.length; i++) {
    const j = finder.bf16(bits.subarray(i), limitBits);
    if (j < 0) return;
    i += j;
    const m = bits[i]! & 0x7fff;
    if (m >= 0x7f80) {
      throw new WeightsFormatError(`${file}: tensor ${tensor}: element ${i} is ${m === 0x7f80 ? 'infinite' : 'NaN'}; expected finite weights`);
    }
    range?.note(tensor, bf16ToF32(bits[i]!));
  }
}

/**
 * Decode a stored tensor from `src` into `dest` (f32), in chunks of at most CHUNK_BYTES (or one row,
 * if a row is larger), optionally permuting rows. Validates dtype and dest length first.
 */
export async function readF32(
  src: ByteSource,
  t: TensorInfo,
  dest: Float32Array, // [t.elements]
  options: ReadF32Options = {},
): Promise<void> {
  if (options.rows !== undefined) {
    const { rows, ...rest } = options;
    return readF32(src, rowSlice(src.name, t, rows), dest, rest);
  }
  const rowMap = options.rowMap;
  if (!isFloatDtype(t.dtype)) {
    throw new WeightsFormatError(`${src.name}: tensor ${t.name} is ${t.dtype}; expected ${FLOAT_DTYPES_TEXT} to decode to f32`);
  }
  if (!(dest instanceof Float32Array) || dest.length !== t.elements) {
    throw new ShapeError(
      `${src.name}: tensor ${t.name} ${describeTensor(t)}: expected a Float32Array of ${t.elements} elements, got ${describeArray(dest)}`,
    );
  }
  if (!LITTLE_ENDIAN) throw new WeightsFormatError(`${src.name}: spechub reads weights on little-endian hosts only`);
  const dtype = t.dtype;
  const unit = unitOf(dtype);
  const bits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
  const check = options.allowNonFinite !== true;
  const range = options.range;
  const finder = options.finder ?? JS_FINDER;
  const scan = check || range !== undefined;
  const cols = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
  if (t.elements === 0) return;

  if (rowMap === undefined && dtype === 'F32') {
    // No conversion: read straight into dest (one OS read per GiB), then check.
    await readInto(src, t.offset, new Uint8Array(dest.buffer, dest.byteOffset, t.byteLength));
    if (scan) checkValues(src.name, t, dest, 0, t.elements, 0, check, range, finder);
    return;
  }
  if (rowMap === undefined) {
    const units = t.elements / unit.elements;
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / unit.bytes));
    for (let u0 = 0; u0 < units; u0 += perChunk) {
      const n = Math.min(perChunk, units - u0);
      const chunk = await src.read(t.offset + u0 * unit.bytes, n * unit.bytes);
      const at = u0 * unit.elements;
      decode(dtype, chunk, 0, dest, bits, at, n * unit.elements);
      if (scan) checkValues(src.name, t, dest, at, n * unit.elements, at, check, range, finder);
    }
    return;
  }
  // Row-permuted read: whole rows per chunk, each decoded into its destination row.
  const rows = t.elements / cols;
  const rowBytes = (cols / unit.elements) * unit.bytes;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  for (let r0 = 0; r0 < rows; r0 += perChunk) {
    const n = Math.min(perChunk, rows - r0);
    const chunk = await src.read(t.offset + r0 * rowBytes, n * rowBytes);
    for (let i = 0; i < n; i++) {
      const at = rowMap(r0 + i) * cols;
      decode(dtype, chunk, i * rowBytes, dest, bits, at, cols);
      if (scan) checkValues(src.name, t, dest, at, cols, (r0 + i) * cols, check, range, finder);
    }
  }
}

/** Copy the stored bytes of `t` into `dest`, optionally permuting whole rows (see RowMap). */
export async function readBytes(src: ByteSource, t: TensorInfo, dest: Uint8Array, options: ReadBytesOptions = {}): Promise<void> {
  if (options.rows !== undefined) {
    const { rows, ...rest } = options;
    return readBytes(src, rowSlice(src.name, t, rows), dest, rest);
  }
  const rowMap = options.rowMap;
  if (!(dest instanceof Uint8Array) || dest.length !== t.byteLength) {
    throw new ShapeError(`${src.name}: tensor ${t.name} ${describeTensor(t)}: expected a Uint8Array of ${t.byteLength} bytes, got ${describeArray(dest)}`);
  }
  if (rowMap === undefined) {
    await readInto(src, t.offset, dest);
    return;
  }
  const cols = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
  const rows = cols === 0 ? 0 : t.elements / cols;
  if (rows === 0) return;
  const rowBytes = t.byteLength / rows;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  for (let r0 = 0; r0 < rows; r0 += perChunk) {
    const n = Math.min(perChunk, rows - r0);
    const chunk = await src.read(t.offset + r0 * rowBytes, n * rowBytes);
    for (let i = 0; i < n; i++) dest.set(chunk.subarray(i * rowBytes, (i + 1) * rowBytes), rowMap(r0 + i) * rowBytes);
  }
}

/**
 * A TensorDirectory held in one file (SafetensorsFile, GgufFile): its tensors are read from
 * `source` on demand, by name; a name it does not hold is a WeightsFormatError.
 */
export abstract class TensorFile implements TensorDirectory {
  abstract readonly format: 'safetensors' | 'gguf';
  abstract readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The file's name (the source's), used in messages. */
  readonly name: string;

  protected constructor(readonly source: ByteSource) {
    this.name = source.name;
  }

  /** Decode tensor `name` to f32 into `dest` (see TensorDirectory.readTensorF32). */
  readTensorF32(name: string, dest: Float32Array, options?: ReadF32Options): Promise<void> {
    return readF32(this.source, getTensor(this, name), dest, options);
  }

  /** Copy the stored bytes of tensor `name` into `dest`. */
  readTensorBytes(name: string, dest: Uint8Array, options?: ReadBytesOptions): Promise<void> {
    return readBytes(this.source, getTensor(this, name), dest, options);
  }

  /** The stored bytes of tensor `name` (GGUF block types: GGML blocks), in a new array. */
  async readTensorRaw(name: string): Promise<Uint8Array> {
    const t = getTensor(this, name);
    const out = new Uint8Array(t.byteLength);
    await readBytes(this.source, t, out);
    return out;
  }

  /** Close the underlying source (if it can be closed). */
  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/** "Float32Array(12)", "undefined", … for error messages. */
export function describeArray(a: unknown): string {
  if (ArrayBuffer.isView(a)) return `${a.constructor.name}(${(a as unknown as { length: number }).length})`;
  return a === null ? 'null' : typeof a;
}

/**
 * Read a Q8_0 tensor [rows, cols] as planar arrays for an int8 kernel: scales[r, b] is the f16
 * scale of block b of row r (as f32, exact) and qs[r, c] the int8 quant, so that the value is
 * scales[r, ⌊c/32⌋]·qs[r, c]. Rows may be permuted (see RowMap). Non-finite scales are refused
 * unless allowNonFinite.
 */
export async function readQ8_0Planar(
  src: ByteSource,
  t: TensorInfo,
  scales: Float32Array, // [rows, cols / 32]
  qs: Int8Array, // [rows, cols]
  options: ReadF32Options = {},
): Promise<void> {
  if (options.rows !== undefined) {
    const { rows, ...rest } = options;
    return readQ8_0Planar(src, rowSlice(src.name, t, rows), scales, qs, rest);
  }
  if (t.dtype !== 'Q8_0') throw new WeightsFormatError(`${src.name}: tensor ${t.name} is ${t.dtype}; expected Q8_0 for a planar int8 read`);
  const blocks = t.elements / Q8_0_BLOCK;
  if (!(scales instanceof Float32Array) || scales.length !== blocks || !(qs instanceof Int8Array) || qs.length !== t.elements) {
    throw new ShapeError(
      `${src.name}: tensor ${t.name} ${describeTensor(t)}: expected scales Float32Array(${blocks}) and qs Int8Array(${t.elements}), got ${describeArray(scales)} and ${describeArray(qs)}`,
    );
  }
  if (t.elements === 0) return;
  const cols = t.shape[t.shape.length - 1];
  const rows = t.elements / cols;
  const blocksPerRow = cols / Q8_0_BLOCK;
  const rowBytes = blocksPerRow * Q8_0_BLOCK_BYTES;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  const qu8 = new Uint8Array(qs.buffer, qs.byteOffset, qs.length);
  const range = options.range;
  for (let r0 = 0; r0 < rows; r0 += perChunk) {
    const n = Math.min(perChunk, rows - r0);
    const chunk = await src.read(t.offset + r0 * rowBytes, n * rowBytes);
    for (let i = 0; i < n; i++) {
      const r = options.rowMap ? options.rowMap(r0 + i) : r0 + i;
      for (let b = 0; b < blocksPerRow; b++) {
        const pos = i * rowBytes + b * Q8_0_BLOCK_BYTES;
        const d = f16ToF32(chunk[pos] | (chunk[pos + 1] << 8));
        if (options.allowNonFinite !== true && d - d !== 0) {
          throw new WeightsFormatError(`${src.name}: tensor ${t.name}: block ${(r0 + i) * blocksPerRow + b} has scale ${d}; expected finite weights`);
        }
        if (range !== undefined && Math.abs(d) * 128 > range.limit) {
          // the block's values are d·q with |q| ≤ 128: find its largest
          let q = 0;
          for (let j = 2; j < Q8_0_BLOCK_BYTES; j++) q = Math.max(q, Math.abs((chunk[pos + j]! << 24) >> 24));
          if (Math.abs(d) * q > range.limit) range.note(t.name, d * q);
        }
        scales[r * blocksPerRow + b] = d;
        qu8.set(chunk.subarray(pos + 2, pos + Q8_0_BLOCK_BYTES), r * cols + b * Q8_0_BLOCK);
      }
    }
  }
}
