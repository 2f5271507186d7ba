/**
 * `spechub/lp`: the OTM optimum α*(p, Q) for any draft joint, as a linear program solved by HiGHS
 * (a lazy import of the `highs` package). A reference for research and tests, kept out of the core
 * (`spechub/core`, `spechub`) so that pages and bundles never load HiGHS or its Node built-ins.
 *
 *   import { createOtmLpSolver } from 'spechub/lp';
 *   const lp = await createOtmLpSolver();
 *   lp.acceptance(p, [{ drafts: [0, 1], prob: 0.25 }, …]);   // α*(p, Q)
 */
export { createOtmLpSolver, otmAcceptanceLp, type OtmLpOptions, type OtmLpSolver } from './verify/otm-lp.js';
