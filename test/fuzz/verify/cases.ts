/**
 * Seeded degenerate inputs for the verifier API fuzz: case i of a run is a pure function of
 * (seed, i), so any failure is reproduced by `--case i`.
 *
 * A case is one method, one vocabulary size V (1 … 50 000), one k (1 … 8), a target p and a draft
 * q drawn from families chosen to sit on the edges the verifiers must survive — one-hots, supports
 * of one or two tokens, exact zeros, f64 subnormals, masses within 1e-15 of 1, p = q, disjoint
 * supports, flat and Zipf rows, rows normalised only to 1e-4 — as Float64Array or Float32Array,
 * and about one case in eight is corrupted on purpose (NaN, a negative entry, ±Infinity, a sum off
 * by 1 %, a length mismatch, an empty row, a plain array, a bad k, drafts that q cannot make, a
 * missing rng): those must end in a typed error or a correct result, never anything else.
 */
import { createRng, type Rng } from '../../../src/rng.js';
import { VERIFIER_NAMES, type VerifierName } from '../../../src/verify/types.js';
import { normalize, sum } from '../../../src/verify/common.js';

/** How the p and q rows of a case were made. */
export type Family =
  | 'one-hot'
  | 'two-point'
  | 'uniform'
  | 'sparse'
  | 'zipf'
  | 'peaked'
  | 'subnormal-tail'
  | 'near-one'
  | 'flat-tiny';

/** How the case relates p to q. */
export type Relation = 'independent' | 'equal' | 'disjoint' | 'perturbed' | 'one-hot-p';

/** A deliberate defect of the input; `none` for a valid case. */
export type Corruption =
  | 'none'
  | 'nan'
  | 'negative'
  | 'infinity'
  | 'sum-off'
  | 'length-mismatch'
  | 'empty'
  | 'plain-array'
  | 'bad-k'
  | 'foreign-drafts'
  | 'no-rng';

/** One fuzz case. */
export interface FuzzCase {
  readonly index: number;
  readonly method: VerifierName;
  readonly vocab: number;
  readonly k: number;
  readonly familyP: Family;
  readonly familyQ: Family;
  readonly relation: Relation;
  readonly f32: boolean;
  /** Read p and q from the verifier's own rows (rows(V)) instead of copying user arrays. */
  readonly ownRows: boolean;
  readonly corruption: Corruption;
  /** Target and draft rows (normalised to within 1e-4 unless corrupted).  [V] */
  readonly p: Float64Array | Float32Array;
  readonly q: Float64Array | Float32Array;
  /** Draft-and-verify rounds to run. */
  readonly rounds: number;
  /** The case's own random stream (drafting, verification, corruption choices). */
  readonly rng: Rng;
}

const FAMILIES: readonly Family[] = ['one-hot', 'two-point', 'uniform', 'sparse', 'zipf', 'peaked', 'subnormal-tail', 'near-one', 'flat-tiny'];
const RELATIONS: readonly Relation[] = ['independent', 'equal', 'disjoint', 'perturbed', 'one-hot-p'];
const CORRUPTIONS: readonly Corruption[] = ['nan', 'negative', 'infinity', 'sum-off', 'length-mismatch', 'empty', 'plain-array', 'bad-k', 'foreign-drafts', 'no-rng'];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.next() * xs.length)]!;
}

function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** V: mostly tiny (where exact laws are checked), some mid-sized, a few up to 50 000. */
function vocabOf(rng: Rng): number {
  const u = rng.next();
  if (u < 0.45) return int(rng, 1, 8);
  if (u < 0.7) return int(rng, 9, 64);
  if (u < 0.9) return int(rng, 65, 2048);
  if (u < 0.98) return int(rng, 2049, 32000);
  return int(rng, 32001, 50000);
}

/** A random subset of [0, V) of size s (s <= V), as a list. */
function subset(rng: Rng, v: number, s: number): number[] {
  if (s >= v) return Array.from({ length: v }, (_, i) => i);
  const chosen = new Set<number>();
  while (chosen.size < s) chosen.add(Math.floor(rng.next() * v));
  return [...chosen];
}

/** Fisher–Yates, in place. */
function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Unnormalised weights of `family` over the tokens in `allowed` (others 0).  [V] */
function weights(rng: Rng, family: Family, v: number, allowed: readonly number[]): Float64Array {
  const w = new Float64Array(v);
  const n = allowed.length;
  const at = (j: number) => allowed[j]!;
  switch (family) {
    case 'one-hot':
      w[at(int(rng, 0, n - 1))] = 1;
      break;
    case 'two-point': {
      const a = at(int(rng, 0, n - 1));
      const b = at(int(rng, 0, n - 1));
      w[a] = rng.next();
      w[b] += rng.next();
      if (!(w[a]! + w[b]! > 0)) w[a] = 1;
      break;
    }
    case 'uniform':
      for (let j = 0; j < n; j++) w[at(j)] = 1;
      break;
    case 'sparse': {
      for (const t of subset(rng, n, Math.min(n, int(rng, 1, 6)))) w[at(t)] = 0.05 + rng.next();
      break;
    }
    case 'zipf': {
      const order = shuffle(rng, Array.from({ length: n }, (_, j) => j));
      const s = 0.6 + 1.2 * rng.next();
      order.forEach((t, rank) => (w[at(t)] = Math.pow(rank + 1, -s)));
      break;
    }
    case 'peaked': {
      // logits / T with T in {0.02, 0.1}: most mass on one or two tokens, the rest tiny or 0
      const t = rng.next() < 0.5 ? 0.02 : 0.1;
      const logits = Array.from({ length: n }, () => 4 * rng.next());
      const max = logits.reduce((m, l) => (l > m ? l : m), -Infinity);
      logits.forEach((l, j) => (w[at(j)] = Math.exp((l - max) / t)));
      break;
    }
    case 'subnormal-tail': {
      // one or two normal entries, the rest f64 subnormals (down to the smallest, 5e-324)
      w[at(int(rng, 0, n - 1))] = 1;
      if (rng.next() < 0.5) w[at(int(rng, 0, n - 1))] += rng.next();
      const tail = Math.min(n, int(rng, 1, 8));
      for (const t of subset(rng, n, tail)) if (w[at(t)] === 0) w[at(t)] = pick(rng, [1e-310, 2.2e-308, 5e-324, 1e-320, 3e-315]);
      break;
    }
    case 'near-one': {
      // one token within eps of 1, eps down to 2^-53; the rest share eps
      const eps = pick(rng, [1e-6, 1e-9, 1e-12, 1e-15, 2 ** -53]);
      const a = at(int(rng, 0, n - 1));
      const rest = allowed.filter((t) => t !== a);
      w[a] = 1 - eps;
      if (rest.length > 0) {
        const share = subset(rng, rest.length, Math.min(rest.length, int(rng, 1, 5)));
        for (const j of share) w[rest[j]!] = eps / share.length;
      } else {
        w[a] = 1;
      }
      break;
    }
    case 'flat-tiny':
      // every allowed token 1/V with ±50 % noise: no token stands out (SpecHub's weak case)
      for (let j = 0; j < n; j++) w[at(j)] = 0.5 + rng.next();
      break;
  }
  return w;
}


/** The rows of a case: p and q as the relation and the families say, normalised in f64. */
function rows(rng: Rng, v: number, relation: Relation, fp: Family, fq: Family): [Float64Array, Float64Array] {
  const all = Array.from({ length: v }, (_, i) => i);
  switch (relation) {
    case 'equal': {
      const p = normalize(weights(rng, fp, v, all));
      return [p, p.slice()];
    }
    case 'disjoint': {
      if (v === 1) {
        const p = normalize(weights(rng, fp, v, all));
        return [p, p.slice()];
      }
      const cut = int(rng, 1, v - 1);
      const shuffled = shuffle(rng, all.slice());
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      return [normalize(weights(rng, fp, v, a)), normalize(weights(rng, fq, v, b))];
    }
    case 'perturbed': {
      const q = normalize(weights(rng, fq, v, all));
      const noise = 0.3 * rng.next();
      const p = normalize(q.map((x) => (x > 0 ? x * Math.exp(noise * (2 * rng.next() - 1)) : 0)));
      return [p, q];
    }
    case 'one-hot-p': {
      const q = normalize(weights(rng, fq, v, all));
      const p = new Float64Array(v);
      // on q's most likely token, or on a token q never drafts
      let best = 0;
      for (let i = 1; i < v; i++) if (q[i]! > q[best]!) best = i;
      const zeros = all.filter((i) => q[i] === 0);
      p[rng.next() < 0.5 || zeros.length === 0 ? best : pick(rng, zeros)] = 1;
      return [p, q];
    }
    case 'independent':
      return [normalize(weights(rng, fp, v, all)), normalize(weights(rng, fq, v, all))];
  }
}

/** Scale by 1 + δ, |δ| < 5e-5: a row normalised only to the API's tolerance (1e-4). */
function loosen(rng: Rng, x: Float64Array): Float64Array {
  const f = 1 + 1e-4 * (rng.next() - 0.5);
  return x.map((v) => v * f);
}

/** Case `index` of the run with `seed`. */
export function makeCase(seed: number, index: number): FuzzCase {
  const rng = createRng(seed).fork(index);
  const method = pick(rng, VERIFIER_NAMES);
  const vocab = vocabOf(rng);
  const k = method === 'sd' ? 1 : int(rng, 1, 8);
  const relation = pick(rng, RELATIONS);
  const familyP = pick(rng, FAMILIES);
  const familyQ = pick(rng, FAMILIES);
  let [p, q] = rows(rng, vocab, relation, familyP, familyQ);
  if (rng.next() < 0.2) p = loosen(rng, p);
  if (rng.next() < 0.2) q = loosen(rng, q);
  const f32 = rng.next() < 0.2;
  let pp: Float64Array | Float32Array = f32 ? Float32Array.from(p) : p;
  let qq: Float64Array | Float32Array = f32 ? Float32Array.from(q) : q;
  if (f32 && (!(sum(pp) > 0.9999) || !(sum(qq) > 0.9999))) {
    // f32 flushed a subnormal-only row to nothing: keep this case in f64
    pp = p;
    qq = q;
  }
  const corruption: Corruption = rng.next() < 0.125 ? pick(rng, CORRUPTIONS) : 'none';
  if (corruption !== 'none' && vocab > 0) {
    const target = rng.next() < 0.5 ? pp : qq;
    const i = int(rng, 0, vocab - 1);
    if (corruption === 'nan') target[i] = NaN;
    else if (corruption === 'negative') target[i] = -Math.max(1e-300, target[i]! || 0.25);
    else if (corruption === 'infinity') target[i] = rng.next() < 0.5 ? Infinity : -Infinity;
    else if (corruption === 'sum-off') for (let j = 0; j < vocab; j++) target[j] = target[j]! * 1.01;
  }
  const rounds = vocab <= 8 ? int(rng, 4, 24) : vocab <= 2048 ? int(rng, 2, 8) : int(rng, 1, 3);
  return {
    index,
    method,
    vocab,
    k,
    familyP,
    familyQ,
    relation,
    f32: pp instanceof Float32Array,
    ownRows: rng.next() < 0.2,
    corruption,
    p: pp,
    q: qq,
    rounds,
    rng,
  };
}
