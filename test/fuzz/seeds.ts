/**
 * The files the fuzz targets mutate: the shipped stories260K model (config.json, tokenizer.json,
 * tokenizer_config.json, model.safetensors in F32), TinyStories-656K's generation_config.json, and
 * the stories260K GGUF fixture (F32); plus variants written here so that every decoder is reached:
 * the safetensors in F16 and BF16, the GGUF with F16, BF16 and Q8_0 tensors.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GgufFile } from '../../src/weights/gguf.js';
import { writeGguf, quantizeQ8_0, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { SafetensorsFile } from '../../src/weights/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer.js';
import { bytesSource } from '../../src/io/source.js';
import { f32ToBf16Array, f32ToF16Array } from '../../src/weights/tensor.js';

const ROOT = new URL('../../../', import.meta.url);

function read(rel: string): Uint8Array {
  const b = readFileSync(fileURLToPath(new URL(rel, ROOT)));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function text(rel: string): string {
  return new TextDecoder().decode(read(rel));
}

/** Text files of the shipped stories260K directory. */
export interface ModelTexts {
  readonly config: string;
  readonly tokenizer: string;
  readonly tokenizerConfig: string;
  /** From TinyStories-656K (stories260K has none). */
  readonly generationConfig: string;
}

export function modelTexts(): ModelTexts {
  return {
    config: text('weights/stories260K/config.json'),
    tokenizer: text('weights/stories260K/tokenizer.json'),
    tokenizerConfig: text('weights/stories260K/tokenizer_config.json'),
    generationConfig: text('weights/tinystories-656K/generation_config.json'),
  };
}

/** The shipped model.safetensors (F32). */
export function safetensorsF32(): Uint8Array {
  return read('weights/stories260K/model.safetensors');
}

/** The same tensors written as `dtype`. */
export async function safetensorsAs(dtype: 'F16' | 'BF16'): Promise<Uint8Array> {
  const f = await SafetensorsFile.open(bytesSource('model.safetensors', safetensorsF32()));
  const tensors: TensorToWrite[] = [];
  for (const t of f.tensors.values()) {
    const v = new Float32Array(t.elements);
    await f.readTensorF32(t.name, v);
    tensors.push({ name: t.name, dtype, shape: t.shape, data: dtype === 'F16' ? f32ToF16Array(v) : f32ToBf16Array(v) } as TensorToWrite);
  }
  return writeSafetensors(tensors, { ...f.metadata });
}

/** The GGUF fixture (F32 tensors). */
export function ggufF32(): Uint8Array {
  return read('test/fixtures/stories260K.gguf');
}

/** The GGUF fixture rewritten with `type` tensors (Q8_0 only where rows are whole 32-blocks; F32 elsewhere). */
export async function ggufAs(type: 'F16' | 'BF16' | 'Q8_0'): Promise<Uint8Array> {
  const f = await GgufFile.open(bytesSource('stories260K.gguf', ggufF32()));
  const tensors: GgufTensorToWrite[] = [];
  for (const t of f.tensors.values()) {
    const v = new Float32Array(t.elements);
    await f.readTensorF32(t.name, v);
    const cols = t.shape[t.shape.length - 1] ?? 1;
    if (type === 'Q8_0' && (t.shape.length < 2 || cols % 32 !== 0)) tensors.push({ name: t.name, type: 'F32', shape: t.shape, data: v });
    else if (type === 'Q8_0') tensors.push({ name: t.name, type, shape: t.shape, data: quantizeQ8_0(v) });
    else tensors.push({ name: t.name, type, shape: t.shape, data: type === 'F16' ? f32ToF16Array(v) : f32ToBf16Array(v) });
  }
  return writeGguf({ metadata: [...f.metadata], tensors });
}

/** The shipped safetensors split in two shards with their index (model.safetensors.index.json). */
export async function safetensorsSharded(): Promise<{ index: string; shards: [string, Uint8Array][] }> {
  const f = await SafetensorsFile.open(bytesSource('model.safetensors', safetensorsF32()));
  const all = [...f.tensors.values()];
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const halves = [all.slice(0, all.length >> 1), all.slice(all.length >> 1)];
  const shards: [string, Uint8Array][] = [];
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < 2; i++) {
    const tensors: TensorToWrite[] = [];
    for (const t of halves[i]!) {
      const v = new Float32Array(t.elements);
      await f.readTensorF32(t.name, v);
      tensors.push({ name: t.name, dtype: 'F32', shape: t.shape, data: v });
      weightMap[t.name] = names[i]!;
    }
    shards.push([names[i]!, writeSafetensors(tensors, { format: 'pt' })]);
  }
  const totalSize = shards.reduce((n, [, b]) => n + b.length, 0);
  return { index: JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2), shards };
}
