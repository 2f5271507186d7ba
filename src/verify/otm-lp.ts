/**
 * The OTM optimum α*(p, Q) as a linear program solved by HiGHS (docs/verifiers.md §0.2): the reference
 * for any joint Q given as a list of outcomes, beside the closed forms of ./otm.ts.
 *
 * Not part of the core: HiGHS is a 3.5 MB Emscripten module whose Node build imports Node
 * built-ins, so this file is reached only through its own package entry (`spechub/lp`, src/lp.ts),
 * never from src/index.ts. Browsers and bundlers that import the core never see it.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Highs } from 'highs';
import type { DraftOutcome } from './types.js';

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
 * max-flow form of docs/verifiers.md §0.2. Meant for small V and k (V^k outcomes).
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
