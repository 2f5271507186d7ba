/**
 * Fuzz target "tokenizer": a mutated tokenizer.json (four cases in five) or tokenizer_config.json
 * beside the shipped stories260K config and weights, loaded with loadHfModel; a tokenizer that
 * loads then encodes a prompt and decodes what the model generates. Mutations are JSON-aware
 * (vocabulary ids, merges, added tokens, normalizer and decoder, special tokens; depth and size
 * bombs) or damage the text.
 */
import { loadHfModel } from '../../../src/engine/load.js';
import { memoryModelSource } from '../../../src/io/source.js';
import { createRng } from '../../../src/rng.js';
import { Draw, mutateJsonFile } from '../mutate.js';
import { runModelCase } from '../model-case.js';
import { modelTexts, safetensorsF32, type ModelTexts } from '../seeds.js';
import type { CaseReport, FuzzTarget } from '../types.js';

const DIR = 'fuzz-model';

let texts: ModelTexts;
let weights: Uint8Array;

export const target: FuzzTarget = {
  name: 'tokenizer',
  description: 'tokenizer.json and tokenizer_config.json beside a valid model',
  async setup() {
    texts = modelTexts();
    weights = safetensorsF32();
  },
  async runCase(seed: number, index: number): Promise<CaseReport> {
    const d = new Draw(createRng(seed).fork(index));
    const files: Record<string, string | Uint8Array> = {
      'config.json': texts.config,
      'tokenizer.json': texts.tokenizer,
      'tokenizer_config.json': texts.tokenizerConfig,
      'model.safetensors': weights,
    };
    const file = d.chance(0.8) ? 'tokenizer.json' : 'tokenizer_config.json';
    const [text, label] = mutateJsonFile(d, file === 'tokenizer.json' ? texts.tokenizer : texts.tokenizerConfig);
    files[file] = text;
    const source = memoryModelSource(DIR, files);
    return runModelCase(`${file}: ${label}`, [DIR], (rt) => loadHfModel(rt, source, { maxBatch: 8 }));
  },
};
