/**
 * Drafters for speculative decoding: a separate draft model sharing the target's tokenizer, or
 * the target's own first N layers (early exit). Quantised self-drafts are separate models loaded
 * from the target's weights with a lower-precision dtype (see src/node/drafters.ts).
 */
import { InvalidArgumentError } from '../errors.js';
import { LlamaContext } from '../model/context.js';
import type { LoadedModel } from './load.js';
import type { Drafter, StepModel } from './speculative.js';

/** Options of {@link modelDrafter}. */
export interface ModelDrafterOptions {
  /** Label for stats (default: the draft's name). */
  label?: string;
  /**
   * The context the draft runs in: one made with `draft.model.createContext()` (one per concurrent
   * generation, as the target's), or by default the draft model's own.
   */
  context?: StepModel;
}

/**
 * A separate draft model. Throws TokenizerError when the vocabularies differ (see
 * Tokenizer.assertSameVocabulary: same tokens and special ids; the models may have different numbers of
 * embedding rows, as long as every token of the vocabulary has one in both).
 */
export function modelDrafter(target: LoadedModel, draft: LoadedModel, options: string | ModelDrafterOptions = {}): Drafter {
  const o: ModelDrafterOptions = typeof options === 'string' ? { label: options } : options;
  target.tokenizer.assertSameVocabulary(draft.tokenizer, ['target', 'draft']);
  if (draft.model.rt !== target.model.rt) throw new InvalidArgumentError('drafter: the draft must be loaded into the target\'s runtime');
  const context = o.context ?? draft.model;
  if (context instanceof LlamaContext && context.model !== draft.model) {
    throw new InvalidArgumentError(`drafter: the context ${context.name} belongs to another model than the draft ${draft.name}`);
  }
  return { model: context, layers: draft.config.nLayers, sharesTargetCache: false, label: o.label ?? draft.name };
}

/**
 * The target's first `layers` layers with its final norm and head, sharing its cache (in a Generator:
 * the generator's target context).
 */
export function earlyExitDrafter(target: LoadedModel, layers: number): Drafter {
  const n = target.config.nLayers;
  if (!(Number.isInteger(layers) && layers >= 1 && layers < n)) {
    throw new InvalidArgumentError(`drafter exit:${layers}: expected 1 <= N < ${n} (the target's layer count)`);
  }
  return { model: target.model, layers, sharesTargetCache: true, label: `exit:${layers}` };
}
