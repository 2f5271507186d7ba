/**
 * llama.cpp (node-llama-cpp, prebuilt CPU binaries) as the tokenizer oracle: a tiny random-weight
 * llama GGUF carrying a tokenizer's metadata, written with spechub's GGUF writer, loaded by llama.cpp.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import { createRng } from '../../src/rng.js';
import { writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import type { GgufValue } from '../../src/weights/gguf.js';

let llama: Promise<Llama> | null = null;
/** The shared llama.cpp instance (CPU only, never builds). */
export function llamaCpp(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

/**
 * A 1-layer llama GGUF (embedding width 8, 2 heads, feed-forward 16, tied output) with random
 * weights and the given tokenizer metadata: the smallest file llama.cpp loads as a model.
 */
export function tinyLlamaGguf(tokenizerMetadata: readonly (readonly [string, GgufValue])[], vocabSize: number, seed = 1): Uint8Array {
  const dim = 8;
  const ff = 16;
  const rng = createRng(seed);
  const t = (name: string, shape: number[], norm = false): GgufTensorToWrite => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = norm ? 1 : (rng.next() - 0.5) * 0.04;
    return { name, type: 'F32', shape, data };
  };
  const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
  const hasName = tokenizerMetadata.some(([k]) => k === 'general.name');
  return writeGguf({
    metadata: [
      ['general.architecture', { type: 'STRING', value: 'llama' }],
      ...(hasName ? [] : [['general.name', { type: 'STRING', value: 'tokenizer-test' }] as const]),
      ['llama.context_length', u32(64)],
      ['llama.embedding_length', u32(dim)],
      ['llama.block_count', u32(1)],
      ['llama.feed_forward_length', u32(ff)],
      ['llama.attention.head_count', u32(2)],
      ['llama.attention.head_count_kv', u32(2)],
      ['llama.rope.dimension_count', u32(dim / 2)],
      ['llama.attention.layer_norm_rms_epsilon', { type: 'FLOAT32', value: 1e-5 }],
      ...tokenizerMetadata,
    ],
    tensors: [
      t('token_embd.weight', [vocabSize, dim]),
      t('output_norm.weight', [dim], true),
      t('blk.0.attn_norm.weight', [dim], true),
      t('blk.0.attn_q.weight', [dim, dim]),
      t('blk.0.attn_k.weight', [dim, dim]),
      t('blk.0.attn_v.weight', [dim, dim]),
      t('blk.0.attn_output.weight', [dim, dim]),
      t('blk.0.ffn_norm.weight', [dim], true),
      t('blk.0.ffn_gate.weight', [ff, dim]),
      t('blk.0.ffn_up.weight', [ff, dim]),
      t('blk.0.ffn_down.weight', [dim, ff]),
    ],
  });
}

/** Write the GGUF to a temporary file, load it in llama.cpp, run `fn`, then dispose and delete. */
export async function withLlamaCppModel<T>(gguf: Uint8Array, fn: (model: LlamaModel) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'spechub-tok-'));
  try {
    const path = join(dir, 'model.gguf');
    writeFileSync(path, gguf);
    const model = await (await llamaCpp()).loadModel({ modelPath: path });
    try {
      return await fn(model);
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** llama.cpp's attributes of a token as llama.h bits (unknown 1, unused 2, normal 4, control 8, user-defined 16, byte 32, lstrip 128, rstrip 256). */
export function llamaCppAttributeBits(model: LlamaModel, id: number): number {
  const a = model.getTokenAttributes(id as Token);
  return (a.unknown ? 1 : 0) | (a.unused ? 2 : 0) | (a.normal ? 4 : 0) | (a.control ? 8 : 0) | (a.userDefined ? 16 : 0) | (a.byte ? 32 : 0) | (a.lstrip ? 128 : 0) | (a.rstrip ? 256 : 0);
}
