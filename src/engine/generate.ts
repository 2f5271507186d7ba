/**
 * Text generation: prompt → prefill → steps (plain or speculative, see speculative.ts) → streamed
 * text, with per-run statistics. Browser-safe; yields to the event loop between steps every few
 * milliseconds so pages stay responsive.
 */
import { ChatTemplateError, ContextBusyError, InvalidArgumentError, NumericError, TokenizerError } from '../errors.js';
import { checkedRng, createRng, type Rng } from '../rng.js';
import { isWeightRangeWarning } from '../weights/tensor.js';
import type { LoadedModel } from './load.js';
import { Stepper, newStepStats, type Drafter, type StepModel, type StepStats } from './speculative.js';
import { LlamaContext } from '../model/context.js';

/**
 * Let other tasks run (UI events, I/O) without the ≥1 ms (Node) / ≥4 ms (browsers) clamp of
 * setTimeout(0): setImmediate where it exists (Node), else a MessageChannel round trip.
 */
const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return () => new Promise<void>((resolve) => void si(resolve));
  }
  if (typeof g.MessageChannel === 'function') {
    const ch = new g.MessageChannel();
    const waiting: (() => void)[] = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();

/** acc += the acceptance-by-k counts of s. */
function addCounts(acc: StepStats, s: StepStats): void {
  for (let k = 0; k < acc.reachedByK.length && k < s.reachedByK.length; k++) {
    acc.reachedByK[k]! += s.reachedByK[k]!;
    acc.acceptedByK[k]! += s.acceptedByK[k]!;
  }
}
import { validateSamplingParams, type SamplingParams } from '../sampling.js';
import type { GenerationConfig } from '../config.js';
import { ChatTemplate, encodeChat, type ChatMessage } from '../chat/template.js';
import { endOfGenerationIds, StopStringMatcher } from './stop.js';
import { ChatSession, chatStops, NO_STOPS, resolveChatTemplate, type ChatSessionOptions, type ChatStops } from './chat.js';
import { METHOD_NAMES, maxChildrenOf, type MethodName } from '../verify/types.js';
import { parseTreeSpec, treeSpecLabel, type TreeSpec } from '../draft/tree.js';
import { DYNAMIC_MAX_K, type DynamicTreeSpec } from '../draft/dynamic.js';
import { PERIOD_STEPS, TreeTuner, candidateShapes, measureCosts } from './autotune.js';

/** Dynamic-tree budgets tree "auto" compares with the fixed shapes (those that fit the models' batches). */
export const AUTO_DYNAMIC_BUDGETS: readonly number[] = [8, 16, 32];

/**
 * How a Generator decodes: the context it runs in, the drafter (null: plain decoding), the verifier
 * method, the draft tree (a shape such as [2, 2, 2, 2], a dynamic tree, or "auto"), sampling, and the
 * chat template of `messages` requests. Every field is optional.
 */
export interface GeneratorOptions {
  /**
   * The context (KV cache, activations, batch buffers) the target runs in: one made with
   * `target.model.createContext()` (a Node service: one per concurrent stream), or by default the
   * model's own. Generators on different contexts of one model may generate at the same time; two
   * generations on one context at the same time are refused (ContextBusyError).
   */
  context?: StepModel;
  /**
   * Where drafts come from; null (default) = plain autoregressive decoding. A separate draft model
   * runs in the context the drafter names (modelDrafter's `context` option, else the draft model's
   * own); an early-exit drafter runs in this generator's target context, whatever it was made with.
   */
  drafter?: Drafter | null;
  /**
   * Verifier method (default "spechub"): a node verifier ('sd', 'rrs', 'rrs-wo', 'spechub', 'k-seq')
   * or a sequence-level one ('block' on chains, 'traversal', 'spechub-traversal').
   */
  method?: MethodName;
  /**
   * Tree branching per level, e.g. [2, 2, 2, 2] or "2,2,2,2" (default [2, 2, 2, 2]; [1, 1, 1, 1] for the
   * chain methods sd and block); a dynamic tree,
   * "dynamic:16" or { dynamic: 16 }, whose shape the drafter decides each step under a budget of 16
   * draft nodes; or "auto", which measures the target and draft cost curves on this machine (at
   * `generator.tune()`, or else at the first generation, not in the constructor) and then picks,
   * every few steps, a fixed shape, a dynamic tree or plain decoding by the tokens per second they give.
   */
  tree?: readonly number[] | string | DynamicTreeSpec;
  /**
   * Sampling applied identically to target and draft. Fields left out come from the model's
   * generation_config.json (do_sample false ⇒ temperature 0, temperature, top_k, top_p), else
   * temperature 1, no top-k, no top-p. See Generator.samplingDefaults for what was taken.
   */
  sampling?: Partial<SamplingParams>;
  /** Take sampling defaults and max_new_tokens from generation_config.json (default true). */
  generationConfig?: boolean;
  /**
   * The chat template of `messages` requests and chat sessions: a ChatTemplate, the name of one the
   * model ships (e.g. "tool_use"), or of a built-in one (chatml, llama3, …; see
   * BUILTIN_CHAT_TEMPLATES). Default: the model's own.
   */
  chatTemplate?: ChatTemplate | string;
  /**
   * Special-token text inside message contents (`messages` requests and chat sessions): 'plain'
   * (default) keeps it text; 'parse' makes it the special token (see encodeChat).
   */
  specialInContent?: 'plain' | 'parse';
}

/**
 * One generation: the prompt (`prompt` text, `promptIds` [n] token ids, or chat `messages`), how
 * much to generate (`maxTokens`), where to stop (`stop` strings, `stopAtEos`), the randomness (`rng`
 * or `seed`), an abort `signal`, and the streaming callbacks `onText` (text pieces) and `onStep`
 * (every speculative step).
 */
export interface GenerateRequest {
  /**
   * Prompt text, BOS first when the tokenizer adds one; special-token strings in it are plain text
   * (encode with `parseSpecial: true` and pass `promptIds` for a rendered chat). "" or omitted
   * starts from BOS alone.
   */
  prompt?: string;
  /** Prompt token ids instead of text (BOS not added). */
  promptIds?: Int32Array | readonly number[];
  /**
   * A conversation instead of a prompt: rendered with the chat template (with the generation
   * prompt, so the output is the assistant's reply) and tokenized with its special tokens.
   */
  messages?: readonly ChatMessage[];
  /** Extra chat-template variables for `messages` (e.g. { enable_thinking: false }). */
  chatVariables?: Readonly<Record<string, unknown>>;
  /** Most tokens to generate (default: generation_config.json's max_new_tokens, else 256). */
  maxTokens?: number;
  /**
   * Stop at an end-of-generation token (default true): any EOS id of the model (see
   * endOfGenerationIds), and with `messages` the chat template's end-of-turn token. It is not part
   * of the output.
   */
  stopAtEos?: boolean;
  /**
   * Stop strings: generation ends when the text contains one. The text stops right before it;
   * streamed text never shows a part of one (only a possible start of a stop string is held back
   * until it is decided). `ids` keeps the tokens up to the one that completed the stop string.
   */
  stop?: readonly string[];
  /** Seeded generator; or `seed` to make one (default seed 0). */
  rng?: Rng;
  seed?: number;
  /** Called with each new piece of text as soon as it is complete UTF-8. */
  onText?: (text: string) => void;
  /** Called with each new token id. */
  onToken?: (id: number) => void;
  /** Stop early when aborted (the result so far is returned). */
  signal?: AbortSignal;
  /**
   * Called after every step (plain or speculative) with what the step did: the draft tree as drawn,
   * the accepted path, the emitted tokens and how the last one came about, and acceptance so far.
   * The event is the generator's own reused object (see StepEvent): copy what you keep. Without a
   * callback nothing is recorded or allocated.
   */
  onStep?: (event: StepEvent) => void;
}

/**
 * One decoding step as `GenerateRequest.onStep` reports it. The object and every array in it are
 * the generator's own buffers, overwritten by the next step: read or copy inside the callback.
 *
 * The tree is in BFS order (parents[i] < i, siblings contiguous). Node 0 is the root: the last
 * token emitted before this step (the prompt's last token at step 0), parent −1, depth 0. Node i
 * at depth d is a draft for the token at generated position (tokens so far) + d − 1.
 */
export interface StepEvent {
  /** 0-based step index in this generation (one target forward per step). */
  step: number;
  /** Branching per level the step used; [] for a plain step (no drafter, tree "auto" chose plain decoding, or no room left) and for a dynamic tree. */
  shape: readonly number[];
  /** Node budget of the dynamic tree the step used (0 for a fixed shape or a plain step); the drawn tree is in tokens/parents/depths. */
  dynamic: number;
  /** Nodes of the drawn tree, root included: tokens[0..size), parents[0..size), depths[0..size). */
  size: number;
  /** Token ids [size]. */
  tokens: Int32Array;
  /** Parent node ids [size] (−1 for the root). */
  parents: Int32Array;
  /** Depth of each node [size] (0 for the root). */
  depths: Int32Array;
  /** The accepted path as node ids, root first: path[0..pathLength). pathLength − 1 drafts were accepted. */
  path: Int32Array;
  pathLength: number;
  /**
   * Tokens the step emitted: emitted[0..emittedCount) = the tokens of path[1..pathLength), then the
   * final token. All of them, as the step drew them: when one is EOS (or maxTokens is reached) the
   * generation keeps only the tokens before it.
   */
  emitted: Int32Array;
  emittedCount: number;
  /**
   * The final token: 'correction' = drawn from the residual at a node whose drafts were all
   * rejected; 'bonus' = drawn from p at a leaf of the tree (every draft on the path accepted);
   * 'plain' = a plain step's token (a tree of the root alone).
   */
  final: 'correction' | 'bonus' | 'plain';
  /** Per tree level l (index l − 1), so far in this generation: times the walk reached level l − 1 with drafts … */
  levelReached: readonly number[];
  /** … and times it continued into a draft at level l (acceptance at level l = levelAccepted / levelReached). */
  levelAccepted: readonly number[];
  /** Tokens generated so far, this step's included (as the result counts them: EOS excluded). */
  generated: number;
  /** Milliseconds since decoding began (prefill excluded), at the end of this step. */
  elapsedMs: number;
}

/** Why generation ended: an end-of-generation token, a stop string, maxTokens, a full context, or the abort signal. */
export type StopReason = 'eos' | 'stop' | 'max_tokens' | 'context' | 'aborted';

/**
 * Counts and times of one generation: tokens, steps, tokens per step, draft nodes per step,
 * acceptance per tree level ([depth] rates), forwards and milliseconds of target and draft,
 * tokens per second, prompt tokens reused from the cache and prefilled, and the trees used.
 */
export interface GenerationStats {
  /** Tokens of the prompt (for a chat turn: the whole rendered conversation). */
  promptTokens: number;
  /** Prompt tokens whose keys and values were already in the cache (a chat session's earlier turns). */
  reusedTokens: number;
  /**
   * Prompt tokens run in the prefill: promptTokens − reusedTokens − 1 (the prompt's last token is
   * the first decoding step's input).
   */
  prefilledTokens: number;
  generatedTokens: number;
  /** Target forward passes in the decode phase (one per step). */
  steps: number;
  /** generatedTokens / steps: accepted drafts + 1 per target forward (EOS steps count what they emitted). */
  tokensPerStep: number;
  /** Per tree level: P(continue into a child at level l | the walk reached level l − 1). */
  acceptancePerLevel: number[];
  /** Whether the tree shape was chosen automatically (tree "auto"). */
  treeAuto: boolean;
  /** Steps spent on each tree ("" = plain, "2,2", "dynamic:16"), most used first. */
  treeChoices: { tree: string; steps: number }[];
  /** Draft nodes per step, averaged over the steps (the tree's size without its root). */
  draftNodesPerStep: number;
  prefillMs: number;
  decodeMs: number;
  /** generatedTokens / decode seconds. */
  tokensPerSecond: number;
  targetForwards: number;
  targetMs: number;
  draftForwards: number;
  draftMs: number;
  verifyMs: number;
  method: MethodName | 'none';
  /** The fixed tree shape at the end ([] for plain decoding or a dynamic tree). */
  tree: number[];
  /** The tree at the end as a label: "2,2,2,2", "dynamic:16", or "" for plain decoding. */
  treeLabel: string;
  drafter: string;
}

/**
 * What `Generator.generate` returns: the generated `ids` (Int32Array [count], prompt and the final
 * end-of-generation token excluded), their `text`, why it stopped (`stopReason`, and `stopString`
 * for a stop string), and the `stats`.
 */
export interface GenerationResult {
  /** Generated token ids (prompt excluded, EOS excluded). */
  ids: Int32Array;
  text: string;
  stopReason: StopReason;
  /** The stop string that ended generation (stopReason "stop"), else null. */
  stopString: string | null;
  stats: GenerationStats;
}

/** The sampling settings and max_new_tokens a generation_config.json asks for, and the fields they came from. */
export function generationDefaults(g: GenerationConfig | null): { sampling: Partial<SamplingParams>; maxTokens: number | null; fields: string[] } {
  const sampling: Partial<SamplingParams> = {};
  const fields: string[] = [];
  if (g) {
    if (g.doSample === false) {
      sampling.temperature = 0;
      fields.push('do_sample=false');
    } else {
      if (g.temperature !== undefined) {
        sampling.temperature = g.temperature;
        fields.push(`temperature=${g.temperature}`);
      }
      if (g.topK !== undefined) {
        sampling.topK = g.topK;
        fields.push(`top_k=${g.topK}`);
      }
      if (g.topP !== undefined) {
        sampling.topP = g.topP;
        fields.push(`top_p=${g.topP}`);
      }
    }
    if (g.maxNewTokens !== undefined) fields.push(`max_new_tokens=${g.maxNewTokens}`);
    // settings spechub's sampler does not have: named, so that nobody thinks they were applied
    for (const [k, v] of Object.entries(g.unappliedSampling ?? {})) fields.push(`${k}=${JSON.stringify(v)} (not applied)`);
  }
  return { sampling, maxTokens: g?.maxNewTokens ?? null, fields };
}

/**
 * An early-exit drafter (sharing the target's cache) runs in the generator's own target context; it
 * must be made from the same weights.
 */
function sharedCacheDrafter(drafter: Drafter | null, context: StepModel): Drafter | null {
  if (drafter === null || !drafter.sharesTargetCache || drafter.model === context) return drafter;
  const weights = (m: StepModel) => (m instanceof LlamaContext ? m.model : m);
  if (weights(drafter.model) !== weights(context)) {
    throw new InvalidArgumentError(`generate: the drafter ${drafter.label} shares the cache of another model than the target`);
  }
  return { ...drafter, model: context };
}

/** Generates text from a loaded target model, optionally with a drafter. Not re-entrant. */
export class Generator {
  readonly target: LoadedModel;
  /** The context the target runs in (GeneratorOptions.context, else the model's own). */
  readonly context: StepModel;
  readonly stepper: Stepper;
  readonly method: MethodName;
  /**
   * The tree the generator starts with (a shape, [] for plain decoding, or a dynamic tree). With tree
   * "auto": [] until `tune()` has measured, then the tuner's first choice.
   */
  get tree(): TreeSpec {
    return this.startTree;
  }
  private startTree: TreeSpec;
  readonly sampling: Required<SamplingParams>;
  /**
   * The generation_config.json settings this generator uses because the caller left them out, as
   * "field=value" (e.g. ["temperature=0.6", "top_p=0.9", "max_new_tokens=512"]), then the file's
   * sampling settings spechub does not apply, as "field=value (not applied)" (e.g.
   * "repetition_penalty=1.05 (not applied)"); [] when none.
   */
  readonly samplingDefaults: readonly string[];
  /** Every token id that ends generation (see endOfGenerationIds), ascending. */
  readonly eosIds: readonly number[];
  /** Default maxTokens of a request (generation_config.json's max_new_tokens, else 256). */
  readonly defaultMaxTokens: number;
  /** With tree "auto", once `tune()` has measured (explicitly or at the first generation); else null. */
  get tuner(): TreeTuner | null {
    return this.tunerState;
  }
  private tunerState: TreeTuner | null = null;
  /** With tree "auto": what `tune()` measures for (the largest tree and the candidates), until it has. */
  private readonly autoTree: { drafter: Drafter; maxNodes: number; candidates: number[][]; budgets: number[]; dynamicMaxK: number } | null = null;
  /** Acceptance counts of earlier generations (the tuner learns across calls), and a reused merge buffer. */
  private readonly pastStats: StepStats | null = null;
  private readonly tuneStats: StepStats | null = null;
  private busy = false;
  private readonly choiceSteps = new Map<string, number>();
  private unitsPerToken = 0;
  /** The one StepEvent object handed to every onStep call (its arrays are the stepper's). */
  private readonly event: StepEvent;
  /** 1 at every end-of-generation id [vocabSize]. */
  private readonly eosMask: Uint8Array;
  private readonly chatTemplateOption: ChatTemplate | string | undefined;
  /** How message contents' special-token text is tokenized (GeneratorOptions.specialInContent). @internal */
  readonly specialInContent: 'plain' | 'parse';
  private chatTemplateCache: ChatTemplate | null = null;
  /**
   * Who last left tokens in the caches that it may continue from (a ChatSession), or null after a
   * one-shot generation. A session that does not own the caches re-prefills.
   * @internal
   */
  cacheOwner: object | null = null;

  constructor(target: LoadedModel, options: GeneratorOptions = {}) {
    this.target = target;
    const context = options.context ?? target.model;
    if (context instanceof LlamaContext && context.model !== target.model) {
      throw new InvalidArgumentError(`generate: the context ${context.name} belongs to another model than ${target.name}`);
    }
    if (context.config.vocabSize !== target.config.vocabSize) {
      throw new InvalidArgumentError(`generate: the context has ${context.config.vocabSize} logits, the model ${target.config.vocabSize}`);
    }
    this.context = context;
    const drafter = sharedCacheDrafter(options.drafter ?? null, context);
    const method = options.method ?? 'spechub';
    if (!METHOD_NAMES.includes(method)) {
      throw new InvalidArgumentError(`generate: expected a verifier in ${METHOD_NAMES.join(', ')}, got ${String(method)}`);
    }
    this.method = method;
    const defaults = generationDefaults(options.generationConfig === false ? null : target.generation);
    const given = Object.fromEntries(Object.entries(options.sampling ?? {}).filter(([, v]) => v !== undefined)) as Partial<SamplingParams>;
    this.sampling = validateSamplingParams({ temperature: 1, topK: 0, topP: 1, ...defaults.sampling, ...given });
    this.samplingDefaults = defaults.fields.filter((f) => {
      const key = f.slice(0, f.indexOf('='));
      if (key === 'do_sample' || key === 'temperature') return given.temperature === undefined;
      if (key === 'top_k') return given.topK === undefined;
      if (key === 'top_p') return given.topP === undefined;
      return true;
    });
    this.defaultMaxTokens = defaults.maxTokens ?? 256;
    this.eosIds = endOfGenerationIds(target);
    this.eosMask = new Uint8Array(target.config.vocabSize);
    for (const id of this.eosIds) this.eosMask[id] = 1;
    this.chatTemplateOption = options.chatTemplate;
    this.specialInContent = options.specialInContent ?? 'plain';
    if (this.specialInContent !== 'plain' && this.specialInContent !== 'parse') {
      throw new InvalidArgumentError(`generate: expected specialInContent to be 'plain' or 'parse', got ${String(options.specialInContent)}`);
    }
    if (options.chatTemplate !== undefined) this.chatTemplateCache = resolveChatTemplate(target, options.chatTemplate);
    if (options.tree === 'auto' && drafter) {
      const maxNodes = Math.min(context.maxBatch, 64);
      const candidates = candidateShapes(maxNodes, 6, 4, method === 'sd' || method === 'block');
      const budgets = AUTO_DYNAMIC_BUDGETS.filter((n) => n + 1 <= maxNodes && n <= drafter.model.maxBatch);
      // the cost curves are measured later (tune()): a constructor runs no timed benchmark
      // a dynamic tree's widest node (the planner's limit): the tuner bounds its acceptance by α(1 … that)
      const dynamicMaxK = maxChildrenOf(method) === 1 ? 1 : DYNAMIC_MAX_K;
      this.autoTree = { drafter, maxNodes, candidates, budgets, dynamicMaxK };
      this.pastStats = newStepStats(6, 4);
      this.tuneStats = newStepStats(6, 4);
      this.startTree = [];
      const altShapes: TreeSpec[] = [...candidates, ...budgets.map((n) => ({ dynamic: n }))];
      this.stepper = new Stepper({ target: context, drafter, method, tree: [], altShapes, sampling: this.sampling });
    } else {
      // plain decoding ignores the tree; a drafter needs a valid one
      const chain = maxChildrenOf(method) === 1;
      this.startTree = !drafter ? [] : options.tree === undefined || options.tree === 'auto' ? (chain ? [1, 1, 1, 1] : [2, 2, 2, 2]) : parseTreeSpec(options.tree);
      this.stepper = new Stepper({ target: context, drafter, method, tree: this.startTree, sampling: this.sampling });
    }
    const st = this.stepper;
    this.event = {
      step: 0, shape: st.shape, dynamic: st.dynamic, size: 0, tokens: st.tree.tokens, parents: st.tree.parents, depths: st.tree.depths,
      path: st.path, pathLength: 0, emitted: st.emitted, emittedCount: 0, final: 'plain',
      levelReached: st.stats.levelReached, levelAccepted: st.stats.levelAccepted, generated: 0, elapsedMs: 0,
    };
  }

  /**
   * The chat template `messages` requests and chat sessions use (GeneratorOptions.chatTemplate, else
   * the model's own).
   * @throws ChatTemplateError when the model ships none and none was chosen.
   */
  get chatTemplate(): ChatTemplate {
    if (this.chatTemplateCache === null) this.chatTemplateCache = resolveChatTemplate(this.target, this.chatTemplateOption);
    return this.chatTemplateCache;
  }

  /**
   * Encode a request's prompt: BOS + text, the given ids (which must be integers in [0, vocab):
   * nothing is rounded or coerced), or the rendered conversation. Never empty. A text prompt that
   * cannot fit the context is refused before it is encoded (see maxUnitsPerToken), so a huge text
   * costs nothing.
   */
  promptIds(req: GenerateRequest): Int32Array {
    if (typeof req !== 'object' || req === null) throw new InvalidArgumentError(`generate: expected a request object, got ${req === null ? 'null' : typeof req}`);
    const tok = this.target.tokenizer;
    const capacity = this.context.cache.capacity;
    const V = this.target.config.vocabSize;
    const given = [req.prompt !== undefined, req.promptIds !== undefined, req.messages !== undefined].filter(Boolean).length;
    if (given > 1) throw new InvalidArgumentError('generate: expected one of prompt, promptIds or messages, got several');
    if (req.chatVariables !== undefined && req.messages === undefined) throw new InvalidArgumentError('generate: chatVariables apply to messages, but the request has none');
    if (req.messages !== undefined) {
      const ids = encodeChat(tok, this.chatTemplate, req.messages, {
        addGenerationPrompt: true,
        specialInContent: this.specialInContent,
        ...(req.chatVariables ? { variables: req.chatVariables } : {}),
      }).ids;
      if (ids.length === 0) throw new ChatTemplateError(`generate: ${this.chatTemplate.source} rendered the conversation as no tokens`);
      return ids;
    }
    if (req.promptIds !== undefined) {
      const raw: unknown = req.promptIds;
      if (!(raw instanceof Int32Array) && !Array.isArray(raw)) {
        throw new InvalidArgumentError(`generate: expected promptIds to be an Int32Array or an array of token ids, got ${raw === null ? 'null' : typeof raw}`);
      }
      const list = raw as ArrayLike<unknown>;
      if (list.length === 0) throw new InvalidArgumentError('generate: promptIds is empty; give at least one token (e.g. BOS)');
      if (list.length > capacity) throw new InvalidArgumentError(`generate: the prompt has ${list.length} tokens; the context holds ${capacity}`);
      for (let i = 0; i < list.length; i++) {
        const id = list[i];
        if (!(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < V)) {
          throw new InvalidArgumentError(`generate: promptIds[${i}]: expected a token id (an integer in [0, ${V})), got ${typeof id === 'number' ? id : typeof id}`);
        }
      }
      return Int32Array.from(list as ArrayLike<number>);
    }
    const prompt: unknown = req.prompt ?? '';
    if (typeof prompt !== 'string') throw new InvalidArgumentError(`generate: expected prompt to be a string, got ${prompt === null ? 'null' : typeof prompt}`);
    if (tok.bosId === null && !prompt) throw new TokenizerError('generate: empty prompt and the tokenizer has no BOS token to start from');
    // BOS as the tokenizer files say (llama.cpp's add_bos); an empty prompt starts from BOS
    const bos = tok.addBos || !prompt;
    const atLeast = Math.ceil(prompt.length / this.maxUnitsPerToken()) + (bos ? 1 : 0);
    if (atLeast > capacity) {
      throw new InvalidArgumentError(`generate: the prompt of ${prompt.length} characters has at least ${atLeast} tokens; the context holds ${capacity}`);
    }
    return tok.encode(prompt, { bos });
  }

  /**
   * Most UTF-16 units of prompt text one token can stand for: 4 × the longest piece (a piece covers
   * at most as many units as it has: "▁" is one space, a byte-level character one byte, a byte
   * token "<0x41>" one byte; 4 leaves room for normalisers that compose up to 4 units into one
   * character). A text of L units therefore has at least L / this tokens. Computed once.
   */
  private maxUnitsPerToken(): number {
    if (this.unitsPerToken === 0) {
      const tok = this.target.tokenizer;
      let longest = 1;
      for (let id = 0; id < tok.vocabSize; id++) longest = Math.max(longest, tok.idToPiece(id).length);
      this.unitsPerToken = 4 * longest;
    }
    return this.unitsPerToken;
  }

  /** Generate one completion. */
  async generate(req: GenerateRequest = {}): Promise<GenerationResult> {
    return this.exclusive(() => {
      const prompt = this.promptIds(req);
      const extra = req.messages !== undefined ? chatStops(this.target, this.chatTemplate) : NO_STOPS;
      return this.run(req, prompt, null, extra, null);
    });
  }

  /**
   * A chat session over this generator: a conversation whose KV cache is kept between turns, so
   * that a turn prefills only its new tokens (see ChatSession).
   */
  chat(options: ChatSessionOptions = {}): ChatSession {
    return new ChatSession(this, options);
  }

  /**
   * With tree "auto": measure what a forward of 1 … N rows costs the target and the draft on this
   * machine (a timed benchmark: tens of milliseconds on the shipped models, longer on large ones)
   * and set up the tuner that picks trees from it as acceptance is observed. The first generation
   * does this itself when it has not been done; call it to choose when the time is spent (at
   * start-up rather than in a user's first request). It runs forwards in the target's and the
   * draft's contexts (their committed tokens are left as they were), so a generation running on
   * this generator or on those contexts makes it a ContextBusyError. Idempotent: later calls return
   * the same tuner. Without tree "auto": null.
   */
  async tune(): Promise<TreeTuner | null> {
    if (this.autoTree === null || this.tunerState !== null) return this.tunerState;
    return this.exclusive(async () => {
      const st = this.stepper;
      st.begin();
      try {
        return this.measureForTuner();
      } finally {
        st.end();
      }
    });
  }

  /** tune()'s measurement, with the caches held (measureCosts rolls them back to their committed rows). */
  private measureForTuner(): TreeTuner | null {
    const auto = this.autoTree;
    if (auto === null || this.tunerState !== null) return this.tunerState;
    const costs = measureCosts(this.context, auto.drafter, auto.maxNodes);
    const tuner = new TreeTuner(costs, auto.candidates, !auto.drafter.sharesTargetCache, auto.budgets, auto.dynamicMaxK);
    this.tunerState = tuner;
    this.startTree = tuner.choose(null).tree;
    this.stepper.setTree(this.startTree);
    return tuner;
  }

  /** Run `fn` as this generator's one active generation. @internal */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) {
      throw new ContextBusyError('generate: this Generator is already generating (create one Generator, on its own context, per concurrent stream)');
    }
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  /**
   * Prefill `prompt` (all but its last token, which is the first step's root) and decode. With
   * `keep` null the caches start empty; otherwise their first `keep` positions already hold
   * prompt[0..keep) (a chat session's earlier turns) and only the rest is prefilled. Afterwards the
   * caches hold the prompt and the generated tokens up to the stop (at most all but the last).
   * @internal
   */
  async run(req: GenerateRequest, prompt: Int32Array, keep: number | null, extra: ChatStops, owner: object | null): Promise<GenerationResult> {
    const maxTokens = req.maxTokens ?? this.defaultMaxTokens;
    if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError(`generate: expected maxTokens to be an integer >= 0, got ${String(maxTokens)}`);
    }
    const stops = new StopStringMatcher([...(req.stop ?? []), ...extra.strings]);
    // a caller's Rng has every draw checked (a draw outside [0, 1) would emit tokens of probability 0)
    const rng = req.rng !== undefined ? checkedRng(req.rng, 'generate: rng') : createRng(req.seed ?? 0);
    const capacity = this.context.cache.capacity;
    if (prompt.length > capacity) {
      throw new InvalidArgumentError(`generate: the prompt has ${prompt.length} tokens; the context holds ${capacity}`);
    }
    const st = this.stepper;
    st.begin(); // the caches are this generation's until it ends (others get a ContextBusyError)
    try {
      // tree "auto" not tuned yet: measure now (the caches' committed rows stay as they are)
      if (this.autoTree !== null && this.tunerState === null) this.measureForTuner();
      return await this.decode(req, prompt, keep, extra, owner, maxTokens, stops, rng);
    } finally {
      st.end();
    }
  }

  private async decode(
    req: GenerateRequest, prompt: Int32Array, keep: number | null, extra: ChatStops, owner: object | null, maxTokens: number, stops: StopStringMatcher, rng: Rng,
  ): Promise<GenerationResult> {
    const st = this.stepper;
    this.cacheOwner = null;
    const t0 = performance.now();
    // tree auto on plain steps: a separate draft catches up on the prompt only if a tree comes back
    const tuner = this.tuner;
    const deferDraft = tuner !== null && treeSpecLabel(tuner.current.tree) === '';
    if (keep === null) {
      st.reset();
      st.prefill(prompt.subarray(0, prompt.length - 1), deferDraft);
    } else {
      st.prefillFrom(prompt.subarray(0, prompt.length - 1), keep, deferDraft);
    }
    const t1 = performance.now();
    this.choiceSteps.clear();
    const tokenizer = this.target.tokenizer;
    const useEos = req.stopAtEos !== false;
    const eosMask = this.eosMask;
    const extraIds = extra.ids;
    const decoder = tokenizer.streamDecoder();
    // ids past the tokenizer's vocabulary (a model's embedding padding rows, e.g. Qwen2.5's 151665…151935)
    // have no text: they stay in `ids` and decode to nothing, as transformers decodes them
    const texted = tokenizer.vocabSize;
    for (const id of prompt) if (id < texted) decoder.push(id);

    // at most capacity − prompt + 1 tokens can be produced (each but the last takes a position); + 1 spare
    const out = new Int32Array(Math.min(maxTokens, this.context.cache.capacity - prompt.length + 2));
    let count = 0;
    let root = prompt[prompt.length - 1]!;
    let stop: StopReason = 'max_tokens';
    let text = '';
    const emit = (piece: string) => {
      const shown = stops.push(piece);
      if (shown) {
        text += shown;
        req.onText?.(shown);
      }
    };
    let lastYield = performance.now();
    while (count < maxTokens) {
      if (req.signal?.aborted) {
        stop = 'aborted';
        break;
      }
      if (st.room <= 0) {
        stop = 'context';
        break;
      }
      if (this.tuner && st.stats.targetForwards % PERIOD_STEPS === 0) st.setTree(this.tuner.choose(this.mergedStats()).tree);
      const shapeKey = treeSpecLabel(st.treeSpec);
      this.choiceSteps.set(shapeKey, (this.choiceSteps.get(shapeKey) ?? 0) + 1);
      const stepStart = this.tuner ? performance.now() : 0;
      try {
        st.step(root, rng, maxTokens - count);
      } catch (e) {
        throw e instanceof NumericError ? this.numericFailure(e, prompt.length + count) : e;
      }
      if (this.tuner) this.tuner.observe(st.emittedCount, performance.now() - stepStart);
      let ended = false;
      for (let j = 0; j < st.emittedCount; j++) {
        const id = st.emitted[j]!;
        if (useEos && (eosMask[id] === 1 || (extraIds.length > 0 && extraIds.includes(id)))) {
          stop = 'eos';
          ended = true;
          break;
        }
        if (count === out.length) {
          // out is sized by the context: a token past it cannot have a position (never reached)
          stop = 'context';
          ended = true;
          break;
        }
        out[count++] = id;
        req.onToken?.(id);
        const piece = id < texted ? decoder.push(id) : '';
        if (piece) emit(piece);
        root = id;
        if (stops.matched !== null) {
          stop = 'stop';
          ended = true;
          break;
        }
        if (count >= maxTokens) break;
      }
      if (req.onStep) req.onStep(this.stepEvent(count, t1));
      if (ended) break;
      const now = performance.now();
      if (now - lastYield > 16) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (this.pastStats) addCounts(this.pastStats, st.stats);
    if (stops.matched === null) {
      const tail = decoder.flush();
      if (tail) emit(tail);
      if (stops.matched !== null) stop = 'stop';
      else {
        const held = stops.flush();
        if (held) {
          text += held;
          req.onText?.(held);
        }
      }
    }
    // the caches keep the prompt and the generated tokens, nothing past the stop
    st.truncate(Math.min(this.context.cache.length, prompt.length + count));
    this.cacheOwner = owner;
    const t2 = performance.now();
    return {
      ids: out.slice(0, count),
      text,
      stopReason: stop,
      stopString: stops.matched,
      stats: this.summarize(st.stats, prompt.length, keep ?? 0, count, t1 - t0, t2 - t1),
    };
  }

  /** Fill the reused StepEvent from the stepper's last step. */
  private stepEvent(generated: number, decodeStart: number): StepEvent {
    const st = this.stepper;
    const e = this.event;
    e.step = st.stats.targetForwards - 1;
    e.shape = st.shape;
    e.dynamic = st.dynamic;
    e.size = st.tree.size;
    e.pathLength = st.pathLength;
    e.emittedCount = st.emittedCount;
    e.final = st.tree.size === 1 ? 'plain' : st.lastIsBonus ? 'bonus' : 'correction';
    e.levelReached = st.stats.levelReached; // reset() replaces the stats object
    e.levelAccepted = st.stats.levelAccepted;
    e.generated = generated;
    e.elapsedMs = performance.now() - decodeStart;
    return e;
  }

  /** A NumericError from a step, restated with the model and the position it happened at. */
  private numericFailure(e: NumericError, position: number): NumericError {
    const range = this.target.warnings.find(isWeightRangeWarning);
    const warned = range !== undefined ? ` (loading warned: ${range})` : '';
    return new NumericError(
      `generate: ${this.target.name} produced non-finite values at position ${position}, so no token can be drawn${warned}: ${e.message}`,
      { cause: e },
    );
  }

  /** This generation's acceptance counts plus the earlier ones' (for the tuner). */
  private mergedStats(): StepStats {
    const m = this.tuneStats!;
    const past = this.pastStats!;
    const now = this.stepper.stats;
    for (let k = 0; k < m.reachedByK.length; k++) {
      m.reachedByK[k] = past.reachedByK[k]! + (now.reachedByK[k] ?? 0);
      m.acceptedByK[k] = past.acceptedByK[k]! + (now.acceptedByK[k] ?? 0);
    }
    return m;
  }

  /** P(continue | reached) per level; dynamic and auto trees list only the levels ever reached. */
  private levelAcceptance(s: StepStats): number[] {
    let levels = s.levelReached.length;
    if (this.tuner || this.stepper.dynamic > 0) while (levels > 0 && s.levelReached[levels - 1] === 0) levels--;
    return s.levelReached.slice(0, levels).map((r, l) => (r > 0 ? s.levelAccepted[l]! / r : 0));
  }

  private summarize(s: StepStats, promptTokens: number, reused: number, generated: number, prefillMs: number, decodeMs: number): GenerationStats {
    const steps = s.targetForwards;
    return {
      promptTokens,
      reusedTokens: reused,
      prefilledTokens: Math.max(0, promptTokens - 1 - reused),
      generatedTokens: generated,
      steps,
      tokensPerStep: steps > 0 ? s.tokens / steps : 0,
      acceptancePerLevel: this.levelAcceptance(s),
      treeAuto: this.tuner !== null,
      treeChoices: [...this.choiceSteps].sort((a, b) => b[1] - a[1]).map(([tree, steps]) => ({ tree, steps })),
      draftNodesPerStep: steps > 0 ? s.draftNodes / steps : 0,
      prefillMs,
      decodeMs,
      tokensPerSecond: decodeMs > 0 ? (generated * 1000) / decodeMs : 0,
      targetForwards: steps,
      targetMs: s.targetMs,
      draftForwards: s.draftForwards,
      draftMs: s.draftMs,
      verifyMs: s.verifyMs,
      method: this.stepper.drafter ? this.method : 'none',
      tree: [...this.stepper.shape],
      treeLabel: treeSpecLabel(this.stepper.treeSpec),
      drafter: this.stepper.drafter?.label ?? 'none',
    };
  }
}
