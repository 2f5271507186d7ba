/**
 * Fuzz target "verify": the verifier API fuzz of test/fuzz/verify (degenerate p and q, V 1…50,000,
 * k 1…8, corrupted inputs; every draft / verify / acceptance / otmAcceptance / rows call checked,
 * exact laws on the small valid cases) run one case at a time, so that it gets this runner's worker
 * threads and per-case timeout (a hang is found too). A case's class is its worst call: a crash, a
 * non-finite result or a bad error message as such; a token outside the support, an impossible
 * value, a valid input refused or a wrong law as `wrong`; else `typed` if a call was refused (as the
 * input deserved), else `ok`. Each case also tallies its API calls by outcome and its exact-law
 * checks (the run's totals: `calls`, `calls typed`, …, `law checks`, `wrong laws`). Here every small
 * valid case gets the law checks (a case is run alone, so `lawEvery` never skips one); `npm run
 * fuzz:verify` runs the same cases in one process, checks the laws of every 25th, and adds
 * per-method counts.
 */
import { OUTCOMES, runVerifierFuzz } from '../verify/run.js';
import type { CaseClass, CaseReport, FuzzTarget } from '../types.js';

export const target: FuzzTarget = {
  name: 'verify',
  description: 'the verifier API on degenerate distributions (test/fuzz/verify, one case at a time)',
  async setup() {},
  async runCase(seed: number, index: number): Promise<CaseReport> {
    const r = runVerifierFuzz({ seed, cases: 1, first: index });
    const tally: Record<string, number> = { calls: r.calls };
    for (const o of OUTCOMES) tally[`calls ${o}`] = r.counts[o];
    tally['law checks'] = r.laws.cases;
    tally['wrong laws'] = r.laws.failures;
    tally['rrs-wo exact acceptances skipped (> 1e6 paths)'] = r.skippedSlowExact;
    const f = r.failures[0];
    const mutation = f ? `${f.method} V ${f.vocab} k ${f.k}, ${f.corruption}` : `${r.calls} calls`;
    if (r.failed > 0 && f) {
      const cls: CaseClass = f.outcome === 'crash' ? 'crash' : f.outcome === 'nonfinite' ? 'nonfinite' : f.outcome === 'bad-error' ? 'bad-error' : 'wrong';
      return { class: cls, mutation, detail: `${f.call}: ${f.outcome}: ${f.detail}`, tally };
    }
    return { class: r.counts.typed > 0 ? 'typed' : 'ok', mutation, tally };
  },
};
