/**
 * Which built-in chat template the demo preselects for a model that ships none: the one whose turn
 * markers the vocabulary has as special tokens (a model trained on a format has its markers as
 * single special tokens), else ChatML, the most common format. The page shows the reason next to
 * the library's ChatTemplateError; the user can pick another.
 */
import type { Tokenizer } from '../src/index.js';

/** Turn markers (as special tokens) and the built-in template that writes them, in the order they are looked for. */
export const TEMPLATE_MARKERS: readonly (readonly [marker: string, template: string])[] = [
  ['<|im_start|>', 'chatml'],
  ['<|start_header_id|>', 'llama3'],
  ['<start_of_turn>', 'gemma'],
  ['<|end|>', 'phi3'],
  ['[INST]', 'mistral'],
];

/** The built-in template to preselect for a model without one, and why (a phrase for the page). */
export function suggestChatTemplate(tok: Pick<Tokenizer, 'pieceToId' | 'isSpecial'>): { name: string; reason: string } {
  for (const [marker, name] of TEMPLATE_MARKERS) {
    const id = tok.pieceToId(marker);
    if (id !== undefined && tok.isSpecial(id)) return { name, reason: `the vocabulary has ${marker} as a special token` };
  }
  return { name: 'chatml', reason: 'no turn markers in the vocabulary; ChatML is the most common format' };
}
