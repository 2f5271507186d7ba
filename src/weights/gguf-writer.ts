/**
 * GGUF writer (v3 by default, little-endian), producing files llama.cpp loads: metadata, tensor
 * infos with dims innermost first, data tiled in declared order with each tensor padded to the
 * alignment (default 32; a different one is written as general.alignment). Used by tests and by
 * benchmarks that write random-weight llama GGUFs, in every type spechub reads: F32, F16, BF16 and the
 * GGML quantised types, quantised with ggml's reference code (`quantizeGgml`, src/weights/ggml-quants.ts:
 * the bytes llama.cpp's own quantizer writes from the same f32 values).
 *
 * `ggufParts` yields the file as pieces (header, then each tensor's bytes and padding, as views of
 * the caller's arrays), so multi-GB files can be streamed to disk; `writeGguf` concatenates them.
 *
 * Llama q/k weights must be stored in GGUF's interleaved RoPE row order: permute Hugging Face rows
 * with hfToGgufRopeRow (src/weights/llama-tensors.ts) before writing, as llama.cpp's converter does.
 */
import { InvalidArgumentError } from '../errors.js';
import { GGML_TYPE_CODES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, GGUF_MAX_NAME_BYTES, GGUF_VALUE_TYPES, ggmlTypeBytes } from './gguf.js';
import type { GgmlReadableType, GgufArray, GgufValue, GgufValueType } from './gguf.js';
import { GGML_BLOCK, dequantizeGgml, quantizeGgml } from './ggml-quants.js';

/** One tensor to write. */
export interface GgufTensorToWrite {
  readonly name: string;
  readonly type: GgmlReadableType;
  /** Row-major shape, outermost first (written reversed, as GGUF dims). At most 4 dims. */
  readonly shape: readonly number[];
  /** F32: Float32Array; F16/BF16: Uint16Array of bit patterns; block types: Uint8Array of GGML blocks (see quantizeGgml). */
  readonly data: Float32Array | Uint16Array | Uint8Array;
}

export interface GgufWriteSpec {
  /** 2 or 3 (default 3). */
  readonly version?: 2 | 3;
  /** Power of two (default 32). */
  readonly alignment?: number;
  /** Key/value pairs in order; keys unique. */
  readonly metadata: readonly (readonly [string, GgufValue])[];
  readonly tensors: readonly GgufTensorToWrite[];
}

const enc = new TextEncoder();

/** Growable little-endian byte buffer for the header. */
class Out {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  len = 0;
  /** Reserve n bytes and return their offset; may replace buf and dv, so call it before touching them. */
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
      this.dv = new DataView(bigger.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  u8(v: number): void {
    const at = this.room(1);
    this.dv.setUint8(at, v);
  }
  i8(v: number): void {
    const at = this.room(1);
    this.dv.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.dv.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.room(2);
    this.dv.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.dv.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.room(4);
    this.dv.setInt32(at, v, true);
  }
  f32(v: number): void {
    const at = this.room(4);
    this.dv.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.room(8);
    this.dv.setFloat64(at, v, true);
  }
  u64(v: bigint | number): void {
    const at = this.room(8);
    this.dv.setBigUint64(at, BigInt(v), true);
  }
  i64(v: bigint): void {
    const at = this.room(8);
    this.dv.setBigInt64(at, v, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  string(s: string): void {
    const b = enc.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    this.room((alignment - (this.len % alignment)) % alignment);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function bad(what: string): never {
  throw new InvalidArgumentError(`writeGguf: ${what}`);
}

function writeScalar(o: Out, type: GgufValueType, v: unknown, where: string): void {
  const num = (lo: number, hi: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${where}: expected an integer in [${lo}, ${hi}] for ${type}, got ${String(v)}`);
    return v;
  };
  switch (type) {
    case 'UINT8':
      return o.u8(num(0, 0xff));
    case 'INT8':
      return o.i8(num(-0x80, 0x7f));
    case 'UINT16':
      return o.u16(num(0, 0xffff));
    case 'INT16':
      return o.i16(num(-0x8000, 0x7fff));
    case 'UINT32':
      return o.u32(num(0, 0xffffffff));
    case 'INT32':
      return o.i32(num(-0x80000000, 0x7fffffff));
    case 'FLOAT32':
    case 'FLOAT64':
      if (typeof v !== 'number') bad(`${where}: expected a number for ${type}, got ${typeof v}`);
      return type === 'FLOAT32' ? o.f32(v) : o.f64(v);
    case 'UINT64':
    case 'INT64':
      if (typeof v !== 'bigint') bad(`${where}: expected a bigint for ${type}, got ${typeof v}`);
      if (type === 'UINT64' ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 63n) bad(`${where}: ${v} out of range for ${type}`);
      return type === 'UINT64' ? o.u64(v) : o.i64(v);
    case 'BOOL':
      if (typeof v !== 'boolean') bad(`${where}: expected a boolean for BOOL, got ${typeof v}`);
      return o.u8(v ? 1 : 0);
    case 'STRING':
      if (typeof v !== 'string') bad(`${where}: expected a string for STRING, got ${typeof v}`);
      return o.string(v);
    case 'ARRAY':
      return writeArray(o, v as GgufArray, where);
  }
}

function writeArray(o: Out, a: GgufArray, where: string): void {
  if (typeof a !== 'object' || a === null || !GGUF_VALUE_TYPES.includes(a.itemType) || a.items === undefined) bad(`${where}: expected {itemType, items}`);
  o.u32(GGUF_VALUE_TYPES.indexOf(a.itemType));
  o.u64(a.items.length);
  for (let i = 0; i < a.items.length; i++) writeScalar(o, a.itemType, a.items[i], `${where}[${i}]`);
}

/** The bytes of each tensor, validated against its type and shape. */
function tensorBytes(t: GgufTensorToWrite): Uint8Array {
  const elements = t.shape.reduce((a, d) => a * d, 1);
  const blockType = GGML_BLOCK[t.type].values > 1;
  const want = t.type === 'F32' ? Float32Array : blockType ? Uint8Array : Uint16Array;
  const bytes = ggmlTypeBytes(t.type, elements);
  const length = blockType ? bytes : elements;
  if (!(t.data instanceof want) || t.data.length !== length) {
    bad(`tensor ${t.name}: ${t.type}[${t.shape.join(', ')}] needs a ${want.name} of ${length}, got ${t.data.constructor.name}(${t.data.length})`);
  }
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** The file as pieces (see the module comment) and its total size. */
export function ggufParts(spec: GgufWriteSpec): { readonly totalBytes: number; readonly parts: readonly Uint8Array[] } {
  const version = spec.version ?? 3;
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (version !== 2 && version !== 3) bad(`version: expected 2 or 3, got ${String(version)}`);
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 0xffffffff) {
    bad(`alignment: expected a power of two, got ${alignment}`);
  }
  const metadata = [...spec.metadata];
  const keys = new Set(metadata.map(([k]) => k));
  if (keys.size !== metadata.length) bad('metadata: keys must be unique');
  const al = metadata.find(([k]) => k === 'general.alignment');
  if (al && !(al[1].type === 'UINT32' && al[1].value === alignment)) bad(`general.alignment: expected UINT32 ${alignment}, got ${al[1].type} ${String(al[1].value)}`);
  if (!al && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.push(['general.alignment', { type: 'UINT32', value: alignment }]);

  const o = new Out();
  o.u32(0x46554747);
  o.u32(version);
  o.u64(spec.tensors.length);
  o.u64(metadata.length);
  for (const [key, v] of metadata) {
    o.string(key);
    if (!GGUF_VALUE_TYPES.includes(v.type)) bad(`${key}: unknown type ${String(v.type)}`);
    o.u32(GGUF_VALUE_TYPES.indexOf(v.type));
    writeScalar(o, v.type, v.value, key);
  }
  const names = new Set<string>();
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    if (names.has(t.name)) bad(`tensor ${t.name} appears twice`);
    names.add(t.name);
    if (enc.encode(t.name).length >= GGUF_MAX_NAME_BYTES) bad(`tensor ${t.name}: name must be shorter than ${GGUF_MAX_NAME_BYTES} bytes`);
    if (t.shape.length > GGUF_MAX_DIMS || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`tensor ${t.name}: bad shape [${t.shape.join(', ')}]`);
    if (!Object.hasOwn(GGML_TYPE_CODES, t.type)) bad(`tensor ${t.name}: unknown type ${JSON.stringify(t.type)}`);
    const block = GGML_BLOCK[t.type].values;
    if (block > 1 && (t.shape.length === 0 || t.shape[t.shape.length - 1] % block !== 0)) bad(`tensor ${t.name}: ${t.type} rows must be a multiple of ${block}`);
    const data = tensorBytes(t);
    o.string(t.name);
    o.u32(t.shape.length);
    for (let j = t.shape.length - 1; j >= 0; j--) o.u64(t.shape[j]);
    o.u32(GGML_TYPE_CODES[t.type]);
    o.u64(offset);
    datas.push(data);
    offset += Math.ceil(data.length / alignment) * alignment;
  }
  o.pad(alignment);
  const parts: Uint8Array[] = [o.result()];
  let total = parts[0].length;
  for (const d of datas) {
    parts.push(d);
    const pad = (alignment - (d.length % alignment)) % alignment;
    if (pad > 0) parts.push(new Uint8Array(pad));
    total += d.length + pad;
  }
  return { totalBytes: total, parts };
}

/** Serialise a GGUF file to one array. */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const { totalBytes, parts } = ggufParts(spec);
  const out = new Uint8Array(totalBytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Quantize f32 values to Q8_0 blocks exactly as ggml's quantize_row_q8_0_ref does (quantizeGgml('Q8_0'));
 * `src.length` must be a multiple of 32.
 */
export function quantizeQ8_0(src: Float32Array): Uint8Array {
  if (src.length % 32 !== 0) throw new InvalidArgumentError(`quantizeQ8_0: expected a multiple of 32 values, got ${src.length}`);
  return quantizeGgml('Q8_0', src, 1, src.length);
}

/** Dequantize Q8_0 blocks (ggml's dequantize_row_q8_0). */
export function dequantizeQ8_0(blocks: Uint8Array): Float32Array {
  const out = new Float32Array((blocks.length / 34) * 32);
  dequantizeGgml('Q8_0', blocks, out);
  return out;
}
