/**
 * SentencePiece BPE vocabulary (pieces + scores, as in a .model file, a llama2.c tokenizer.bin or
 * a GGUF `tokenizer.ggml.*` block) → Hugging Face `tokenizer.json` and `tokenizer_config.json`, the
 * way transformers' LlamaConverter does it: normalizer Prepend("▁") + Replace(" " → "▁"), BPE with
 * merges derived from the scores, byte_fallback, the special tokens as added tokens, a
 * TemplateProcessing post-processor that puts BOS first, and the decoder Replace / ByteFallback /
 * Fuse / Strip. Browser-safe; output is deterministic text.
 */
import { TokenizerError } from '../errors.js';
import { sentencePieceMerges } from '../tokenizer/sentencepiece-merges.js';
import type { SpecialTokenIds } from '../tokenizer/spec.js';

const SP_SPACE = '\u2581';

/** A SentencePiece BPE vocabulary. */
export interface SentencePieceBpeSpec extends SpecialTokenIds {
  /** id → piece, with "▁" for spaces (SentencePiece form), e.g. "▁the", "<0x0A>", "<s>". */
  readonly pieces: readonly string[];
  /** id → score; a piece's merges rank by its score, highest first. */
  readonly scores: ArrayLike<number>;
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
