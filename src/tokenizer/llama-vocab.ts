/**
 * llama.cpp's view of a vocabulary, shared by tokenizers built from tokenizer.json and from GGUF
 * metadata: token types, the attributes llama.cpp derives from them when it loads a file, the
 * special-token partition of `llama_tokenize` (with and without `parse_special`), and the
 * pre-tokenizers of byte-level vocabularies by their `tokenizer.ggml.pre` name. Browser-safe.
 *
 * Everything here restates the behaviour of llama.cpp's src/llama-vocab.cpp (the version bundled
 * with node-llama-cpp 3.22.1, the oracle of the tests) in spechub's own code.
 */
import { TokenizerError } from '../errors.js';

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
export const TOKEN_TYPE = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** llama.cpp token attributes (llama.h llama_token_attr bits) that spechub uses. */
export const ATTR = {
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

const TYPE_TO_ATTR: Record<number, number> = {
  [TOKEN_TYPE.NORMAL]: ATTR.NORMAL,
  [TOKEN_TYPE.UNKNOWN]: ATTR.UNKNOWN,
  [TOKEN_TYPE.CONTROL]: ATTR.CONTROL,
  [TOKEN_TYPE.USER_DEFINED]: ATTR.USER_DEFINED,
  [TOKEN_TYPE.UNUSED]: ATTR.UNUSED,
  [TOKEN_TYPE.BYTE]: ATTR.BYTE,
};

/**
 * Token texts llama.cpp treats as end of generation whatever their type (it also makes them
 * control tokens, so plain text never matches them unless special tokens are parsed).
 */
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);
/**
 * End-of-turn texts, in the order spechub prefers them when a file names no EOT token. llama.cpp
 * takes the first of these it meets in its hash map, which for a vocabulary with several of them
 * (SmolLM2: "<|im_end|>" and "<|endoftext|>") depends on its hash table, not on the vocabulary;
 * every candidate ends generation either way.
 */
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
/** Fill-in-the-middle token texts llama.cpp makes control tokens (pad, repo and file separator also end generation). */
const FIM_TEXTS = new Set([
  '<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>',
  '<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>',
  '<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>',
]);
const FIM_EOG_TEXTS = new Set(['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]', '<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>', '<|file_sep|>']);
/** gpt-oss tokens llama.cpp always renders (and so always parses) as user-defined. */
const FORCED_USER_DEFINED = new Set(['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']);
/** Every text a load rule looks for. */
const RULE_TEXTS = new Set([...EOG_TEXTS, ...EOT_TEXTS, ...FIM_TEXTS, ...FIM_EOG_TEXTS, ...FORCED_USER_DEFINED, '<unk>', '<s>']);

/** What {@link llamaCppAttributes} needs besides the tokens. */
export interface AttributeInput {
  /** id → token text as llama.cpp stores it (GGUF tokenizer.ggml.tokens). */
  readonly tokens: readonly string[];
  /** id → GGUF token type. */
  readonly types: ArrayLike<number>;
  readonly eosId: number | null;
  /** The file's end-of-turn id, or null to find it by text as llama.cpp does. */
  readonly eotId: number | null;
  /** The file's end-of-message id, or null to find "<|eom_id|>". */
  readonly eomId: number | null;
  /**
   * How lstrip/rstrip are decided: 'flags' takes them from `stripFlags` (tokenizer.json added
   * tokens); a string is the GGUF general.name, from which llama.cpp derives them (its Phi-3 rule).
   */
  readonly strip: { readonly flags: Uint16Array } | { readonly modelName: string | null };
}

/** Attributes and end-of-generation ids as llama.cpp computes them when it loads a vocabulary. */
export interface LlamaCppAttributes {
  /** id → ATTR bits. */
  readonly attrs: Uint16Array;
  /** End-of-generation ids, ascending. */
  readonly eogIds: readonly number[];
  /** The end-of-turn id: the file's, else the first EOT text the vocabulary has, else null. */
  readonly eotId: number | null;
}

/**
 * The attributes llama.cpp gives each token at load time (llama_vocab::impl::load): the type's
 * attribute, then the text rules (end-of-generation and fill-in-the-middle texts become control
 * tokens, gpt-oss's four channel tokens become user-defined, "<|end|>" stops being end of
 * generation when "<|return|>"/"<|call|>" exist, "</s>" when "<|tool_response>" does), then
 * lstrip/rstrip. Where llama.cpp picks the first of several candidates in hash-map order (EOT and
 * FIM detection when the file names none), every candidate is treated the same, which gives the
 * same attributes.
 */
export function llamaCppAttributes(input: AttributeInput): LlamaCppAttributes {
  const { tokens, types } = input;
  const n = tokens.length;
  const attrs = new Uint16Array(n);
  const eog = new Set<number>();
  const idOf = new Map<string, number>(); // the texts the rules look for → id (later ids win, as in llama.cpp's token_to_id)
  for (let id = 0; id < n; id++) {
    attrs[id] = TYPE_TO_ATTR[types[id]!] ?? 0;
    const t = tokens[id]!;
    if (RULE_TEXTS.has(t)) idOf.set(t, id);
  }
  for (let id = 0; id < n; id++) {
    const text = tokens[id]!;
    if ((attrs[id]! & ATTR.CONTROL) !== 0 && text.includes('unused')) attrs[id]! |= ATTR.UNUSED;
  }
  for (const [text, id] of idOf) {
    if (EOG_TEXTS.has(text)) {
      attrs[id]! |= ATTR.CONTROL;
      eog.add(id);
    } else if (FIM_TEXTS.has(text)) {
      attrs[id]! |= ATTR.CONTROL;
    } else if (FIM_EOG_TEXTS.has(text)) {
      attrs[id]! |= ATTR.CONTROL;
      eog.add(id);
    }
  }
  for (const text of FORCED_USER_DEFINED) {
    const id = idOf.get(text);
    if (id !== undefined) attrs[id] = ATTR.USER_DEFINED;
  }
  const eotText = EOT_TEXTS.find((t) => idOf.has(t));
  const eotId = input.eotId ?? (eotText === undefined ? null : idOf.get(eotText)!);
  const eomId = input.eomId ?? idOf.get('<|eom_id|>') ?? null;
  for (const id of [input.eosId, eotId, eomId]) if (id !== null) eog.add(id);
  const byText = (t: string) => {
    const id = idOf.get(t);
    return id !== undefined && eog.has(id) ? id : undefined;
  };
  const end = byText('<|end|>');
  if (end !== undefined && ((byText('<|return|>') !== undefined && byText('<|call|>') !== undefined) || (byText('<|calls|>') !== undefined && byText('<|flush|>') !== undefined))) {
    eog.delete(end);
    attrs[end] = ATTR.USER_DEFINED;
  }
  const s = byText('</s>');
  if (s !== undefined && byText('<|tool_response>') !== undefined) {
    eog.delete(s);
    attrs[s] = ATTR.NORMAL;
  }
  if ('flags' in input.strip) {
    const f = input.strip.flags;
    for (let id = 0; id < n; id++) attrs[id]! |= f[id]! & (ATTR.LSTRIP | ATTR.RSTRIP);
  } else {
    const modelName = input.strip.modelName;
    const name = (modelName ?? '').toLowerCase();
    if (name.includes('phi-3') || name.includes('phi3')) {
      for (let id = 0; id < n; id++) if ((attrs[id]! & PARTITION_ATTRS) !== 0) attrs[id]! |= ATTR.RSTRIP;
      const set = (t: string, on: boolean) => {
        const id = idOf.get(t);
        if (id === undefined) throw new TokenizerError(`general.name ${JSON.stringify(modelName)}: llama.cpp's Phi-3 rule needs the token ${JSON.stringify(t)}, which the vocabulary lacks`);
        attrs[id] = on ? attrs[id]! | ATTR.RSTRIP : attrs[id]! & ~ATTR.RSTRIP;
      };
      set('</s>', true);
      for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, false);
    }
  }
  return { attrs, eogIds: [...eog].sort((a, b) => a - b), eotId };
}

/** Attributes of the tokens that llama.cpp cuts out of the text before BPE (its special-token cache). */
export const PARTITION_ATTRS = ATTR.CONTROL | ATTR.USER_DEFINED | ATTR.UNKNOWN;

/** One piece of partitioned text: raw text for the BPE model, or a token id. */
export type Fragment = string | number;

/** Whitespace as C's isspace() in the "C" locale: what llama.cpp's lstrip/rstrip remove. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * The special tokens of a vocabulary, prepared for {@link SpecialPartition.split}: every token
 * llama.cpp cuts out of the text (control, user-defined and unknown tokens), longest text first.
 */
export class SpecialPartition {
  private readonly order: Int32Array; // token ids by UTF-8 length, longest first (then by id)
  private readonly trie = new Map<string, TrieNode>();
  private readonly firstChars: Set<number>;

  constructor(
    private readonly texts: readonly string[],
    private readonly attrs: Uint16Array,
  ) {
    const enc = new TextEncoder();
    const ids: number[] = [];
    const byteLen = new Map<number, number>();
    for (let id = 0; id < texts.length; id++) {
      if ((attrs[id]! & PARTITION_ATTRS) === 0 || texts[id]!.length === 0) continue;
      ids.push(id);
      byteLen.set(id, enc.encode(texts[id]!).length);
    }
    ids.sort((a, b) => byteLen.get(b)! - byteLen.get(a)! || a - b);
    this.order = Int32Array.from(ids);
    this.firstChars = new Set(ids.map((id) => texts[id]!.charCodeAt(0)));
    for (const id of ids) {
      let level = this.trie;
      const t = texts[id]!;
      for (let i = 0; i < t.length; i++) {
        let node = level.get(t[i]!);
        if (!node) {
          node = { ids: [], next: new Map() };
          level.set(t[i]!, node);
        }
        if (i === t.length - 1) node.ids.push(id);
        level = node.next;
      }
    }
  }

  /** Number of tokens that can be cut out (with parse_special). */
  get size(): number {
    return this.order.length;
  }

  /**
   * Split text as llama.cpp's tokenizer_st_partition does: for each special token, longest first,
   * cut every occurrence out of the text fragments that are still raw (leftmost first), stripping
   * C-locale whitespace next to tokens with lstrip/rstrip. Control and unknown tokens are only cut
   * when `parseSpecial`; user-defined tokens always are.
   */
  split(text: string, parseSpecial: boolean): Fragment[] {
    if (text.length === 0) return [];
    const present = this.tokensIn(text, parseSpecial);
    let frags: Fragment[] = [text];
    if (present.size === 0) return frags;
    for (let k = 0; k < this.order.length; k++) {
      const id = this.order[k]!;
      if (!present.has(id)) continue;
      const t = this.texts[id]!;
      const a = this.attrs[id]!;
      const next: Fragment[] = [];
      for (const f of frags) {
        if (typeof f === 'number') {
          next.push(f);
          continue;
        }
        let rest = f;
        for (;;) {
          const at = rest.indexOf(t);
          if (at < 0) {
            if (rest.length > 0) next.push(rest);
            break;
          }
          let left = rest.slice(0, at);
          if ((a & ATTR.LSTRIP) !== 0) {
            let e = left.length;
            while (e > 0 && isCSpace(left.charCodeAt(e - 1))) e--;
            left = left.slice(0, e);
          }
          if (left.length > 0) next.push(left);
          next.push(id);
          rest = rest.slice(at + t.length);
          if ((a & ATTR.RSTRIP) !== 0) {
            let s = 0;
            while (s < rest.length && isCSpace(rest.charCodeAt(s))) s++;
            rest = rest.slice(s);
          }
        }
      }
      frags = next;
    }
    return frags;
  }

  /** The special tokens that occur somewhere in the text (a superset of those that will be cut). */
  private tokensIn(text: string, parseSpecial: boolean): Set<number> {
    const found = new Set<number>();
    const skip = parseSpecial ? 0 : ATTR.CONTROL | ATTR.UNKNOWN;
    for (let i = 0; i < text.length; i++) {
      if (!this.firstChars.has(text.charCodeAt(i))) continue;
      let level = this.trie;
      for (let j = i; j < text.length; j++) {
        const node = level.get(text[j]!);
        if (!node) break;
        for (const id of node.ids) if ((this.attrs[id]! & skip) === 0) found.add(id);
        level = node.next;
      }
    }
    return found;
  }
}

interface TrieNode {
  readonly ids: number[];
  readonly next: Map<string, TrieNode>;
}

// ---- pre-tokenizers of byte-level vocabularies

/** Split patterns of tokenizer.json files (Hugging Face regex syntax), as the models ship them. */
export const PRE_REGEX = {
  /** GPT-2 (and the ByteLevel pre-tokenizer's built-in pattern). */
  gpt2: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  /** Llama-3.x, Phi-4, DBRX (tiktoken cl100k): digits in groups of up to three. */
  llama3: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  /** Qwen2/2.5/3: digits one by one. */
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  /** SmolLM's first step: every number character on its own. */
  digit: '\\p{N}',
} as const;

/** A byte-level pre-tokenizer llama.cpp knows by name. */
export interface PreTokenizerSpec {
  /** Regexes applied in turn, each splitting every piece into matches and the text between them (llama.cpp's regex_exprs). */
  readonly regexes: readonly string[];
  /** A piece that is a whole vocabulary token skips the merges (llama.cpp ignore_merges, tokenizer.json model.ignore_merges). */
  readonly ignoreMerges: boolean;
  /** llama.cpp's add_bos default for this pre-tokenizer when the file does not say. */
  readonly addBos: boolean;
}

const LLAMA3: PreTokenizerSpec = { regexes: [PRE_REGEX.llama3], ignoreMerges: true, addBos: true };
const DBRX: PreTokenizerSpec = { regexes: [PRE_REGEX.llama3], ignoreMerges: false, addBos: false };
const QWEN2: PreTokenizerSpec = { regexes: [PRE_REGEX.qwen2], ignoreMerges: false, addBos: false };
const SMOLLM: PreTokenizerSpec = { regexes: [PRE_REGEX.digit, PRE_REGEX.gpt2], ignoreMerges: false, addBos: false };
const GPT2: PreTokenizerSpec = { regexes: [PRE_REGEX.gpt2], ignoreMerges: false, addBos: false };

/**
 * `tokenizer.ggml.pre` names spechub implements, each with llama.cpp's regexes for it
 * (llm_tokenizer_bpe in llama-vocab.cpp; names that llama.cpp maps to the same regexes and flags
 * are listed together).
 */
export const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerSpec> = new Map([
  ...['llama-bpe', 'llama3', 'llama-v3', 'falcon3', 'pixtral'].map((n) => [n, LLAMA3] as const),
  ...['dbrx', 'smaug-bpe'].map((n) => [n, DBRX] as const),
  ...['qwen2', 'deepseek-r1-qwen', 'megrez'].map((n) => [n, QWEN2] as const),
  ...['smollm', 'starcoder', 'refact', 'codeshell', 'minerva-7b'].map((n) => [n, SMOLLM] as const),
  ...['gpt-2', 'phi-2', 'mpt', 'olmo'].map((n) => [n, GPT2] as const),
]);

/** The pre-tokenizer of a name, or a TokenizerError naming it. */
export function preTokenizerSpec(name: string | null, where: string): PreTokenizerSpec {
  const spec = name === null ? undefined : PRE_TOKENIZERS.get(name);
  if (spec === undefined) {
    throw new TokenizerError(
      `${where}: tokenizer.ggml.pre: expected one of ${[...PRE_TOKENIZERS.keys()].join(', ')} (byte-level pre-tokenizers spechub implements), got ${name === null ? 'nothing' : JSON.stringify(name)}`,
    );
  }
  return spec;
}

/** The tokenizer.json pre_tokenizer (for @huggingface/tokenizers) that runs a named pre-tokenizer. */
export function preTokenizerJson(spec: PreTokenizerSpec): object {
  return {
    type: 'Sequence',
    pretokenizers: [
      ...spec.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
}
