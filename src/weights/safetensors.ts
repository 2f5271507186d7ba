/**
 * Safetensors reader (https://github.com/huggingface/safetensors, format v1) with the validation of
 * the reference Rust reader, and more:
 *
 *   [8 bytes] n: u64 little-endian header length      n ≤ 100,000,000; 8 + n ≤ file size
 *   [n bytes] JSON header, UTF-8, starting with '{'     an object; no duplicate keys at any depth
 *             "__metadata__": {string: string} | null   (null is accepted, as the Rust reader does)
 *             "<name>": {"dtype", "shape", "data_offsets"}   exactly these fields
 *   [rest]    data area; offsets are relative to its start
 *
 * Accepted layouts: the tensors, sorted by (begin, end), must tile the data area exactly: the first
 * begins at 0, each begins where the previous ended, the last ends at the end of the file. No gaps,
 * no overlaps, no trailing bytes. The header's key order does not matter (the Rust reader sorts
 * too); every real file we know is written that way. Empty tensors (a 0 in the shape) have
 * begin = end; a scalar has shape [] and one element.
 *
 * Only F32, F16 and BF16 decode to f32; the other safetensors dtypes are listed (and raw bytes can
 * be read) but readTensorF32 refuses them. Sub-byte dtypes (F4, F6_*) are "unknown" here.
 */
import { WeightsFormatError } from '../errors.js';
import { decodeUtf8, type ByteSource } from '../io/source.js';
import { describeJson, isJsonObject, parseJsonStrict } from '../io/json.js';
import {
  describeTensor,
  SAFETENSORS_DTYPE_BYTES,
  TensorFile,
  type SafetensorsDtype,
  type TensorInfo,
} from './tensor.js';

/** Largest header accepted (the Rust reader's MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The validated header of one safetensors file. */
export interface SafetensorsHeader {
  /** `__metadata__` (empty when absent or null). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data order (by offset). */
  readonly tensors: readonly TensorInfo[];
  /** Absolute offset of the data area: 8 + header length. */
  readonly dataStart: number;
}

const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'];

/**
 * The header length from the 8-byte prefix, checked against the cap and the file size.
 * `prefix` holds at least the first 8 bytes of a file of `fileSize` bytes.
 */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new WeightsFormatError(`${file}: expected at least 8 bytes (the header length prefix), got a ${fileSize}-byte file`);
  }
  if (prefix.length < 8) throw new WeightsFormatError(`${file}: expected the 8-byte header length prefix, got ${prefix.length} bytes`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new WeightsFormatError(`${file}: header length prefix says ${n} bytes; expected at most ${MAX_HEADER_BYTES}`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new WeightsFormatError(`${file}: header length prefix says ${len} bytes, past the end of the file (${fileSize - 8} bytes after the prefix)`);
  }
  return len;
}

function fail(file: string, what: string): never {
  throw new WeightsFormatError(`${file}: ${what}`);
}

/** A non-negative safe integer (JSON numbers such as 1.0 and 1e3 are integers too). */
function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validate the JSON header (`headerBytes`, the n bytes after the prefix) of a file of `fileSize`
 * bytes and return its tensors with absolute offsets. Every problem is a WeightsFormatError that
 * names the file, the tensor, what was expected and what was found.
 */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataBytes = fileSize - dataStart;
  if (dataBytes < 0) fail(file, `header of ${headerBytes.length} bytes is past the end of the file (${fileSize} bytes)`);
  const text = decodeUtf8(headerBytes, `${file}: header`);
  if (!text.startsWith('{')) fail(file, `header: expected JSON starting with '{', got ${describeJson(text.slice(0, 20))}`);
  const parsed = parseJsonStrict(text);
  if (!parsed.ok) fail(file, `header: ${parsed.problem}`);
  const json = parsed.value;
  if (!isJsonObject(json)) fail(file, `header: expected a JSON object, got ${describeJson(json)}`);

  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!isJsonObject(v)) fail(file, `__metadata__: expected an object of strings, got ${describeJson(v)}`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') fail(file, `__metadata__.${k}: expected a string, got ${describeJson(s)}`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isJsonObject(v)) fail(file, `${where}: expected an object with dtype, shape and data_offsets, got ${describeJson(v)}`);
    for (const f of ENTRY_FIELDS) if (!(f in v)) fail(file, `${where}: expected a "${f}" field, got none`);
    for (const f of Object.keys(v)) {
      if (!ENTRY_FIELDS.includes(f)) fail(file, `${where}: expected only dtype, shape and data_offsets, got an unknown field ${JSON.stringify(f)}`);
    }
    const { dtype, shape, data_offsets: offsets } = v;
    if (typeof dtype !== 'string') fail(file, `${where}: dtype: expected a string, got ${describeJson(dtype)}`);
    if (!Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype)) {
      fail(file, `${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape)) fail(file, `${where}: shape: expected an array of dimensions, got ${describeJson(shape)}`);
    let elements = 1;
    for (const d of shape) {
      if (!isIndex(d)) fail(file, `${where}: shape ${describeJson(shape)}: expected non-negative integer dimensions, got ${describeJson(d)}`);
      elements *= d;
      if (!Number.isSafeInteger(elements)) fail(file, `${where}: shape ${describeJson(shape)} has more than 2^53 elements`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isIndex(offsets[0]) || !isIndex(offsets[1])) {
      fail(file, `${where}: data_offsets: expected [begin, end] as non-negative integers, got ${describeJson(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(file, `${where}: data_offsets [${begin}, ${end}]: expected begin <= end`);
    const byteLength = elements * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
    const info: TensorInfo = { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], elements, byteLength, file, offset: dataStart + begin };
    if (end - begin !== byteLength) {
      fail(file, `${where}: ${describeTensor(info)} needs ${byteLength} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataBytes) {
      fail(file, `${where}: data_offsets [${begin}, ${end}] end past the data area (${dataBytes} bytes; is the file truncated?)`);
    }
    tensors.push(info);
  }

  // Tile the data area: sorted by (begin, end), each tensor starts where the previous one ended.
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let cursor = 0;
  let prev: TensorInfo | null = null;
  for (const t of tensors) {
    const begin = t.offset - dataStart;
    if (begin < cursor) {
      fail(file, `tensor ${JSON.stringify(t.name)}: data_offsets [${begin}, ${begin + t.byteLength}] overlap tensor ${JSON.stringify(prev?.name)} (which ends at ${cursor})`);
    }
    if (begin > cursor) {
      fail(file, `tensor ${JSON.stringify(t.name)}: data_offsets begin at ${begin}, leaving a gap of ${begin - cursor} unused bytes after ${prev ? `tensor ${JSON.stringify(prev.name)}` : 'the header'} (expected ${cursor})`);
    }
    cursor = begin + t.byteLength;
    prev = t;
  }
  if (cursor !== dataBytes) {
    fail(file, `tensors cover ${cursor} bytes of data, but the file has ${dataBytes} bytes after the header (${dataBytes - cursor} trailing bytes)`);
  }
  return { metadata, tensors, dataStart };
}

/** One validated safetensors file over a ByteSource. Tensor data is read on demand. */
export class SafetensorsFile extends TensorFile {
  readonly format = 'safetensors' as const;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** `__metadata__` (e.g. {"format": "pt"}); empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data area. */
  readonly dataStart: number;

  private constructor(source: ByteSource, header: SafetensorsHeader) {
    super(source);
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
    this.metadata = header.metadata;
    this.dataStart = header.dataStart;
  }

  /** Read and validate the header of `source`; no tensor data is read. */
  static async open(source: ByteSource): Promise<SafetensorsFile> {
    if (source.size < 8) parseHeaderLength(source.name, new Uint8Array(0), source.size);
    const n = parseHeaderLength(source.name, await source.read(0, 8), source.size);
    const header = parseSafetensorsHeader(source.name, await source.read(8, n), source.size);
    return new SafetensorsFile(source, header);
  }
}
