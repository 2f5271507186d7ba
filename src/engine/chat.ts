/**
 * Chat on top of a Generator: which chat template a model uses (`resolveChatTemplate`), what ends
 * an assistant turn besides the model's EOS ids (`chatStops`), and `ChatSession`, a conversation
 * that keeps its KV cache between turns.
 *
 * A turn re-renders the whole conversation with the template and tokenizes it, compares the tokens
 * with those whose keys and values are in the cache, keeps the longest common prefix, prefills only
 * the rest and decodes the reply. Usually the cache holds exactly the previous turns, so a turn
 * costs its new tokens only; when the rendering differs from what was cached (a template that
 * rewrites earlier turns, a reply whose text re-tokenizes differently, a stop string, another
 * generation on the same Generator in between), the differing part is recomputed and the turn is
 * counted as a re-prefill. The result is always the same as a fresh prefill of the conversation.
 * Browser-safe.
 */
import { ChatTemplateError, InvalidArgumentError } from '../errors.js';
import { BUILTIN_CHAT_TEMPLATE_NAMES, BUILTIN_CHAT_TEMPLATES, ChatTemplate, checkChatMessages, encodeChat, type ChatMessage, type ChatSpecialTokens } from '../chat/template.js';
import type { LoadedModel } from './load.js';
import type { GenerateRequest, GenerationResult, Generator } from './generate.js';

/** Extra end-of-turn conditions of a chat template: token ids and stop strings. */
export interface ChatStops {
  readonly ids: readonly number[];
  readonly strings: readonly string[];
}

/** No extra stop conditions. */
export const NO_STOPS: ChatStops = Object.freeze({ ids: Object.freeze([]), strings: Object.freeze([]) });

/**
 * The special-token strings a template renders with for `model`: those of the templates it ships,
 * else the tokenizer's BOS/EOS/UNK pieces.
 */
export function chatSpecialTokens(model: Pick<LoadedModel, 'chatTemplates' | 'tokenizer'>): ChatSpecialTokens {
  const shipped = model.chatTemplates?.default ?? model.chatTemplates?.named.values().next().value;
  if (shipped) return shipped.specialTokens;
  const tok = model.tokenizer;
  const out: Record<string, string> = {};
  if (tok.bosId !== null) out.bos_token = tok.idToPiece(tok.bosId);
  if (tok.eosId !== null) out.eos_token = tok.idToPiece(tok.eosId);
  if (tok.unkId !== null) out.unk_token = tok.idToPiece(tok.unkId);
  return out;
}

/**
 * The chat template to use for `model`: `choice` itself when it is a ChatTemplate; by name, one the
 * model ships (e.g. "tool_use") or a built-in one (chatml, llama3, …) rendering with the model's
 * special tokens; without a choice, the model's default.
 * @throws ChatTemplateError when the model ships none (the message names the fallbacks) or the name is unknown.
 */
export function resolveChatTemplate(model: Pick<LoadedModel, 'name' | 'chatTemplates' | 'tokenizer'>, choice?: ChatTemplate | string): ChatTemplate {
  if (choice instanceof ChatTemplate) return choice;
  const set = model.chatTemplates;
  const shipped = set ? [...set.named.keys()] : [];
  if (choice === undefined) {
    if (set?.default) return set.default;
    if (shipped.length > 0) {
      throw new ChatTemplateError(`${model.name}: expected a chat template named "default" among the model's (${shipped.join(', ')}), got none; choose one by name`);
    }
    throw new ChatTemplateError(
      `${model.name}: the model has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja, no GGUF tokenizer.chat_template); ` +
        `choose one: --chat-template ${BUILTIN_CHAT_TEMPLATE_NAMES.join('|')} or --chat-template-file FILE (library: chatTemplate)`,
    );
  }
  if (typeof choice !== 'string') throw new InvalidArgumentError(`chat template: expected a ChatTemplate or a name, got ${typeof choice}`);
  const own = set?.named.get(choice);
  if (own) return own;
  if (Object.hasOwn(BUILTIN_CHAT_TEMPLATES, choice)) return ChatTemplate.builtin(choice, chatSpecialTokens(model));
  throw new ChatTemplateError(
    `${model.name}: chat template "${choice}": expected ${shipped.length > 0 ? `one the model ships (${shipped.join(', ')}) or ` : ''}a built-in one (${BUILTIN_CHAT_TEMPLATE_NAMES.join(', ')})`,
  );
}

/**
 * What ends an assistant turn under `template` besides the model's EOS ids: its end-of-turn string
 * (built-in templates), as a token id when the vocabulary has it as one special token, else as a
 * stop string.
 */
export function chatStops(model: Pick<LoadedModel, 'tokenizer'>, template: ChatTemplate): ChatStops {
  const eot = template.endOfTurn;
  if (eot === null) return NO_STOPS;
  const tok = model.tokenizer;
  const id = tok.pieceToId(eot);
  if (id !== undefined && tok.isSpecial(id)) return { ids: [id], strings: [] };
  return { ids: [], strings: [eot] };
}

/** Options of {@link Generator.chat}. */
export interface ChatSessionOptions {
  /** A system message that opens the conversation and survives reset(). */
  system?: string;
  /** Earlier messages to continue from (after the system message). */
  messages?: readonly ChatMessage[];
  /** Chat-template variables for every turn (e.g. { enable_thinking: false } for Qwen3). */
  variables?: Readonly<Record<string, unknown>>;
  /**
   * When the conversation no longer leaves room for a reply in the context: 'error' (default)
   * refuses the turn with an InvalidArgumentError; 'drop-oldest' forgets the oldest messages after
   * the system message (whole user/assistant exchanges) until the prompt leaves a quarter of the
   * context free, or maxTokens if that is less (the cache is then recomputed).
   */
  overflow?: 'error' | 'drop-oldest';
}

/** Options of one turn: a generation request without its prompt. */
export type ChatTurnOptions = Omit<GenerateRequest, 'prompt' | 'promptIds' | 'messages' | 'chatVariables'>;

/** What one turn did. `text` is the reply; stats.reusedTokens / prefilledTokens say what the cache saved. */
export interface ChatTurnResult extends GenerationResult {
  /** The assistant message added to the conversation ({ role: "assistant", content: text }). */
  message: ChatMessage;
  /** True when the cache held a prefix of this turn's tokens, so only new tokens were prefilled. */
  cacheHit: boolean;
  /** Cached tokens that differed from this turn's rendering and were recomputed (0 on a hit). */
  droppedTokens: number;
  /** Messages forgotten before this turn to fit the context (overflow 'drop-oldest'), else 0. */
  droppedMessages: number;
}

/** Totals over a session's turns (since creation or the last reset()). */
export interface ChatSessionStats {
  turns: number;
  /** Rendered conversation tokens over all turns. */
  promptTokens: number;
  /** Of those, tokens whose keys and values came from the cache. */
  reusedTokens: number;
  /** Tokens run in prefills (preload() included). */
  prefilledTokens: number;
  generatedTokens: number;
  /** Turns (and preloads) whose rendering did not extend the cached tokens: part or all of the cache was recomputed. */
  reprefills: number;
}

function newSessionStats(): ChatSessionStats {
  return { turns: 0, promptTokens: 0, reusedTokens: 0, prefilledTokens: 0, generatedTokens: 0, reprefills: 0 };
}

/**
 * A conversation with a model that keeps its KV cache between turns. Create with
 * `generator.chat({ system })`; `send(text)` adds a user message and returns the reply (which joins
 * the conversation). One turn at a time per Generator; several sessions may share a Generator, but
 * each switch between them recomputes the cache.
 */
export class ChatSession {
  /** The Generator whose models, drafter, sampling and KV caches the turns use. */
  readonly generator: Generator;
  /** The template every turn renders with. */
  readonly template: ChatTemplate;
  /** The system message, or null. */
  readonly system: string | null;
  /** Totals since creation or the last reset(). */
  stats: ChatSessionStats = newSessionStats();
  private readonly variables: Readonly<Record<string, unknown>> | undefined;
  private readonly overflow: 'error' | 'drop-oldest';
  private history: ChatMessage[];
  /** Token ids whose keys and values the target cache holds (valid while the generator's cacheOwner is this). */
  private readonly cached: Int32Array;
  private cachedLength = 0;

  constructor(generator: Generator, options: ChatSessionOptions = {}) {
    if (options.system !== undefined && typeof options.system !== 'string') {
      throw new InvalidArgumentError(`chat: expected system to be a string, got ${typeof options.system}`);
    }
    const initial = options.messages ?? [];
    checkChatMessages(initial, 'chat');
    this.generator = generator;
    this.template = generator.chatTemplate;
    this.system = options.system ?? null;
    this.variables = options.variables;
    this.overflow = options.overflow ?? 'error';
    if (this.overflow !== 'error' && this.overflow !== 'drop-oldest') {
      throw new InvalidArgumentError(`chat: expected overflow to be 'error' or 'drop-oldest', got ${String(options.overflow)}`);
    }
    this.history = this.opening();
    this.history.push(...initial.map((m) => ({ ...m })));
    this.cached = new Int32Array(generator.context.cache.capacity);
  }

  /** The conversation so far (copies), system message first. */
  get messages(): ChatMessage[] {
    return this.history.map((m) => ({ ...m }));
  }

  /** Append messages without generating (e.g. to restore a saved conversation). */
  add(...messages: ChatMessage[]): void {
    checkChatMessages(messages, 'chat.add');
    this.history.push(...messages.map((m) => ({ ...m })));
  }

  /** Forget the conversation (the system message stays) and the cache; statistics start over. */
  reset(): void {
    this.history = this.opening();
    this.cachedLength = 0;
    this.stats = newSessionStats();
  }

  /**
   * Add a user message and generate the assistant's reply, which joins the conversation. If the
   * generation fails, the user message is taken back. An aborted reply (options.signal) is kept as
   * far as it got.
   */
  async send(content: string, options: ChatTurnOptions = {}): Promise<ChatTurnResult> {
    if (typeof content !== 'string') throw new InvalidArgumentError(`chat.send: expected the message to be a string, got ${typeof content}`);
    this.history.push({ role: 'user', content });
    try {
      return await this.respond(options);
    } catch (e) {
      this.history.pop();
      throw e;
    }
  }

  /** Generate the assistant's reply to the conversation as it stands (e.g. after add()). */
  async respond(options: ChatTurnOptions = {}): Promise<ChatTurnResult> {
    const g = this.generator;
    return g.exclusive(async () => {
      const { prompt, droppedMessages } = this.fitted(options.maxTokens);
      const { keep, dropped } = this.usable(prompt);
      this.cachedLength = 0;
      const result = await g.run(options, prompt, keep, chatStops(g.target, this.template), this);
      this.remember(prompt, result.ids);
      const message: ChatMessage = { role: 'assistant', content: result.text };
      this.history.push(message);
      const s = this.stats;
      s.turns++;
      s.promptTokens += prompt.length;
      s.reusedTokens += result.stats.reusedTokens;
      s.prefilledTokens += result.stats.prefilledTokens;
      s.generatedTokens += result.stats.generatedTokens;
      if (dropped > 0) s.reprefills++;
      return { ...result, message: { ...message }, cacheHit: dropped === 0 && keep > 0, droppedTokens: dropped, droppedMessages };
    });
  }

  /**
   * Prefill the conversation as it stands now (e.g. the system message while the user types), so
   * that the next turn pays only for what follows. Renders with the generation prompt when the
   * last message is the user's. Returns how many tokens were reused and prefilled.
   */
  async preload(): Promise<{ tokens: number; reusedTokens: number; prefilledTokens: number }> {
    const g = this.generator;
    return g.exclusive(async () => {
      const last = this.history[this.history.length - 1];
      const ids = this.render(last?.role === 'user');
      this.checkFits(ids.length, 'preload');
      const { keep: from, dropped } = this.usable(ids);
      g.cacheOwner = null;
      this.cachedLength = 0;
      // all but the last token: a turn needs at least one token of its own to start decoding from
      g.stepper.prefillFrom(ids.subarray(0, ids.length - 1), from);
      this.remember(ids.subarray(0, ids.length - 1), new Int32Array(0));
      g.cacheOwner = this;
      const prefilled = ids.length - 1 - from;
      this.stats.prefilledTokens += prefilled;
      if (dropped > 0) this.stats.reprefills++;
      return { tokens: ids.length, reusedTokens: from, prefilledTokens: prefilled };
    });
  }

  private opening(): ChatMessage[] {
    return this.system !== null ? [{ role: 'system', content: this.system }] : [];
  }

  private render(addGenerationPrompt: boolean, history: readonly ChatMessage[] = this.history): Int32Array {
    const g = this.generator;
    const ids = encodeChat(g.target.tokenizer, this.template, history, {
      addGenerationPrompt,
      specialInContent: g.specialInContent,
      ...(this.variables ? { variables: this.variables } : {}),
    }).ids;
    if (ids.length === 0) throw new ChatTemplateError(`chat: ${this.template.source} rendered the conversation as no tokens`);
    return ids;
  }

  /**
   * This turn's prompt: the conversation rendered with the generation prompt, after dropping the
   * oldest exchanges if the overflow policy says so and the context has too little room left.
   */
  private fitted(maxTokens: number | undefined): { prompt: Int32Array; droppedMessages: number } {
    let prompt = this.render(true);
    let droppedMessages = 0;
    if (this.overflow === 'drop-oldest') {
      const capacity = this.generator.context.cache.capacity;
      const room = Math.max(1, Math.min(maxTokens ?? Infinity, Math.floor(capacity / 4)));
      const first = this.system !== null ? 1 : 0;
      const history = [...this.history];
      while (prompt.length + room > capacity && history.length - first > 1) {
        // forget the oldest message, and the replies up to the next user message with it
        let n = 1;
        while (first + n < history.length - 1 && history[first + n]!.role !== 'user') n++;
        history.splice(first, n);
        droppedMessages += n;
        prompt = this.render(true, history);
      }
      this.checkFits(prompt.length, 'reply to');
      this.history = history;
    }
    this.checkFits(prompt.length, 'reply to');
    return { prompt, droppedMessages };
  }

  private checkFits(tokens: number, what: string): void {
    const capacity = this.generator.context.cache.capacity;
    if (tokens >= capacity) {
      throw new InvalidArgumentError(
        `chat: the conversation to ${what} has ${tokens} tokens; the context holds ${capacity} (reset() the session, shorten it, or load the model with a larger context)`,
      );
    }
  }

  /**
   * How much of the cache `ids` can reuse: the common prefix of the cached tokens and ids, leaving at
   * least one token to decode from; nothing when another generation used the caches since. `dropped`
   * counts the cached tokens that cannot be used.
   */
  private usable(ids: Int32Array): { keep: number; dropped: number } {
    const n = this.cachedLength;
    const g = this.generator;
    if (g.cacheOwner !== this || !g.stepper.ownsCache || g.context.cache.length !== n) return { keep: 0, dropped: n };
    const limit = Math.min(n, ids.length - 1);
    let keep = 0;
    while (keep < limit && this.cached[keep] === ids[keep]) keep++;
    return { keep, dropped: n - keep };
  }

  /** Record what the target cache now holds: (prompt ++ generated)[0..cache length). */
  private remember(prompt: Int32Array, generated: Int32Array): void {
    const len = this.generator.context.cache.length;
    const fromPrompt = Math.min(len, prompt.length);
    this.cached.set(prompt.subarray(0, fromPrompt), 0);
    if (len > fromPrompt) this.cached.set(generated.subarray(0, len - fromPrompt), fromPrompt);
    this.cachedLength = len;
  }
}
