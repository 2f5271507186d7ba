/**
 * What a tokenizer is, whichever file it came from: a Hugging Face tokenizer.json (+
 * tokenizer_config.json) or a GGUF's tokenizer.ggml.* metadata both become one TokenizerSpec, in
 * llama.cpp's terms (token types, attributes, pre-tokenizer name), plus the configuration that
 * `@huggingface/tokenizers` runs for the BPE itself. Browser-safe.
 *
 * spechub's reference is llama.cpp on the GGUF that llama.cpp's convert_hf_to_gguf.py writes for
 * the same files; where Hugging Face and llama.cpp differ, spechub follows llama.cpp:
 * - special tokens are cut out of the text by llama.cpp's rules (llama-vocab.ts): control tokens
 *   only when parsing special tokens, user-defined ones always, longest first, on the raw text
 *   (tokenizer.json's `normalized` flag is not used), lstrip/rstrip removing C-locale whitespace;
 * - byte-level vocabularies are not Unicode-normalized: llama.cpp has no NFC step, so Qwen's
 *   `NFC` normalizer is not applied ("e\u0301" stays two characters; noted in `notes`). Other
 *   normalizers llama.cpp lacks are refused;
 * - SentencePiece vocabularies prepend one space to every piece of raw text (first, or after a
 *   special token) when they prepend at all, also in the Metaspace form, where Hugging Face does not
 *   add a second space before text that starts with one;
 * - added tokens match the text llama.cpp's converter writes for them: user-defined SentencePiece
 *   tokens with "▁" as spaces (Gemma's "▁▁" matches two spaces), byte-level added tokens through
 *   the byte decoder (SmolLM2's "ï¿½" matches "�"); BPE runs over those texts too, so it cannot
 *   end on a renamed piece (llama.cpp then drops the piece's bytes, and so does spechub).
 *
 * One difference remains, by design: pre-tokenizer regexes classify characters (\p{L}, \p{N},
 * White_Space) with the JavaScript engine's Unicode data, llama.cpp with its own tables (Unicode
 * 15.1 in node-llama-cpp 3.22.1). Characters assigned since (Unicode 16 and 17: Garay, Tai Yo, CJK
 * Extension J, …; Node 20.20 knows Unicode 17) are letters to spechub and unassigned to llama.cpp, so
 * byte-level ids around them can differ ("\u{1E6F3}<s" splits "<s" off in spechub, "\u{1E6F3}<"
 * in llama.cpp). Random-string fuzzing of SmolLM2, Qwen3 and Llama-3.1 against llama.cpp found no
 * other difference.
 *
 * A GGUF "llama" vocabulary has scores instead of merges: llama.cpp merges the adjacent pair that
 * makes the highest-scoring token. The equivalent merge list (every split of every token into two
 * tokens, ranked by the token's score) is derived as transformers' converter does
 * (sentencePieceMerges), so the library runs it.
 */
import { TokenizerError } from '../errors.js';
import { describeJson, isJsonObject, jsonDepthProblem, jsonValueDepthProblem } from '../io/json.js';
import { byteLevelPieceBytes } from './byte-level.js';
import { ATTR, llamaCppAttributes, PRE_REGEX, preTokenizerJson, preTokenizerSpec, TOKEN_TYPE } from './llama-vocab.js';
import type { GgufTokenizerData } from './gguf-data.js';
import { sentencePieceMerges } from './sentencepiece-merges.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The two kinds of BPE vocabulary spechub runs. */
export type TokenizerKind = 'sentencepiece' | 'byte-level';

/** The special-token ids of a vocabulary (null: the vocabulary has none). */
export interface SpecialTokenIds {
  /** Beginning of sequence. */
  readonly bosId: number | null;
  /** End of sequence. */
  readonly eosId: number | null;
  /** Unknown token: what text outside the vocabulary becomes (without byte fallback). */
  readonly unkId: number | null;
}

/** A tokenizer, whatever file it came from (see the module comment). */
export interface TokenizerSpec extends SpecialTokenIds {
  /** 'sentencepiece': "▁" for spaces, "<0xXX>" byte fallback (GGUF "llama"); 'byte-level': GPT-2 byte map (GGUF "gpt2"). */
  readonly kind: TokenizerKind;
  /** llama.cpp's pre-tokenizer name (byte-level only), or null when llama.cpp has none for it. */
  readonly pre: string | null;
  /** id → piece as the source file writes it. */
  readonly pieces: readonly string[];
  /** id → the token text llama.cpp stores (GGUF tokenizer.ggml.tokens): what a special token matches. */
  readonly tokens: readonly string[];
  /** id → GGUF token type (TOKEN_TYPE). */
  readonly types: Int32Array;
  /** id → llama.cpp attribute bits (ATTR). */
  readonly attrs: Uint16Array;
  /** End-of-generation ids as llama.cpp collects them (eos, eot, and tokens such as "<|im_end|>"). */
  readonly eogIds: readonly number[];
  /** tokenizer.json for `@huggingface/tokenizers` without added tokens or post-processor: normalizer, pre-tokenizer and BPE model. */
  readonly library: JsonObject;
  /** SentencePiece dummy prefix: a space before every piece of raw text; decode drops one leading space. */
  readonly addSpacePrefix: boolean;
  /** Consecutive unknown pieces become one unknown token (tokenizer.json fuse_unk; the library does not implement it). */
  readonly fuseUnk: boolean;
  /** End of turn: the file's, else found by text (llama-vocab.ts). */
  readonly eotId: number | null;
  /** The end-of-turn id the file itself names (GGUF eot_token_id, tokenizer_config eot_token), or null. */
  readonly fileEotId: number | null;
  readonly padId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Merge rules as pairs (byte-level: the file's; SentencePiece: the file's, or derived from GGUF scores). */
  readonly merges: readonly (readonly [string, string])[];
  /** Where spechub deliberately differs from Hugging Face for this file (see the module comment). */
  readonly notes: readonly string[];
}

const SP = '\u2581';
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
const MAX_ID = 2 ** 24;

/** A bounded description of a JSON value (iterative: any depth, size or cycle; see describeJson). */
function show(v: unknown): string {
  return describeJson(v, 120);
}

/** isJsonObject, narrowed to this file's JSON type. */
function isObject(v: unknown): v is JsonObject {
  return isJsonObject(v);
}

/** Parse a JSON input given as text, UTF-8 bytes or an object (objects are not copied: callers must not mutate them). */
export function parseJsonInput(input: unknown, what: string): JsonObject {
  let v: unknown = input;
  // bounded nesting (128, serde_json's limit) before anything walks it: JSON.parse is iterative, but
  // our checks and @huggingface/tokenizers recurse (5,000 nested Sequence normalizers overflow its stack)
  const deep = typeof input === 'string' ? jsonDepthProblem(input) : typeof input === 'object' && input !== null && !(input instanceof Uint8Array) ? jsonValueDepthProblem(input) : null;
  if (deep !== null) throw new TokenizerError(`${what}: ${deep}`);
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new TokenizerError(`${what}: expected JSON text, got a parse error (${(e as Error).message})`);
    }
  } else if (input instanceof Uint8Array) {
    return parseJsonInput(new TextDecoder().decode(input), what);
  }
  if (!isObject(v)) throw new TokenizerError(`${what}: expected a JSON object, got ${show(v)}`);
  return v;
}

/** Added tokens that llama.cpp's converter makes control tokens although tokenizer.json does not mark them special (does_token_look_special). */
function looksSpecial(t: string): boolean {
  return (
    t === '<pad>' || t === '<mask>' || t === '<2mass>' || t === '[@BOS@]' ||
    (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<｜') && t.endsWith('｜>')) || (t.startsWith('<unused') && t.endsWith('>'))
  );
}

/** A list of components (normalizers, pre-tokenizers, decoders): a Sequence's members (flattened), one, or none. */
function components(v: Json | undefined, key: string, depth = 0): Json[] {
  if (v == null) return [];
  if (isObject(v) && v.type === 'Sequence') {
    const list = v[key];
    if (!Array.isArray(list)) throw new TokenizerError(`tokenizer.json: Sequence.${key}: expected an array, got ${show(list)}`);
    if (depth > 8) throw new TokenizerError(`tokenizer.json: Sequence.${key}: expected at most 8 nested Sequences, got more`);
    return list.flatMap((x) => components(x, key, depth + 1));
  }
  return [v];
}

const isType = (v: Json, type: string): v is JsonObject => isObject(v) && v.type === type;
const stringPattern = (v: JsonObject): string | null => (isObject(v.pattern) && typeof v.pattern.String === 'string' ? v.pattern.String : null);

/**
 * Resolve a merge written as one string. "a b" is split at its space; when a piece itself holds
 * spaces (Llama-2's and TinyLlama's tokenizer.json have "   " for [" ", " "]) the split is the one
 * whose halves and their concatenation are all vocabulary pieces. @huggingface/tokenizers would
 * silently keep only the first two space-separated parts ("   " → ["", ""]).
 */
function resolveMerge(m: string, vocab: Map<string, number>, where: string): [string, string] {
  const first = m.indexOf(' ');
  if (first > 0 && first === m.lastIndexOf(' ')) return [m.slice(0, first), m.slice(first + 1)];
  const found: [string, string][] = [];
  for (let i = m.indexOf(' '); i >= 0; i = m.indexOf(' ', i + 1)) {
    const a = m.slice(0, i);
    const b = m.slice(i + 1);
    if (a.length > 0 && b.length > 0 && vocab.has(a) && vocab.has(b) && vocab.has(a + b)) found.push([a, b]);
  }
  if (found.length !== 1) {
    throw new TokenizerError(
      `${where}: expected "left right" where both halves and their concatenation are vocabulary pieces, got ${show(m)} (${found.length === 0 ? 'no' : found.length} such split${found.length === 1 ? '' : 's'})`,
    );
  }
  return found[0]!;
}

/** Special token ids and BOS/EOS flags of a tokenizer.json + tokenizer_config.json, as llama.cpp's converter (SpecialVocab) finds them. */
function specialIds(tj: JsonObject, cfg: JsonObject, idOf: Map<string, number>, kind: TokenizerKind) {
  const tokenName = (v: Json | undefined): string | null => (typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : null);
  const lookup = (key: string): number | null => {
    const name = tokenName(cfg[key]);
    if (name === null) return null;
    const id = idOf.get(name);
    if (id === undefined) throw new TokenizerError(`tokenizer_config.json: ${key}: expected a token of the vocabulary, got ${show(name)}`);
    return id;
  };
  // the post-processor's template: a leading special token is BOS (added), a trailing one EOS (added)
  let ppFirst: number | null = null;
  let ppLast: number | null = null;
  const processors = isObject(tj.post_processor) ? components(tj.post_processor, 'processors') : [];
  for (const p of processors) {
    if (!isType(p, 'TemplateProcessing') || !Array.isArray(p.single) || p.single.length < 2) continue;
    const id = (item: Json | undefined) => {
      const st = isObject(item) && isObject(item.SpecialToken) ? item.SpecialToken.id : null;
      return typeof st === 'string' ? (idOf.get(st) ?? null) : null;
    };
    ppFirst = id(p.single[0]);
    ppLast = id(p.single[p.single.length - 1]);
  }
  const sp = kind === 'sentencepiece';
  const bosId = lookup('bos_token') ?? ppFirst ?? (sp ? (idOf.get('<s>') ?? null) : null);
  const eosId = lookup('eos_token') ?? (sp ? (idOf.get('</s>') ?? null) : null);
  const flag = (key: string, fallback: boolean) => (typeof cfg[key] === 'boolean' ? (cfg[key] as boolean) : fallback);
  return {
    bosId,
    eosId,
    eotId: lookup('eot_token'),
    padId: lookup('pad_token'),
    addBos: flag('add_bos_token', ppFirst !== null) && bosId !== null,
    addEos: flag('add_eos_token', ppLast !== null && ppLast === eosId) && eosId !== null,
  };
}

/**
 * Read a tokenizer.json (+ tokenizer_config.json) into a TokenizerSpec.
 * @throws TokenizerError naming the field when the file is malformed or of a kind spechub (and
 *   llama.cpp) does not run: not BPE, or neither byte-level nor SentencePiece style.
 */
export function specFromTokenizerJson(tj: JsonObject, cfg: JsonObject): TokenizerSpec {
  // ---- model
  const model = tj.model;
  if (!isObject(model)) throw new TokenizerError(`tokenizer.json: model: expected an object, got ${show(model)}`);
  // the library also runs WordPiece and Unigram; spechub's decoder and llama.cpp's gpt2/llama GGUF vocabularies are BPE
  if (model.type !== 'BPE') throw new TokenizerError(`tokenizer.json: model.type: expected "BPE", got ${show(model.type)}`);
  // the library ignores dropout (BPE-dropout is random: not the deterministic encoding of a served model)
  if (model.dropout != null && model.dropout !== 0) throw new TokenizerError(`tokenizer.json: model.dropout: expected null (deterministic BPE), got ${show(model.dropout)}`);
  // the library does not implement continuing_subword_prefix (it reads another key), and spechub's decoder neither
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[key] != null && model[key] !== '') throw new TokenizerError(`tokenizer.json: model.${key}: expected null or "", got ${show(model[key])}`);
  }
  const vocab = model.vocab;
  if (!isObject(vocab)) throw new TokenizerError(`tokenizer.json: model.vocab: expected an object piece → id, got ${show(vocab)}`);
  const byId: (string | undefined)[] = []; // id → piece (holey until checked)
  const pieceToId = new Map<string, number>();
  let count = 0;
  for (const piece in vocab) {
    const id = vocab[piece];
    // the library would store {"x": -1} or {"x": 1.5} as a property of its id array and emit that id
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_ID) {
      throw new TokenizerError(`tokenizer.json: model.vocab[${show(piece)}]: expected an id in [0, 2^24), got ${show(id)}`);
    }
    // the library would silently keep the last piece of an id
    const prev = byId[id];
    if (prev !== undefined) throw new TokenizerError(`tokenizer.json: model.vocab: expected unique ids, got id ${id} for both ${show(prev)} and ${show(piece)}`);
    byId[id] = piece;
    pieceToId.set(piece, id);
    count++;
  }

  // ---- added tokens
  const added = tj.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerError(`tokenizer.json: added_tokens: expected an array, got ${show(added)}`);
  const addedById = new Map<number, JsonObject>();
  for (const [i, t] of added.entries()) {
    if (!isObject(t) || typeof t.content !== 'string' || t.content.length === 0 || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0 || t.id >= MAX_ID) {
      throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: expected {id, content, …}, got ${show(t)}`);
    }
    // the library ignores single_word, and llama.cpp has no equivalent
    if (t.single_word === true) throw new TokenizerError(`tokenizer.json: added_tokens[${i}] (${show(t.content)}): single_word=true is not supported, got ${show(t)}`);
    // the library silently lets an added token override the piece of its id, or give a piece a second id
    const prev = byId[t.id];
    if (prev !== undefined && prev !== t.content) throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: id ${t.id} is ${show(prev)} in model.vocab, got content ${show(t.content)}`);
    const other = pieceToId.get(t.content);
    if (other !== undefined && other !== t.id) throw new TokenizerError(`tokenizer.json: added_tokens[${i}]: ${show(t.content)} has id ${other} in model.vocab, got id ${t.id}`);
    if (prev === undefined) count++;
    byId[t.id] = t.content;
    pieceToId.set(t.content, t.id);
    addedById.set(t.id, t);
  }
  // decode tables are dense (the library would decode a missing id as undefined)
  const n = count;
  for (let id = 0; id < n; id++) {
    if (byId[id] === undefined) throw new TokenizerError(`tokenizer.json: vocabulary: expected ids 0..${n - 1} without gaps, got no token with id ${id} (largest id ${byId.length - 1})`);
  }
  const pieces = byId as string[];

  // ---- merges, as pairs (the library reads "a b" strings with split(" ", 2), losing pieces that hold spaces)
  const rawMerges = model.merges ?? [];
  if (!Array.isArray(rawMerges)) throw new TokenizerError(`tokenizer.json: model.merges: expected an array, got ${show(rawMerges)}`);
  const merges = new Array<[string, string]>(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const m = rawMerges[i]!;
    if (typeof m === 'string') merges[i] = resolveMerge(m, pieceToId, `tokenizer.json: model.merges[${i}]`);
    else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') merges[i] = m as [string, string];
    else throw new TokenizerError(`tokenizer.json: model.merges[${i}]: expected "left right" or [left, right], got ${show(m)}`);
  }

  // ---- kind, normalizer, pre-tokenizer
  const normalizers = components(tj.normalizer, 'normalizers');
  const preTokenizers = components(tj.pre_tokenizer, 'pretokenizers');
  const notes: string[] = [];
  const byteLevel = preTokenizers.some((p) => isType(p, 'ByteLevel'));
  const replaceSpace = (v: Json) => isType(v, 'Replace') && stringPattern(v) === ' ' && v.content === SP;
  const metaspace = preTokenizers.find((p) => isType(p, 'Metaspace')) as JsonObject | undefined;
  let kind: TokenizerKind;
  let libNormalizer: Json = null;
  let libPre: Json = null;
  let addSpacePrefix = false;
  let pre: string | null = null;
  if (byteLevel) {
    kind = 'byte-level';
    for (const nm of normalizers) {
      if (isType(nm, 'NFC')) notes.push('normalizer NFC not applied: llama.cpp applies no normalizer to byte-level vocabularies');
      else throw new TokenizerError(`tokenizer.json: normalizer: expected none or NFC for a byte-level vocabulary (llama.cpp applies none), got ${show(nm)}`);
    }
    pre = detectPre(preTokenizers, model.ignore_merges === true);
    libPre = { type: 'Sequence', pretokenizers: preTokenizers.flatMap(libraryPreTokenizer) };
  } else if (normalizers.some(replaceSpace) || metaspace !== undefined) {
    kind = 'sentencepiece';
    for (const nm of normalizers) {
      if (replaceSpace(nm)) continue;
      if (isType(nm, 'Prepend') && nm.prepend === SP) addSpacePrefix = true;
      else throw new TokenizerError(`tokenizer.json: normalizer: expected Prepend("▁") and Replace(" " → "▁") for a SentencePiece-style vocabulary, got ${show(nm)}`);
    }
    if (metaspace !== undefined) {
      if (preTokenizers.length !== 1 || normalizers.length > 0) {
        throw new TokenizerError(`tokenizer.json: pre_tokenizer: expected Metaspace alone (no normalizer), got pre_tokenizer ${show(tj.pre_tokenizer)} and normalizer ${show(tj.normalizer)}`);
      }
      if (metaspace.replacement !== SP) throw new TokenizerError(`tokenizer.json: pre_tokenizer.replacement: expected "▁", got ${show(metaspace.replacement)}`);
      const scheme = metaspace.prepend_scheme ?? (metaspace.add_prefix_space === false ? 'never' : 'always');
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw new TokenizerError(`tokenizer.json: pre_tokenizer.prepend_scheme: expected "always", "first" or "never", got ${show(scheme)}`);
      addSpacePrefix = scheme !== 'never';
      // split: true cuts the text at every "▁"; llama.cpp never does, and the two agree only when no piece holds "▁" after its first character
      if (metaspace.split !== false) {
        const spanning = pieces.find((p, id) => !addedById.has(id) && p.indexOf(SP, 1) > 0);
        if (spanning !== undefined) throw new TokenizerError(`tokenizer.json: pre_tokenizer.split: expected false (llama.cpp does not split at "▁"), got ${show(metaspace.split ?? true)} with pieces such as ${show(spanning)}`);
      }
      if (scheme === 'first') notes.push('Metaspace prepend_scheme "first": the space is prepended to every piece of raw text, as llama.cpp does');
    } else {
      for (const p of preTokenizers) {
        // Gemma: Split(" ") after the normalizer replaced every space cannot split anything
        if (!(isType(p, 'Split') && stringPattern(p) === ' ')) {
          throw new TokenizerError(`tokenizer.json: pre_tokenizer: expected none (SentencePiece-style BPE over the whole text), got ${show(p)}`);
        }
      }
    }
    libNormalizer = {
      type: 'Sequence',
      normalizers: [...(addSpacePrefix ? [{ type: 'Prepend', prepend: SP }] : []), { type: 'Replace', pattern: { String: ' ' }, content: SP }],
    };
  } else {
    throw new TokenizerError(
      `tokenizer.json: expected a byte-level (ByteLevel pre-tokenizer) or SentencePiece-style (Replace(" " → "▁") normalizer or Metaspace pre-tokenizer) BPE tokenizer, got normalizer ${show(tj.normalizer)} and pre_tokenizer ${show(tj.pre_tokenizer)}`,
    );
  }
  checkDecoder(tj.decoder, kind);

  // ---- token types and texts (llama.cpp convert_hf_to_gguf.py: get_vocab_base / _create_vocab_sentencepiece)
  const types = new Int32Array(n).fill(TOKEN_TYPE.NORMAL);
  const tokens = pieces.slice();
  const strip = new Uint16Array(n);
  if (kind === 'sentencepiece' && model.byte_fallback === true) {
    for (let id = 0; id < n; id++) if (!addedById.has(id) && BYTE_PIECE.test(pieces[id]!)) types[id] = TOKEN_TYPE.BYTE;
  }
  for (const [id, t] of addedById) {
    const content = t.content as string;
    const special = t.special === true || looksSpecial(content);
    types[id] = special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
    let text = content;
    if (kind === 'byte-level' && t.normalized !== true) {
      const bytes = byteLevelPieceBytes(content);
      if (bytes !== null) text = new TextDecoder().decode(bytes);
    }
    if (!special) text = text.replaceAll(SP, ' ');
    tokens[id] = text;
    strip[id] = (t.lstrip === true ? ATTR.LSTRIP : 0) | (t.rstrip === true ? ATTR.RSTRIP : 0);
  }
  let unkId: number | null = null;
  // an unknown token outside the vocabulary makes the library emit the id undefined for unknown text
  if (model.unk_token != null) {
    const u = typeof model.unk_token === 'string' ? pieceToId.get(model.unk_token) : undefined;
    if (u === undefined) throw new TokenizerError(`tokenizer.json: model.unk_token: expected a token of the vocabulary, got ${show(model.unk_token)}`);
    unkId = u;
    if (kind === 'sentencepiece' && types[u] === TOKEN_TYPE.NORMAL) types[u] = TOKEN_TYPE.UNKNOWN;
  }
  const ids = specialIds(tj, cfg, pieceToId, kind);
  const { attrs, eogIds, eotId } = llamaCppAttributes({ tokens, types, eosId: ids.eosId, eotId: ids.eotId, eomId: null, strip: { flags: strip } });
  // BPE must behave as over llama.cpp's token texts, where a piece the converter renamed is not a
  // token. Byte-level (SmolLM2's "ï¿½" is "�" in the GGUF): llama.cpp still applies the merges that
  // make the piece, then drops its bytes, as the library does for a piece outside its vocabulary
  // when there is no unknown token — so the piece leaves the library's vocabulary. SentencePiece
  // (Gemma's "▁▁" is two spaces in the GGUF): llama.cpp only ever merges into tokens, so the merges
  // that make the piece go. (Added tokens outside model.vocab stay out of the library's vocabulary:
  // no merge of these files makes one, and they are cut out of the text before BPE.)
  const renamed = new Set<string>();
  for (const [id] of addedById) if (tokens[id] !== pieces[id] && Object.hasOwn(vocab, pieces[id]!)) renamed.add(pieces[id]!);
  let libVocab: JsonObject = vocab;
  let libMerges: [string, string][] = merges;
  if (renamed.size > 0 && kind === 'byte-level') {
    libVocab = { ...vocab };
    for (const p of renamed) {
      const id = vocab[p] as number;
      delete libVocab[p];
      libVocab[tokens[id]!] = id;
    }
  } else if (renamed.size > 0) {
    const first = new Set([...renamed].map((p) => p.charCodeAt(0)));
    libMerges = merges.filter(([a, b]) => !(first.has(a.charCodeAt(0)) && renamed.has(a + b)));
  }
  const library: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: libNormalizer,
    pre_tokenizer: libPre,
    post_processor: null,
    decoder: null,
    model: { ...model, vocab: libVocab, merges: libMerges },
  };
  return {
    kind,
    pre,
    pieces,
    tokens,
    types,
    attrs,
    eogIds,
    library,
    addSpacePrefix,
    fuseUnk: model.fuse_unk === true,
    unkId,
    ...ids,
    eotId,
    fileEotId: ids.eotId,
    merges,
    notes,
  };
}

/**
 * The decoder must decode the way spechub's own decoder does for this kind of vocabulary (spechub
 * decodes by llama.cpp's rules and does not run tokenizer.json's decoder; another decoder would
 * mean text spechub would silently decode differently).
 */
function checkDecoder(dec: Json | undefined, kind: TokenizerKind): void {
  const list = components(dec, 'decoders');
  const ok =
    kind === 'byte-level'
      ? list.length === 1 && isType(list[0]!, 'ByteLevel')
      : list.length > 0 &&
        list.every(
          (d) =>
            (isType(d, 'Replace') && stringPattern(d) === SP && d.content === ' ') ||
            isType(d, 'ByteFallback') ||
            isType(d, 'Fuse') ||
            (isType(d, 'Strip') && d.content === ' ' && (d.stop ?? 0) === 0) ||
            (isType(d, 'Metaspace') && d.replacement === SP),
        ) &&
        list.some((d) => isType(d, 'Replace') || isType(d, 'Metaspace'));
  if (!ok) {
    const want = kind === 'byte-level' ? 'ByteLevel' : 'Replace("▁" → " ") or Metaspace, with ByteFallback, Fuse and Strip(" ", n, 0) optional';
    throw new TokenizerError(`tokenizer.json: decoder: expected ${want} for a ${kind} vocabulary, got ${show(dec)}`);
  }
}

/**
 * The pre-tokenizer step as @huggingface/tokenizers should run it. Two library steps differ from
 * Rust tokenizers (and llama.cpp) on some inputs, so they are given as the equivalent Split:
 * - ByteLevel's built-in regex uses JavaScript's \s, which counts U+FEFF as a space and not U+0085
 *   ("x \u0085y": the library makes " \u0085" one pre-token, Rust and llama.cpp " " and "\u0085")
 *   — Split's regex rewriting uses \p{White_Space} instead;
 * - Digits uses \d, ASCII digits only, where Rust uses char::is_numeric (" ١٢": the library keeps
 *   " ١٢" one pre-token, Rust and llama.cpp split every digit off).
 * Split behaviours other than Isolated and Removed are not implemented by the library (it isolates
 * instead: Split(" ", MergedWithPrevious) on "a b" gives "a", " ", "b" instead of "a ", "b").
 */
function libraryPreTokenizer(p: Json): Json[] {
  if (isType(p, 'ByteLevel')) {
    if (p.add_prefix_space === true) throw new TokenizerError(`tokenizer.json: pre_tokenizer ByteLevel: add_prefix_space: expected false (llama.cpp has no equivalent), got true`);
    if (p.use_regex === false) return [p];
    return [{ type: 'Split', pattern: { Regex: PRE_REGEX.gpt2 }, behavior: 'Isolated', invert: false }, { ...p, use_regex: false }];
  }
  if (isType(p, 'Digits')) return [{ type: 'Split', pattern: { Regex: p.individual_digits === true ? '\\p{N}' : '\\p{N}+' }, behavior: 'Isolated', invert: false }];
  if (isType(p, 'Split')) {
    const b = p.behavior;
    if ((b !== 'Isolated' && b !== 'Removed') || p.invert === true) {
      throw new TokenizerError(`tokenizer.json: pre_tokenizer Split: expected behavior "Isolated" or "Removed" without invert, got ${show(p)}`);
    }
    return [p];
  }
  return [p];
}

/** llama.cpp's name for a byte-level pre-tokenizer (as its converter would choose), or null. */
function detectPre(steps: Json[], ignoreMerges: boolean): string | null {
  const sig = steps.map((s) => {
    if (isType(s, 'ByteLevel')) return s.add_prefix_space === true ? '?' : s.use_regex === false ? 'bytes' : 'bytes+gpt2';
    if (isType(s, 'Digits')) return s.individual_digits === true ? 'digit' : '?';
    if (isType(s, 'Split') && s.behavior === 'Isolated' && s.invert !== true && isObject(s.pattern) && typeof s.pattern.Regex === 'string') {
      const r = s.pattern.Regex;
      return r === PRE_REGEX.llama3 ? 'llama3' : r === PRE_REGEX.qwen2 ? 'qwen2' : '?';
    }
    return '?';
  });
  switch (sig.join(',')) {
    case 'bytes+gpt2':
      return 'gpt-2';
    case 'digit,bytes+gpt2':
      return 'smollm';
    case 'llama3,bytes':
      return ignoreMerges ? 'llama-bpe' : 'dbrx';
    case 'qwen2,bytes':
      return ignoreMerges ? null : 'qwen2';
    default:
      return null;
  }
}

// ---- GGUF

/**
 * Read GGUF tokenizer metadata into a TokenizerSpec: "llama" (SentencePiece; merges derived from the
 * scores as llama.cpp's score-ordered merging implies) or "gpt2" (byte-level BPE with a named
 * pre-tokenizer).
 * @throws TokenizerError for other tokenizer models, unknown pre-tokenizer names, missing merges or scores.
 */
export function specFromGguf(file: string, data: GgufTokenizerData): TokenizerSpec {
  const n = data.tokens.length;
  const types = data.tokenTypes === null ? new Int32Array(n).fill(TOKEN_TYPE.NORMAL) : Int32Array.from(data.tokenTypes);
  const tokens = data.tokens;
  for (let id = 0; id < n; id++) {
    if (types[id] === TOKEN_TYPE.BYTE && !BYTE_PIECE.test(tokens[id]!)) {
      throw new TokenizerError(`${file}: tokenizer.ggml.tokens[${id}]: expected "<0xXX>" for a byte token (type 6), got ${show(tokens[id])}`);
    }
  }
  const idOf = new Map<string, number>();
  tokens.forEach((t, id) => idOf.set(t, id));
  const inRange = (id: number) => (id < n ? id : null);
  let kind: TokenizerKind;
  let pre: string | null = null;
  let merges: [string, string][];
  let library: JsonObject;
  let addBosDefault: boolean;
  let bosId: number | null, eosId: number | null, unkId: number | null;
  const vocab: JsonObject = {};
  for (let id = 0; id < n; id++) vocab[tokens[id]!] = id;
  if (data.model === 'llama') {
    kind = 'sentencepiece';
    if (data.scores === null) throw new TokenizerError(`${file}: tokenizer.ggml.scores: expected one score per token for a "llama" (SentencePiece) tokenizer, got nothing`);
    merges = sentencePieceMerges(tokens, data.scores);
    // llama.cpp's defaults for SentencePiece files that name none
    bosId = data.bosId ?? inRange(1);
    eosId = data.eosId ?? inRange(2);
    unkId = data.unkId ?? inRange(0);
    addBosDefault = true;
    const addSpacePrefix = data.addSpacePrefix ?? true;
    library = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: 'Sequence', normalizers: [...(addSpacePrefix ? [{ type: 'Prepend', prepend: SP }] : []), { type: 'Replace', pattern: { String: ' ' }, content: SP }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: unkId === null ? null : tokens[unkId]!,
        fuse_unk: true,
        byte_fallback: types.includes(TOKEN_TYPE.BYTE),
        ignore_merges: false,
        vocab,
        merges,
      },
    };
  } else if (data.model === 'gpt2') {
    kind = 'byte-level';
    pre = data.pre;
    const spec = preTokenizerSpec(pre, file);
    if (data.merges === null) throw new TokenizerError(`${file}: tokenizer.ggml.merges: expected the BPE merges of a "gpt2" tokenizer, got nothing`);
    merges = data.merges.map((m, i) => {
      // llama.cpp splits at the first space after the first character
      const at = m.indexOf(' ', 1);
      if (at < 0) throw new TokenizerError(`${file}: tokenizer.ggml.merges[${i}]: expected "left right", got ${show(m)}`);
      return [m.slice(0, at), m.slice(at + 1)];
    });
    bosId = data.bosId;
    eosId = data.eosId;
    unkId = data.unkId;
    addBosDefault = spec.addBos;
    library = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: preTokenizerJson(spec) as JsonObject,
      post_processor: null,
      decoder: null,
      model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: spec.ignoreMerges, vocab, merges },
    };
  } else {
    throw new TokenizerError(`${file}: tokenizer.ggml.model: expected "llama" (SentencePiece) or "gpt2" (byte-level BPE), got ${show(data.model)}`);
  }
  const { attrs, eogIds, eotId } = llamaCppAttributes({ tokens, types, eosId, eotId: data.eotId, eomId: data.eomId, strip: { modelName: data.modelName } });
  return {
    kind,
    pre,
    pieces: tokens,
    tokens,
    types,
    attrs,
    eogIds,
    library,
    addSpacePrefix: kind === 'sentencepiece' && (data.addSpacePrefix ?? true),
    fuseUnk: kind === 'sentencepiece',
    bosId,
    eosId,
    eotId,
    fileEotId: data.eotId,
    unkId,
    padId: data.padId,
    addBos: (data.addBos ?? addBosDefault) && bosId !== null,
    addEos: (data.addEos ?? false) && eosId !== null,
    merges,
    notes: [],
  };
}
