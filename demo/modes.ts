/**
 * What the user generates from. Each mode owns its inputs (in the mode panel) and what the text
 * card shows, and turns its inputs into a GenerateInput; the rest of the page (settings, streaming,
 * step view, plot, comparison) is the same for all. Prompt completes a prompt; Chat holds a
 * conversation that the worker answers with the model's chat template (or a built-in one) and a
 * chat session that keeps its KV cache between turns.
 */
import type { ChatModelInfo, ChatTurn, ChatTurnInfo, GenerateInput, GenerationSummary } from './protocol.js';

/** What a mode learns when a model has loaded. */
export interface LoadedModelInfo {
  /** The target's chat templates. */
  chat: ChatModelInfo;
  /** KV cache positions of the target. */
  context: number;
}

export interface Mode {
  readonly id: string;
  readonly label: string;
  /** The text of the button that starts a generation. */
  readonly action: string;
  /** The title of the text card. */
  readonly outputTitle: string;
  /** Build the mode's inputs into `panel` (emptied first); `submit` starts a generation. */
  mount(panel: HTMLElement, submit: () => void): void;
  /** The mode was chosen: show what it has in the text card `output`. */
  show(output: HTMLElement): void;
  /** The input of the next generation. @throws Error with a message for the user when the inputs are not ready. */
  input(): GenerateInput;
  /** A generation of `input` starts: prepare `output`; returns the element its streamed text goes into. */
  begin(output: HTMLElement, input: GenerateInput): HTMLElement;
  /** A generation of this mode finished (stopped ones included). */
  onDone?(summary: GenerationSummary): void;
  /** A generation of this mode failed (nothing was generated). */
  onFailed?(): void;
  /** A model loaded. */
  onLoaded?(info: LoadedModelInfo): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** Complete a prompt (empty = start a story from BOS). */
export class PromptMode implements Mode {
  readonly id = 'prompt';
  readonly label = 'Prompt';
  readonly action = 'Generate';
  readonly outputTitle = 'Text';
  private area: HTMLTextAreaElement | null = null;

  constructor(private readonly initial = 'Once upon a time') {}

  mount(panel: HTMLElement, submit: () => void): void {
    const area = el('textarea', { id: 'prompt', rows: 3, value: this.area?.value ?? this.initial, placeholder: 'empty: the model starts from BOS' });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
    });
    panel.replaceChildren(el('label', {}, 'Prompt', area));
    this.area = area;
  }

  show(output: HTMLElement): void {
    output.classList.remove('chat');
    output.replaceChildren();
  }

  input(): GenerateInput {
    return { kind: 'prompt', prompt: this.area?.value ?? this.initial };
  }

  begin(output: HTMLElement, input: GenerateInput): HTMLElement {
    output.classList.remove('chat');
    output.replaceChildren(el('span', { className: 'prompt', textContent: input.kind === 'prompt' ? input.prompt : '' }));
    return output;
  }
}

/** One message of the conversation on the page. */
interface ChatEntry extends ChatTurn {
  /** Its bubble. */
  node: HTMLElement;
  /** Left out of the context by the session (the oldest exchanges, when it filled up): no longer sent. */
  forgotten: boolean;
}

/** The value of the template picker that means "the model's own template". */
const OWN = 'own';

/**
 * A conversation: user and assistant bubbles in the text card, the reply streamed into its bubble
 * (coloured by how each token came about), a system message, the chat template (the model's own,
 * one it ships by name, or a built-in fallback — the library's ChatTemplateError is shown when the
 * model has none) and, under every reply, what the turn took from the KV cache and what it
 * prefilled.
 */
export class ChatMode implements Mode {
  readonly id = 'chat';
  readonly label = 'Chat';
  readonly action = 'Send';
  readonly outputTitle = 'Conversation';
  private entries: ChatEntry[] = [];
  private info: LoadedModelInfo | null = null;
  /** The conversation's elements (kept across mode switches and re-mounts). */
  private readonly log = el('div', { className: 'chat-log' });
  private readonly systemLine = el('div', { className: 'msg system' });
  private readonly empty = el('div', { className: 'hint chat-empty', textContent: 'No messages yet: write one and press Send (Enter).' });
  /** The bubbles of the turn being generated: the user's message and the reply. */
  private pending: { user: HTMLElement; reply: HTMLElement } | null = null;
  private templateSelect: HTMLSelectElement | null = null;
  private templateNote: HTMLElement | null = null;
  private systemArea: HTMLTextAreaElement | null = null;
  private messageArea: HTMLTextAreaElement | null = null;
  private totals: HTMLElement = el('div', { className: 'hint chat-totals' });
  private chosenTemplate: string | null = null;

  constructor(private readonly initialSystem = 'You are a storyteller. Answer with a short story.') {}

  mount(panel: HTMLElement, submit: () => void): void {
    const select = el('select', { id: 'chat-template' });
    select.onchange = () => {
      this.chosenTemplate = select.value;
      this.describeTemplate();
    };
    const note = el('div', { id: 'chat-template-note', className: 'hint' });
    const system = el('textarea', { id: 'chat-system', rows: 2, value: this.systemArea?.value ?? this.initialSystem, placeholder: 'none' });
    system.oninput = () => this.render();
    const message = el('textarea', { id: 'chat-input', rows: 3, value: this.messageArea?.value ?? '', placeholder: 'Enter sends, Shift+Enter starts a new line' });
    message.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    const reset = el('button', { type: 'button', id: 'chat-reset', textContent: 'Reset conversation', title: 'forget every message (the system message stays); the next turn starts a new session' });
    reset.onclick = () => this.reset();
    panel.replaceChildren(
      el('label', {}, 'Chat template', select),
      note,
      el('label', {}, 'System message', system),
      el('label', {}, 'Message', message),
      el('div', { className: 'buttons' }, reset),
    );
    this.templateSelect = select;
    this.templateNote = note;
    this.systemArea = system;
    this.messageArea = message;
    this.fillTemplates();
    this.render();
  }

  show(output: HTMLElement): void {
    output.classList.add('chat');
    output.replaceChildren(this.log);
    output.scrollTop = output.scrollHeight;
  }

  input(): GenerateInput {
    const text = this.messageArea?.value ?? '';
    if (text.trim() === '') throw new Error('Write a message first.');
    const v = this.templateSelect?.value ?? '';
    if (v === '') throw new Error('Load a model first: the chat template depends on it.');
    const messages: ChatTurn[] = this.entries.filter((e) => !e.forgotten).map((e) => ({ role: e.role, content: e.content }));
    messages.push({ role: 'user', content: text });
    return { kind: 'chat', system: this.systemArea?.value ?? '', messages, template: v === OWN ? null : v };
  }

  begin(output: HTMLElement, input: GenerateInput): HTMLElement {
    this.dropPending();
    const text = input.kind === 'chat' ? input.messages[input.messages.length - 1]!.content : '';
    const user = this.bubble('user', text);
    const reply = this.bubble('assistant', '');
    reply.classList.add('streaming');
    this.pending = { user, reply };
    this.render();
    this.show(output);
    return reply.querySelector<HTMLElement>('.body')!;
  }

  onDone(summary: GenerationSummary): void {
    const p = this.pending;
    const chat = summary.chat;
    if (p === null || chat === null) return;
    this.pending = null;
    p.reply.classList.remove('streaming');
    // the session forgot the oldest messages to fit the context: so does the page
    let forget = chat.droppedMessages;
    for (const e of this.entries) {
      if (forget === 0) break;
      if (e.forgotten) continue;
      e.forgotten = true;
      e.node.classList.add('forgotten');
      e.node.title = 'outside the context: the session forgot this message to make room';
      forget--;
    }
    this.entries.push({ role: 'user', content: p.user.querySelector('.body')!.textContent ?? '', node: p.user, forgotten: false });
    this.entries.push({ role: 'assistant', content: summary.text, node: p.reply, forgotten: false });
    p.reply.append(this.turnMeta(summary, chat));
    if (this.messageArea) this.messageArea.value = '';
    this.render();
  }

  onFailed(): void {
    this.dropPending();
    this.render();
  }

  onLoaded(info: LoadedModelInfo): void {
    this.info = info;
    this.fillTemplates();
    this.render();
  }

  /** Forget the conversation (the system message stays). */
  reset(): void {
    this.entries = [];
    this.dropPending();
    this.render();
  }

  private dropPending(): void {
    if (this.pending === null) return;
    this.pending.user.remove();
    this.pending.reply.remove();
    this.pending = null;
  }

  private bubble(role: 'user' | 'assistant', text: string): HTMLElement {
    const node = el('div', { className: `msg ${role}` }, el('div', { className: 'who', textContent: role === 'user' ? 'You' : 'Model' }), el('div', { className: 'body', textContent: text }));
    node.dataset.role = role;
    return node;
  }

  /** Under a reply: the turn's tokens on the context's scale — reused from the cache, prefilled, generated — and what ended it. */
  private turnMeta(s: GenerationSummary, c: ChatTurnInfo): HTMLElement {
    const context = Math.max(1, this.info?.context ?? c.promptTokens + s.tokens);
    const part = (cls: string, n: number, title: string) => {
      const span = el('span', { className: cls, title: `${n} ${title}` });
      span.style.width = `${Math.min(100, (100 * n) / context)}%`;
      return span;
    };
    // the prompt's last token is the first decoding step's input: neither reused nor prefilled
    const bar = el('div', { className: 'tokbar', title: `the context: ${context} positions` },
      part('reused', c.reusedTokens, 'tokens reused from the KV cache'),
      part('prefilled', c.promptTokens - c.reusedTokens, 'new prompt tokens (prefilled; the last one goes in with the first step)'),
      part('generated', s.tokens, 'tokens generated'));
    const why = c.newSession
      ? 'a new session: nothing to reuse'
      : c.droppedTokens > 0 && c.reusedTokens === 0
        ? 'the cache held another generation: the conversation was prefilled again'
        : c.droppedTokens > 0
          ? `${c.droppedTokens} cached tokens no longer matched the conversation's tokens (a reply that re-tokenizes differently, or forgotten messages) and were recomputed`
          : 'the earlier turns came from the cache';
    const stop = s.stopReason === 'aborted' ? 'stopped' : `ended by ${s.stopReason}`;
    const text = el('div', {
      className: 'meta-text',
      textContent: `${c.reusedTokens} tokens reused from the KV cache · ${c.prefilledTokens} prefilled · ${s.tokens} generated · ${stop} (${why}${c.droppedMessages > 0 ? `; ${c.droppedMessages} oldest messages forgotten to fit the context` : ''})`,
    });
    const rendered = el('details', { className: 'rendered' },
      el('summary', { textContent: `What the model read: ${c.promptTokens} tokens, rendered by ${c.template}` }),
      el('pre', { textContent: c.rendered }));
    const meta = el('div', { className: 'turn-meta' }, bar, text, rendered);
    Object.assign(meta.dataset, {
      promptTokens: String(c.promptTokens), reused: String(c.reusedTokens), prefilled: String(c.prefilledTokens), generated: String(s.tokens),
      cacheHit: String(c.cacheHit), droppedTokens: String(c.droppedTokens), newSession: String(c.newSession), stop: s.stopReason,
    });
    return meta;
  }

  /** The picker: the model's own template (if any), the ones it ships by name, the built-in ones. */
  private fillTemplates(): void {
    const select = this.templateSelect;
    if (select === null) return;
    const chat = this.info?.chat;
    if (!chat) {
      select.replaceChildren(el('option', { value: '', textContent: 'load a model first' }));
      select.disabled = true;
      this.describeTemplate();
      return;
    }
    select.disabled = false;
    const opts: HTMLOptionElement[] = [];
    if (chat.own !== null) opts.push(el('option', { value: OWN, textContent: "the model's own" }));
    for (const n of chat.named) opts.push(el('option', { value: n, textContent: `the model's "${n}"` }));
    for (const b of chat.builtins) opts.push(el('option', { value: b.name, textContent: `${b.name} (built-in)`, title: b.description }));
    select.replaceChildren(...opts);
    const keep = this.chosenTemplate !== null && opts.some((o) => o.value === this.chosenTemplate) ? this.chosenTemplate : null;
    select.value = keep ?? (chat.own !== null ? OWN : chat.named[0] ?? chat.suggested.name);
    this.describeTemplate();
  }

  private describeTemplate(): void {
    const note = this.templateNote;
    const select = this.templateSelect;
    if (note === null || select === null) return;
    const chat = this.info?.chat;
    note.replaceChildren();
    if (!chat) return;
    const v = select.value;
    if (chat.error !== null) {
      note.dataset.state = 'error';
      note.append(el('span', { className: 'error-text', textContent: `${chat.error.name}: ${chat.error.message}` }));
      if (v === chat.suggested.name) note.append(el('span', { textContent: ` — using the built-in ${v} template (${chat.suggested.reason}).` }));
      else if (chat.builtins.some((b) => b.name === v)) note.append(el('span', { textContent: ` — using the built-in ${v} template.` }));
    } else {
      note.dataset.state = 'ok';
      note.textContent = v === OWN ? `From ${chat.own}.` : chat.builtins.find((b) => b.name === v)?.description ?? `The model's template "${v}".`;
    }
  }

  private render(): void {
    const system = this.systemArea?.value ?? this.initialSystem;
    this.systemLine.textContent = system === '' ? 'No system message.' : `System: ${system}`;
    const turns = this.entries.filter((e) => e.role === 'assistant').map((e) => e.node.querySelector<HTMLElement>('.turn-meta')?.dataset);
    const prompt = turns.reduce((a, d) => a + Number(d?.promptTokens ?? 0), 0);
    const reused = turns.reduce((a, d) => a + Number(d?.reused ?? 0), 0);
    this.totals.textContent = turns.length === 0 ? '' : `${turns.length} turn${turns.length === 1 ? '' : 's'}: ${reused} of ${prompt} conversation tokens came from the KV cache${prompt > 0 ? ` (${Math.round((100 * reused) / prompt)}%)` : ''}.`;
    const nodes: HTMLElement[] = [this.systemLine, ...this.entries.map((e) => e.node)];
    if (this.pending) nodes.push(this.pending.user, this.pending.reply);
    else if (this.entries.length === 0) nodes.push(this.empty);
    nodes.push(this.totals);
    this.log.replaceChildren(...nodes);
  }
}

export const MODES: readonly Mode[] = [new PromptMode(), new ChatMode()];
