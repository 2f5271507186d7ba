/**
 * OTM, optimal transport with membership cost (SpecTr, Sun et al. NeurIPS 2023; docs/verifiers.md
 * §0.2, §5): the best acceptance any verifier can reach for a given draft joint Q.
 *
 *   α*(p, Q) = 1 - max_{A ⊆ V} [ Q(every draft ∈ A) - p(A) ]           (max-flow = min-cut)
 *   i.i.d. drafts (Q = q⊗k): α* = 1 - max_A [ q(A)^k - p(A) ], and the maximising A is a prefix of
 *   the tokens sorted by p/q ascending, so α* costs O(V log V).
 *
 * Why a prefix: let A be a maximiser with s = q(A). Adding z ∉ A cannot help, so
 * p(z) >= (s + q(z))^k - s^k >= k s^{k-1} q(z); removing y ∈ A cannot help, so
 * p(y) <= s^k - (s - q(y))^k <= k s^{k-1} q(y). Hence p(y)/q(y) <= k s^{k-1} <= p(z)/q(z): every
 * member of A precedes every non-member in p/q order. Within a tie the objective is convex in the
 * included q mass, so all or none of a tie group is optimal, and both are prefixes.
 *
 * For any joint given as a list of outcomes: `otmAcceptanceJoint` enumerates the subsets A
 * (small V); the membership LP with HiGHS is `otmAcceptanceLp` in ./otm-lp.ts, an entry of its own
 * (`spechub/lp`) so that the core's import graph never reaches HiGHS.
 */
import { InvalidArgumentError } from '../errors.js';
import type { DraftOutcome } from './types.js';

/** α*_iid = 1 - max over p/q-sorted prefixes A of [q(A)^k - p(A)]; O(V log V).  p, q: [V] */
export function otmIid(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  const idx: number[] = [];
  for (let i = 0; i < q.length; i++) if (q[i]! > 0) idx.push(i); // q = 0 tokens never help A
  idx.sort((a, b) => {
    // compared, not subtracted: p/q is Infinity for a subnormal q
    const ra = p[a]! / q[a]!;
    const rb = p[b]! / q[b]!;
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  });
  let qa = 0;
  let pa = 0;
  let best = 0; // A = ∅
  for (const y of idx) {
    qa += q[y]!;
    pa += p[y]!;
    best = Math.max(best, Math.pow(Math.min(qa, 1), k) - pa);
  }
  return 1 - best;
}

/** Largest vocabulary `otmAcceptanceJoint` enumerates subsets for (2^V subsets). */
export const OTM_SUBSET_MAX_VOCAB = 20;

/**
 * α*(p, Q) for any joint Q (a list of draft outcomes) by the (OT-dual) formula, enumerating all
 * 2^V subsets A. Exact; for V <= OTM_SUBSET_MAX_VOCAB.  p: [V]
 */
export function otmAcceptanceJoint(p: ArrayLike<number>, law: readonly DraftOutcome[]): number {
  const n = p.length;
  if (n > OTM_SUBSET_MAX_VOCAB) throw new InvalidArgumentError(`otmAcceptanceJoint: expected V <= ${OTM_SUBSET_MAX_VOCAB}, got ${n}`);
  const masks = law.map((o) => {
    let m = 0;
    for (const x of o.drafts) m |= 1 << x;
    return m;
  });
  let best = 0;
  for (let a = 0; a < 1 << n; a++) {
    let qa = 0;
    for (let t = 0; t < law.length; t++) if ((masks[t]! & ~a) === 0) qa += law[t]!.prob;
    let pa = 0;
    for (let y = 0; y < n; y++) if (a & (1 << y)) pa += p[y]!;
    best = Math.max(best, qa - pa);
  }
  return 1 - best;
}
