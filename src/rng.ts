/**
 * The only source of randomness in spechub: a seedable xoshiro128** generator, passed explicitly
 * to everything that samples. The same seed reproduces the same stream on every JS engine.
 */
import { InvalidArgumentError } from './errors.js';

/** A stream of uniforms. `next()` is in [0, 1) with 53 random bits (0 is possible, 1 is not). */
export interface Rng {
  /** Uniform double in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** An independent generator derived from this one's seed and `stream` (does not advance this one). */
  fork(stream: number): Rng;
  /** A copy at the same position: both produce the same numbers from here on. */
  clone(): Rng;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53_INV = 1 / 9007199254740992;

/** SplitMix32 step: scrambles a 32-bit counter into a well-mixed word (seeding only). */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(
    private readonly seedLo: number,
    private readonly seedHi: number,
    state?: readonly number[],
  ) {
    if (state) {
      [this.a, this.b, this.c, this.d] = state as [number, number, number, number];
      return;
    }
    let x = splitmix32(seedLo ^ 0x6a09e667) ^ splitmix32(seedHi ^ 0xbb67ae85);
    x = splitmix32(x);
    this.a = x;
    x = splitmix32(x ^ seedHi);
    this.b = x;
    x = splitmix32(x ^ seedLo);
    this.c = x;
    x = splitmix32(x);
    this.d = x;
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // the all-zero state is a fixed point
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * TWO_POW_53_INV;
  }

  fork(stream: number): Rng {
    if (!Number.isSafeInteger(stream)) throw new InvalidArgumentError(`rng.fork: expected a safe integer stream, got ${stream}`);
    const lo = splitmix32(this.seedLo ^ splitmix32(stream >>> 0));
    const hi = splitmix32(this.seedHi ^ splitmix32(Math.floor(stream / TWO_POW_32) ^ 0x5bd1e995) ^ lo);
    return new Xoshiro128(lo, hi);
  }

  clone(): Rng {
    return new Xoshiro128(this.seedLo, this.seedHi, [this.a, this.b, this.c, this.d]);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A generator for `seed` (any safe integer). Equal seeds give equal streams.
 * @throws InvalidArgumentError when the seed is not a safe integer.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`createRng: expected a safe integer seed, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  return new Xoshiro128(lo, hi);
}

/** Whether `rng` is one of spechub's own generators (createRng, fork, clone): its draws need no check. */
export function isBuiltinRng(rng: unknown): rng is Rng {
  return rng instanceof Xoshiro128;
}

/**
 * A caller's Rng with every draw checked: `next()` must return a number in [0, 1) and `nextU32()` an
 * integer in [0, 2^32), else InvalidArgumentError naming `where` and the value. A draw outside
 * [0, 1) would pick tokens of probability 0 (an inverse-CDF draw at u ≥ 1 lands past the last
 * positive entry), so it is refused rather than clamped. One comparison per draw, no allocation.
 */
class CheckedRng implements Rng {
  constructor(
    private readonly inner: Rng,
    private readonly where: string,
  ) {}

  next(): number {
    const u = this.inner.next();
    if (typeof u === 'number' && u >= 0 && u < 1) return u;
    throw new InvalidArgumentError(`${this.where}: expected rng.next() to return a number in [0, 1), got ${describeDraw(u)}`);
  }

  nextU32(): number {
    const x = this.method('nextU32').call(this.inner);
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_POW_32) return x;
    throw new InvalidArgumentError(`${this.where}: expected rng.nextU32() to return an integer in [0, 2^32), got ${describeDraw(x)}`);
  }

  fork(stream: number): Rng {
    return checkedRng(this.method('fork').call(this.inner, stream), this.where);
  }

  clone(): Rng {
    return checkedRng(this.method('clone').call(this.inner), this.where);
  }

  private method(name: 'nextU32' | 'fork' | 'clone'): (...args: unknown[]) => unknown {
    const f = (this.inner as unknown as Record<string, unknown>)[name];
    if (typeof f !== 'function') throw new InvalidArgumentError(`${this.where}: expected the Rng to have a ${name}() method, got ${typeof f}`);
    return f as (...args: unknown[]) => unknown;
  }
}

function describeDraw(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
}

/**
 * `rng` made safe for sampling at an API boundary (`where` names the API for messages): spechub's own
 * generators are returned as they are; any other object must have a `next` method (and `nextU32`,
 * `fork`, `clone` are checked when called) and comes back wrapped so that every draw is checked
 * (see CheckedRng). Throws InvalidArgumentError when `rng` is not an object with a `next` method.
 */
export function checkedRng(rng: unknown, where: string): Rng {
  if (isBuiltinRng(rng) || rng instanceof CheckedRng) return rng;
  if (typeof rng !== 'object' || rng === null || typeof (rng as { next?: unknown }).next !== 'function') {
    throw new InvalidArgumentError(`${where}: expected an Rng (an object with next(); e.g. createRng(seed)), got ${rng === null ? 'null' : Array.isArray(rng) ? 'an array' : typeof rng === 'object' ? 'an object without next()' : typeof rng}`);
  }
  return new CheckedRng(rng as Rng, where);
}
