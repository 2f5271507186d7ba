/**
 * Writes a safetensors file (https://github.com/huggingface/safetensors, format v1): an 8-byte
 * little-endian header length, a JSON header padded with spaces to a multiple of 8 bytes, then the
 * tensor bytes back to back in the order given. Used by the llama2.c converter and by tests.
 * `safetensorsParts` gives the same file as pieces (header, then views of each tensor's data), so
 * multi-GB files can be streamed to disk; `writeSafetensors` concatenates them.
 */
import { InvalidArgumentError } from '../errors.js';
import { joinParts } from '../io/source.js';

/** The dtypes `writeSafetensors` writes. */
export type WritableDtype = 'F32' | 'F16' | 'BF16';

/** One tensor for `writeSafetensors`: name, dtype, shape, and its data in row-major order. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: WritableDtype;
  readonly shape: readonly number[];
  /** Raw values: Float32Array for F32, Uint16Array (bit patterns) for F16/BF16. */
  readonly data: Float32Array | Uint16Array;
}

const DTYPE_BYTES: Record<WritableDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** The file as pieces: the length and header bytes, then each tensor's bytes (views of `data`); totalBytes is their sum. */
export function safetensorsParts(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): { readonly totalBytes: number; readonly parts: readonly Uint8Array[] } {
  // No prototype: a tensor named "__proto__" must become a key, not replace the prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) {
      throw new InvalidArgumentError(`writeSafetensors: tensor name "${t.name}" is reserved or repeated`);
    }
    seen.add(t.name);
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InvalidArgumentError(`writeSafetensors: ${t.name}: shape [${t.shape}] has a non-integer or negative dimension`);
    }
    const wantArray = t.dtype === 'F32' ? Float32Array : Uint16Array;
    if (!(t.data instanceof wantArray) || t.data.length !== count) {
      throw new InvalidArgumentError(
        `writeSafetensors: ${t.name}: ${t.dtype}[${t.shape}] needs a ${wantArray.name} of ${count} values, got ${t.data.constructor.name}(${t.data.length})`,
      );
    }
    const bytes = count * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    json += ' '.repeat(padded - headerBytes.length);
    headerBytes = enc.encode(json);
  }
  const head = new Uint8Array(8 + headerBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  head.set(headerBytes, 8);
  // Typed arrays are little-endian on every platform spechub supports (wasm is little-endian too).
  const parts = [head, ...tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
  return { totalBytes: head.length + offset, parts };
}

/** Serialise tensors (and optional string metadata) to safetensors bytes. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  return joinParts(safetensorsParts(tensors, metadata));
}
