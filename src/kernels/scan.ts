/**
 * The loaders' weight checks on the runtime's own memory: ValueFinder over the SIMD scans of
 * assembly/scan.ts (about 20× a JavaScript loop), and the JavaScript loop for any other array.
 */
import type { Runtime } from '../wasm/runtime.js';
import { JS_FINDER, type ValueFinder } from '../weights/tensor.js';

const F32_MAX = 3.4028234663852886e38;
const F32_BITS = new Float32Array(1);
const U32_BITS = new Uint32Array(F32_BITS.buffer);

/** The largest f32 ≤ x (x > 0; beyond the f32 range: the largest finite f32), so that |v| ≤ x ⇔ |v| ≤ it for every f32 v. */
function f32AtMost(x: number): number {
  if (x >= F32_MAX) return F32_MAX;
  F32_BITS[0] = x;
  if (F32_BITS[0]! > x) U32_BITS[0] = U32_BITS[0]! - 1;
  return F32_BITS[0]!;
}

/** A ValueFinder that scans arrays over `rt`'s memory with its SIMD kernels (others with JS_FINDER). */
export function wasmFinder(rt: Runtime): ValueFinder {
  return {
    f32(values, limit) {
      if (values.buffer !== rt.memory.buffer || !(limit > 0)) return JS_FINDER.f32(values, limit);
      return rt.k.scan_f32(values.byteOffset, values.length, f32AtMost(limit));
    },
    bf16(bits, limitBits) {
      if (bits.buffer !== rt.memory.buffer || !(limitBits >= 0 && limitBits <= 0x7fff)) return JS_FINDER.bf16(bits, limitBits);
      return rt.k.scan_bf16(bits.byteOffset, bits.length, limitBits);
    },
  };
}
