/**
 * spechub core: browser-safe public API. Nothing here touches Node-only modules; file loading
 * and the CLI live in src/node.ts and src/cli.ts.
 */
export * from './errors.js';
export { createRng, type Rng } from './rng.js';
export { Runtime, Arena, detectFeatures, type Region, type RuntimeOptions } from './wasm/runtime.js';
export { wasmFileName, type Kernels, type WasmBuild } from './wasm/kernels.js';
export { Tokenizer, StreamDecoder, type EncodeOptions, type DecodeOptions, type TokenizerShape } from './tokenizer.js';
export { sha256Hex } from './tokenizer/sha256.js';
export { sentencePieceBpeToTokenizerJson, sentencePieceMerges, type SentencePieceBpeSpec, type TokenizerFiles } from './convert/sentencepiece-bpe.js';
export {
  convertLlama2c,
  parseLlama2cHeader,
  parseLlama2cCheckpoint,
  parseLlama2cTokenizer,
  llama2cTokenizerToSentencePiece,
  llama2cCheckpointBytes,
  llama2cHfConfig,
  llama2cHfTensors,
  permuteRopeRows,
  unpermuteRopeRows,
  type Llama2cHeader,
  type Llama2cWeights,
  type Llama2cTokenizer,
  type Llama2cSentencePiece,
  type ConvertedLlama2c,
  type ConvertedFile,
  type ConvertLlama2cOptions,
} from './convert/llama2c.js';
