/**
 * Multi-draft verifiers: SD, RRS, RRS without replacement, SpecHub (k >= 2, multi-hub for k > 2)
 * and K-SEQ, with the OTM optimum as a reference. Three layers:
 * - the public API (`createVerifier`, `otmAcceptance`), over user arrays;
 * - the decode path (`NodeVerifier`, `createNodeMeta`), over rows in runtime memory;
 * - the exact math layer (`levelOutcome`, `draftLaw`, acceptance closed forms, OTM references).
 */
export { createVerifier, otmAcceptance, type Verifier, type VerifierOptions } from './api.js';
export { NodeVerifier, type NodeVerifierOptions } from './node-verifier.js';
export {
  createNodeMeta,
  RESIDUAL_EPS,
  VERIFIER_NAMES,
  type DraftOutcome,
  type LevelOutcome,
  type NodeMeta,
  type ProbVector,
  type VerifierName,
  type VerifyResult,
} from './types.js';
export { draftLaw, levelOutcome, mathMethod, referenceVerify, sampleOutcome, type MathMethod } from './methods.js';
export { otmAcceptanceJoint, otmIid, OTM_SUBSET_MAX_VOCAB } from './otm.js';
export { INV_RHO_TOL, kseqRho, solveRho, type KseqRho } from './kseq.js';
export { hubAcceptance, hubPairState, type HubPairState } from './spechub.js';
export { RRS_WO_EXACT_BUDGET } from './rrs-wo.js';
export { MAX_DRAFTS, PROB_SUM_TOL } from './validate.js';
