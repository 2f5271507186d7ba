/**
 * Text generation: prompt → prefill → steps (plain or speculative, see speculative.ts) → streamed
 * text, with per-run statistics. Browser-safe; yields to the event loop between steps every few
 * milliseconds so pages stay responsive.
 */
import { InvalidArgumentError, TokenizerError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';
import type { LoadedModel } from './load.js';
import { Stepper, newStepStats, type Drafter, type StepStats } from './speculative.js';

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
import { METHOD_NAMES, maxChildrenOf, type MethodName } from '../verify/types.js';
import { parseTreeSpec, treeSpecLabel, type TreeSpec } from '../draft/tree.js';
import type { DynamicTreeSpec } from '../draft/dynamic.js';
import { TreeTuner, candidateShapes, measureCosts } from './autotune.js';

/** Dynamic-tree budgets tree "auto" compares with the fixed shapes (those that fit the models' batches). */
export const AUTO_DYNAMIC_BUDGETS: readonly number[] = [8, 16, 32];

export interface GeneratorOptions {
  /** Where drafts come from; null (default) = plain autoregressive decoding. */
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
   * draft nodes; or "auto", which measures the target and draft cost curves now and picks, every few
   * steps, a fixed shape, a dynamic tree or plain decoding by the tokens per second they give.
   */
  tree?: readonly number[] | string | DynamicTreeSpec;
  /** Sampling applied identically to target and draft (default temperature 1, no top-k/top-p). */
  sampling?: Partial<SamplingParams>;
}

export interface GenerateRequest {
  /** Prompt text; "" or omitted starts from BOS alone. */
  prompt?: string;
  /** Prompt token ids instead of text (BOS not added). */
  promptIds?: Int32Array | readonly number[];
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** Stop at the EOS token (default true). The EOS token is not part of the output. */
  stopAtEos?: boolean;
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

export type StopReason = 'eos' | 'max_tokens' | 'context' | 'aborted';

export interface GenerationStats {
  promptTokens: number;
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

export interface GenerationResult {
  /** Generated token ids (prompt excluded, EOS excluded). */
  ids: Int32Array;
  text: string;
  stopReason: StopReason;
  stats: GenerationStats;
}

/** Generates text from a loaded target model, optionally with a drafter. Not re-entrant. */
export class Generator {
  readonly target: LoadedModel;
  readonly stepper: Stepper;
  readonly method: MethodName;
  /** The tree the generator starts with (a shape, [] for plain decoding, or a dynamic tree). */
  readonly tree: TreeSpec;
  readonly sampling: Required<SamplingParams>;
  /** Set with tree "auto". */
  readonly tuner: TreeTuner | null = null;
  /** Acceptance counts of earlier generations (the tuner learns across calls), and a reused merge buffer. */
  private readonly pastStats: StepStats | null = null;
  private readonly tuneStats: StepStats | null = null;
  private busy = false;
  private readonly choiceSteps = new Map<string, number>();
  /** The one StepEvent object handed to every onStep call (its arrays are the stepper's). */
  private readonly event: StepEvent;

  constructor(target: LoadedModel, options: GeneratorOptions = {}) {
    this.target = target;
    const drafter = options.drafter ?? null;
    const method = options.method ?? 'spechub';
    if (!METHOD_NAMES.includes(method)) {
      throw new InvalidArgumentError(`generate: expected a verifier in ${METHOD_NAMES.join(', ')}, got ${String(method)}`);
    }
    this.method = method;
    this.sampling = validateSamplingParams({ temperature: 1, topK: 0, topP: 1, ...options.sampling });
    if (options.tree === 'auto' && drafter) {
      const maxNodes = Math.min(target.model.maxBatch, 64);
      const candidates = candidateShapes(maxNodes, 6, 4, method === 'sd' || method === 'block');
      const costs = measureCosts(target.model, drafter, maxNodes);
      const budgets = AUTO_DYNAMIC_BUDGETS.filter((n) => n + 1 <= maxNodes && n <= drafter.model.maxBatch);
      this.tuner = new TreeTuner(costs, candidates, !drafter.sharesTargetCache, budgets);
      this.pastStats = newStepStats(6, 4);
      this.tuneStats = newStepStats(6, 4);
      const first = this.tuner.choose(null).tree;
      this.tree = first;
      const altShapes: TreeSpec[] = [...candidates, ...budgets.map((n) => ({ dynamic: n }))];
      this.stepper = new Stepper({ target: target.model, drafter, method, tree: first, altShapes, sampling: this.sampling });
    } else {
      // plain decoding ignores the tree; a drafter needs a valid one
      const chain = maxChildrenOf(method) === 1;
      this.tree = !drafter ? [] : options.tree === undefined || options.tree === 'auto' ? (chain ? [1, 1, 1, 1] : [2, 2, 2, 2]) : parseTreeSpec(options.tree);
      this.stepper = new Stepper({ target: target.model, drafter, method, tree: this.tree, sampling: this.sampling });
    }
    const st = this.stepper;
    this.event = {
      step: 0, shape: st.shape, dynamic: st.dynamic, size: 0, tokens: st.tree.tokens, parents: st.tree.parents, depths: st.tree.depths,
      path: st.path, pathLength: 0, emitted: st.emitted, emittedCount: 0, final: 'plain',
      levelReached: st.stats.levelReached, levelAccepted: st.stats.levelAccepted, generated: 0, elapsedMs: 0,
    };
  }

  /** Encode a request's prompt: BOS + text (or the given ids). Never empty. */
  promptIds(req: GenerateRequest): Int32Array {
    const tok = this.target.tokenizer;
    if (req.promptIds !== undefined) {
      const ids = Int32Array.from(req.promptIds);
      if (ids.length === 0) throw new InvalidArgumentError('generate: promptIds is empty; give at least one token (e.g. BOS)');
      for (const id of ids) {
        if (!(id >= 0 && id < this.target.config.vocabSize)) {
          throw new InvalidArgumentError(`generate: prompt token ${id} outside [0, ${this.target.config.vocabSize})`);
        }
      }
      return ids;
    }
    if (tok.bosId === null && !req.prompt) throw new TokenizerError('generate: empty prompt and the tokenizer has no BOS token to start from');
    return tok.encode(req.prompt ?? '', { bos: tok.bosId !== null });
  }

  /** Generate one completion. */
  async generate(req: GenerateRequest = {}): Promise<GenerationResult> {
    if (this.busy) throw new InvalidArgumentError('generate: this Generator is already generating (create one per concurrent stream)');
    this.busy = true;
    try {
      return await this.run(req);
    } finally {
      this.busy = false;
    }
  }

  private async run(req: GenerateRequest): Promise<GenerationResult> {
    const maxTokens = req.maxTokens ?? 256;
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError(`generate: expected maxTokens to be an integer >= 0, got ${maxTokens}`);
    }
    const rng = req.rng ?? createRng(req.seed ?? 0);
    const prompt = this.promptIds(req);
    const capacity = this.target.model.cache.capacity;
    if (prompt.length > capacity) {
      throw new InvalidArgumentError(`generate: the prompt has ${prompt.length} tokens; the context holds ${capacity}`);
    }
    const st = this.stepper;
    st.reset();
    this.choiceSteps.clear();
    const tokenizer = this.target.tokenizer;
    const eos = req.stopAtEos === false ? -1 : (tokenizer.eosId ?? -1);
    const decoder = tokenizer.streamDecoder();
    for (const id of prompt) decoder.push(id);

    const t0 = performance.now();
    st.prefill(prompt.subarray(0, prompt.length - 1));
    const t1 = performance.now();
    const out = new Int32Array(maxTokens);
    let count = 0;
    let root = prompt[prompt.length - 1]!;
    let stop: StopReason = 'max_tokens';
    let text = '';
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
      if (this.tuner && st.stats.targetForwards % 8 === 0) st.setTree(this.tuner.choose(this.mergedStats()).tree);
      const shapeKey = treeSpecLabel(st.treeSpec);
      this.choiceSteps.set(shapeKey, (this.choiceSteps.get(shapeKey) ?? 0) + 1);
      const stepStart = this.tuner ? performance.now() : 0;
      st.step(root, rng, maxTokens - count);
      if (this.tuner) this.tuner.observe(st.emittedCount, performance.now() - stepStart);
      let ended = false;
      for (let j = 0; j < st.emittedCount; j++) {
        const id = st.emitted[j]!;
        if (id === eos) {
          stop = 'eos';
          ended = true;
          break;
        }
        out[count++] = id;
        req.onToken?.(id);
        const piece = decoder.push(id);
        if (piece) {
          text += piece;
          req.onText?.(piece);
        }
        root = id;
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
    const tail = decoder.flush();
    if (tail) {
      text += tail;
      req.onText?.(tail);
    }
    const t2 = performance.now();
    return { ids: out.slice(0, count), text, stopReason: stop, stats: this.summarize(st.stats, prompt.length, count, t1 - t0, t2 - t1) };
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

  private summarize(s: StepStats, promptTokens: number, generated: number, prefillMs: number, decodeMs: number): GenerationStats {
    const steps = s.targetForwards;
    return {
      promptTokens,
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
