/**
 * Node: load a model from a path — a Hugging Face directory or a `.gguf` file.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadGgufModel, loadHfModel, type LoadedModel, type LoadModelOptions } from '../engine/load.js';
import type { Runtime } from '../wasm/runtime.js';
import { fileByteSource, fsModelSource } from './fs-source.js';

/** Load the model at `path` (directory with config.json, or a .gguf file) into `rt`. */
export async function loadModelFromPath(rt: Runtime, path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch {
    throw new ConfigError(`${path}: no such model directory or file (expected a Hugging Face directory or a .gguf file)`);
  }
  if (info.isDirectory()) return loadHfModel(rt, fsModelSource(full), options);
  if (full.toLowerCase().endsWith('.gguf')) {
    const src = await fileByteSource(full);
    try {
      return await loadGgufModel(rt, src, options);
    } finally {
      await src.close?.();
    }
  }
  throw new ConfigError(`${path}: expected a model directory (config.json, model.safetensors, tokenizer.json) or a .gguf file`);
}
