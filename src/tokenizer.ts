/**
 * Tokenizer for the BPE vocabularies of the models people download, from a Hugging Face
 * `tokenizer.json` (+ `tokenizer_config.json`) or from a GGUF's `tokenizer.ggml.*` metadata, with
 * llama.cpp's token ids. Browser-safe.
 *
 * Two kinds of vocabulary (src/tokenizer/spec.ts reads the files):
 * - byte-level BPE (GPT-2's byte ↔ unicode map, a regex pre-tokenizer): SmolLM2, Llama-3.x,
 *   Qwen2.5/Qwen3, Phi-4 — GGUF `tokenizer.ggml.model` "gpt2" with its `tokenizer.ggml.pre` name;
 * - SentencePiece-style BPE ("▁" for spaces, `<0xXX>` byte fallback), as Prepend/Replace
 *   normalizers, a Metaspace pre-tokenizer or Gemma's Replace + Split: Llama-2, TinyLlama,
 *   Phi-3, Gemma — GGUF "llama".
 *
 * Encoding: special tokens are cut out of the text by llama.cpp's rules (src/tokenizer/llama-vocab.ts);
 * every remaining piece of text is encoded by `@huggingface/tokenizers` (normalizer,
 * pre-tokenizer, BPE). Where llama.cpp and Hugging Face differ, spechub follows llama.cpp (listed in
 * src/tokenizer/spec.ts; `info.notes` names the ones that apply to a file). Special-token strings in
 * the text are plain text unless `parseSpecial: true` (llama.cpp's parse_special); user-defined
 * added tokens (Qwen3's "<think>", Gemma's "<table>") are always recognised, as in llama.cpp.
 *
 * Decoding (full and streaming) is done here, from each token's bytes: byte-level pieces through
 * the byte map, "▁" as a space, `<0xXX>` tokens as one byte, special tokens as their text (left out
 * by default). It is the exact inverse of encoding: `decode(encode(x)) === x` for any text, with
 * these exceptions, all shared with llama.cpp: in SentencePiece vocabularies the character "▁"
 * (U+2581) decodes as a space (the normalizer writes spaces as "▁"); a byte-level vocabulary loses
 * the bytes it has no piece for (SmolLM2 lacks 21: 04 06 13 14 16 1D C0 C1 F1 F2 F5–FF) and SmolLM2
 * loses U+FFFD (llama.cpp's converter renames its piece "ï¿½" to the special token "�", after which
 * BPE cannot end on it). Invalid UTF-8 from byte tokens becomes U+FFFD by the WHATWG rule (each
 * maximal invalid subpart one U+FFFD, as `TextDecoder`), which streams; no "clean-up" of spaces
 * before punctuation is done (Hugging Face's clean_up_tokenization_spaces and llama.cpp's
 * clean_spaces lose text). A SentencePiece dummy prefix is removed from the start of the decoded
 * text (one space), as Hugging Face's Strip decoder does.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError, TokenizerError } from './errors.js';
import { sha256Hex } from './tokenizer/sha256.js';
import { Utf8ByteDecoder } from './tokenizer/utf8.js';
import { byteOfChar } from './tokenizer/byte-level.js';
import { ATTR, SpecialPartition, TOKEN_TYPE } from './tokenizer/llama-vocab.js';
import { parseJsonInput, specFromGguf, specFromTokenizerJson, type TokenizerKind, type TokenizerSpec } from './tokenizer/spec.js';
import type { GgufTokenizerData } from './tokenizer/gguf-data.js';

export type { TokenizerKind } from './tokenizer/spec.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Put the BOS id first. Default: {@link Tokenizer.addBos} (tokenizer_config `add_bos_token`, the post-processor, or GGUF `add_bos_token`). */
  bos?: boolean;
  /** Put the EOS id last. Default: {@link Tokenizer.addEos} (false for every common model). */
  eos?: boolean;
  /**
   * Recognise control tokens written in the text ("<|im_start|>", "<s>", "<start_of_turn>") as
   * their ids, as llama.cpp's `parse_special`. Default false: such strings in user text are
   * ordinary text. Chat templates render special tokens as text and encode with true.
   */
  parseSpecial?: boolean;
}

/** Options of {@link Tokenizer.decode} and {@link Tokenizer.streamDecoder}. */
export interface DecodeOptions {
  /** Leave special tokens (control, unknown and unused: BOS, EOS, "<|im_end|>", …) out of the text. Default true. */
  skipSpecial?: boolean;
}

/** What kind of tokenizer a file describes (for diagnostics and the command line). */
export interface TokenizerInfo {
  /** 'sentencepiece' ("▁" pieces, `<0xXX>` byte fallback; GGUF "llama") or 'byte-level' (GPT-2 byte map; GGUF "gpt2"). */
  readonly kind: TokenizerKind;
  /** llama.cpp's pre-tokenizer name of a byte-level vocabulary ("llama-bpe", "qwen2", "smollm", "gpt-2", …), or null. */
  readonly pre: string | null;
  /** SentencePiece dummy prefix: encode puts a space before the text, decode removes one leading space. */
  readonly addSpacePrefix: boolean;
  /** Deliberate differences from Hugging Face for this file, e.g. "normalizer NFC not applied: …". */
  readonly notes: readonly string[];
}

const EMPTY = new Int32Array(0);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** true when the bytes are valid UTF-8 that ends on a character boundary (the WHATWG decoder needs nothing before or after them). */
function isWholeUtf8(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return false;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return false;
    }
    i += need + 1;
  }
  return true;
}

/** A tokenizer: text ↔ token ids. Create with {@link Tokenizer.fromJson} or {@link Tokenizer.fromGguf}. */
export class Tokenizer {
  /** Number of ids; ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or null if the files name none. */
  readonly bosId: number | null;
  /** End-of-sequence id, or null. */
  readonly eosId: number | null;
  /** End-of-turn id (GGUF eot_token_id, tokenizer_config eot_token), or null. */
  readonly eotId: number | null;
  /** Unknown-token id, or null. */
  readonly unkId: number | null;
  /** Padding id, or null. */
  readonly padId: number | null;
  /** Whether encode() puts BOS first when not told otherwise. */
  readonly addBos: boolean;
  /** Whether encode() puts EOS last when not told otherwise. */
  readonly addEos: boolean;
  /** Every id that ends generation, ascending: EOS, EOT and the tokens llama.cpp treats so ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", …). */
  readonly eogIds: readonly number[];
  readonly info: TokenizerInfo;

  /** @internal id → piece as the source file writes it. */
  readonly pieces: readonly string[];
  /** @internal id → llama.cpp token text (what a special token matches). */
  readonly tokens: readonly string[];
  /** @internal id → llama.cpp attribute bits. */
  readonly attrs: Uint16Array;
  /** @internal id → 1 when decode leaves the token out by default (control, unknown, unused). */
  readonly special: Uint8Array;
  /** @internal the bytes of every token, concatenated; token id's bytes are byteData[byteStart[id] .. byteStart[id + 1]). */
  readonly byteData: Uint8Array;
  /** @internal [vocabSize + 1] offsets into byteData. */
  readonly byteStart: Uint32Array;
  /** @internal id → the token's text when its bytes are valid UTF-8 on their own, else null. */
  readonly texts: readonly (string | null)[];

  private readonly hf: HfTokenizer;
  private readonly partition: SpecialPartition;
  private readonly fuseUnk: boolean;
  private readonly types: Int32Array;
  // ignoreBOM: a U+FEFF that starts the text is text, not a byte order mark
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private fingerprintCache: string | null = null;
  private pieceIndexCache: Map<string, number> | null = null;

  private constructor(spec: TokenizerSpec) {
    try {
      this.hf = new HfTokenizer(spec.library, {});
    } catch (e) {
      throw new TokenizerError(`tokenizer: expected a BPE model @huggingface/tokenizers can load, got an error (${(e as Error).message})`);
    }
    const n = spec.pieces.length;
    this.vocabSize = n;
    this.pieces = spec.pieces;
    this.tokens = spec.tokens;
    this.attrs = spec.attrs;
    this.types = spec.types;
    this.bosId = spec.bosId;
    this.eosId = spec.eosId;
    this.eotId = spec.eotId;
    this.unkId = spec.unkId;
    this.padId = spec.padId;
    this.addBos = spec.addBos;
    this.addEos = spec.addEos;
    this.eogIds = spec.eogIds;
    this.fuseUnk = spec.fuseUnk && spec.unkId !== null;
    this.info = { kind: spec.kind, pre: spec.pre, addSpacePrefix: spec.addSpacePrefix, notes: spec.notes };
    this.partition = new SpecialPartition(spec.tokens, spec.attrs);
    this.special = new Uint8Array(n);
    for (let id = 0; id < n; id++) if ((spec.attrs[id]! & (ATTR.CONTROL | ATTR.UNKNOWN | ATTR.UNUSED)) !== 0) this.special[id] = 1;
    // every token's bytes (llama.cpp token_to_piece with special = true), and its text when whole UTF-8
    const enc = new TextEncoder();
    let data = new Uint8Array(n * 8 + 64);
    const starts = new Uint32Array(n + 1);
    const texts = new Array<string | null>(n);
    let at = 0;
    for (let id = 0; id < n; id++) {
      const t = spec.types[id]!;
      const piece = spec.pieces[id]!;
      const need = Math.max(piece.length, spec.tokens[id]!.length) * 3 + 4; // UTF-8 bytes ≤ 3 per UTF-16 unit
      if (data.length - at < need) {
        const grown = new Uint8Array(Math.max(data.length * 2, at + need));
        grown.set(data.subarray(0, at));
        data = grown;
      }
      starts[id] = at;
      if (t === TOKEN_TYPE.BYTE) {
        data[at++] = parseInt(piece.slice(3, 5), 16);
        texts[id] = null;
        continue;
      }
      if (spec.kind === 'byte-level' && (t === TOKEN_TYPE.NORMAL || t === TOKEN_TYPE.UNDEFINED)) {
        const from = at;
        for (let i = 0; i < piece.length; i++) {
          const b = byteOfChar(piece.charCodeAt(i));
          if (b < 0) {
            at = from; // a character outside the byte map: the piece's own UTF-8 (Hugging Face's ByteLevel decoder)
            break;
          }
          data[at++] = b;
        }
        if (at > from || piece.length === 0) {
          const view = data.subarray(from, at);
          texts[id] = isWholeUtf8(view) ? this.textDecoder.decode(view) : null;
          continue;
        }
      }
      // text as it is (special tokens: llama.cpp's token text; SentencePiece pieces: "▁" is a space)
      const text = t === TOKEN_TYPE.NORMAL || t === TOKEN_TYPE.UNDEFINED ? piece.replaceAll('\u2581', ' ') : spec.tokens[id]!;
      at += enc.encodeInto(text, data.subarray(at)).written;
      texts[id] = LONE_SURROGATE.test(text) ? null : text;
    }
    starts[n] = at;
    this.byteData = data.slice(0, at);
    this.byteStart = starts;
    this.texts = texts;
  }

  /**
   * Build a tokenizer from the contents of `tokenizer.json` (text, UTF-8 bytes or parsed object)
   * and optionally `tokenizer_config.json` (bos/eos/pad/eot token names, add_bos_token,
   * add_eos_token). Parsed objects are read, never modified, and not kept.
   * @throws TokenizerError when the file is malformed or of a kind spechub does not support; the
   *   message names the field, what was expected and what was found.
   */
  static fromJson(tokenizerJson: string | Uint8Array | object, tokenizerConfigJson?: string | Uint8Array | object | null): Tokenizer {
    const tj = parseJsonInput(tokenizerJson, 'tokenizer.json');
    const cfg = tokenizerConfigJson == null ? {} : parseJsonInput(tokenizerConfigJson, 'tokenizer_config.json');
    return new Tokenizer(specFromTokenizerJson(tj, cfg));
  }

  /**
   * Build a tokenizer from GGUF tokenizer metadata (see ggufTokenizerData): `tokenizer.ggml.model`
   * "llama" (SentencePiece, with scores) or "gpt2" (byte-level BPE, with merges and a
   * `tokenizer.ggml.pre` name spechub implements).
   * @param file names the file in error messages.
   * @throws TokenizerError for other tokenizer models or pre-tokenizers (naming them), or missing scores/merges.
   */
  static fromGguf(data: GgufTokenizerData, file = 'GGUF'): Tokenizer {
    return new Tokenizer(specFromGguf(file, data));
  }

  /**
   * Text → ids, as llama.cpp's llama_tokenize(text, add_special = bos/eos, parse_special).
   * @returns a fresh Int32Array of ids.
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw new InvalidArgumentError(`encode: expected a string, got ${typeof text}`);
    const bos = options.bos ?? this.addBos;
    const eos = options.eos ?? this.addEos;
    if (bos && this.bosId === null) throw new TokenizerError('encode: bos requested, but the tokenizer names no BOS token');
    if (eos && this.eosId === null) throw new TokenizerError('encode: eos requested, but the tokenizer names no EOS token');
    const out: number[] = [];
    if (bos) out.push(this.bosId!);
    for (const frag of this.partition.split(text, options.parseSpecial ?? false)) {
      if (typeof frag === 'number') {
        out.push(frag);
        continue;
      }
      const ids = this.hf.encode(frag, { add_special_tokens: false }).ids;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (typeof id !== 'number' || !(id >= 0 && id < this.vocabSize)) {
          throw new TokenizerError(`encode: the BPE model produced a token outside the vocabulary (${JSON.stringify(id)}) for ${JSON.stringify(frag.slice(0, 40))}`);
        }
        // fuse_unk: @huggingface/tokenizers emits one unknown token per unknown character
        if (this.fuseUnk && id === this.unkId && i > 0 && ids[i - 1] === this.unkId) continue;
        out.push(id);
      }
    }
    if (eos) out.push(this.eosId!);
    return out.length === 0 ? EMPTY.slice() : Int32Array.from(out);
  }

  /**
   * Ids → text: every token's bytes, UTF-8 decoded (invalid sequences → U+FFFD, WHATWG rule),
   * special tokens left out by default, one leading space removed in SentencePiece vocabularies
   * with a dummy prefix. The exact inverse of encode (see the module comment).
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecial ?? true;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id, 'decode');
      if (!(skip && this.special[id] === 1)) total += this.byteStart[id + 1]! - this.byteStart[id]!;
    }
    const buf = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.special[id] === 1) continue;
      const s = this.byteStart[id]!;
      const e = this.byteStart[id + 1]!;
      buf.set(this.byteData.subarray(s, e), at);
      at += e - s;
    }
    const text = this.textDecoder.decode(buf);
    return this.info.addSpacePrefix && text.charCodeAt(0) === 32 ? text.slice(1) : text;
  }

  /** A fresh incremental decoder over this tokenizer. */
  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder(this, options);
  }

  /** The token string of an id as the source file writes it (e.g. "▁the", "Ġthe", "<0x0A>", "<s>"). */
  idToPiece(id: number): string {
    this.checkId(id, 'idToPiece');
    return this.pieces[id]!;
  }

  /** The id of a token string as the source file writes it, or undefined. */
  pieceToId(piece: string): number | undefined {
    if (this.pieceIndexCache === null) this.pieceIndexCache = new Map(this.pieces.map((p, id) => [p, id]));
    return this.pieceIndexCache.get(piece);
  }

  /** The bytes a token stands for (special tokens: their text), as llama.cpp's token_to_piece. A view: do not modify. */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id, 'tokenBytes');
    return this.byteData.subarray(this.byteStart[id]!, this.byteStart[id + 1]!);
  }

  /** The text a token stands for on its own (special tokens: their string), or null when its bytes are not whole UTF-8 (a byte token, part of a character). */
  tokenText(id: number): string | null {
    this.checkId(id, 'tokenText');
    return this.texts[id] ?? null;
  }

  /** The GGUF token type of an id: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  tokenType(id: number): number {
    this.checkId(id, 'tokenType');
    return this.types[id]!;
  }

  /** true for tokens decode leaves out by default: control (BOS, EOS, "<|im_start|>", …), unknown and unused tokens. */
  isSpecial(id: number): boolean {
    this.checkId(id, 'isSpecial');
    return this.special[id] === 1;
  }

  /**
   * A stable SHA-256 (hex) of what ids mean: every id's token text (as llama.cpp stores it, so the
   * tokenizer.json and the GGUF of one model agree) and whether it is special. Two tokenizers with
   * the same fingerprint map every id to the same token, so a draft model's ids mean the same to the
   * target. (Merge rules are not included: they change how text is split, not what an id means.)
   */
  fingerprint(): string {
    if (this.fingerprintCache === null) {
      const canonical = JSON.stringify({ format: 'spechub-vocab-v2', tokens: this.tokens, special: Array.from(this.special) });
      this.fingerprintCache = sha256Hex(new TextEncoder().encode(canonical));
    }
    return this.fingerprintCache;
  }

  /** true when both tokenizers map every id to the same token and special flag (exact comparison). */
  equals(other: Tokenizer): boolean {
    return this.firstDifference(other) === null;
  }

  /**
   * Throw a TokenizerError unless `other` has the same vocabulary (ids → tokens, special flags).
   * @param names how to call the two in the message, e.g. ["target", "draft"].
   */
  assertSameVocabulary(other: Tokenizer, names: readonly [string, string] = ['this tokenizer', 'other tokenizer']): void {
    const diff = this.firstDifference(other);
    if (diff !== null) throw new TokenizerError(`${names[0]} and ${names[1]} tokenizers differ: expected the same vocabulary, got ${diff}`);
  }

  private firstDifference(other: Tokenizer): string | null {
    if (this.vocabSize !== other.vocabSize) return `vocabulary sizes ${this.vocabSize} and ${other.vocabSize}`;
    for (let id = 0; id < this.vocabSize; id++) {
      if (this.tokens[id] !== other.tokens[id]) return `id ${id} = ${JSON.stringify(this.tokens[id])} vs ${JSON.stringify(other.tokens[id])}`;
      if (this.special[id] !== other.special[id]) return `id ${id} (${JSON.stringify(this.tokens[id])}) special in one only`;
    }
    return null;
  }

  /** @internal */
  checkId(id: number, where: string): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new InvalidArgumentError(`${where}: expected a token id in [0, ${this.vocabSize}), got ${JSON.stringify(id)}`);
    }
  }
}

/**
 * Incremental decoder for generated tokens: `push(id)` returns the text that became complete with
 * this token, never half a character (a character split over byte-fallback tokens or byte-level
 * pieces is held back until its last byte), and the concatenation of all returned strings plus
 * `flush()` equals `tokenizer.decode(allIds)`, including the SentencePiece leading-space strip.
 * Special tokens are skipped unless `skipSpecial: false`. A token that is whole UTF-8 on its own
 * returns a precomputed string. To continue after a prompt, push the prompt ids first and ignore
 * what they return.
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
    this.stripLeft = tok.info.addSpacePrefix ? 1 : 0;
  }

  /** Feed one token id; returns the newly completed text (often ''). */
  push(id: number): string {
    const tok = this.tok;
    tok.checkId(id, 'StreamDecoder.push');
    if (this.skip && tok.special[id] === 1) return '';
    const text = tok.texts[id] ?? null;
    let out: string;
    if (text !== null) {
      out = this.utf8.pending ? this.utf8.end() + text : text;
    } else {
      out = '';
      const data = tok.byteData;
      for (let i = tok.byteStart[id]!, e = tok.byteStart[id + 1]!; i < e; i++) out += this.utf8.push(data[i]!);
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
    this.stripLeft = this.tok.info.addSpacePrefix ? 1 : 0;
  }

  private strip(s: string): string {
    this.stripLeft = 0;
    return s.charCodeAt(0) === 32 ? s.slice(1) : s;
  }
}

/** A Tokenizer from GGUF tokenizer metadata ("llama" SentencePiece or "gpt2" byte-level BPE); see Tokenizer.fromGguf. */
export function ggufTokenizer(file: string, data: GgufTokenizerData): Tokenizer {
  return Tokenizer.fromGguf(data, file);
}
