/**
 * The verifier API fuzz: runs the cases of cases.ts through `createVerifier(...)` — draft, verify,
 * acceptance, otmAcceptance, and the zero-copy rows — and classifies every call:
 *
 *   ok              returned, and the result is right in kind (see below)
 *   typed           threw a SpechubError with a one-line message, on an input that deserved it
 *   crash           threw anything else (TypeError, RangeError, a WASM trap …)
 *   nonfinite       returned NaN or ±Infinity (an acceptance, a token, a slot)
 *   out-of-support  a draft with q = 0 or outside [0, V), or an emitted token with p = 0
 *   bad-value       a finite but impossible result: acceptance outside [0, 1], a wrong number of
 *                   drafts, repeated drafts where the method draws distinct ones, a slot that
 *                   does not hold the emitted token
 *   bad-error       a typed error whose message spans lines or is empty
 *   rejected-valid  a typed error on a valid input
 *
 * On a sample of the valid cases with V <= 8 the laws are checked exactly: enumerating every
 * drafting outcome through the math layer must give the output law p and the closed-form
 * acceptance (to 1e-9), and `draws` rounds of the public draft + verify must pass a chi-square
 * test of the emitted tokens against p and a binomial test of the accept rate against
 * acceptance() (each at a false-failure probability of 1e-9, so a run of up to 1000 such cases
 * fails a correct implementation with probability below 1e-6). Failing laws are counted as
 * `wrong-law`.
 */
import { createNodeRuntime, createVerifier, otmAcceptance } from '../../../src/node.js';
import { SpechubError } from '../../../src/errors.js';
import type { Rng } from '../../../src/rng.js';
import { mathMethod } from '../../../src/verify/methods.js';
import { normalize, supportSize } from '../../../src/verify/common.js';
import { RRS_WO_EXACT_BUDGET } from '../../../src/verify/rrs-wo.js';
import { VERIFIER_NAMES, type VerifierName, type VerifyResult } from '../../../src/verify/types.js';
import type { Verifier } from '../../../src/verify/api.js';
import { exactOutput } from '../../verify/oracle.js';
import { chiSquareTest, normalTwoSided } from '../../verify/stats.js';
import { makeCase, type FuzzCase } from './cases.js';

/** How one call ended. */
export type Outcome = 'ok' | 'typed' | 'crash' | 'nonfinite' | 'out-of-support' | 'bad-value' | 'bad-error' | 'rejected-valid';

/** Outcomes of calls, in report order. */
export const OUTCOMES: readonly Outcome[] = ['ok', 'typed', 'crash', 'nonfinite', 'out-of-support', 'bad-value', 'bad-error', 'rejected-valid'];

/** Call outcomes that fail the run (with `wrong-law` cases). */
export const FAILING: readonly Outcome[] = ['crash', 'nonfinite', 'out-of-support', 'bad-value', 'bad-error', 'rejected-valid'];

/** Options of a fuzz run. */
export interface FuzzOptions {
  /** Seed of the run; case i depends on (seed, i) alone. */
  seed: number;
  /** Cases to run: indices first … first + cases - 1. */
  cases: number;
  first?: number;
  /** Every lawEvery-th valid case with V <= 8 gets the exact-law checks (default 25). */
  lawEvery?: number;
  /** Draft + verify rounds sampled for the chi-square test of such a case (default 2000). */
  lawDraws?: number;
  /** Called every 1000 cases. */
  onProgress?: (done: number, calls: number) => void;
  /** Replace a verifier (tests check that the fuzz catches deliberately broken ones). */
  wrap?: (name: VerifierName, v: Verifier) => Verifier;
}

/** A failing call or law, with what reproduces it. */
export interface FuzzFailure {
  index: number;
  method: VerifierName;
  vocab: number;
  k: number;
  corruption: string;
  call: string;
  outcome: Outcome | 'wrong-law';
  detail: string;
}

/** What a run found. */
export interface FuzzReport {
  seed: number;
  first: number;
  cases: number;
  calls: number;
  seconds: number;
  counts: Record<Outcome, number>;
  byMethod: Record<VerifierName, Record<Outcome, number>>;
  /** Calls by the kind of input: valid cases and each corruption. */
  byInput: Record<string, Record<Outcome, number>>;
  laws: { cases: number; enumerated: number; failures: number; smallestPValue: number; failuresByMethod: Record<VerifierName, number> };
  /** rrs-wo acceptance calls not made because their exact evaluation would take seconds (paths > 1e6, within the budget). */
  skippedSlowExact: number;
  failures: FuzzFailure[];
  /** Sum of the failing outcomes and the wrong laws. */
  failed: number;
}

const LAW_ALPHA = 1e-9;
const MAX_NOTES = 25;
/** Above this many paths an exact rrs-wo acceptance takes seconds: not called (counted). */
const SLOW_EXACT_PATHS = 1e6;

function zeros(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.split('\n')[0]!.slice(0, 300);
}

/** Runs `cases` fuzz cases; never throws for what it finds (it reports). */
export function runVerifierFuzz(options: FuzzOptions): FuzzReport {
  const first = options.first ?? 0;
  const lawEvery = options.lawEvery ?? 25;
  const lawDraws = options.lawDraws ?? 2000;
  const rt = createNodeRuntime();
  const verifiers = Object.fromEntries(
    VERIFIER_NAMES.map((m) => {
      const v = createVerifier(m, { runtime: rt });
      return [m, options.wrap ? options.wrap(m, v) : v];
    }),
  ) as Record<VerifierName, Verifier>;
  const report: FuzzReport = {
    seed: options.seed,
    first,
    cases: options.cases,
    calls: 0,
    seconds: 0,
    counts: zeros(),
    byMethod: Object.fromEntries(VERIFIER_NAMES.map((m) => [m, zeros()])) as Record<VerifierName, Record<Outcome, number>>,
    byInput: {},
    laws: { cases: 0, enumerated: 0, failures: 0, smallestPValue: 1, failuresByMethod: Object.fromEntries(VERIFIER_NAMES.map((m) => [m, 0])) as Record<VerifierName, number> },
    skippedSlowExact: 0,
    failures: [],
    failed: 0,
  };
  const t0 = performance.now();
  let smallValid = 0;

  for (let i = first; i < first + options.cases; i++) {
    const c = makeCase(options.seed, i);
    const v = verifiers[c.method];
    const note = (call: string, outcome: Outcome | 'wrong-law', detail: string): void => {
      if (report.failures.length < MAX_NOTES) {
        report.failures.push({ index: i, method: c.method, vocab: c.vocab, k: c.k, corruption: c.corruption, call, outcome, detail });
      }
    };
    const input = (report.byInput[c.corruption] ??= zeros());
    const record = (call: string, outcome: Outcome, detail: string): void => {
      report.calls++;
      report.counts[outcome]++;
      report.byMethod[c.method][outcome]++;
      input[outcome]++;
      if (FAILING.includes(outcome)) note(call, outcome, detail);
    };
    /** Run one API call and classify it; returns the result when it returned normally. */
    const call = <T>(name: string, fn: () => T, check: (r: T) => [Outcome, string] | null, typedAllowed = false): T | undefined => {
      let r: T;
      try {
        r = fn();
      } catch (e) {
        if (e instanceof SpechubError) {
          if (!e.message || e.message.includes('\n')) record(name, 'bad-error', oneLine(e));
          else if (c.corruption === 'none' && !typedAllowed) record(name, 'rejected-valid', oneLine(e));
          else record(name, 'typed', '');
        } else {
          record(name, 'crash', oneLine(e));
        }
        return undefined;
      }
      const problem = check(r);
      if (problem) record(name, problem[0], problem[1]);
      else record(name, 'ok', '');
      return r;
    };
    const checkDrafts = (d: Int32Array, q: ArrayLike<number>): [Outcome, string] | null => checkDraftsOf(c, d, q);
    const checkResult = (d: Int32Array, p: ArrayLike<number>) => (r: VerifyResult): [Outcome, string] | null => checkResultOf(c, d, p, r);
    const checkAlpha = (a: number): [Outcome, string] | null =>
      !Number.isFinite(a) ? ['nonfinite', `acceptance ${a}`] : a < 0 || a > 1 + 1e-9 ? ['bad-value', `acceptance ${a}`] : null;

    // the rows the calls read: the user's arrays, or the verifier's own rows holding the same values
    let p: Float64Array | Float32Array = c.p;
    let q: Float64Array | Float32Array = c.q;
    if (c.ownRows && c.corruption === 'none') {
      const own = call('rows', () => v.rows(c.vocab), (r) => (r.p.length === c.vocab && r.q.length === c.vocab ? null : ['bad-value', 'rows of the wrong length']));
      if (!own) continue;
      own.p.set(c.p);
      own.q.set(c.q);
      p = own.p;
      q = own.q;
    }
    const rng: Rng = c.corruption === 'no-rng' ? (c.rng.next() < 0.5 ? (undefined as unknown as Rng) : ({} as Rng)) : c.rng;

    switch (c.corruption) {
      case 'length-mismatch': {
        const shorter = c.p.subarray(0, Math.max(0, c.vocab - 1));
        call('verify', () => v.verify(shorter, q, [0], rng), () => ['bad-value', 'accepted rows of different lengths']);
        call('acceptance', () => v.acceptance(shorter, q, c.k), () => ['bad-value', 'accepted rows of different lengths']);
        continue;
      }
      case 'empty':
        call('draft', () => v.draft(new Float64Array(0), c.k, rng), () => ['bad-value', 'drafted from an empty row']);
        continue;
      case 'plain-array':
        call('draft', () => v.draft(Array.from(c.q) as unknown as Float64Array, c.k, rng), () => ['bad-value', 'accepted a plain array']);
        continue;
      case 'bad-k': {
        const k = [0, -1, 1.5, NaN, Infinity, 1025, '2'][Math.floor(c.rng.next() * 7)] as number;
        call('draft', () => v.draft(q, k, rng), () => ['bad-value', `drafted with k = ${String(k)}`]);
        call('acceptance', () => v.acceptance(p, q, k), () => ['bad-value', `acceptance with k = ${String(k)}`]);
        continue;
      }
      case 'foreign-drafts': {
        const bad = foreignDrafts(c);
        call('verify', () => v.verify(p, q, bad, rng), (r) => checkResultOf(c, Int32Array.from(bad.map((x) => (Number.isInteger(x) ? x : -1))), p, r));
        continue;
      }
      default:
        break;
    }

    // draft and verify rounds (corrupted p or q: typed errors expected where they are read)
    for (let round = 0; round < c.rounds; round++) {
      const d = call('draft', () => v.draft(q, c.k, rng), (r) => checkDrafts(r, q));
      if (!d) break;
      call('verify', () => v.verify(p, q, d, rng), checkResult(d, p));
    }
    // acceptance: the exact closed forms (rrs-wo's path sum only where it is quick, or over budget)
    const paths = woPaths(c);
    if (c.method === 'rrs-wo' && paths > SLOW_EXACT_PATHS && paths <= RRS_WO_EXACT_BUDGET && c.corruption === 'none') {
      report.skippedSlowExact++;
    } else {
      call('acceptance', () => v.acceptance(p, q, c.k), checkAlpha, c.method === 'rrs-wo' && paths > RRS_WO_EXACT_BUDGET);
    }
    if (c.index % 4 === 0) call('otmAcceptance', () => otmAcceptance(p, q, c.k), checkAlpha);

    // exact laws on a sample of the small valid cases whose p is not (nearly) one token, where
    // the tests have power
    if (c.corruption === 'none' && c.vocab <= 8 && informative(c.p) && smallValid++ % lawEvery === 0) {
      const law = checkLaw(c, v, p, q, lawDraws, (name, fn, check) => call(name, fn, check));
      report.laws.cases++;
      if (law.enumerated) report.laws.enumerated++;
      report.laws.smallestPValue = Math.min(report.laws.smallestPValue, law.pValue);
      if (law.problem) {
        report.laws.failures++;
        report.laws.failuresByMethod[c.method]++;
        note('law', 'wrong-law', law.problem);
      }
    }
    if ((i - first + 1) % 1000 === 0) options.onProgress?.(i - first + 1, report.calls);
  }
  report.seconds = (performance.now() - t0) / 1000;
  report.failed = FAILING.reduce((s, o) => s + report.counts[o], 0) + report.laws.failures;
  return report;
}

/** At least two tokens with p >= 0.01. */
function informative(p: ArrayLike<number>): boolean {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! >= 0.01) n++;
  return n >= 2;
}

/** Paths of rrs-wo's exact acceptance for this case (support^(depth-1)). */
function woPaths(c: FuzzCase): number {
  const s = supportSize(c.q);
  return Math.pow(s, Math.min(c.k, s) - 1);
}

/** How many drafts the method makes for k requested on q. */
function expectedCount(c: FuzzCase, q: ArrayLike<number>): number {
  const s = supportSize(q);
  if (c.method === 'sd') return 1;
  if (c.method === 'spechub' || c.method === 'rrs-wo') return Math.min(c.k, s);
  return c.k;
}

function checkDraftsOf(c: FuzzCase, d: Int32Array, q: ArrayLike<number>): [Outcome, string] | null {
  if (!(d instanceof Int32Array)) return ['bad-value', `drafts are a ${typeof d}`];
  for (const x of d) {
    if (!Number.isFinite(x)) return ['nonfinite', `draft ${x}`];
    if (x < 0 || x >= c.vocab || !(q[x]! > 0)) return ['out-of-support', `draft ${x} with q = ${q[x]}`];
  }
  const want = expectedCount(c, q);
  if (d.length !== want) return ['bad-value', `${d.length} drafts, expected ${want}`];
  if ((c.method === 'rrs-wo' || c.method === 'spechub') && new Set(d).size !== d.length) return ['bad-value', `repeated drafts [${Array.from(d)}]`];
  return null;
}

function checkResultOf(c: FuzzCase, d: ArrayLike<number>, p: ArrayLike<number>, r: VerifyResult): [Outcome, string] | null {
  if (!Number.isFinite(r.token) || !Number.isFinite(r.accepted)) return ['nonfinite', `result ${JSON.stringify(r)}`];
  if (!Number.isInteger(r.token) || r.token < 0 || r.token >= c.vocab || !(p[r.token]! > 0)) return ['out-of-support', `token ${r.token} with p = ${p[r.token]}`];
  if (!Number.isInteger(r.accepted) || r.accepted < -1 || r.accepted >= d.length) return ['bad-value', `accepted slot ${r.accepted} of ${d.length}`];
  if (r.accepted >= 0 && d[r.accepted] !== r.token) return ['bad-value', `slot ${r.accepted} holds ${d[r.accepted]}, token ${r.token}`];
  return null;
}

/** Drafts q cannot have made: a token with q = 0, out of range, negative, fractional, none, or repeated. */
function foreignDrafts(c: FuzzCase): number[] {
  const zero = Array.from(c.q.keys()).find((i) => !(c.q[i]! > 0));
  const options: number[][] = [[c.vocab], [-1], [0.5], [], Array(1025).fill(0)];
  if (zero !== undefined) options.push([zero]);
  const some = Array.from(c.q.keys()).find((i) => c.q[i]! > 0) ?? 0;
  options.push([some, some]); // repeated: a typed error for rrs-wo, spechub and sd; valid for rrs and k-seq
  return options[Math.floor(c.rng.next() * options.length)]!;
}

/**
 * The exact-law checks of one small valid case: enumeration through the math layer (when the
 * drafting law has at most 20 000 outcomes), then `draws` sampled rounds through the public API.
 */
function checkLaw(
  c: FuzzCase,
  v: Verifier,
  p: Float64Array | Float32Array,
  q: Float64Array | Float32Array,
  draws: number,
  call: <T>(name: string, fn: () => T, check: (r: T) => [Outcome, string] | null) => T | undefined,
): { enumerated: boolean; pValue: number; problem: string | null } {
  const pn = normalize(p);
  const qn = normalize(q);
  const m = mathMethod(c.method);
  const alpha = m.acceptance(pn, qn, c.k);
  let enumerated = false;
  const s = supportSize(qn);
  const outcomes = c.method === 'rrs' || c.method === 'k-seq' ? Math.pow(s, c.k) : Math.pow(s, Math.min(c.k, s));
  if (outcomes <= 20000) {
    enumerated = true;
    const r = exactOutput(m, pn, qn, c.k);
    let err = 0;
    for (let y = 0; y < pn.length; y++) err = Math.max(err, Math.abs(r.out[y]! - pn[y]!));
    if (!(err <= 1e-9)) return { enumerated, pValue: 0, problem: `enumerated output law differs from p by ${err}` };
    if (!(Math.abs(r.alpha - alpha) <= 1e-9)) return { enumerated, pValue: 0, problem: `enumerated acceptance ${r.alpha} != closed form ${alpha}` };
  }
  const counts = new Float64Array(c.vocab);
  let accepted = 0;
  let n = 0;
  for (let t = 0; t < draws; t++) {
    const d = call('draft', () => v.draft(q, c.k, c.rng), (r) => checkDraftsOf(c, r, q));
    if (!d) return { enumerated, pValue: 0, problem: 'a draft call failed during the law check' };
    const r = call('verify', () => v.verify(p, q, d, c.rng), (res) => checkResultOf(c, d, p, res));
    if (!r) return { enumerated, pValue: 0, problem: 'a verify call failed during the law check' };
    counts[r.token]!++;
    if (r.accepted >= 0) accepted++;
    n++;
  }
  const chi = chiSquareTest(counts, pn, n);
  const sd = Math.sqrt((alpha * (1 - alpha)) / n);
  const rateP = sd > 0 ? normalTwoSided((accepted / n - alpha) / sd) : Math.abs(accepted / n - alpha) < 1e-12 ? 1 : 0;
  const pValue = Math.min(chi.pValue, rateP);
  if (chi.impossible > 0) return { enumerated, pValue: 0, problem: `a token with p = 0 was emitted ${chi.impossible} times` };
  if (chi.pValue < LAW_ALPHA) return { enumerated, pValue, problem: `tokens ${Array.from(counts)} against p ${Array.from(pn)}: chi-square p-value ${chi.pValue}` };
  if (rateP < LAW_ALPHA) return { enumerated, pValue, problem: `accept rate ${accepted / n} against acceptance ${alpha}: p-value ${rateP}` };
  return { enumerated, pValue, problem: null };
}
