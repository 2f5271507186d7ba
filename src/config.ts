/**
 * ModelConfig: the shape of a Llama-family model in spechub's own names. Hugging Face names
 * (hidden_size, num_key_value_heads, …) appear only in the parsers that build it.
 */
export interface ModelConfig {
  /** Residual stream width (HF hidden_size). */
  readonly dim: number;
  /** SwiGLU inner width (HF intermediate_size). */
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** Per-head width; dim = nHeads * headDim for every supported model. */
  readonly headDim: number;
  readonly vocabSize: number;
  /** Longest sequence the model supports (HF max_position_embeddings). */
  readonly maxSeqLen: number;
  readonly ropeTheta: number;
  readonly normEps: number;
  /** true when lm_head shares the token embedding. */
  readonly tiedEmbeddings: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
}

/** kvDim = nKvHeads * headDim: the width of one K or V row. */
export function kvDim(c: ModelConfig): number {
  return c.nKvHeads * c.headDim;
}
