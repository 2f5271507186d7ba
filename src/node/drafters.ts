/**
 * Node: the --draft specifications of the CLI: DIR|FILE, int8, int4, exit:N, none.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { LoadedModel, LoadModelOptions } from '../engine/load.js';
import { earlyExitDrafter, modelDrafter } from '../engine/drafters.js';
import type { Drafter } from '../engine/speculative.js';
import type { Runtime } from '../wasm/runtime.js';
import { loadModelFromPath } from './load.js';

const WEIGHTS = fileURLToPath(new URL('../../../weights/', import.meta.url));

/** Default draft of each shipped model (resolved paths). */
export const DEFAULT_DRAFTS: ReadonlyMap<string, string> = new Map([
  [resolve(join(WEIGHTS, 'stories260K')), resolve(join(WEIGHTS, 'stories281K-draft'))],
]);

/**
 * Resolve a draft spec for `target` (loaded from `targetPath`): "none" → null, "exit:N", "int8",
 * "int4", or a path to a draft model sharing the tokenizer (its load warnings go to `warn`).
 */
export async function resolveDrafter(
  rt: Runtime, target: LoadedModel, targetPath: string, spec: string, options: LoadModelOptions = {}, warn?: (line: string) => void,
): Promise<Drafter | null> {
  if (spec === 'none') return null;
  const exit = /^exit:(\d+)$/.exec(spec);
  if (exit) return earlyExitDrafter(target, Number(exit[1]));
  if (spec.startsWith('exit:')) throw new InvalidArgumentError(`--draft ${spec}: expected exit:N with N a layer count`);
  if (spec === 'int8' || spec === 'int4') {
    const draft = await loadModelFromPath(rt, targetPath, { ...options, name: `${target.name}.${spec}`, dtype: spec, tokenizer: target.tokenizer }); // the same files: the target's tokenizer
    const note = selfDraftNote(target, draft, spec);
    if (note !== null) warn?.(note);
    return modelDrafter(target, draft, spec);
  }
  const draft = await loadModelFromPath(rt, spec, options);
  for (const w of draft.warnings) warn?.(`${spec}: ${w}`);
  return modelDrafter(target, draft, spec);
}

/**
 * A self-draft is worth its forwards only when it reads far fewer weight bytes per token than its
 * target: a line saying so when the draft's packed weights are more than 0.6× the target's (say an
 * int4 copy of a Q4_K_M file), else null.
 */
function selfDraftNote(target: LoadedModel, draft: LoadedModel, spec: string): string | null {
  const bytes = (m: LoadedModel) => [...m.model.weightTypes.values()].reduce((a, b) => a + b, 0);
  const types = (m: LoadedModel) => [...m.model.weightTypes.keys()].join('+');
  const ratio = bytes(draft) / bytes(target);
  if (!(ratio > 0.6)) return null;
  return `--draft ${spec}: the draft's weights (${types(draft)}) are ${ratio.toFixed(2)}× the target's (${types(target)}), ` +
    'and a draft gains only when it is much cheaper than its target: expect no speed-up, and a slow-down with a fixed tree (--tree auto keeps to plain steps when drafting does not pay)';
}
