/**
 * The math layer of every method behind one interface (docs/verifiers.md §11.1): the exact drafting
 * law, the exact outcome law of one step, the exact acceptance, and a thin reference sampler that
 * consumes uniforms in the same order as the fast (WASM) verifiers, so the two can be compared
 * decision by decision.
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError } from '../errors.js';
import { sampleIndex } from '../sampling.js';
import { kseqAcceptance, kseqOutcome } from './kseq.js';
import { drawIid, iidLaw, rrsAcceptance, rrsOutcome } from './rrs.js';
import { drawWithoutReplacement, rrsWoAcceptance, rrsWoOutcome, woLaw } from './rrs-wo.js';
import { drawFromQ, sdAcceptance, sdLaw, sdOutcome } from './sd.js';
import { drawSpechub, spechubAcceptance, spechubLaw, spechubOutcome } from './spechub.js';
import type { DraftOutcome, LevelOutcome, VerifierName, VerifyResult } from './types.js';

/** A method's math layer. p and q are normalised f64 vectors of equal length V. */
export interface MathMethod {
  readonly name: VerifierName;
  /** Every drafting outcome for k requested drafts with its probability (small V only). */
  law(q: Float64Array, k: number, hubs?: ArrayLike<number>): DraftOutcome[];
  /** The exact outcome law of one verification step given the drafts (and SpecHub's hubs). */
  outcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>, hubs?: ArrayLike<number>): LevelOutcome;
  /** Exact acceptance probability for k requested drafts. */
  acceptance(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number;
  /** Reference drafting, consuming uniforms like the fast drafter. */
  draft(q: Float64Array, k: number, rng: Rng, hubs?: ArrayLike<number>): { drafts: Int32Array; hubs: Int32Array };
}

const NO_HUBS = new Int32Array(0);

/** The drafting of RRS and K-SEQ: k i.i.d. draws from q. */
const IID_DRAFTING: Pick<MathMethod, 'law' | 'draft'> = {
  law: (q, k) => iidLaw(q, k),
  draft: (q, k, rng) => ({ drafts: drawIid(q, k, rng), hubs: NO_HUBS }),
};

const MATH: Record<VerifierName, MathMethod> = {
  sd: {
    name: 'sd',
    law: (q) => sdLaw(q),
    outcome: (p, q, d) => sdOutcome(p, q, d),
    acceptance: (p, q) => sdAcceptance(p, q),
    draft: (q, _k, rng) => ({ drafts: Int32Array.of(drawFromQ(q, rng)), hubs: NO_HUBS }),
  },
  rrs: {
    name: 'rrs',
    ...IID_DRAFTING,
    outcome: (p, q, d) => rrsOutcome(p, q, d),
    acceptance: rrsAcceptance,
  },
  'rrs-wo': {
    name: 'rrs-wo',
    law: (q, k) => woLaw(q, k),
    outcome: (p, q, d) => rrsWoOutcome(p, q, d),
    acceptance: rrsWoAcceptance,
    draft: (q, k, rng) => ({ drafts: drawWithoutReplacement(q, k, rng), hubs: NO_HUBS }),
  },
  spechub: {
    name: 'spechub',
    law: (q, k, hubs) => spechubLaw(q, k, hubs),
    outcome: (p, q, d, hubs) => spechubOutcome(p, q, d, hubs),
    acceptance: spechubAcceptance,
    draft: (q, k, rng, hubs) => drawSpechub(q, k, rng, hubs),
  },
  'k-seq': {
    name: 'k-seq',
    ...IID_DRAFTING,
    outcome: (p, q, d) => kseqOutcome(p, q, d),
    acceptance: kseqAcceptance,
  },
};

/** The math layer of a method. */
export function mathMethod(name: VerifierName): MathMethod {
  const m = MATH[name];
  if (!m) throw new InvalidArgumentError(`verifier: expected one of ${Object.keys(MATH).join(', ')}, got ${String(name)}`);
  return m;
}

/** The exact outcome law of one step of `name` (the pure math layer; no RNG). */
export function levelOutcome(
  name: VerifierName,
  p: Float64Array,
  q: Float64Array,
  drafts: ArrayLike<number>,
  hubs?: ArrayLike<number>,
): LevelOutcome {
  return mathMethod(name).outcome(p, q, drafts, hubs);
}

/** The exact drafting law of `name` for k requested drafts (small V). */
export function draftLaw(name: VerifierName, q: Float64Array, k: number, hubs?: ArrayLike<number>): DraftOutcome[] {
  return mathMethod(name).law(q, k, hubs);
}

/**
 * Samples an outcome law with fresh uniforms: one per test in test order, then one for the
 * residual. The fast verifiers consume uniforms identically.  drafts: [count]
 */
export function sampleOutcome(o: LevelOutcome, drafts: ArrayLike<number>, rng: Rng): VerifyResult {
  for (let t = 0; t < o.order.length; t++) {
    if (rng.next() < o.ratio[t]!) return { token: drafts[o.order[t]!]!, accepted: o.order[t]! };
  }
  return { token: sampleIndex(o.residual, rng.next()), accepted: -1 };
}

/** Reference verification: the math layer's law, sampled. */
export function referenceVerify(
  name: VerifierName,
  p: Float64Array,
  q: Float64Array,
  drafts: Int32Array,
  rng: Rng,
  hubs?: ArrayLike<number>,
): VerifyResult {
  return sampleOutcome(levelOutcome(name, p, q, drafts, hubs), drafts, rng);
}
