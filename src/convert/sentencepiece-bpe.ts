/**
 * SentencePiece BPE vocabulary (pieces + scores, as in a .model file, a llama2.c tokenizer.bin or
 * a GGUF `tokenizer.ggml.*` block) → Hugging Face `tokenizer.json` and `tokenizer_config.json`, the
 * way transformers' LlamaConverter does it: normalizer Prepend("▁") + Replace(" " → "▁"), BPE with
 * merges derived from the scores, byte_fallback, the special tokens as added tokens, a
 * TemplateProcessing post-processor that puts BOS first, and the decoder Replace / ByteFallback /
 * Fuse / Strip. Browser-safe; output is deterministic text.
 */
import { TokenizerError } from '../errors.js';

const SP_SPACE = '\u2581';

/** A SentencePiece BPE vocabulary. */
export interface SentencePieceBpeSpec {
  /** id → piece, with "▁" for spaces (SentencePiece form), e.g. "▁the", "<0x0A>", "<s>". */
  readonly pieces: readonly string[];
  /** id → score; a piece's merges rank by its score, highest first. */
  readonly scores: ArrayLike<number>;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  /** Characters outside the vocabulary become <0xXX> byte tokens (SentencePiece byte_fallback). */
  readonly byteFallback: boolean;
  /** Ids marked special (skipped by decode). Default: unk, bos and eos. */
  readonly specialIds?: readonly number[];
  /** The post-processor puts BOS first (HF add_bos_token). Default: true when bosId is set. */
  readonly addBos?: boolean;
  /** tokenizer_config.json model_max_length. Default: omitted. */
  readonly modelMaxLength?: number;
}

/** The two files, as text (UTF-8 JSON with a trailing newline). */
export interface TokenizerFiles {
  readonly tokenizerJson: string;
  readonly tokenizerConfigJson: string;
}

/**
 * BPE merges of a SentencePiece vocabulary, exactly as transformers' `generate_merges` builds them:
 * for every piece, every split into two pieces of the vocabulary (left, right), ordered within the
 * piece by (id(left), id(right)); then all of them stably sorted by (piece score, length of left,
 * length of right), descending. Lengths count code points.
 */
export function sentencePieceMerges(pieces: readonly string[], scores: ArrayLike<number>): [string, string][] {
  const vocab = new Map<string, number>();
  pieces.forEach((p, id) => vocab.set(p, id));
  // candidates as parallel arrays: the piece whose score ranks them, the two halves, their lengths
  let cap = 1 << 16;
  let owner = new Int32Array(cap);
  let left = new Int32Array(cap);
  let right = new Int32Array(cap);
  let lens = new Int32Array(cap); // lenL << 16 | lenR
  let count = 0;
  const local: number[] = []; // (idL, idR, lenL) triples of one piece
  for (let id = 0; id < pieces.length; id++) {
    const p = pieces[id]!;
    if (p.length < 2) continue;
    local.length = 0;
    let cps = 0;
    for (let k = 0; k < p.length - 1; ) {
      const c = p.charCodeAt(k);
      k += c >= 0xd800 && c <= 0xdbff && k + 1 < p.length ? 2 : 1;
      cps++;
      if (k >= p.length) break;
      const idL = vocab.get(p.slice(0, k));
      if (idL === undefined) continue;
      const idR = vocab.get(p.slice(k));
      if (idR !== undefined) local.push(idL, idR, cps);
    }
    if (local.length === 0) continue;
    const total = countCodePoints(p);
    // within a piece, by (id(left), id(right)): insertion sort of the few triples
    for (let i = 3; i < local.length; i += 3) {
      for (let j = i; j > 0 && (local[j - 3]! > local[j]! || (local[j - 3] === local[j] && local[j - 2]! > local[j + 1]!)); j -= 3) {
        for (let k = 0; k < 3; k++) {
          const t = local[j - 3 + k]!;
          local[j - 3 + k] = local[j + k]!;
          local[j + k] = t;
        }
      }
    }
    for (let i = 0; i < local.length; i += 3) {
      if (count === cap) {
        cap *= 2;
        const grow = (a: Int32Array) => {
          const g = new Int32Array(cap);
          g.set(a);
          return g;
        };
        owner = grow(owner);
        left = grow(left);
        right = grow(right);
        lens = grow(lens);
      }
      owner[count] = id;
      left[count] = local[i]!;
      right[count] = local[i + 1]!;
      lens[count] = (local[i + 2]! << 16) | (total - local[i + 2]!);
      count++;
    }
  }
  // stable sort by (piece score, length of left, length of right), descending
  const score = new Float64Array(count);
  for (let i = 0; i < count; i++) score[i] = scores[owner[i]!]!;
  const idx = new Int32Array(count);
  for (let i = 0; i < count; i++) idx[i] = i;
  idx.sort((a, b) => score[b]! - score[a]! || lens[b]! - lens[a]! || a - b);
  const out = new Array<[string, string]>(count);
  for (let i = 0; i < count; i++) out[i] = [pieces[left[idx[i]!]!]!, pieces[right[idx[i]!]!]!];
  return out;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (!(c >= 0xdc00 && c <= 0xdfff && k > 0 && s.charCodeAt(k - 1) >= 0xd800 && s.charCodeAt(k - 1) <= 0xdbff)) n++;
  }
  return n;
}

function validate(spec: SentencePieceBpeSpec): void {
  const n = spec.pieces.length;
  if (n === 0) throw new TokenizerError('sentencePieceBpe: pieces: expected at least one piece, got none');
  if (spec.scores.length !== n) {
    throw new TokenizerError(`sentencePieceBpe: scores: expected ${n} scores (one per piece), got ${spec.scores.length}`);
  }
  const seen = new Map<string, number>();
  for (let id = 0; id < n; id++) {
    const p = spec.pieces[id];
    if (typeof p !== 'string' || p.length === 0) throw new TokenizerError(`sentencePieceBpe: piece ${id}: expected a non-empty string, got ${JSON.stringify(p)}`);
    const prev = seen.get(p);
    if (prev !== undefined) throw new TokenizerError(`sentencePieceBpe: piece ${id}: expected unique pieces, got ${JSON.stringify(p)} again (also id ${prev})`);
    seen.set(p, id);
    if (!Number.isFinite(spec.scores[id])) throw new TokenizerError(`sentencePieceBpe: score of piece ${id} (${JSON.stringify(p)}): expected a finite number, got ${spec.scores[id]}`);
  }
  for (const [name, id] of [['bosId', spec.bosId], ['eosId', spec.eosId], ['unkId', spec.unkId]] as const) {
    if (id !== null && !(Number.isInteger(id) && id >= 0 && id < n)) throw new TokenizerError(`sentencePieceBpe: ${name}: expected an id in [0, ${n}) or null, got ${id}`);
  }
  for (const id of spec.specialIds ?? []) {
    if (!(Number.isInteger(id) && id >= 0 && id < n)) throw new TokenizerError(`sentencePieceBpe: specialIds: expected ids in [0, ${n}), got ${id}`);
  }
}

/** JSON.stringify(v, null, 2) but with an object's keys in the given order (vocab in id order). */
function orderedObject(entries: readonly (readonly [string, number])[], indent: string): string {
  if (entries.length === 0) return '{}';
  const inner = indent + '  ';
  return '{\n' + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${v}`).join(',\n') + '\n' + indent + '}';
}

/**
 * Build `tokenizer.json` and `tokenizer_config.json` for a SentencePiece BPE vocabulary (see
 * {@link SentencePieceBpeSpec}). The output loads in Hugging Face `tokenizers`/transformers and in
 * {@link Tokenizer.fromJson}. Merges are written as pairs (tokenizers ≥ 0.20 format).
 * @throws TokenizerError on empty or repeated pieces, non-finite scores, ids out of range.
 */
export function sentencePieceBpeToTokenizerJson(spec: SentencePieceBpeSpec): TokenizerFiles {
  validate(spec);
  const { pieces, bosId, eosId, unkId } = spec;
  const specialIds = [...new Set(spec.specialIds ?? [unkId, bosId, eosId].filter((x): x is number => x !== null))].sort((a, b) => a - b);
  const addBos = (spec.addBos ?? bosId !== null) && bosId !== null;
  const addedToken = (id: number) => ({
    id,
    content: pieces[id]!,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const bos = bosId === null ? null : pieces[bosId]!;
  const postProcessor =
    addBos && bos !== null
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
        }
      : null;
  const VOCAB_MARK = '\u0000spechub-vocab\u0000';
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialIds.map(addedToken),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SP_SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SP_SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: postProcessor,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SP_SPACE }, content: ' ' },
        ...(spec.byteFallback ? [{ type: 'ByteFallback' }] : []),
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId === null ? null : pieces[unkId]!,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: spec.byteFallback,
      ignore_merges: false,
      vocab: VOCAB_MARK,
      merges: sentencePieceMerges(pieces, spec.scores),
    },
  };
  const vocabText = orderedObject(
    pieces.map((p, id) => [p, id] as const),
    '    ',
  );
  const tokenizerJson = JSON.stringify(tokenizer, null, 2).replace(JSON.stringify(VOCAB_MARK), () => vocabText) + '\n';

  const addedTokensDecoder: Record<string, unknown> = {};
  for (const id of specialIds) {
    addedTokensDecoder[String(id)] = { content: pieces[id]!, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  }
  const config: Record<string, unknown> = {
    add_bos_token: addBos,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: bos,
    clean_up_tokenization_spaces: false,
    eos_token: eosId === null ? null : pieces[eosId]!,
    legacy: true,
  };
  if (spec.modelMaxLength !== undefined) config.model_max_length = spec.modelMaxLength;
  Object.assign(config, {
    pad_token: null,
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizerFast',
    unk_token: unkId === null ? null : pieces[unkId]!,
    use_default_system_prompt: false,
  });
  return { tokenizerJson, tokenizerConfigJson: JSON.stringify(config, null, 2) + '\n' };
}
