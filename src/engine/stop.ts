/**
 * What ends a generation — the one place that decides it:
 *   - end-of-generation token ids (`endOfGenerationIds`): the tokenizer's EOS, every id of
 *     config.json's `eos_token_id` (a list for Llama-3.x and others), generation_config.json's
 *     `eos_token_id`, a GGUF's `tokenizer.ggml.eos_token_id` and `eot_token_id`, and the tokenizer's
 *     end-of-generation set (`Tokenizer.eogIds`: the ids llama.cpp stops on, "<|im_end|>", "<|eot_id|>",
 *     "<end_of_turn>", … — so a chat model stops where llama.cpp stops even without a generation_config.json);
 *   - stop strings (`StopStringMatcher`), found in the streamed text across token boundaries.
 * Browser-safe.
 */
import { ConfigError, InvalidArgumentError } from '../errors.js';
import type { LoadedModel } from './load.js';

/**
 * Every token id that ends generation for `model`, ascending and without repeats: the tokenizer's
 * EOS id, config.json / GGUF ids (eosTokenId, eosTokenIds: the file's eos list, a GGUF's eos and
 * eot), generation_config.json's eos_token_id and the tokenizer's end-of-generation set (eogIds).
 * @throws ConfigError when generation_config.json names an id outside the vocabulary.
 */
export function endOfGenerationIds(model: Pick<LoadedModel, 'name' | 'config' | 'tokenizer' | 'generation'>): number[] {
  const ids = new Set<number>();
  const V = model.config.vocabSize;
  if (model.tokenizer.eosId !== null) ids.add(model.tokenizer.eosId);
  for (const id of model.tokenizer.eogIds) ids.add(id);
  if (model.config.eosTokenId !== null) ids.add(model.config.eosTokenId);
  for (const id of model.config.eosTokenIds ?? []) ids.add(id);
  for (const id of model.generation?.eosTokenIds ?? []) {
    if (!(Number.isSafeInteger(id) && id >= 0 && id < V)) {
      throw new ConfigError(`${model.name}/generation_config.json: eos_token_id: expected token ids in [0, ${V}), got ${id}`);
    }
    ids.add(id);
  }
  return [...ids].filter((id) => id >= 0 && id < V).sort((a, b) => a - b);
}

/**
 * Finds the first occurrence of any stop string in text that arrives in pieces (one per token),
 * and says how much of the text may be shown now. Text that could still be the start of a stop
 * string is held back — only that — so streamed text never shows part of a stop string that is
 * later withdrawn, and the text before a stop string is all shown.
 *
 * `push(piece)` returns the text that is safe to emit; once a stop string is complete, `matched` is
 * set and `push` returned the text up to (not including) it. `flush()` at the end of a generation
 * returns what was held back (no stop string followed).
 */
export class StopStringMatcher {
  /** The stop string found, or null. */
  matched: string | null = null;
  private readonly stops: readonly string[];
  private readonly longest: number;
  private held = '';

  /** @throws InvalidArgumentError for an empty string or a non-string in `stops`. */
  constructor(stops: readonly string[]) {
    if (!Array.isArray(stops)) throw new InvalidArgumentError(`stop: expected an array of strings, got ${typeof stops}`);
    for (const [i, s] of stops.entries()) {
      if (typeof s !== 'string' || s.length === 0) throw new InvalidArgumentError(`stop[${i}]: expected a non-empty string, got ${JSON.stringify(s)}`);
    }
    this.stops = [...new Set(stops)];
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /** Whether there is anything to look for. */
  get active(): boolean {
    return this.stops.length > 0;
  }

  /** Text held back so far (a possible start of a stop string). */
  get pending(): string {
    return this.held;
  }

  /** Feed the next piece of text; returns what may be shown now. After a match, returns ''. */
  push(piece: string): string {
    if (this.matched !== null) return '';
    if (this.stops.length === 0) return piece;
    const s = this.held + piece;
    let at = -1;
    let which: string | null = null;
    for (const stop of this.stops) {
      const i = s.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = stop;
      }
    }
    if (which !== null) {
      this.matched = which;
      this.held = '';
      return s.slice(0, at);
    }
    // hold the longest suffix that is a proper prefix of some stop string
    let keep = Math.min(s.length, this.longest - 1);
    for (; keep > 0; keep--) {
      const tail = s.slice(s.length - keep);
      if (this.stops.some((stop) => stop.startsWith(tail))) break;
    }
    this.held = keep > 0 ? s.slice(s.length - keep) : '';
    return keep > 0 ? s.slice(0, s.length - keep) : s;
  }

  /** End of the text: returns what was held back (it did not become a stop string). */
  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }
}
