/**
 * Fuzz target "config": a mutated config.json (and, in a fifth of the cases, a generation_config.json,
 * mutated or not) beside the shipped stories260K weights and tokenizer, loaded with loadHfModel and
 * generated from. Mutations are JSON-aware (type swaps, edges such as num_hidden_layers 2^20 or
 * max_position_embeddings 2^53, deletions, duplicate keys, depth and size bombs) or damage the text
 * (syntax, invalid UTF-8, truncation, a BOM).
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
  name: 'config',
  description: 'config.json and generation_config.json beside valid weights',
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
    const labels: string[] = [];
    const withGeneration = d.chance(0.2);
    if (!withGeneration || d.chance(0.5)) {
      const [text, label] = mutateJsonFile(d, texts.config);
      files['config.json'] = text;
      labels.push(`config.json: ${label}`);
    }
    if (withGeneration) {
      const [text, label] = d.chance(0.7) ? mutateJsonFile(d, texts.generationConfig) : [texts.generationConfig, 'as shipped'];
      files['generation_config.json'] = text;
      labels.push(`generation_config.json: ${label}`);
    }
    const source = memoryModelSource(DIR, files);
    return runModelCase(labels.join('; '), [DIR], (rt) => loadHfModel(rt, source, { maxBatch: 8 }));
  },
};
