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
 * (small V) and `otmAcceptanceLp` solves the membership LP with HiGHS (loaded lazily).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Highs } from 'highs';
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

type HighsLoader = () => Promise<Highs>;

/**
 * The HiGHS loader. Node resolves the package's ESM build, whose default export is the loader;
 * its typings describe the CommonJS build, so accept either shape.
 */
async function loadHighs(): Promise<HighsLoader> {
  const mod = (await import('highs')) as unknown as { default: HighsLoader | { default: HighsLoader } };
  return typeof mod.default === 'function' ? mod.default : mod.default.default;
}

/** Options of the LP reference. */
export interface OtmLpOptions {
  /** HiGHS primal/dual feasibility tolerance (default 1e-10). */
  tolerance?: number;
}

/** The LP reference with one loaded HiGHS instance, for many solves. */
export interface OtmLpSolver {
  /** α*(p, Q) for the joint given as outcomes (see otmAcceptanceLp).  p: [V] */
  acceptance(p: ArrayLike<number>, law: readonly DraftOutcome[]): number;
}

/**
 * Loads HiGHS (a lazy import, so the core stays light) and returns an LP solver for α*(p, Q):
 * maximise Σ π(t, y) over y ∈ t subject to Σ_y π(t, y) <= Q(t) and Σ_t π(t, y) <= p(y) — the
 * max-flow form of §0.2. Meant for small V and k (V^k outcomes).
 */
export async function createOtmLpSolver(options: OtmLpOptions = {}): Promise<OtmLpSolver> {
  const tol = options.tolerance ?? 1e-10;
  const highs = await (await loadHighs())();
  const num = (x: number): string => x.toExponential(17);
  return {
    acceptance(p, law) {
      const obj: string[] = [];
      const rows: string[] = [];
      const byToken: string[][] = Array.from({ length: p.length }, () => []);
      law.forEach((o, t) => {
        const vars: string[] = [];
        for (const y of new Set(o.drafts)) {
          const v = `x${t}_${y}`;
          vars.push(v);
          obj.push(v);
          byToken[y]!.push(v);
        }
        rows.push(` q${t}: ${vars.join(' + ')} <= ${num(o.prob)}`);
      });
      byToken.forEach((vars, y) => {
        if (vars.length > 0) rows.push(` p${y}: ${vars.join(' + ')} <= ${num(p[y]!)}`);
      });
      if (obj.length === 0) return 0;
      const lp = ['Maximize', ` obj: ${obj.join(' + ')}`, 'Subject To', ...rows, 'End'].join('\n');
      const sol = highs.solve(lp, { output_flag: false, primal_feasibility_tolerance: tol, dual_feasibility_tolerance: tol });
      if (sol.Status !== 'Optimal') throw new InvalidArgumentError(`otmAcceptanceLp: expected an optimal LP solution, got status ${sol.Status}`);
      return sol.ObjectiveValue;
    },
  };
}

/** α*(p, Q) by the LP (one-shot: loads HiGHS for this call; use createOtmLpSolver for many).  p: [V] */
export async function otmAcceptanceLp(p: ArrayLike<number>, law: readonly DraftOutcome[], options: OtmLpOptions = {}): Promise<number> {
  return (await createOtmLpSolver(options)).acceptance(p, law);
}
