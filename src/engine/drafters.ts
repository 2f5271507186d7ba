/**
 * Drafters for speculative decoding: a separate draft model sharing the target's tokenizer, or
 * the target's own first N layers (early exit). Quantised self-drafts are separate models loaded
 * from the target's weights with a lower-precision dtype (see src/node/drafters.ts).
 */
import { InvalidArgumentError } from '../errors.js';
import type { LoadedModel } from './load.js';
import type { Drafter } from './speculative.js';

/** A separate draft model; throws TokenizerError when the vocabularies differ. */
export function modelDrafter(target: LoadedModel, draft: LoadedModel, label = draft.name): Drafter {
  target.tokenizer.assertSameVocabulary(draft.tokenizer, ['target', 'draft']);
  if (draft.model.rt !== target.model.rt) throw new InvalidArgumentError('drafter: the draft must be loaded into the target\'s runtime');
  return { model: draft.model, layers: draft.config.nLayers, sharesTargetCache: false, label };
}

/** The target's first `layers` layers with its final norm and head, sharing its cache. */
export function earlyExitDrafter(target: LoadedModel, layers: number): Drafter {
  const n = target.config.nLayers;
  if (!(Number.isInteger(layers) && layers >= 1 && layers < n)) {
    throw new InvalidArgumentError(`drafter exit:${layers}: expected 1 <= N < ${n} (the target's layer count)`);
  }
  return { model: target.model, layers, sharesTargetCache: true, label: `exit:${layers}` };
}
