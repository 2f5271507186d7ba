/** Test helpers for test/convert: a minimal safetensors reader and fixture paths (independent of src/). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/convert/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = ROOT + 'test/fixtures/';
export const WEIGHTS = ROOT + 'weights/';

export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface StTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

/** Parse a safetensors file (F32 tensors only) into a name → tensor map, in header order. */
export function readSafetensors(bytes: Uint8Array): { tensors: Map<string, StTensor>; metadata: Record<string, string> | null; order: string[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, StTensor>();
  const order: string[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = t as unknown as Record<string, string>;
      continue;
    }
    if (t.dtype !== 'F32') throw new Error(`test reader: ${name} is ${t.dtype}`);
    const [a, b] = t.data_offsets;
    const data = new Float32Array(bytes.slice(8 + n + a, 8 + n + b).buffer);
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data });
    order.push(name);
  }
  return { tensors, metadata, order };
}
