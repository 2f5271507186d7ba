/**
 * Shared helpers of the kernel tests: a runtime per build, a bump pool whose buffers are each
 * followed by a poisoned guard (so out-of-bounds writes are caught, and out-of-bounds reads turn
 * into NaN), seeded value generators, and tolerance checks stated in units of u = 2^-24.
 */
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { createRng, type Rng } from '../../src/rng.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';

/** Unit roundoff of f32 (round to nearest). */
export const U = 2 ** -24;
/** A quiet NaN with a recognisable payload: what guards and never-to-be-read cells hold. */
export const POISON_BITS = 0x7fa5a5a5;
const GUARD_BYTES = 64;

/** Builds the kernel properties run on: the bit-reproducible default and the fused (relaxed) one. */
export const BUILDS: readonly WasmBuild[] = ['simd', 'relaxed'];

/** A buffer in the pool: `ptr` is what kernels take. */
export interface Buf {
  readonly ptr: number;
  readonly bytes: number;
}

/**
 * Scratch memory of one runtime for property runs: `reset()` then `alloc*` per run.
 * Every buffer is followed by GUARD_BYTES of poison, checked by `checkGuards()`.
 */
export class Pool {
  readonly rt: Runtime;
  private readonly base: number;
  private readonly end: number;
  private top: number;
  private guards: number[] = [];

  constructor(build: WasmBuild, bytes = 8 * 1024 * 1024) {
    this.rt = createNodeRuntime({ build, initialBytes: bytes + (1 << 20) });
    const region = this.rt.arena.alloc('test-pool', bytes, 64);
    this.base = region.ptr;
    this.end = region.ptr + bytes;
    this.top = this.base;
  }

  get k() {
    return this.rt.k;
  }

  reset(): void {
    this.top = this.base;
    this.guards = [];
  }

  /** `bytes` of memory (16-byte aligned unless `misalign` shifts it by that many bytes), poisoned, then a guard. */
  alloc(bytes: number, misalign = 0): Buf {
    const ptr = Math.ceil(this.top / 16) * 16 + misalign;
    const end = ptr + bytes + GUARD_BYTES;
    if (end > this.end) throw new Error(`test pool: ${bytes} bytes do not fit`);
    new Uint32Array(this.rt.memory.buffer, ptr - misalign, (end - ptr + misalign + 3) >>> 2).fill(POISON_BITS);
    this.guards.push(ptr + bytes);
    this.top = end;
    return { ptr, bytes };
  }

  /** A float buffer holding `values`. */
  f32From(values: ArrayLike<number>, misalign = 0): Buf {
    const b = this.alloc(values.length * 4, misalign);
    this.f32(b).set(values);
    return b;
  }

  f32(b: Buf): Float32Array {
    return new Float32Array(this.rt.memory.buffer, b.ptr, b.bytes >>> 2);
  }
  u32(b: Buf): Uint32Array {
    return new Uint32Array(this.rt.memory.buffer, b.ptr, b.bytes >>> 2);
  }
  i32From(values: ArrayLike<number>): Buf {
    const b = this.alloc(values.length * 4);
    new Int32Array(this.rt.memory.buffer, b.ptr, values.length).set(values);
    return b;
  }
  /** A buffer of u16 values (misalign: as alloc's). */
  u16From(values: ArrayLike<number>, misalign = 0): Buf {
    const b = this.alloc(values.length * 2, misalign);
    new Uint16Array(this.rt.memory.buffer, b.ptr, values.length).set(values);
    return b;
  }
  u8From(values: ArrayLike<number>): Buf {
    const b = this.alloc(values.length);
    new Uint8Array(this.rt.memory.buffer, b.ptr, values.length).set(values);
    return b;
  }

  /** Every guard still holds the poison: no kernel wrote past the end of a buffer. */
  checkGuards(): void {
    const bytes = new Uint8Array(this.rt.memory.buffer);
    const poison = new Uint8Array(new Uint32Array([POISON_BITS]).buffer);
    for (const g of this.guards) {
      for (let b = 0; b < GUARD_BYTES; b++) {
        // guards start right after a buffer, which may end mid-word: compare against the poison pattern's phase
        if (bytes[g + b] !== poison[(g + b) & 3]) assert.fail(`guard at ${g} overwritten (byte ${b})`);
      }
    }
  }
}

/** A lazily created pool per build, for one test file (the relaxed runtime sets Node's V8 flag itself). */
export function poolCache(): (build: WasmBuild) => Pool {
  const cache = new Map<WasmBuild, Pool>();
  return (build) => {
    let pool = cache.get(build);
    if (pool === undefined) cache.set(build, (pool = new Pool(build)));
    return pool;
  };
}

/** Uniform values in [lo, hi), rounded to f32. */
export function uniform(rng: Rng, count: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Values of mixed magnitude: ±2^e with e uniform in [−6, 6] (and an exact 0 now and then). */
export function wide(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const r = rng.nextU32();
    out[i] = (r & 63) === 0 ? 0 : (r & 1 ? -1 : 1) * Math.pow(2, -6 + 12 * rng.next());
  }
  return out;
}

/** Small integers in [−m, m]: sums of products stay exact in f32 while |Σ| < 2^24. */
export function ints(rng: Rng, count: number, m: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rng.nextU32() % (2 * m + 1)) - m;
  return out;
}

export { createRng };

/**
 * Assert got[i] = want[i] or |got[i] − want[i]| ≤ tol[i] for every i (NaN fails), reporting the first few
 * violations with their index and the ratio error / tolerance.
 */
export function assertWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue; // exact, including equal infinities
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol[i])) {
      if (bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]} err ${err.toExponential(3)} tol ${tol[i].toExponential(3)}`);
      else break;
    }
  }
  if (bad.length > 0) assert.fail(`${what}: ${bad.join('; ')}`);
}

/** Largest |got − want| / tol over the arrays (diagnostics in test names and messages). */
export function worstRatio(got: ArrayLike<number>, want: ArrayLike<number>, tol: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / tol[i]);
  return worst;
}
