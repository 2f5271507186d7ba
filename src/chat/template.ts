/**
 * Chat templates: a conversation (messages with roles) → the prompt text a chat model was trained
 * on, rendered from the model's own Jinja template with `@huggingface/jinja` (the implementation
 * transformers.js uses; whitespace control as transformers' apply_chat_template: trim_blocks and
 * lstrip_blocks). Browser-safe.
 *
 * Where a model's template comes from (see `chatTemplateFromTokenizerConfig` and the loaders):
 *   - Hugging Face: `chat_template.jinja` next to tokenizer_config.json (it wins, as in
 *     transformers), else tokenizer_config.json `chat_template` — a string, or a list of named
 *     templates `[{name, template}]` whose "default" is used unless another is asked for;
 *   - GGUF: `tokenizer.chat_template` (and named ones as `tokenizer.chat_template.<name>`).
 * The template sees the variables transformers gives it: `messages`, `add_generation_prompt`, the
 * special-token strings from tokenizer_config.json (`bos_token`, `eos_token`, `unk_token`,
 * `pad_token`, …; from a GGUF the vocabulary's BOS/EOS/UNK/PAD pieces), `raise_exception`,
 * `strftime_now`, plus whatever the caller adds (`enable_thinking`, `tools`, …).
 *
 * Models without a template can use a built-in one (BUILTIN_CHAT_TEMPLATES: chatml, llama2, llama3,
 * zephyr, phi3, gemma, mistral) or any template text.
 *
 * Tokenizing a rendered prompt (`encodeChat`): special tokens written by the template (`<|im_start|>`,
 * `<|eot_id|>`, `<s>`, …) are parsed as their ids, as transformers and llama.cpp's server do; BOS is
 * added when the tokenizer adds one, unless the text already starts with the BOS string (no doubled
 * BOS: llama.cpp's rule). Special-token text inside a message's content stays plain text by default
 * (a user cannot forge the markup); `specialInContent: 'parse'` gives transformers' behaviour.
 */
import { Template } from '@huggingface/jinja';
import { ChatTemplateError, InvalidArgumentError } from '../errors.js';
import { describeJson } from '../io/json.js';
import type { Tokenizer } from '../tokenizer.js';
import type { GgufTokenizerData } from '../tokenizer/gguf-data.js';
import type { GgufFile } from '../weights/gguf.js';

/** One message of a conversation. */
export interface ChatMessage {
  /** "system", "user", "assistant", or another role the template knows (e.g. "tool"). */
  role: string;
  /** The message text. */
  content: string;
  /** Extra fields some templates read (tool_calls, reasoning_content, …) are passed through. */
  [field: string]: unknown;
}

/** Options of {@link ChatTemplate.render}. */
export interface ChatRenderOptions {
  /**
   * End with the header of an assistant turn, so that the model's next tokens are the reply
   * (transformers' add_generation_prompt). Default true.
   */
  addGenerationPrompt?: boolean;
  /**
   * Extra template variables, e.g. `{ enable_thinking: false }` (Qwen3), `{ tools: [...] }`, or a
   * fixed `strftime_now` function for reproducible dates. They override the special-token strings
   * but not `messages` / `add_generation_prompt`.
   */
  variables?: Readonly<Record<string, unknown>>;
}

/** The special-token strings a template may use, by template variable name (bos_token, eos_token, …). */
export type ChatSpecialTokens = Readonly<Record<string, string>>;

/** A built-in template: its text and the text that ends an assistant turn in it. */
export interface BuiltinChatTemplate {
  /** What format it is and which models use it. */
  readonly description: string;
  /** Jinja text (uses bos_token / eos_token where the format has them). */
  readonly template: string;
  /**
   * The string that closes an assistant turn (e.g. "<|im_end|>"); generation with this template also
   * stops on it. null when the format ends a turn with the EOS token itself.
   */
  readonly endOfTurn: string | null;
}

// Each template writes its whitespace as explicit '\n' strings, so that Jinja's block trimming
// cannot change it.
const CHATML = `{%- for message in messages -%}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}`;
const LLAMA3 = `{{- bos_token -}}{%- for message in messages -%}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif -%}`;
const LLAMA2 = `{%- if messages and messages[0]['role'] == 'system' -%}{%- set loop_messages = messages[1:] -%}{%- set system_message = messages[0]['content'] -%}{%- else -%}{%- set loop_messages = messages -%}{%- set system_message = false -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}{%- if loop.index0 == 0 and system_message != false -%}{%- set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] -%}{%- else -%}{%- set content = message['content'] -%}{%- endif -%}{%- if message['role'] == 'user' -%}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}{%- elif message['role'] == 'assistant' -%}{{ ' ' + content | trim + ' ' + eos_token }}{%- endif -%}{%- endfor -%}`;
const ZEPHYR = `{%- for message in messages -%}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}`;
const PHI3 = `{%- for message in messages -%}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- else -%}{{ eos_token }}{%- endif -%}`;
const GEMMA = `{{- bos_token -}}{%- if messages and messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}`;
const MISTRAL = `{{- bos_token -}}{%- if messages and messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}{%- if message['role'] == 'user' -%}{{ '[INST] ' + (first_user_prefix if loop.first else '') + message['content'] + ' [/INST]' }}{%- elif message['role'] == 'assistant' -%}{{ message['content'] + eos_token }}{%- endif -%}{%- endfor -%}`;

/**
 * Templates for models that ship none (`--chat-template NAME`). Each reproduces the format its
 * model family documents; pick the one the model was trained with.
 */
export const BUILTIN_CHAT_TEMPLATES: Readonly<Record<string, BuiltinChatTemplate>> = Object.freeze({
  chatml: { description: 'ChatML <|im_start|>role … <|im_end|> (Qwen2.5, SmolLM2, many fine-tunes)', template: CHATML, endOfTurn: '<|im_end|>' },
  llama3: { description: 'Llama-3 header blocks <|start_header_id|>role<|end_header_id|> … <|eot_id|>', template: LLAMA3, endOfTurn: '<|eot_id|>' },
  llama2: { description: 'Llama-2-chat [INST] <<SYS>> … <</SYS>> … [/INST] reply </s>', template: LLAMA2, endOfTurn: null },
  zephyr: { description: 'Zephyr <|role|> … </s> turns (TinyLlama-Chat)', template: ZEPHYR, endOfTurn: null },
  phi3: { description: 'Phi-3 <|role|> … <|end|> turns', template: PHI3, endOfTurn: '<|end|>' },
  gemma: { description: 'Gemma <start_of_turn>user|model … <end_of_turn> (system text opens the first user turn)', template: GEMMA, endOfTurn: '<end_of_turn>' },
  mistral: { description: 'Mistral-Instruct [INST] … [/INST] reply </s> (system text opens the first user turn)', template: MISTRAL, endOfTurn: null },
});

/** Names of the built-in templates. */
export const BUILTIN_CHAT_TEMPLATE_NAMES: readonly string[] = Object.freeze(Object.keys(BUILTIN_CHAT_TEMPLATES));

/** Options of the {@link ChatTemplate} constructor. */
export interface ChatTemplateOptions {
  /** Where the text came from, for messages (e.g. "tokenizer_config.json chat_template"). */
  source?: string;
  /** Special-token strings by variable name (bos_token, eos_token, …). */
  specialTokens?: ChatSpecialTokens;
  /** The string that ends an assistant turn, when known (built-in templates); generation stops on it. */
  endOfTurn?: string | null;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Throw InvalidArgumentError unless `messages` is a list of {role: string, content: string}. */
export function checkChatMessages(messages: unknown, where = 'chat'): asserts messages is readonly ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidArgumentError(`${where}: expected messages to be an array of {role, content}, got ${describeJson(messages)}`);
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw new InvalidArgumentError(`${where}: messages[${i}]: expected an object {role, content}, got ${describeJson(m)}`);
    }
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || role.length === 0) {
      throw new InvalidArgumentError(`${where}: messages[${i}].role: expected a non-empty string, got ${describeJson(role)}`);
    }
    if (typeof content !== 'string') {
      throw new InvalidArgumentError(`${where}: messages[${i}].content: expected a string, got ${describeJson(content)}`);
    }
  }
}

/** A parsed chat template with the special-token strings it renders with. Immutable; render() is re-entrant. */
export class ChatTemplate {
  /** The Jinja text. */
  readonly text: string;
  /** Where the text came from (for messages and diagnostics). */
  readonly source: string;
  /** Special-token strings passed to the template (bos_token, eos_token, …). */
  readonly specialTokens: ChatSpecialTokens;
  /** The string that ends an assistant turn, when known (built-in templates), else null. */
  readonly endOfTurn: string | null;
  private readonly compiled: Template;

  /** @throws ChatTemplateError when the text is not a template @huggingface/jinja can parse. */
  constructor(text: string, options: ChatTemplateOptions = {}) {
    const source = options.source ?? 'chat template';
    if (typeof text !== 'string' || text.length === 0) throw new ChatTemplateError(`${source}: expected a non-empty template string, got ${describeJson(text)}`);
    const special: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.specialTokens ?? {})) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`${source}: special token ${k}: expected a string, got ${describeJson(v)}`);
      special[k] = v;
    }
    this.text = text;
    this.source = source;
    this.specialTokens = Object.freeze(special);
    this.endOfTurn = options.endOfTurn ?? null;
    try {
      this.compiled = new Template(text);
    } catch (e) {
      throw new ChatTemplateError(`${source}: expected a Jinja template, got a parse error (${firstLine(e)})`, { cause: e });
    }
  }

  /** The BOS string the template renders as bos_token, or null. */
  get bosToken(): string | null {
    return this.specialTokens.bos_token ?? null;
  }

  /** The EOS string the template renders as eos_token, or null. */
  get eosToken(): string | null {
    return this.specialTokens.eos_token ?? null;
  }

  /**
   * Render `messages` to prompt text.
   * @throws InvalidArgumentError for malformed messages; ChatTemplateError when the template refuses
   *   the conversation (its raise_exception) or fails while rendering.
   */
  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    checkChatMessages(messages, this.source);
    const vars = options.variables ?? {};
    for (const k of ['messages', 'add_generation_prompt']) {
      if (Object.hasOwn(vars, k)) throw new InvalidArgumentError(`${this.source}: variables.${k}: set by the renderer; pass messages / addGenerationPrompt instead`);
    }
    try {
      return this.compiled.render({
        ...this.specialTokens,
        ...vars,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (e) {
      throw new ChatTemplateError(`${this.source}: the template refused the conversation (${firstLine(e)})`, { cause: e });
    }
  }

  /** A built-in template by name, rendering with `specialTokens`. */
  static builtin(name: string, specialTokens: ChatSpecialTokens = {}): ChatTemplate {
    const b = Object.hasOwn(BUILTIN_CHAT_TEMPLATES, name) ? BUILTIN_CHAT_TEMPLATES[name] : undefined;
    if (!b) throw new ChatTemplateError(`chat template: expected a built-in name (${BUILTIN_CHAT_TEMPLATE_NAMES.join(', ')}), got ${describeJson(name)}`);
    return new ChatTemplate(b.template, { source: `built-in chat template "${name}"`, specialTokens, endOfTurn: b.endOfTurn });
  }
}

/**
 * Render a conversation with a template (text, or a ChatTemplate). `bosToken` / `eosToken` set the
 * template's bos_token / eos_token when the template is given as text.
 */
export function renderChat(
  messages: readonly ChatMessage[],
  options: ChatRenderOptions & { template: string | ChatTemplate; bosToken?: string; eosToken?: string },
): string {
  const t =
    options.template instanceof ChatTemplate
      ? options.template
      : new ChatTemplate(options.template, {
          specialTokens: {
            ...(options.bosToken !== undefined ? { bos_token: options.bosToken } : {}),
            ...(options.eosToken !== undefined ? { eos_token: options.eosToken } : {}),
          },
        });
  return t.render(messages, options);
}

/** The special-token fields of tokenizer_config.json that templates may use. */
const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

/** A token field of tokenizer_config.json: a string, an AddedToken object {content}, or absent/null. */
function tokenText(v: unknown, key: string, file: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw new ChatTemplateError(`${file}: ${key}: expected a token string or {content}, got ${describeJson(v)}`);
}

/** The special-token strings of a parsed tokenizer_config.json (only those that are set). */
export function specialTokensFromTokenizerConfig(config: Readonly<Record<string, unknown>>, file = 'tokenizer_config.json'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SPECIAL_TOKEN_KEYS) {
    const s = tokenText(config[k], k, file);
    if (s !== null) out[k] = s;
  }
  return out;
}

/** Every template a model ships, by name ("default" is the one used unless another is asked for). */
export interface ChatTemplateSet {
  /** The template used by default, or null when the model ships several and none is called "default". */
  readonly default: ChatTemplate | null;
  /** All of them by name (a single template is named "default"). */
  readonly named: ReadonlyMap<string, ChatTemplate>;
}

/** A set of templates from name → text, with shared special tokens. */
export function chatTemplateSet(texts: ReadonlyMap<string, string>, source: string, specialTokens: ChatSpecialTokens): ChatTemplateSet {
  const named = new Map<string, ChatTemplate>();
  for (const [name, text] of texts) {
    named.set(name, new ChatTemplate(text, { source: name === 'default' ? source : `${source} "${name}"`, specialTokens }));
  }
  return { default: named.get('default') ?? null, named };
}

/**
 * The chat templates of a Hugging Face tokenizer: `jinja` (the text of chat_template.jinja, which
 * wins) or tokenizer_config.json's `chat_template` (a string, or a list of {name, template}).
 * Special tokens come from tokenizer_config.json. Returns null when there is no template.
 * @param config parsed tokenizer_config.json ({} when the file is absent)
 */
export function chatTemplatesFromTokenizerConfig(
  config: Readonly<Record<string, unknown>>,
  jinja: string | null = null,
  where = 'tokenizer_config.json',
): ChatTemplateSet | null {
  const special = specialTokensFromTokenizerConfig(config, where);
  if (jinja !== null) return chatTemplateSet(new Map([['default', jinja]]), `${where.replace(/tokenizer_config\.json$/, '')}chat_template.jinja`, special);
  const t = config.chat_template;
  if (t === undefined || t === null) return null;
  const source = `${where} chat_template`;
  if (typeof t === 'string') return chatTemplateSet(new Map([['default', t]]), source, special);
  if (Array.isArray(t)) {
    const texts = new Map<string, string>();
    for (const [i, item] of t.entries()) {
      const { name, template } = (typeof item === 'object' && item !== null ? item : {}) as { name?: unknown; template?: unknown };
      if (typeof name !== 'string' || typeof template !== 'string' || texts.has(name)) {
        throw new ChatTemplateError(`${source}[${i}]: expected {name, template} with a unique name and a template string, got ${describeJson(item)}`);
      }
      texts.set(name, template);
    }
    if (texts.size === 0) return null;
    return chatTemplateSet(texts, source, special);
  }
  throw new ChatTemplateError(`${source}: expected a template string or a list of {name, template}, got ${describeJson(t)}`);
}

/** A rendered, tokenized chat prompt. */
export interface ChatPrompt {
  /** The rendered text. */
  readonly text: string;
  /** Its token ids (BOS first when the tokenizer adds one and the text does not already start with it). */
  readonly ids: Int32Array;
  /** Whether a BOS id was added in front of the text's own tokens. */
  readonly bosAdded: boolean;
}

/**
 * Tokenize rendered chat text: the template's special-token strings become their ids; BOS is added
 * when the tokenizer adds one, unless the text already starts with the BOS string (llama.cpp's rule
 * against a doubled BOS). `bosToken` is the BOS string the template used (default: the tokenizer's
 * BOS piece).
 */
export function encodeChatText(tokenizer: Tokenizer, text: string, bosToken?: string | null): ChatPrompt {
  const bosAdded = needsBos(tokenizer, text, bosToken);
  const ids = tokenizer.encode(text, { bos: bosAdded, parseSpecial: true });
  return { text, ids, bosAdded };
}

/** Whether a BOS id goes before the tokens of rendered `text` (see encodeChatText). */
function needsBos(tokenizer: Tokenizer, text: string, bosToken?: string | null): boolean {
  const bosId = tokenizer.bosId;
  const bosString = bosToken ?? (bosId !== null ? tokenizer.idToPiece(bosId) : null);
  return tokenizer.addBos && bosId !== null && !(bosString !== null && bosString.length > 0 && text.startsWith(bosString));
}

/** Options of {@link encodeChat}. */
export interface ChatEncodeOptions extends ChatRenderOptions {
  /**
   * Special-token text inside a message's content (a user typing "<|im_end|>"): 'plain' (default)
   * keeps it text, as Tokenizer.encode does for user text, so a message cannot forge the
   * template's markup; 'parse' turns it into the special token, as Hugging Face's
   * apply_chat_template and llama.cpp's server do. Conversations without such text tokenize the
   * same either way.
   */
  specialInContent?: 'plain' | 'parse';
}

/** Per tokenizer: its special-token strings by first character. */
const specialIndex = new WeakMap<Tokenizer, Map<string, string[]>>();

function specialsByFirstChar(tokenizer: Tokenizer): Map<string, string[]> {
  let index = specialIndex.get(tokenizer);
  if (!index) {
    index = new Map();
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (!tokenizer.isSpecial(id)) continue;
      const piece = tokenizer.idToPiece(id);
      if (piece.length === 0) continue;
      const list = index.get(piece[0]!) ?? [];
      list.push(piece);
      index.set(piece[0]!, list);
    }
    specialIndex.set(tokenizer, index);
  }
  return index;
}

/** The first special-token string found in `text`, or null. */
function findSpecialText(tokenizer: Tokenizer, text: string): string | null {
  const index = specialsByFirstChar(tokenizer);
  if (index.size === 0) return null;
  for (let i = 0; i < text.length; i++) {
    const list = index.get(text[i]!);
    if (list) for (const s of list) if (text.startsWith(s, i)) return s;
  }
  return null;
}

/**
 * Render `messages` with `template` and tokenize the result (see encodeChatText): the template's own
 * special-token text becomes its ids. Special-token text inside message contents stays plain text
 * unless `specialInContent: 'parse'`: the rendered text is then tokenized in pieces — the template's
 * parts with special tokens parsed, those contents without.
 * @throws ChatTemplateError when such a content cannot be found in the rendering (the template
 *   rewrote it), so it cannot be kept plain.
 */
export function encodeChat(tokenizer: Tokenizer, template: ChatTemplate, messages: readonly ChatMessage[], options: ChatEncodeOptions = {}): ChatPrompt {
  const text = template.render(messages, options);
  if (options.specialInContent === 'parse') return encodeChatText(tokenizer, text, template.bosToken);
  // spans of the rendered text that hold contents with special-token text, in order
  const spans: [number, number][] = [];
  let cursor = 0;
  for (const [i, m] of messages.entries()) {
    const found = findSpecialText(tokenizer, m.content);
    if (found === null) continue;
    let at = text.indexOf(m.content, cursor);
    let len = m.content.length;
    if (at < 0) {
      const trimmed = m.content.trim();
      at = text.indexOf(trimmed, cursor);
      len = trimmed.length;
    }
    if (at < 0) {
      throw new ChatTemplateError(
        `${template.source}: messages[${i}] contains the special-token text ${JSON.stringify(found)} and the template rewrites the message, so it cannot be kept plain text; remove it, or pass specialInContent: 'parse'`,
      );
    }
    spans.push([at, at + len]);
    cursor = at + len;
  }
  if (spans.length === 0) return encodeChatText(tokenizer, text, template.bosToken);
  const bosAdded = needsBos(tokenizer, text, template.bosToken);
  const parts: Int32Array[] = [];
  let from = 0;
  let first = true;
  const push = (a: number, b: number, parseSpecial: boolean) => {
    if (b <= a && !(first && bosAdded)) return;
    parts.push(tokenizer.encode(text.slice(a, b), { bos: first && bosAdded, parseSpecial }));
    first = false;
  };
  for (const [a, b] of spans) {
    push(from, a, true);
    push(a, b, false);
    from = b;
  }
  push(from, text.length, true);
  const ids = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    ids.set(p, o);
    o += p.length;
  }
  return { text, ids, bosAdded };
}

/**
 * The chat templates of a GGUF: tokenizer.chat_template (the default) and tokenizer.chat_template.<name>,
 * rendering with the vocabulary's BOS/EOS/UNK/PAD pieces as bos_token, eos_token, unk_token, pad_token
 * (as llama.cpp does). null when the file has none.
 */
export function ggufChatTemplates(gguf: GgufFile, tok: GgufTokenizerData): ChatTemplateSet | null {
  const texts = new Map<string, string>();
  const prefix = 'tokenizer.chat_template';
  for (const [key, v] of gguf.metadata) {
    if (key !== prefix && !key.startsWith(`${prefix}.`)) continue;
    if (v.type !== 'STRING') throw new ChatTemplateError(`${gguf.name}: ${key}: expected a STRING, got ${v.type}`);
    texts.set(key === prefix ? 'default' : key.slice(prefix.length + 1), v.value);
  }
  if (texts.size === 0) return null;
  const special: Record<string, string> = {};
  const ids = { bos_token: tok.bosId, eos_token: tok.eosId, unk_token: tok.unkId, pad_token: tok.padId };
  for (const [k, id] of Object.entries(ids)) if (id !== null) special[k] = tok.tokens[id]!;
  return chatTemplateSet(texts, `${gguf.name}: tokenizer.chat_template`, special);
}
