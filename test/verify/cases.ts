/**
 * Named inputs: the golden vectors of docs/verifiers.md §11.2 and the edge cases of §11.3 that concern
 * a single verification step. Vectors are normalised by the consumer.
 */

/** A named (p, q) pair. */
export interface NamedCase {
  name: string;
  p: number[];
  q: number[];
}

/** G1–G6 (§11.2). */
export const GOLDEN: Record<'G1' | 'G2' | 'G3' | 'G4' | 'G5' | 'G6', NamedCase> = {
  G1: { name: 'G1', p: [0.5, 0.3, 0.15, 0.05], q: [0.4, 0.1, 0.3, 0.2] },
  G2: { name: 'G2', p: [0.1, 0.2, 0.3, 0.4], q: [0.7, 0.1, 0.1, 0.1] },
  G3: { name: 'G3 (zeros)', p: [0, 0.6, 0.4, 0], q: [0.5, 0, 0.25, 0.25] },
  G4: { name: 'G4 (p = q)', p: [0.25, 0.25, 0.3, 0.2], q: [0.25, 0.25, 0.3, 0.2] },
  G5: { name: 'G5 (disjoint)', p: [0, 0, 0.5, 0.5], q: [0.6, 0.4, 0, 0] },
  G6: { name: 'G6 (one-hot p)', p: [0, 1, 0, 0], q: [0.5, 0.2, 0.2, 0.1] },
};

/**
 * E17: f64 subnormal entries (below 2.2e-308). Untried masses, the rest of a hub set and ratios
 * built on them overflow unless guarded; the first case is the rrs-wo defect of issue 11 (it
 * emitted [.75, .25] and its acceptance was NaN).
 */
export const SUBNORMAL_CASES: NamedCase[] = [
  { name: 'E17 subnormal q(1): p = [.5, .5, 0], q = [1, 1e-310, 0]', p: [0.5, 0.5, 0], q: [1, 1e-310, 0] },
  { name: 'E17 subnormal q(1), p mass where q = 0', p: [0.4, 0.4, 0.2], q: [1, 1e-310, 0] },
  { name: 'E17 several subnormal q entries, down to 3e-320', p: [0.3, 0.3, 0.2, 0.2], q: [1, 2e-310, 1e-310, 3e-320] },
  { name: 'E17 subnormal mass outside a two-token hub set', p: [0.3, 0.3, 0.4, 0], q: [0.6, 0.4, 1e-310, 0] },
  { name: 'E17 subnormal entries in p', p: [1, 1e-310, 5e-324], q: [0.5, 0.25, 0.25] },
  // found by the fuzz target "verify": a draft from an untried (or off-hub) mass of three 5e-324 entries
  // aimed at u·U, which f64 rounds to a multiple of 5e-324 (tokens drawn 1/6, 1/3, 1/2 of the time)
  { name: 'E17 untried mass of three smallest subnormals', p: [0.1, 0.25, 0, 0, 0.35, 0.05, 0.25], q: [0, 0.4, 0, 5e-324, 0.6, 5e-324, 5e-324] },
  { name: 'E17 off-hub mass of three smallest subnormals', p: [0.1, 0.1, 0.3, 0.2, 0.3], q: [0.5, 0.5, 5e-324, 5e-324, 5e-324] },
];

/** The single-step edge cases of docs/verifiers.md §11.3, by name. */
export const EDGE_CASES: NamedCase[] = [
  { name: 'E2 zeros in p (a drafted p = 0 token) and q (G3)', p: [0, 0.6, 0.4, 0], q: [0.5, 0, 0.25, 0.25] },
  { name: 'E3 q = p (G4)', p: [0.25, 0.25, 0.3, 0.2], q: [0.25, 0.25, 0.3, 0.2] },
  { name: 'E4 one-hot p off the hub (G6)', p: [0, 1, 0, 0], q: [0.5, 0.2, 0.2, 0.1] },
  { name: 'E4 one-hot p on the hub', p: [1, 0, 0, 0], q: [0.5, 0.2, 0.2, 0.1] },
  { name: 'E5 one-hot q', p: [0.3, 0.3, 0.4], q: [0, 1, 0] },
  { name: 'E5 q with a two-token support', p: [0.2, 0.3, 0.1, 0.4], q: [0, 0.7, 0.3, 0] },
  { name: 'E6 disjoint supports (G5)', p: [0, 0, 0.5, 0.5], q: [0.6, 0.4, 0, 0] },
  { name: 'E7 two-way tie for argmax q', p: [0.1, 0.4, 0.3, 0.2], q: [0.3, 0.3, 0.2, 0.2] },
  { name: 'E7 three-way tie for argmax q', p: [0.05, 0.1, 0.15, 0.3, 0.4], q: [0.25, 0.25, 0.25, 0.125, 0.125] },
  { name: 'E8 q(a) = 1 - 1e-12', p: [0.2, 0.5, 0.3], q: [1 - 1e-12, 3e-13, 7e-13] },
  { name: 'E8 q(a) = 1 - 1e-12, p on the tail', p: [0, 0.5, 0.5], q: [1 - 1e-12, 3e-13, 7e-13] },
  { name: 'E9 p(a) = 1 - 1e-9', p: [1 - 1e-9, 5e-10, 5e-10], q: [0.6, 0.3, 0.1] },
  { name: 'E11 duplicates likely', p: [0.5, 0.3, 0.2], q: [0.9, 0.05, 0.05] },
  { name: 'E13 V = 1', p: [1], q: [1] },
  { name: 'E13 V = 2', p: [0.3, 0.7], q: [0.8, 0.2] },
  { name: 'E14 truncated rows with many zeros', p: [0, 0, 0.7, 0, 0.3, 0, 0, 0], q: [0, 0.5, 0.25, 0, 0, 0.25, 0, 0] },
  ...SUBNORMAL_CASES,
  { name: 'G1', p: GOLDEN.G1.p, q: GOLDEN.G1.q },
  { name: 'G2', p: GOLDEN.G2.p, q: GOLDEN.G2.q },
];

/** Stable softmax of logits / T in f64. */
export function softmax(logits: ArrayLike<number>, t: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = Float64Array.from(logits, (l) => Math.exp((l - max) / t));
  let s = 0;
  for (const v of out) s += v;
  return out.map((v) => v / s);
}
