/**
 * Text generation: prompt → prefill → steps (plain or speculative, see speculative.ts) → streamed
 * text, with per-run statistics. Browser-safe; yields to the event loop between steps every few
 * milliseconds so pages stay responsive.
 */
import { InvalidArgumentError, TokenizerError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';
import type { LoadedModel } from './load.js';
import { Stepper, type Drafter, type StepStats } from './speculative.js';
import { validateSamplingParams, type SamplingParams } from '../sampling.js';
import { VERIFIER_NAMES, type VerifierName } from '../verify/types.js';
import { parseTreeShape } from '../draft/tree.js';

export interface GeneratorOptions {
  /** Where drafts come from; null (default) = plain autoregressive decoding. */
  drafter?: Drafter | null;
  /** Verifier method (default "spechub"). */
  method?: VerifierName;
  /** Tree branching per level, e.g. [2, 2, 2, 2] or "2,2,2,2" (default [2, 2, 2, 2]). */
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
  private busy = false;

  constructor(target: LoadedModel, options: GeneratorOptions = {}) {
    this.target = target;
    const drafter = options.drafter ?? null;
    const method = options.method ?? 'spechub';
    if (!VERIFIER_NAMES.includes(method)) {
      throw new InvalidArgumentError(`generate: expected a verifier in ${VERIFIER_NAMES.join(', ')}, got ${String(method)}`);
    }
    this.method = method;
    const shape = options.tree === undefined ? [2, 2, 2, 2] : parseTreeShape(options.tree);
    this.tree = drafter ? shape : [];
    this.sampling = validateSamplingParams({ temperature: 1, topK: 0, topP: 1, ...options.sampling });
    this.stepper = new Stepper({ target: target.model, drafter, method, tree: this.tree, sampling: this.sampling });
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
      st.step(root, rng, maxTokens - count);
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
      if (ended) break;
      const now = performance.now();
      if (now - lastYield > 16) {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
    const tail = decoder.flush();
    if (tail) {
      text += tail;
      req.onText?.(tail);
    }
    const t2 = performance.now();
    return { ids: out.slice(0, count), text, stopReason: stop, stats: this.summarize(st.stats, prompt.length, count, t1 - t0, t2 - t1) };
  }

  private summarize(s: StepStats, promptTokens: number, generated: number, prefillMs: number, decodeMs: number): GenerationStats {
    const steps = s.targetForwards;
    return {
      promptTokens,
      generatedTokens: generated,
      steps,
      tokensPerStep: steps > 0 ? s.tokens / steps : 0,
      acceptancePerLevel: s.levelReached.map((r, l) => (r > 0 ? s.levelAccepted[l]! / r : 0)),
      prefillMs,
      decodeMs,
      tokensPerSecond: decodeMs > 0 ? (generated * 1000) / decodeMs : 0,
      targetForwards: steps,
      targetMs: s.targetMs,
      draftForwards: s.draftForwards,
      draftMs: s.draftMs,
      verifyMs: s.verifyMs,
      method: this.tree.length > 0 ? this.method : 'none',
      tree: [...this.tree],
      drafter: this.stepper.drafter?.label ?? 'none',
    };
  }
}
