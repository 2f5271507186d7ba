/**
 * The tokenizer a GGUF file embeds, as plain data: what the tokenizer needs from the file's
 * `tokenizer.ggml.*` keys. The reader that fills it in is src/weights/gguf-llama.ts
 * (ggufTokenizerData); the tokenizer declares the shape so that it depends on no reader.
 */

/** The tokenizer embedded in a GGUF, as plain data (tokenizer.ggml.* keys). */
export interface GgufTokenizerData {
  /** tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE), … */
  readonly model: string;
  /** tokenizer.ggml.pre: the pre-tokenizer name of BPE models, or null. */
  readonly pre: string | null;
  /** Token strings by id (SentencePiece pieces keep "▁"). */
  readonly tokens: readonly string[];
  /** Scores by id (SentencePiece merge priority), or null when absent. */
  readonly scores: Float32Array | null; // [tokens.length]
  /** llama.cpp token types by id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), or null. */
  readonly tokenTypes: Int32Array | null; // [tokens.length]
  /** BPE merges ("a b"), or null. */
  readonly merges: readonly string[] | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  readonly padId: number | null;
  readonly sepId: number | null;
  readonly eotId: number | null;
  /** tokenizer.ggml.eom_token_id (end of message, Llama-3.1 tool calls), or null. */
  readonly eomId: number | null;
  /** general.name: llama.cpp derives the rstrip attribute of Phi-3's special tokens from it. */
  readonly modelName: string | null;
  /** tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix, or null when absent. */
  readonly addBos: boolean | null;
  readonly addEos: boolean | null;
  readonly addSpacePrefix: boolean | null;
}
