/** Shared helpers of the weights tests: fixtures, random tensors, raw file builders, error checks. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { WeightsFormatError } from '../../src/errors.js';
import type { TensorToWrite, WritableDtype } from '../../src/weights/safetensors-writer.js';
import { f16ToF32 } from '../../src/weights/tensor.js';

/** Absolute path of a file in test/fixtures (tests run from dist/test/weights/). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));
}

export function readFixture(name: string): Uint8Array {
  const b = readFileSync(fixturePath(name));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Assert that `fn` rejects with a WeightsFormatError (or `type`) whose message matches every pattern. */
export async function rejectsWith(
  fn: () => Promise<unknown>,
  patterns: readonly (RegExp | string)[],
  type: new (...args: never[]) => Error = WeightsFormatError,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ${type.name}, but nothing was thrown`);
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${String(caught)}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} should contain ${JSON.stringify(p)}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

/** Synchronous twin of rejectsWith. */
export function throwsWith(fn: () => unknown, patterns: readonly (RegExp | string)[], type: new (...args: never[]) => Error = WeightsFormatError): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${String(caught)}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} should contain ${JSON.stringify(p)}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

/** A safetensors file from a header text and a data area (no padding, exact length prefix). */
export function rawSafetensors(header: string, data: Uint8Array | number = 0): Uint8Array {
  const h = new TextEncoder().encode(header);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** Expected f32 bit pattern of each element of a written tensor (the decoding oracle). */
export function expectedBits(t: TensorToWrite): Uint32Array {
  const n = t.data.length;
  const out = new Uint32Array(n);
  if (t.dtype === 'F32') {
    out.set(new Uint32Array(t.data.buffer, t.data.byteOffset, n));
  } else if (t.dtype === 'BF16') {
    for (let i = 0; i < n; i++) out[i] = (t.data[i] << 16) >>> 0;
  } else {
    // f16: go through the arithmetic decoder (independent of the bit-level one under test).
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      const v = f16ToF32(t.data[i]);
      if (Number.isNaN(v)) {
        const h = t.data[i];
        out[i] = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0; // NaN payload kept
      } else {
        f[0] = v;
        out[i] = u[0];
      }
    }
  }
  return out;
}

/** Random tensor data of a dtype, any bit pattern (NaN, Inf, subnormals, -0 included). */
export function tensorArb(name: string, maxDims = 3, maxDim = 5): fc.Arbitrary<TensorToWrite> {
  return fc
    .record({
      dtype: fc.constantFrom<WritableDtype>('F32', 'F16', 'BF16'),
      shape: fc.array(fc.integer({ min: 0, max: maxDim }), { maxLength: maxDims }),
    })
    .chain(({ dtype, shape }) => {
      const n = shape.reduce((a, d) => a * d, 1);
      const data =
        dtype === 'F32'
          ? fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: n, maxLength: n }).map((a) => new Float32Array(new Uint32Array(a).buffer))
          : fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n }).map((a) => new Uint16Array(a));
      return data.map((d): TensorToWrite => ({ name, dtype, shape, data: d }));
    });
}

/** 0–5 random tensors with distinct random names. */
export function tensorsArb(maxTensors = 5): fc.Arbitrary<TensorToWrite[]> {
  return fc
    .uniqueArray(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('model.norm.weight', 'a', 'é✓', '', '__proto__', 'constructor', 'toString')), { maxLength: maxTensors })
    .filter((names) => !names.includes('__metadata__'))
    .chain((names) => (names.length === 0 ? fc.constant([]) : fc.tuple(...names.map((n) => tensorArb(n)))));
}

/** Finite-valued version (for reads without allowNonFinite). */
export function finiteF32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 2;
  }
  return out;
}

/** llama2.c version-0 checkpoint (stories260K.bin): header and the float arrays, in file order. */
export interface Llama2cCheckpoint {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly arrays: Readonly<Record<'tokenEmbedding' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal', Float32Array>>;
}

export function parseLlama2c(bytes: Uint8Array): Llama2cCheckpoint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = [0, 1, 2, 3, 4, 5, 6].map((i) => dv.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = h;
  const headSize = dim / nHeads;
  const kv = nKvHeads * headSize;
  const floats = new Float32Array(bytes.slice(28).buffer);
  let at = 0;
  const take = (n: number): Float32Array => floats.subarray(at, (at += n));
  const arrays = {
    tokenEmbedding: take(vocabSize * dim),
    rmsAtt: take(nLayers * dim),
    wq: take(nLayers * dim * dim),
    wk: take(nLayers * kv * dim),
    wv: take(nLayers * kv * dim),
    wo: take(nLayers * dim * dim),
    rmsFfn: take(nLayers * dim),
    w1: take(nLayers * hiddenDim * dim),
    w2: take(nLayers * dim * hiddenDim),
    w3: take(nLayers * hiddenDim * dim),
    rmsFinal: take(dim),
  };
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocabSize), seqLen, arrays };
}
