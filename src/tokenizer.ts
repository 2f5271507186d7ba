/**
 * Tokenizer for Hugging Face `tokenizer.json` files of the SentencePiece-style BPE kind that Llama
 * models use: normalizer Prepend("▁") + Replace(" " → "▁"), no pre-tokenizer, a BPE model (merges
 * as "a b" strings or as pairs; byte_fallback on or off), and the decoder Replace("▁" → " "),
 * ByteFallback, Fuse, Strip(" ", n, 0). Browser-safe.
 *
 * Encoding is done by `@huggingface/tokenizers` (tokenizers.js) after this module validated the
 * file's shape; decoding (full and streaming) is done here from per-id tables. What the library got
 * wrong or lacks, and how it is handled:
 * - `decode([])` throws in the library; here it returns "".
 * - the library's decode cleans up tokenization spaces (" ." → ".") unless told not to; not used here.
 * - "a b c" merge strings are silently truncated by the library (`split(" ", 2)`); rejected here.
 * - `single_word` added tokens are ignored by the library; rejected here as unsupported.
 * - the library's ByteFallback decoder reads "<0x4G>" as byte 4 (parseInt); here only two hex
 *   digits make a byte token, as in Rust.
 * - the library's ByteFallback decoder drops a U+FEFF that starts a byte run (its TextDecoder eats
 *   it as a byte order mark); decode here keeps it.
 * - the library's Prepend normalizer also prepends to "" (its encode avoids that, but a direct
 *   normalizer call does not); the raw path here (`parseSpecial: false`) handles "" itself.
 * - streaming decode does not exist in the library; {@link StreamDecoder} provides it.
 *
 * Invalid UTF-8 from byte-fallback tokens is decoded with the WHATWG rule (each maximal invalid
 * subpart becomes one U+FFFD, as `TextDecoder` does). Rust `tokenizers` instead turns a whole invalid
 * run into one U+FFFD per byte; that rule cannot be streamed (a later byte would change text already
 * emitted), so spechub does not follow it. Valid text decodes identically under both.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError, TokenizerError } from './errors.js';
import { describeJson, jsonDepthProblem, jsonValueDepthProblem } from './io/json.js';
import { sha256Hex } from './tokenizer/sha256.js';
import { Utf8ByteDecoder } from './tokenizer/utf8.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Put the BOS id first. Default: what the tokenizer files say (tokenizer_config `add_bos_token`, else the post-processor). */
  bos?: boolean;
  /**
   * Recognise added/special tokens written in the text (e.g. "<s>") as their ids, as Hugging Face
   * does by default. With false the whole text goes through the normalizer and BPE. Default true.
   */
  parseSpecial?: boolean;
}

/** Options of {@link Tokenizer.decode} and {@link Tokenizer.streamDecoder}. */
export interface DecodeOptions {
  /** Leave special tokens (BOS, EOS, UNK, …) out of the text, as HF's skip_special_tokens. Default true. */
  skipSpecial?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SP_SPACE = '\u2581'; // ▁
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

function show(v: unknown): string {
  return describeJson(v, 120);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonInput(input: unknown, what: string): JsonObject {
  let v: unknown = input;
  // bounded nesting before anything (JSON.parse, structuredClone, the tokenizers library) walks it
  const deep = typeof input === 'string' ? jsonDepthProblem(input) : isObject(input) ? jsonValueDepthProblem(input) : null;
  if (deep !== null) throw new TokenizerError(`${what}: ${deep}`);
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new TokenizerError(`${what}: expected JSON text, got a parse error (${(e as Error).message})`);
    }
  } else if (input instanceof Uint8Array) {
    return parseJsonInput(new TextDecoder().decode(input), what);
  } else if (isObject(input)) {
    v = structuredClone(input);
  }
  if (!isObject(v)) throw new TokenizerError(`${what}: expected a JSON object, got ${show(v)}`);
  return v;
}

/** What spechub understood of a tokenizer.json (exposed for diagnostics). */
export interface TokenizerShape {
  /** Normalizer prepends "▁" to non-empty input (SentencePiece add_dummy_prefix). */
  readonly prependSpace: boolean;
  /** BPE model falls back to <0xXX> tokens for characters outside the vocabulary. */
  readonly byteFallback: boolean;
  /** Decoder turns <0xXX> tokens back into bytes. */
  readonly decodeBytes: boolean;
  /** Decoder strips up to this many leading spaces from the text. */
  readonly stripLeading: number;
}

/** A validated SentencePiece-style BPE tokenizer. Create with {@link Tokenizer.fromJson}. */
export class Tokenizer {
  /** Number of ids (model vocab plus added tokens); ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or null if the files name none. */
  readonly bosId: number | null;
  /** End-of-sequence id, or null if the files name none. */
  readonly eosId: number | null;
  /** Unknown-token id, or null. */
  readonly unkId: number | null;
  /** Whether encode() puts BOS first when not told otherwise. */
  readonly addBos: boolean;
  readonly shape: TokenizerShape;

  /** @internal id → token string as in tokenizer.json. */
  readonly pieces: readonly string[];
  /** @internal id → decoded text (after Replace "▁" → " "); unused for byte tokens. */
  readonly texts: readonly string[];
  /** @internal id → byte value for <0xXX> tokens when the decoder has ByteFallback, else -1. */
  readonly byteOf: Int16Array;
  /** @internal id → 1 when the token is special (skipped by decode). */
  readonly special: Uint8Array;

  private readonly hf: HfTokenizer;
  // ignoreBOM: a U+FEFF that starts a byte run is text, not a byte order mark (Rust keeps it too)
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private fingerprintCache: string | null = null;

  private constructor(init: {
    hf: HfTokenizer;
    pieces: string[];
    special: Uint8Array;
    shape: TokenizerShape;
    bosId: number | null;
    eosId: number | null;
    unkId: number | null;
    addBos: boolean;
  }) {
    this.hf = init.hf;
    this.pieces = init.pieces;
    this.vocabSize = init.pieces.length;
    this.special = init.special;
    this.shape = init.shape;
    this.bosId = init.bosId;
    this.eosId = init.eosId;
    this.unkId = init.unkId;
    this.addBos = init.addBos;
    this.texts = init.pieces.map((p) => p.split(SP_SPACE).join(' '));
    this.byteOf = new Int16Array(this.vocabSize).fill(-1);
    if (init.shape.decodeBytes) {
      for (let id = 0; id < this.vocabSize; id++) {
        const t = this.texts[id]!;
        if (BYTE_PIECE.test(t)) this.byteOf[id] = parseInt(t.slice(3, 5), 16);
      }
    }
  }

  /**
   * Build a tokenizer from the contents of `tokenizer.json` (text, UTF-8 bytes or parsed object)
   * and optionally `tokenizer_config.json` (for bos/eos token names and add_bos_token).
   * @throws TokenizerError when the file is malformed or of a kind spechub does not support; the
   *   message says what was expected and what was found.
   */
  static fromJson(tokenizerJson: string | Uint8Array | object, tokenizerConfigJson?: string | Uint8Array | object | null): Tokenizer {
    const tj = parseJsonInput(tokenizerJson, 'tokenizer.json');
    const cfg = tokenizerConfigJson == null ? {} : parseJsonInput(tokenizerConfigJson, 'tokenizer_config.json');

    // ---- model
    const model = tj.model;
    if (!isObject(model)) throw new TokenizerError(`tokenizer.json: model: expected an object, got ${show(model)}`);
    if (model.type !== 'BPE') {
      throw new TokenizerError(`tokenizer.json: model.type: expected "BPE" (SentencePiece-style BPE), got ${show(model.type)}`);
    }
    if (model.dropout != null && model.dropout !== 0) {
      throw new TokenizerError(`tokenizer.json: model.dropout: expected null (deterministic BPE), got ${show(model.dropout)}`);
    }
    for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
      if (model[key] != null && model[key] !== '') {
        throw new TokenizerError(`tokenizer.json: model.${key}: expected null for SentencePiece-style BPE, got ${show(model[key])}`);
      }
    }
    if (model.byte_fallback != null && typeof model.byte_fallback !== 'boolean') {
      throw new TokenizerError(`tokenizer.json: model.byte_fallback: expected a boolean, got ${show(model.byte_fallback)}`);
    }
    const vocab = model.vocab;
    if (!isObject(vocab)) throw new TokenizerError(`tokenizer.json: model.vocab: expected an object piece → id, got ${show(vocab)}`);
    const idToPiece = new Map<number, string>();
    const pieceToId = new Map<string, number>();
    for (const [piece, id] of Object.entries(vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= 2 ** 24) {
        throw new TokenizerError(`tokenizer.json: model.vocab[${show(piece)}]: expected an id in [0, 2^24), got ${show(id)}`);
      }
      if (idToPiece.has(id)) {
        throw new TokenizerError(`tokenizer.json: model.vocab: expected unique ids, got id ${id} for both ${show(idToPiece.get(id))} and ${show(piece)}`);
      }
      idToPiece.set(id, piece);
      pieceToId.set(piece, id);
    }

    // ---- added tokens
    const added = tj.added_tokens ?? [];
    if (!Array.isArray(added)) throw new TokenizerError(`tokenizer.json: added_tokens: expected an array, got ${show(added)}`);
    const specialIds = new Set<number>();
    for (const [i, t] of added.entries()) {
      if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0 || t.id >= 2 ** 24) {
        throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: expected {id, content, …}, got ${show(t)}`);
      }
      if (t.single_word === true) {
        throw new TokenizerError(`tokenizer.json: added_tokens[${i}] (${show(t.content)}): single_word=true is not supported, got ${show(t)}`);
      }
      const prev = idToPiece.get(t.id);
      if (prev !== undefined && prev !== t.content) {
        throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: id ${t.id} is ${show(prev)} in model.vocab, got content ${show(t.content)}`);
      }
      const other = pieceToId.get(t.content);
      if (other !== undefined && other !== t.id) {
        throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: ${show(t.content)} has id ${other} in model.vocab, got id ${t.id}`);
      }
      idToPiece.set(t.id, t.content);
      pieceToId.set(t.content, t.id);
      if (t.special === true) specialIds.add(t.id);
    }
    const vocabSize = idToPiece.size;
    const pieces: string[] = new Array<string>(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      const p = idToPiece.get(id);
      if (p === undefined) {
        throw new TokenizerError(`tokenizer.json: vocabulary: expected ids 0..${vocabSize - 1} without gaps, got no token with id ${id} (largest id ${Math.max(...idToPiece.keys())})`);
      }
      pieces[id] = p;
    }
    const special = new Uint8Array(vocabSize);
    for (const id of specialIds) special[id] = 1;

    // ---- unk
    let unkId: number | null = null;
    if (model.unk_token != null) {
      if (typeof model.unk_token !== 'string' || !pieceToId.has(model.unk_token)) {
        throw new TokenizerError(`tokenizer.json: model.unk_token: expected a token of the vocabulary, got ${show(model.unk_token)}`);
      }
      unkId = pieceToId.get(model.unk_token)!;
    }

    // ---- merges
    const merges = model.merges ?? [];
    if (!Array.isArray(merges)) throw new TokenizerError(`tokenizer.json: model.merges: expected an array, got ${show(merges)}`);
    for (const [i, m] of merges.entries()) {
      let a: unknown, b: unknown;
      if (typeof m === 'string') {
        const parts = m.split(' ');
        if (parts.length !== 2) {
          throw new TokenizerError(`tokenizer.json: model.merges[${i}]: expected "left right" with exactly one space, got ${show(m)}`);
        }
        [a, b] = parts;
      } else if (Array.isArray(m) && m.length === 2) {
        [a, b] = m;
      } else {
        throw new TokenizerError(`tokenizer.json: model.merges[${i}]: expected "left right" or [left, right], got ${show(m)}`);
      }
      if (typeof a !== 'string' || typeof b !== 'string' || !pieceToId.has(a) || !pieceToId.has(b) || !pieceToId.has(a + b)) {
        throw new TokenizerError(`tokenizer.json: model.merges[${i}]: expected two vocabulary tokens whose concatenation is in the vocabulary, got ${show(m)}`);
      }
    }
    if (merges.length > 0 && merges.some((m) => typeof m !== typeof merges[0])) {
      throw new TokenizerError(`tokenizer.json: model.merges: expected one format throughout (all strings or all pairs), got both`);
    }

    // ---- normalizer: [Prepend("▁")] + Replace(" " → "▁"), in either order
    const normList = tj.normalizer == null ? [] : isObject(tj.normalizer) && tj.normalizer.type === 'Sequence' ? tj.normalizer.normalizers : [tj.normalizer];
    if (!Array.isArray(normList)) throw new TokenizerError(`tokenizer.json: normalizer.normalizers: expected an array, got ${show(normList)}`);
    let prependSpace = false;
    let replaceSpace = false;
    for (const n of normList) {
      if (isObject(n) && n.type === 'Prepend' && n.prepend === SP_SPACE && !prependSpace) prependSpace = true;
      else if (isObject(n) && n.type === 'Replace' && isObject(n.pattern) && n.pattern.String === ' ' && n.content === SP_SPACE && !replaceSpace) replaceSpace = true;
      else {
        throw new TokenizerError(
          `tokenizer.json: normalizer: expected Sequence[Prepend("▁"), Replace(" " → "▁")] (SentencePiece style), got ${show(tj.normalizer)}`,
        );
      }
    }
    if (!replaceSpace) {
      throw new TokenizerError(`tokenizer.json: normalizer: expected a Replace(" " → "▁") normalizer (SentencePiece style), got ${show(tj.normalizer)}`);
    }
    if (tj.pre_tokenizer != null) {
      throw new TokenizerError(`tokenizer.json: pre_tokenizer: expected null (SentencePiece-style BPE over the whole normalized text), got ${show(tj.pre_tokenizer)}`);
    }

    // ---- decoder: Sequence[Replace("▁" → " "), ByteFallback?, Fuse, Strip(" ", n, 0)?]
    const dec = tj.decoder;
    const decList = isObject(dec) && dec.type === 'Sequence' && Array.isArray(dec.decoders) ? dec.decoders : null;
    const decoderError = () =>
      new TokenizerError(
        `tokenizer.json: decoder: expected Sequence[Replace("▁" → " "), ByteFallback, Fuse, Strip(" ", 1, 0)] (ByteFallback and Strip optional), got ${show(dec)}`,
      );
    if (decList === null) throw decoderError();
    let k = 0;
    const at = (type: string) => isObject(decList[k]) && (decList[k] as JsonObject).type === type;
    if (!at('Replace')) throw decoderError();
    const rep = decList[k] as JsonObject;
    if (!isObject(rep.pattern) || rep.pattern.String !== SP_SPACE || rep.content !== ' ') throw decoderError();
    k++;
    let decodeBytes = false;
    if (at('ByteFallback')) {
      decodeBytes = true;
      k++;
    }
    if (!at('Fuse')) throw decoderError();
    k++;
    let stripLeading = 0;
    if (at('Strip')) {
      const s = decList[k] as JsonObject;
      if (s.content !== ' ' || typeof s.start !== 'number' || !Number.isInteger(s.start) || s.start < 0 || (s.stop ?? 0) !== 0) throw decoderError();
      stripLeading = s.start;
      k++;
    }
    if (k !== decList.length) throw decoderError();

    // ---- special ids and BOS default
    const tokenName = (v: Json | undefined): string | null =>
      typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : null;
    const lookup = (name: string | null, what: string): number | null => {
      if (name === null) return null;
      const id = pieceToId.get(name);
      if (id === undefined) throw new TokenizerError(`tokenizer_config.json: ${what}: expected a token of the vocabulary, got ${show(name)}`);
      return id;
    };
    const pp = tj.post_processor;
    let ppBos: number | null = null;
    if (isObject(pp) && pp.type === 'TemplateProcessing' && Array.isArray(pp.single)) {
      const first = pp.single[0];
      if (isObject(first) && isObject(first.SpecialToken) && typeof first.SpecialToken.id === 'string') {
        ppBos = pieceToId.get(first.SpecialToken.id) ?? null;
      }
    }
    const bosId = lookup(tokenName(cfg.bos_token), 'bos_token') ?? ppBos ?? pieceToId.get('<s>') ?? null;
    const eosId = lookup(tokenName(cfg.eos_token), 'eos_token') ?? pieceToId.get('</s>') ?? null;
    const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : ppBos !== null;

    // ---- the library instance (it wants every top-level key present)
    const forLib: JsonObject = {
      ...tj,
      added_tokens: added,
      normalizer: tj.normalizer ?? null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: tj.decoder ?? null,
    };
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(forLib, {});
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: expected a file @huggingface/tokenizers can load, got an error (${(e as Error).message})`);
    }
    return new Tokenizer({
      hf,
      pieces,
      special,
      shape: { prependSpace, byteFallback: model.byte_fallback === true, decodeBytes, stripLeading },
      bosId,
      eosId,
      unkId,
      addBos,
    });
  }

  /**
   * Text → ids (optionally with BOS first). Never adds EOS.
   * @returns a fresh Int32Array of ids.
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw new InvalidArgumentError(`encode: expected a string, got ${typeof text}`);
    const bos = options.bos ?? this.addBos;
    if (bos && this.bosId === null) throw new TokenizerError('encode: bos requested, but the tokenizer names no BOS token');
    let ids: ArrayLike<number | undefined>;
    if (options.parseSpecial ?? true) {
      ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    } else if (text.length === 0) {
      ids = [];
    } else {
      const normalized = this.hf.normalizer === null ? text : this.hf.normalizer.normalize(text);
      const model = this.hf.model!;
      // the model callable applies BPE, byte fallback and fuse_unk, as the library's own encode does
      ids = model._call([normalized]).map((t: string) => model.tokens_to_ids.get(t));
    }
    const off = bos ? 1 : 0;
    const out = new Int32Array(ids.length + off);
    if (bos) out[0] = this.bosId!;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'number' || !(id >= 0 && id < this.vocabSize)) {
        throw new TokenizerError(`encode: the BPE model produced a token outside the vocabulary (${show(id)}) at position ${i}`);
      }
      out[i + off] = id;
    }
    return out;
  }

  /**
   * Ids → text, as Hugging Face's decoder chain does (Replace "▁" → " ", ByteFallback, Fuse,
   * Strip), skipping special tokens by default. Invalid UTF-8 from byte tokens becomes U+FFFD
   * (WHATWG rule, see the module comment).
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecial ?? true;
    const parts: string[] = [];
    let bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id, 'decode');
      if (skip && this.special[id] === 1) continue;
      const b = this.byteOf[id]!;
      if (b >= 0) {
        bytes.push(b);
        continue;
      }
      if (bytes.length > 0) {
        parts.push(this.textDecoder.decode(Uint8Array.from(bytes)));
        bytes = [];
      }
      parts.push(this.texts[id]!);
    }
    if (bytes.length > 0) parts.push(this.textDecoder.decode(Uint8Array.from(bytes)));
    const text = parts.join('');
    let cut = 0;
    while (cut < this.shape.stripLeading && text.charCodeAt(cut) === 32) cut++;
    return cut === 0 ? text : text.slice(cut);
  }

  /** A fresh incremental decoder over this tokenizer. */
  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder(this, options);
  }

  /** The token string of an id, as written in tokenizer.json (e.g. "▁the", "<0x0A>", "<s>"). */
  idToPiece(id: number): string {
    this.checkId(id, 'idToPiece');
    return this.pieces[id]!;
  }

  /** The id of a token string, or undefined. */
  pieceToId(piece: string): number | undefined {
    return this.pieceIndex().get(piece);
  }

  /** true for special tokens (BOS, EOS, UNK and other added special tokens). */
  isSpecial(id: number): boolean {
    this.checkId(id, 'isSpecial');
    return this.special[id] === 1;
  }

  /**
   * A stable SHA-256 (hex) of what ids mean: every id's token string and whether it is special.
   * Two tokenizers with the same fingerprint map every id to the same piece, so a draft model's ids
   * mean the same to the target. (Merge rules are not included: they change how text is split,
   * not what an id means.)
   */
  fingerprint(): string {
    if (this.fingerprintCache === null) {
      const canonical = JSON.stringify({ format: 'spechub-vocab-v1', pieces: this.pieces, special: Array.from(this.special) });
      this.fingerprintCache = sha256Hex(new TextEncoder().encode(canonical));
    }
    return this.fingerprintCache;
  }

  /** true when both tokenizers map every id to the same piece and special flag (exact comparison). */
  equals(other: Tokenizer): boolean {
    return this.firstDifference(other) === null;
  }

  /**
   * Throw a TokenizerError unless `other` has the same vocabulary (ids → pieces, special flags).
   * @param names how to call the two in the message, e.g. ["target", "draft"].
   */
  assertSameVocabulary(other: Tokenizer, names: readonly [string, string] = ['this tokenizer', 'other tokenizer']): void {
    const diff = this.firstDifference(other);
    if (diff !== null) throw new TokenizerError(`${names[0]} and ${names[1]} tokenizers differ: expected the same vocabulary, got ${diff}`);
  }

  private firstDifference(other: Tokenizer): string | null {
    if (this.vocabSize !== other.vocabSize) return `vocabulary sizes ${this.vocabSize} and ${other.vocabSize}`;
    for (let id = 0; id < this.vocabSize; id++) {
      if (this.pieces[id] !== other.pieces[id]) return `id ${id} = ${show(this.pieces[id])} vs ${show(other.pieces[id])}`;
      if (this.special[id] !== other.special[id]) return `id ${id} (${show(this.pieces[id])}) special in one only`;
    }
    return null;
  }

  private pieceIndexCache: Map<string, number> | null = null;
  private pieceIndex(): Map<string, number> {
    if (this.pieceIndexCache === null) this.pieceIndexCache = new Map(this.pieces.map((p, id) => [p, id]));
    return this.pieceIndexCache;
  }

  /** @internal */
  checkId(id: number, where: string): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new InvalidArgumentError(`${where}: expected a token id in [0, ${this.vocabSize}), got ${show(id)}`);
    }
  }
}

/**
 * Incremental decoder for generated tokens: `push(id)` returns the text that became complete with
 * this token, never half a character (byte-fallback sequences are assembled across tokens), and the
 * concatenation of all returned strings plus `flush()` equals `tokenizer.decode(allIds)`, including
 * the decoder's leading-space strip. Special tokens are skipped unless `skipSpecial: false`.
 * Allocates nothing per token beyond the returned string. To continue after a prompt, push the
 * prompt ids first and ignore what they return.
 */
export class StreamDecoder {
  private readonly utf8 = new Utf8ByteDecoder();
  private readonly skip: boolean;
  private stripLeft: number;

  constructor(
    private readonly tok: Tokenizer,
    options: DecodeOptions = {},
  ) {
    this.skip = options.skipSpecial ?? true;
    this.stripLeft = tok.shape.stripLeading;
  }

  /** Feed one token id; returns the newly completed text (often ''). */
  push(id: number): string {
    const tok = this.tok;
    tok.checkId(id, 'StreamDecoder.push');
    if (this.skip && tok.special[id] === 1) return '';
    const b = tok.byteOf[id]!;
    let out: string;
    if (b >= 0) {
      out = this.utf8.push(b);
    } else {
      const text = tok.texts[id]!;
      out = this.utf8.pending ? this.utf8.end() + text : text;
    }
    return this.stripLeft > 0 && out.length > 0 ? this.strip(out) : out;
  }

  /** End of the stream: returns U+FFFD if a byte sequence was left incomplete, else ''. Resets the decoder. */
  flush(): string {
    let out = this.utf8.end();
    if (this.stripLeft > 0 && out.length > 0) out = this.strip(out);
    this.reset();
    return out;
  }

  /** Start over (as if nothing had been pushed). */
  reset(): void {
    this.utf8.reset();
    this.stripLeft = this.tok.shape.stripLeading;
  }

  private strip(s: string): string {
    let k = 0;
    while (k < s.length && k < this.stripLeft && s.charCodeAt(k) === 32) k++;
    this.stripLeft = k === s.length ? this.stripLeft - k : 0;
    return k === 0 ? s : s.slice(k);
  }
}
