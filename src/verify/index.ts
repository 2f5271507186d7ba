/**
 * Multi-draft verifiers: SD, RRS, RRS without replacement, SpecHub (k >= 2, multi-hub for k > 2)
 * and K-SEQ, with the OTM optimum as a reference; and the sequence-level methods (block, traversal,
 * spechub-traversal: the leaf-to-root tree walker and its node tests). Three layers:
 * - the public API (`createVerifier`, `otmAcceptance`), over user arrays;
 * - the decode path (`NodeVerifier`, `createNodeMeta`), over rows in runtime memory;
 * - the exact math layer (`levelOutcome`, `draftLaw`, acceptance closed forms, OTM references).
 */
export { createVerifier, otmAcceptance, type Verifier, type VerifierOptions } from './api.js';
export { NodeVerifier, type NodeVerifierOptions } from './node-verifier.js';
export {
  createNodeMeta,
  draftingMethod,
  draftLawOf,
  isSequenceMethod,
  maxChildrenOf,
  METHOD_NAMES,
  RESIDUAL_EPS,
  SEQUENCE_METHODS,
  VERIFIER_NAMES,
  type DraftLaw,
  type MethodName,
  type SequenceMethod,
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
export {
  TreeTraversal,
  NodeTests,
  IidNodeTests,
  createTestScratch,
  refreshScratch,
  type TestScratch,
  type TraversalRule,
  type TraversalSource,
  type TraversalTree,
} from './traversal.js';
export { HubNodeTests } from './spechub-traversal.js';
export { blockOutcome, blockExpectedKept, sdExpectedKept, type BlockOutcome, type ChainLaw } from './block.js';
