/**
 * GGUF reader (v2 and v3, little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 *
 *   "GGUF" u32 version  u64 tensor_count  u64 kv_count
 *   kv_count × { string key, u32 value_type, value }          string = u64 length + UTF-8 bytes
 *   tensor_count × { string name, u32 n_dims, u64 dims[n_dims] (innermost first), u32 ggml_type, u64 offset }
 *   padding to general.alignment (u32, default 32), then the data area
 *
 * Validation follows llama.cpp's gguf.cpp and adds bounds checks before every allocation:
 * counts and lengths are checked against the bytes left in the file (an array of n UINT32 needs 4n
 * bytes) and the whole header must fit in MAX_GGUF_HEADER_BYTES; keys and tensor names are unique,
 * UTF-8, names shorter than 64 bytes; at most 4 dims; BOOL is 0 or 1; alignment a power of two;
 * offsets multiples of the alignment. Data layout (llama.cpp's rule): tensors tile the data area in
 * declared order, each starting at the previous one's end rounded up to the alignment; the file may
 * end right after the last tensor or after its padding, nothing else.
 *
 * Tensor types: F32, F16, BF16 and the GGML quantised types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K,
 * Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS (src/weights/ggml-quants.ts); any other type is refused naming the
 * file, the tensor and the type. Rows of a block type must hold whole blocks. Nested arrays are read
 * (depth ≤ 8), although llama.cpp refuses them.
 */
import { WeightsFormatError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { GGML_BLOCK, GGML_OTHER_TYPE_NAMES, GGML_TYPES, GGML_TYPE_CODES, ggmlTypeOfCode, type GgmlType } from './ggml-quants.js';
import {
  getTensor,
  readQ8_0Planar,
  TensorFile,
  type ReadF32Options,
  type TensorDtype,
  type TensorInfo,
} from './tensor.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Largest header (metadata + tensor infos) read. Real models' vocabularies need a few MB. */
export const MAX_GGUF_HEADER_BYTES = 256 * 1024 * 1024;
/** ggml's GGML_MAX_NAME: tensor names are shorter than this many bytes. */
export const GGUF_MAX_NAME_BYTES = 64;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;

/** GGUF metadata value types, indexed by their code. */
export const GGUF_VALUE_TYPES = [
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'UINT32',
  'INT32',
  'FLOAT32',
  'BOOL',
  'STRING',
  'ARRAY',
  'UINT64',
  'INT64',
  'FLOAT64',
] as const;
/** The name of a GGUF metadata value type (GGUF_VALUE_TYPES[code]): 'UINT8' … 'FLOAT64', 'STRING', 'ARRAY'. */
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];

/** Bytes of one fixed-size value (strings: their length prefix; arrays: type + count). */
export const GGUF_VALUE_MIN_BYTES: Readonly<Record<GgufValueType, number>> = {
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  UINT32: 4,
  INT32: 4,
  FLOAT32: 4,
  BOOL: 1,
  STRING: 8,
  ARRAY: 12,
  UINT64: 8,
  INT64: 8,
  FLOAT64: 8,
};

/**
 * Items of a GGUF array, by item type: UINT8 Uint8Array, INT8 Int8Array, UINT16 Uint16Array,
 * INT16 Int16Array, UINT32 Uint32Array, INT32 Int32Array, FLOAT32 Float32Array, FLOAT64
 * Float64Array, UINT64 BigUint64Array, INT64 BigInt64Array, BOOL boolean[], STRING string[],
 * ARRAY GgufArray[].
 */
export type GgufArrayItems =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | readonly boolean[]
  | readonly string[]
  | readonly GgufArray[];

/** A GGUF metadata array: the items' type and the items (a typed array for numbers; see GgufArrayItems). */
export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly items: GgufArrayItems;
}

/**
 * The typed array each fixed-size numeric value type is read into, little-endian as GGUF stores it
 * (typed arrays take the platform's order; spechub's platforms, WebAssembly's memory included, are
 * little-endian).
 */
export const GGUF_NUMBER_ARRAYS = {
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  FLOAT32: Float32Array,
  FLOAT64: Float64Array,
  UINT64: BigUint64Array,
  INT64: BigInt64Array,
} as const;
/** The fixed-size numeric GGUF value types (every type but BOOL, STRING and ARRAY). */
export type GgufNumberType = keyof typeof GGUF_NUMBER_ARRAYS;

function isGgufNumberType(t: GgufValueType): t is GgufNumberType {
  return Object.hasOwn(GGUF_NUMBER_ARRAYS, t);
}

/** One metadata value: 8–32-bit ints and floats are numbers, 64-bit ints bigints. */
export type GgufValue =
  | { readonly type: 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'UINT32' | 'INT32' | 'FLOAT32' | 'FLOAT64'; readonly value: number }
  | { readonly type: 'UINT64' | 'INT64'; readonly value: bigint }
  | { readonly type: 'BOOL'; readonly value: boolean }
  | { readonly type: 'STRING'; readonly value: string }
  | { readonly type: 'ARRAY'; readonly value: GgufArray };

/** ggml tensor type codes spechub reads (every GgmlType). */
export { GGML_TYPE_CODES };
/** A ggml tensor type spechub reads. */
export type GgmlReadableType = GgmlType;

/** Bytes of `elements` values of a readable ggml type (block types: elements a multiple of the block). */
export function ggmlTypeBytes(type: GgmlReadableType, elements: number): number {
  const b = GGML_BLOCK[type];
  return (elements / b.values) * b.bytes;
}

/** A tensor as GGUF describes it, plus the row-major view every reader shares. */
export interface GgufTensorInfo extends TensorInfo {
  readonly dtype: GgmlReadableType & TensorDtype;
  /** GGUF's own dims, innermost first (shape reversed). */
  readonly dims: readonly number[];
  /** Offset relative to the data area, as stored. */
  readonly relOffset: number;
}

/** The parsed header of a GGUF file. */
export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** Tensors in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the data area. */
  readonly dataStart: number;
}

/** Thrown inside the parser when the window read so far is too short; never escapes this module. */
class NeedMoreBytes {}
const NEED_MORE = new NeedMoreBytes();

class Cursor {
  pos = 0;
  private readonly dv: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    readonly buf: Uint8Array,
    readonly fileSize: number,
    readonly file: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new WeightsFormatError(`${this.file}: ${what}`);
  }

  /** Bytes left in the file after pos. */
  get left(): number {
    return this.fileSize - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.left) this.fail(`${what} at offset ${this.pos} needs ${n} bytes, past the end of the file (${this.fileSize} bytes; truncated?)`);
    if (this.pos + n > MAX_GGUF_HEADER_BYTES) this.fail(`header: ${what} at offset ${this.pos} goes beyond the ${MAX_GGUF_HEADER_BYTES}-byte header limit`);
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A u64 that must be a safe integer ≤ max. */
  count(what: string, max: number): number {
    const v = this.u64(what);
    if (v > BigInt(max)) this.fail(`${what}: ${v} is more than ${max}${max < Number.MAX_SAFE_INTEGER ? ' (what the rest of the file can hold)' : ''}`);
    return Number(v);
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  string(what: string): string {
    const n = this.count(`${what}: string length`, Math.max(0, this.left - 8));
    const b = this.bytes(n, what);
    try {
      return this.utf8.decode(b);
    } catch {
      return this.fail(`${what}: expected UTF-8 text, got invalid byte sequences`);
    }
  }
  valueType(what: string): GgufValueType {
    const code = this.u32(`${what}: value type`);
    const t = GGUF_VALUE_TYPES[code];
    if (t === undefined) this.fail(`${what}: unknown value type ${code}; expected 0..12`);
    return t;
  }

  /** n values of a fixed-size numeric type, in an aligned copy. */
  numbers(type: GgufNumberType, n: number, what: string): GgufArrayItems {
    const Items = GGUF_NUMBER_ARRAYS[type];
    return new Items(this.bytes(n * Items.BYTES_PER_ELEMENT, what).slice().buffer);
  }

  value(type: GgufValueType, what: string, depth: number): GgufValue {
    // numbers() reads 64-bit ints as bigints and the rest as numbers, as GgufValue pairs them with their types
    if (isGgufNumberType(type)) return { type, value: (this.numbers(type, 1, what) as ArrayLike<number | bigint>)[0] } as GgufValue;
    switch (type) {
      case 'BOOL': {
        const b = this.u8(what);
        if (b > 1) this.fail(`${what}: expected a BOOL of 0 or 1, got ${b}`);
        return { type, value: b === 1 };
      }
      case 'STRING':
        return { type, value: this.string(what) };
      case 'ARRAY':
        return { type, value: this.array(what, depth + 1) };
    }
  }

  array(what: string, depth: number): GgufArray {
    if (depth > MAX_ARRAY_DEPTH) this.fail(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = this.valueType(`${what}: array item`);
    const minBytes = GGUF_VALUE_MIN_BYTES[itemType];
    const n = this.count(`${what}: array length`, Math.floor(Math.max(0, this.left - 8) / minBytes));
    if (isGgufNumberType(itemType)) return { itemType, items: this.numbers(itemType, n, what) };
    switch (itemType) {
      case 'BOOL': {
        const raw = this.bytes(n, what);
        const items: boolean[] = [];
        for (let i = 0; i < n; i++) {
          if (raw[i] > 1) this.fail(`${what}[${i}]: expected a BOOL of 0 or 1, got ${raw[i]}`);
          items.push(raw[i] === 1);
        }
        return { itemType, items };
      }
      case 'STRING': {
        const items: string[] = [];
        for (let i = 0; i < n; i++) items.push(this.string(`${what}[${i}]`));
        return { itemType, items };
      }
      case 'ARRAY': {
        const items: GgufArray[] = [];
        for (let i = 0; i < n; i++) items.push(this.array(`${what}[${i}]`, depth + 1));
        return { itemType, items };
      }
    }
  }
}

/**
 * Parse a GGUF header from `buf`, the first bytes of a file of `fileSize` bytes. Throws
 * WeightsFormatError for a malformed file, or the internal NEED_MORE when `buf` is too short
 * (GgufFile.open then reads a longer prefix).
 */
function parseHeader(file: string, buf: Uint8Array, fileSize: number): GgufHeader {
  const c: Cursor = new Cursor(buf, fileSize, file);
  if (fileSize < 4) c.fail(`expected the GGUF magic, got a ${fileSize}-byte file`);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    const text = [...buf.subarray(0, 4)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
    c.fail(`expected the GGUF magic "GGUF", got "${text}"`);
  }
  const version = c.u32('version');
  if ((version & 0xffff) === 0 && version !== 0) c.fail(`version ${version}: a big-endian GGUF file; expected little-endian`);
  if (version === 1) c.fail('version 1: GGUF v1 is not supported (expected 2 or 3); re-convert the model');
  if (version !== 2 && version !== 3) c.fail(`version ${version}: expected 2 or 3`);
  // Each tensor info needs ≥ 24 bytes and each key/value pair ≥ 13: bound the counts by the file.
  const tensorCount = c.count('tensor count', Math.floor(Math.max(0, c.left - 16) / 24));
  const kvCount = c.count('metadata count', Math.floor(Math.max(0, c.left - 8 - tensorCount * 24) / 13));

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key ${i}`);
    if (metadata.has(key)) c.fail(`metadata key ${JSON.stringify(key)} appears twice`);
    const type = c.valueType(`metadata ${key}`);
    metadata.set(key, c.value(type, `metadata ${key}`, 0));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (al.type !== 'UINT32') c.fail(`general.alignment: expected a UINT32, got ${al.type}`);
    alignment = al.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) c.fail(`general.alignment: expected a power of two, got ${alignment}`);
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor ${i} name`);
    const nameBytes = new TextEncoder().encode(name).length;
    if (nameBytes >= GGUF_MAX_NAME_BYTES) c.fail(`tensor ${JSON.stringify(name)}: name of ${nameBytes} bytes; expected fewer than ${GGUF_MAX_NAME_BYTES}`);
    if (names.has(name)) c.fail(`tensor ${JSON.stringify(name)} appears twice`);
    names.add(name);
    const where = `tensor ${name}`;
    const nDims = c.u32(`${where}: dimension count`);
    if (nDims > GGUF_MAX_DIMS) c.fail(`${where}: ${nDims} dimensions; expected at most ${GGUF_MAX_DIMS}`);
    const dims: number[] = [];
    let elements = 1;
    for (let j = 0; j < nDims; j++) {
      const d = c.count(`${where}: dimension ${j}`, Number.MAX_SAFE_INTEGER);
      dims.push(d);
      elements *= d;
      if (!Number.isSafeInteger(elements)) c.fail(`${where}: dims [${dims.join(', ')}] have more than 2^53 elements`);
    }
    const code = c.u32(`${where}: type`);
    const dtype = ggmlTypeOfCode(code);
    if (dtype === undefined) {
      const known = GGML_OTHER_TYPE_NAMES[code];
      c.fail(`${where}: type ${known ?? `code ${code}`} is not supported; expected one of ${GGML_TYPES.join(', ')}`);
    }
    const block = GGML_BLOCK[dtype].values;
    if (block > 1 && (nDims === 0 || dims[0] % block !== 0)) {
      c.fail(`${where}: ${dtype} rows of ${dims[0] ?? 1} elements; expected a multiple of ${block} (whole blocks)`);
    }
    const relOffset = c.count(`${where}: offset`, Number.MAX_SAFE_INTEGER);
    if (relOffset % alignment !== 0) c.fail(`${where}: data offset ${relOffset} is not a multiple of the alignment ${alignment}`);
    const byteLength = ggmlTypeBytes(dtype, elements);
    tensors.push({ name, dtype, shape: [...dims].reverse(), dims, elements, byteLength, file, offset: relOffset, relOffset });
  }

  let dataStart = Math.ceil(c.pos / alignment) * alignment;
  if (dataStart > fileSize) {
    // Without tensors, a writer may stop before the padding; otherwise the data area must exist.
    if (tensors.length > 0) c.fail(`data area would start at ${dataStart}, past the end of the file (${fileSize} bytes; truncated?)`);
    dataStart = fileSize;
  }
  const dataBytes = fileSize - dataStart;
  let expected = 0; // llama.cpp: each tensor starts at the padded end of the previous one
  let end = 0;
  for (const t of tensors) {
    if (t.relOffset !== expected) {
      c.fail(
        `tensor ${t.name}: data offset ${t.relOffset}; expected ${expected} (tensors must follow each other in order, each padded to ${alignment} bytes)`,
      );
    }
    end = expected + t.byteLength;
    if (end > dataBytes) c.fail(`tensor ${t.name}: data [${t.relOffset}, ${end}) goes past the end of the data area (${dataBytes} bytes; truncated?)`);
    expected = Math.ceil(end / alignment) * alignment;
  }
  if (dataBytes > expected) {
    c.fail(`${dataBytes - end} bytes after the last tensor; expected at most the ${expected - end} bytes of alignment padding`);
  }
  return {
    version,
    metadata,
    tensors: tensors.map((t) => ({ ...t, offset: dataStart + t.relOffset })),
    alignment,
    dataStart,
  };
}

/** One validated GGUF file over a ByteSource. Tensor data is read on demand. */
export class GgufFile extends TensorFile {
  readonly format = 'gguf' as const;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  readonly dataStart: number;

  private constructor(source: ByteSource, header: GgufHeader) {
    super(source);
    this.version = header.version;
    this.metadata = header.metadata;
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
    this.alignment = header.alignment;
    this.dataStart = header.dataStart;
  }

  /**
   * Read and validate the header of `source` (reading a growing prefix: 1 MiB, then ×4, up to
   * MAX_GGUF_HEADER_BYTES); no tensor data is read.
   */
  static async open(source: ByteSource): Promise<GgufFile> {
    let window = Math.min(source.size, 1 << 20);
    for (;;) {
      const buf = await source.read(0, window);
      try {
        return new GgufFile(source, parseHeader(source.name, buf, source.size));
      } catch (e) {
        if (e !== NEED_MORE) throw e;
      }
      // NEED_MORE only happens when window < min(size, cap) (Cursor.need checks both first), so the
      // window always grows; the guard below turns a logic error into an error instead of a hang.
      const next = Math.min(source.size, MAX_GGUF_HEADER_BYTES, window * 4);
      if (next <= window) throw new WeightsFormatError(`${source.name}: header parser needed more than ${window} bytes (internal error)`);
      window = next;
    }
  }

  /** Parse a GGUF held in memory (same validation as open). */
  static parseHeader(file: string, bytes: Uint8Array): GgufHeader {
    return parseHeader(file, bytes, bytes.length);
  }

  /** The value of `key`, or undefined. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** A Q8_0 tensor as planar scales [rows, cols/32] and int8 quants [rows, cols] (see readQ8_0Planar). */
  readTensorQ8_0(name: string, scales: Float32Array, qs: Int8Array, options?: ReadF32Options): Promise<void> {
    return readQ8_0Planar(this.source, getTensor(this, name), scales, qs, options);
  }
}
