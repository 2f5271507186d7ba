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
import { InvalidArgumentError, TokenizerError } from '../errors.js';
import { joinParts } from '../io/source.js';
import { GGML_TYPE_CODES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, GGUF_MAX_NAME_BYTES, GGUF_NUMBER_ARRAYS, GGUF_VALUE_TYPES, ggmlTypeBytes } from './gguf.js';
import type { GgmlReadableType, GgufArray, GgufNumberType, GgufValue, GgufValueType } from './gguf.js';
import { GGML_BLOCK, dequantizeGgml, quantizeGgml } from './ggml-quants.js';
import { parseJsonInput, specFromTokenizerJson, type TokenizerSpec } from '../tokenizer/spec.js';
import { ATTR, llamaCppAttributes, TOKEN_TYPE } from '../tokenizer/llama-vocab.js';

/** One tensor to write. */
export interface GgufTensorToWrite {
  readonly name: string;
  readonly type: GgmlReadableType;
  /** Row-major shape, outermost first (written reversed, as GGUF dims). At most 4 dims. */
  readonly shape: readonly number[];
  /** F32: Float32Array; F16/BF16: Uint16Array of bit patterns; block types: Uint8Array of GGML blocks (see quantizeGgml). */
  readonly data: Float32Array | Uint16Array | Uint8Array;
}

/** What `writeGguf` writes: the version, the alignment, the metadata (key → typed value) and the tensors. */
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

/**
 * One 8-byte scratch seen through each fixed-size number type's typed array (GGUF_NUMBER_ARRAYS, what
 * the reader reads them into: little-endian on spechub's platforms): a value stored through its
 * type's view leaves the bytes GGUF stores in NUMBER_BYTES.
 */
const NUMBER_SCRATCH = new ArrayBuffer(8);
const NUMBER_BYTES = new Uint8Array(NUMBER_SCRATCH);
/** A one-element view of the scratch: what the typed arrays of GGUF_NUMBER_ARRAYS have in common. */
interface NumberView {
  [i: number]: number | bigint;
  readonly BYTES_PER_ELEMENT: number;
}
const NUMBER_VIEWS = Object.fromEntries(
  Object.entries(GGUF_NUMBER_ARRAYS).map(([type, Items]): [string, NumberView] => [type, new Items(NUMBER_SCRATCH, 0, 1)]),
) as Readonly<Record<GgufNumberType, NumberView>>;

/** The range of each integer type of at most 32 bits (values are JS numbers). */
const INT_RANGES = {
  UINT8: [0, 0xff],
  INT8: [-0x80, 0x7f],
  UINT16: [0, 0xffff],
  INT16: [-0x8000, 0x7fff],
  UINT32: [0, 0xffffffff],
  INT32: [-0x80000000, 0x7fffffff],
} as const;

/** Growable byte buffer for the header (numbers little-endian, see NUMBER_VIEWS). */
class Out {
  private buf = new Uint8Array(1024);
  len = 0;
  /** Reserve n bytes and return their offset; may replace buf, so call it before touching it. */
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  /** One fixed-size number as GGUF stores it (see NUMBER_VIEWS); 64-bit types take a bigint. */
  number(type: GgufNumberType, v: number | bigint): void {
    const view = NUMBER_VIEWS[type];
    view[0] = v;
    this.bytes(NUMBER_BYTES.subarray(0, view.BYTES_PER_ELEMENT));
  }
  u32(v: number): void {
    this.number('UINT32', v);
  }
  u64(v: bigint | number): void {
    this.number('UINT64', BigInt(v));
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
  const num = ([lo, hi]: readonly [number, number]): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${where}: expected an integer in [${lo}, ${hi}] for ${type}, got ${String(v)}`);
    return v;
  };
  switch (type) {
    case 'UINT8':
    case 'INT8':
    case 'UINT16':
    case 'INT16':
    case 'UINT32':
    case 'INT32':
      return o.number(type, num(INT_RANGES[type]));
    case 'FLOAT32':
    case 'FLOAT64':
      if (typeof v !== 'number') bad(`${where}: expected a number for ${type}, got ${typeof v}`);
      return o.number(type, v);
    case 'UINT64':
    case 'INT64':
      if (typeof v !== 'bigint') bad(`${where}: expected a bigint for ${type}, got ${typeof v}`);
      if (type === 'UINT64' ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 63n) bad(`${where}: ${v} out of range for ${type}`);
      return o.number(type, v);
    case 'BOOL':
      if (typeof v !== 'boolean') bad(`${where}: expected a boolean for BOOL, got ${typeof v}`);
      return o.number('UINT8', v ? 1 : 0);
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
  return joinParts(ggufParts(spec));
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

/** Options of {@link tokenizerGgufMetadata}. */
export interface TokenizerGgufOptions {
  /**
   * general.name to write with the tokenizer. llama.cpp derives the rstrip attribute of Phi-3's
   * special tokens from it (a name containing "phi-3" or "phi3"): a tokenizer.json whose added
   * tokens strip spaces can only be written with such a name.
   */
  readonly name?: string;
}

/**
 * The tokenizer.ggml.* metadata that llama.cpp's convert_hf_to_gguf.py writes for a tokenizer.json
 * (+ tokenizer_config.json), so that llama.cpp tokenizes a GGUF made with {@link writeGguf} as
 * spechub tokenizes the tokenizer.json:
 * - byte-level vocabularies: model "gpt2", `pre` named from the pre-tokenizer (llama-bpe, qwen2,
 *   smollm, gpt-2, dbrx), the pieces, token types, merges as "left right";
 * - SentencePiece-style vocabularies: model "llama", pre "default", scores that order the pieces as
 *   the merges do (minus the rank of the first merge that makes a piece; the converter's -1000 for
 *   added tokens and 0 for byte and unknown tokens), add_space_prefix;
 * - token types as the converter sets them (added special-looking tokens control, other added
 *   tokens user-defined with "▁" written as spaces), BOS/EOS/EOT/UNK/PAD ids, add_bos_token,
 *   add_eos_token, and tokenizer.chat_template when tokenizer_config.json has one.
 * @returns metadata entries in order, to be written with other keys by writeGguf.
 * @throws TokenizerError when the tokenizer cannot be written for llama.cpp: a byte-level
 *   pre-tokenizer llama.cpp has no name for, merges llama.cpp would read differently (a piece with
 *   a space), or lstrip/rstrip flags llama.cpp would not reproduce from `options.name`.
 */
export function tokenizerGgufMetadata(
  tokenizerJson: string | Uint8Array | object,
  tokenizerConfigJson?: string | Uint8Array | object | null,
  options: TokenizerGgufOptions = {},
): [string, GgufValue][] {
  const cfg = tokenizerConfigJson == null ? {} : parseJsonInput(tokenizerConfigJson, 'tokenizer_config.json');
  const spec = specFromTokenizerJson(parseJsonInput(tokenizerJson, 'tokenizer.json'), cfg);
  checkStripFlags(spec, options.name ?? null);
  const str = (value: string): GgufValue => ({ type: 'STRING', value });
  const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
  const bool = (value: boolean): GgufValue => ({ type: 'BOOL', value });
  const out: [string, GgufValue][] = [];
  if (options.name !== undefined) out.push(['general.name', str(options.name)]);
  if (spec.kind === 'byte-level') {
    if (spec.pre === null) {
      throw new TokenizerError('tokenizer.json: pre_tokenizer: expected one llama.cpp names (GPT-2 ByteLevel, SmolLM Digits + ByteLevel, Llama-3 or Qwen2 Split + ByteLevel), got another');
    }
    out.push(['tokenizer.ggml.model', str('gpt2')], ['tokenizer.ggml.pre', str(spec.pre)]);
  } else {
    out.push(['tokenizer.ggml.model', str('llama')], ['tokenizer.ggml.pre', str('default')]);
  }
  out.push(['tokenizer.ggml.tokens', { type: 'ARRAY', value: { itemType: 'STRING', items: spec.tokens } }]);
  if (spec.kind === 'sentencepiece') out.push(['tokenizer.ggml.scores', { type: 'ARRAY', value: { itemType: 'FLOAT32', items: sentencePieceScores(spec) } }]);
  out.push(['tokenizer.ggml.token_type', { type: 'ARRAY', value: { itemType: 'INT32', items: spec.types } }]);
  if (spec.kind === 'byte-level') {
    const merges = spec.merges.map(([a, b], i) => {
      // llama.cpp splits "left right" at the first space after the first character
      if (a.length === 0 || a.includes(' ') || b.length === 0) throw new TokenizerError(`tokenizer.json: model.merges[${i}]: ${JSON.stringify([a, b])} cannot be written as "left right" for llama.cpp`);
      return `${a} ${b}`;
    });
    out.push(['tokenizer.ggml.merges', { type: 'ARRAY', value: { itemType: 'STRING', items: merges } }]);
  }
  const ids: [string, number | null][] = [
    ['bos', spec.bosId],
    ['eos', spec.eosId],
    ['eot', spec.fileEotId],
    ['unknown', spec.unkId],
    ['padding', spec.padId],
  ];
  for (const [k, id] of ids) if (id !== null) out.push([`tokenizer.ggml.${k}_token_id`, u32(id)]);
  out.push(['tokenizer.ggml.add_bos_token', bool(spec.addBos)], ['tokenizer.ggml.add_eos_token', bool(spec.addEos)]);
  if (spec.kind === 'sentencepiece') out.push(['tokenizer.ggml.add_space_prefix', bool(spec.addSpacePrefix)]);
  if (typeof cfg.chat_template === 'string') out.push(['tokenizer.chat_template', str(cfg.chat_template)]);
  return out;
}

/** SentencePiece scores that rank pieces as the merges do (see tokenizerGgufMetadata). */
function sentencePieceScores(spec: TokenizerSpec): Float32Array {
  const firstRank = new Map<string, number>();
  spec.merges.forEach(([a, b], rank) => {
    const p = a + b;
    if (!firstRank.has(p)) firstRank.set(p, rank);
  });
  const n = spec.pieces.length;
  const scores = new Float32Array(n);
  for (let id = 0; id < n; id++) {
    const t = spec.types[id]!;
    if (t === TOKEN_TYPE.CONTROL || t === TOKEN_TYPE.USER_DEFINED) scores[id] = -1000;
    else if (t === TOKEN_TYPE.NORMAL) scores[id] = -(firstRank.get(spec.pieces[id]!) ?? spec.merges.length + id);
  }
  return scores;
}

/** lstrip/rstrip of added tokens survive in a GGUF only as llama.cpp's Phi-3 rule derives them from general.name. */
function checkStripFlags(spec: TokenizerSpec, name: string | null): void {
  const mask = ATTR.LSTRIP | ATTR.RSTRIP;
  if (!spec.attrs.some((a) => (a & mask) !== 0)) return;
  const derived = llamaCppAttributes({ tokens: spec.tokens, types: spec.types, eosId: spec.eosId, eotId: spec.eotId, eomId: null, strip: { modelName: name } }).attrs;
  for (let id = 0; id < spec.attrs.length; id++) {
    if ((spec.attrs[id]! & mask) !== (derived[id]! & mask) && (spec.attrs[id]! & (ATTR.CONTROL | ATTR.USER_DEFINED | ATTR.UNKNOWN)) !== 0) {
      const what = (a: number) => [a & ATTR.LSTRIP ? 'lstrip' : '', a & ATTR.RSTRIP ? 'rstrip' : ''].filter(Boolean).join('+') || 'no strip';
      throw new TokenizerError(
        `tokenizer.json: added token ${JSON.stringify(spec.tokens[id])} (id ${id}): ${what(spec.attrs[id]!)} cannot be written to GGUF: llama.cpp derives it from general.name (${JSON.stringify(name)} gives ${what(derived[id]!)})`,
      );
    }
  }
}
