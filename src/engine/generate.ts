/**
 * Text generation: prompt → prefill → steps (plain or speculative, see speculative.ts) → streamed
 * text, with per-run statistics. Browser-safe; yields to the event loop between steps every few
 * milliseconds so pages stay responsive.
 */
import { InvalidArgumentError, NumericError, TokenizerError } from '../errors.js';
import { checkedRng, createRng, type Rng } from '../rng.js';
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
import { VERIFIER_NAMES, type VerifierName } from '../verify/types.js';
import { parseTreeShape } from '../draft/tree.js';
import { TreeTuner, candidateShapes, measureCosts } from './autotune.js';

export interface GeneratorOptions {
  /** Where drafts come from; null (default) = plain autoregressive decoding. */
  drafter?: Drafter | null;
  /** Verifier method (default "spechub"). */
  method?: VerifierName;
  /**
   * Tree branching per level, e.g. [2, 2, 2, 2] or "2,2,2,2" (default [2, 2, 2, 2]); "auto" measures
   * the target and draft cost curves now and picks, every few steps, the shape (or plain decoding)
   * with the most expected tokens per second given the acceptance observed so far.
   */
  tree?: readonly number[] | string;
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
  /** Steps spent on each shape ("" = plain), most used first. */
  treeChoices: { tree: string; steps: number }[];
  prefillMs: number;
  decodeMs: number;
  /** generatedTokens / decode seconds. */
  tokensPerSecond: number;
  targetForwards: number;
  targetMs: number;
  draftForwards: number;
  draftMs: number;
  verifyMs: number;
  method: VerifierName | 'none';
  tree: number[];
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
  readonly method: VerifierName;
  readonly tree: number[];
  readonly sampling: Required<SamplingParams>;
  /** Set with tree "auto". */
  readonly tuner: TreeTuner | null = null;
  /** Acceptance counts of earlier generations (the tuner learns across calls), and a reused merge buffer. */
  private readonly pastStats: StepStats | null = null;
  private readonly tuneStats: StepStats | null = null;
  private busy = false;
  private readonly choiceSteps = new Map<string, number>();
  private unitsPerToken = 0;

  constructor(target: LoadedModel, options: GeneratorOptions = {}) {
    this.target = target;
    const drafter = options.drafter ?? null;
    const method = options.method ?? 'spechub';
    if (!VERIFIER_NAMES.includes(method)) {
      throw new InvalidArgumentError(`generate: expected a verifier in ${VERIFIER_NAMES.join(', ')}, got ${String(method)}`);
    }
    this.method = method;
    this.sampling = validateSamplingParams({ temperature: 1, topK: 0, topP: 1, ...options.sampling });
    if (options.tree === 'auto' && drafter) {
      const maxNodes = Math.min(target.model.maxBatch, 64);
      const candidates = candidateShapes(maxNodes, 6, 4, method === 'sd');
      const costs = measureCosts(target.model, drafter, maxNodes);
      this.tuner = new TreeTuner(costs, candidates, !drafter.sharesTargetCache);
      this.pastStats = newStepStats(6, 4);
      this.tuneStats = newStepStats(6, 4);
      const first = this.tuner.choose(null).shape;
      this.tree = first;
      this.stepper = new Stepper({ target: target.model, drafter, method, tree: first, altShapes: candidates, sampling: this.sampling });
    } else {
      // plain decoding ignores the tree; a drafter needs a valid one
      this.tree = !drafter ? [] : options.tree === undefined || options.tree === 'auto' ? [2, 2, 2, 2] : parseTreeShape(options.tree);
      this.stepper = new Stepper({ target: target.model, drafter, method, tree: this.tree, sampling: this.sampling });
    }
  }

  /**
   * Encode a request's prompt: BOS + text (or the given ids, which must be integers in [0, vocab):
   * nothing is rounded or coerced). Never empty. A prompt that cannot fit the context is refused
   * before it is encoded (see maxUnitsPerToken), so a huge text costs nothing.
   */
  promptIds(req: GenerateRequest): Int32Array {
    const tok = this.target.tokenizer;
    const capacity = this.target.model.cache.capacity;
    const V = this.target.config.vocabSize;
    if (req.promptIds !== undefined) {
      const given: unknown = req.promptIds;
      if (!(given instanceof Int32Array) && !Array.isArray(given)) {
        throw new InvalidArgumentError(`generate: expected promptIds to be an Int32Array or an array of token ids, got ${given === null ? 'null' : typeof given}`);
      }
      const list = given as ArrayLike<unknown>;
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
    const atLeast = Math.ceil(prompt.length / this.maxUnitsPerToken()) + (tok.bosId !== null ? 1 : 0);
    if (atLeast > capacity) {
      throw new InvalidArgumentError(`generate: the prompt of ${prompt.length} characters has at least ${atLeast} tokens; the context holds ${capacity}`);
    }
    return tok.encode(prompt, { bos: tok.bosId !== null });
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
    if (this.busy) throw new InvalidArgumentError('generate: this Generator is already generating (create one per concurrent stream)');
    this.busy = true;
    try {
      return await this.run(req);
    } finally {
      this.busy = false;
    }
  }

  private async run(req: GenerateRequest): Promise<GenerationResult> {
    if (typeof req !== 'object' || req === null) throw new InvalidArgumentError(`generate: expected a request object, got ${req === null ? 'null' : typeof req}`);
    const maxTokens = req.maxTokens ?? 256;
    if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError(`generate: expected maxTokens to be an integer >= 0, got ${String(maxTokens)}`);
    }
    // a caller's Rng has every draw checked (a draw outside [0, 1) would emit tokens of probability 0)
    const rng = req.rng !== undefined ? checkedRng(req.rng, 'generate: rng') : createRng(req.seed ?? 0);
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
    // at most capacity − prompt + 1 tokens can be produced (each but the last takes a position)
    const out = new Int32Array(Math.min(maxTokens, capacity - prompt.length + 1));
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
      if (this.tuner && st.stats.targetForwards % 8 === 0) st.setShape(this.tuner.choose(this.mergedStats()).shape);
      const shapeKey = st.shape.join(',');
      this.choiceSteps.set(shapeKey, (this.choiceSteps.get(shapeKey) ?? 0) + 1);
      try {
        st.step(root, rng, maxTokens - count);
      } catch (e) {
        throw e instanceof NumericError ? this.numericFailure(e, prompt.length + count) : e;
      }
      let ended = false;
      for (let j = 0; j < st.emittedCount; j++) {
        const id = st.emitted[j]!;
        if (id === eos) {
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
        const piece = decoder.push(id);
        if (piece) {
          text += piece;
          req.onText?.(piece);
        }
        root = id;
        if (count >= maxTokens) break;
      }
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

  /** A NumericError from a step, restated with the model and the position it happened at. */
  private numericFailure(e: NumericError, position: number): NumericError {
    const warned = this.target.warnings?.length ? ` (loading warned: ${this.target.warnings[0]})` : '';
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

  private summarize(s: StepStats, promptTokens: number, generated: number, prefillMs: number, decodeMs: number): GenerationStats {
    const steps = s.targetForwards;
    return {
      promptTokens,
      generatedTokens: generated,
      steps,
      tokensPerStep: steps > 0 ? s.tokens / steps : 0,
      acceptancePerLevel: s.levelReached.map((r, l) => (r > 0 ? s.levelAccepted[l]! / r : 0)),
      treeAuto: this.tuner !== null,
      treeChoices: [...this.choiceSteps].sort((a, b) => b[1] - a[1]).map(([tree, steps]) => ({ tree, steps })),
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
      drafter: this.stepper.drafter?.label ?? 'none',
    };
  }
}
