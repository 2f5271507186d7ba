/**
 * Node: load a model from a path — a Hugging Face directory or a `.gguf` file.
 */
import { lstat, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, TokenizerError } from '../errors.js';
import { loadGgufModel, loadHfModel, type LoadedModel, type LoadModelOptions } from '../engine/load.js';
import type { Runtime } from '../wasm/runtime.js';
import { Tokenizer } from '../tokenizer.js';
import { GgufFile } from '../weights/gguf.js';
import { ggufTokenizerData } from '../weights/gguf-llama.js';
import { fileByteSource, fsModelSource } from './fs-source.js';

/** Load the model at `path` (directory with config.json, or a .gguf file) into `rt`. */
export async function loadModelFromPath(rt: Runtime, path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'ENOENT') {
      const link = await lstat(full).catch(() => null);
      if (link?.isSymbolicLink()) throw new ConfigError(`${path}: a symbolic link to nothing (dangling link); expected a Hugging Face directory or a .gguf file`);
      throw new ConfigError(`${path}: no such model directory or file (expected a Hugging Face directory or a .gguf file)`);
    }
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ELOOP' ? 'a loop of symbolic links' : String(code ?? e);
    throw new ConfigError(`${path}: cannot open the model (${why})`, { cause: e });
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

/**
 * The tokenizer of the model at `path` without its weights: a directory's tokenizer.json (+
 * tokenizer_config.json), or a .gguf file's tokenizer.ggml.* metadata (only the header is read).
 */
export async function loadTokenizerFromPath(path: string): Promise<Tokenizer> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch {
    throw new ConfigError(`${path}: no such model directory or file (expected a Hugging Face directory or a .gguf file)`);
  }
  if (info.isDirectory()) {
    const src = fsModelSource(full);
    if (!(await src.exists('tokenizer.json'))) throw new TokenizerError(`${path}: expected tokenizer.json in the model directory, found none`);
    const config = (await src.exists('tokenizer_config.json')) ? await src.readText('tokenizer_config.json') : null;
    return Tokenizer.fromJson(await src.readText('tokenizer.json'), config);
  }
  if (full.toLowerCase().endsWith('.gguf')) {
    const src = await fileByteSource(full);
    try {
      const gguf = await GgufFile.open(src);
      if (!gguf.metadata.has('tokenizer.ggml.model')) throw new TokenizerError(`${path}: the GGUF file embeds no tokenizer (tokenizer.ggml.model is absent)`);
      return Tokenizer.fromGguf(ggufTokenizerData(gguf), path);
    } finally {
      await src.close?.();
    }
  }
  throw new ConfigError(`${path}: expected a model directory (tokenizer.json) or a .gguf file`);
}
