/**
 * What the user generates from. Each mode owns its inputs (in the mode panel) and turns them into a
 * GenerateInput; the rest of the page (settings, streaming, step view, plot) is the same for all.
 * Prompt completion is the one mode today. A chat mode is another class here (a message list and a
 * composer; `input()` returns `{ kind: 'chat', messages }`; `onDone` appends the reply), a
 * GenerateInput variant in protocol.ts, and the worker applying the model's chat template.
 */
import type { GenerateInput, GenerationSummary } from './protocol.js';

export interface Mode {
  readonly id: string;
  readonly label: string;
  /** Build the mode's inputs into `panel` (emptied first); `submit` starts a generation. */
  mount(panel: HTMLElement, submit: () => void): void;
  /** The input of the next generation. */
  input(): GenerateInput;
  /** A generation of this mode finished. */
  onDone?(summary: GenerationSummary): void;
}

/** Complete a prompt (empty = start a story from BOS). */
export class PromptMode implements Mode {
  readonly id = 'prompt';
  readonly label = 'Prompt';
  private area: HTMLTextAreaElement | null = null;

  constructor(private readonly initial = 'Once upon a time') {}

  mount(panel: HTMLElement, submit: () => void): void {
    const label = document.createElement('label');
    label.textContent = 'Prompt';
    const area = document.createElement('textarea');
    area.id = 'prompt';
    area.rows = 3;
    area.value = this.area?.value ?? this.initial;
    area.placeholder = 'empty: the model starts from BOS';
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
    });
    label.append(area);
    panel.replaceChildren(label);
    this.area = area;
  }

  input(): GenerateInput {
    return { kind: 'prompt', prompt: this.area?.value ?? this.initial };
  }
}

export const MODES: readonly Mode[] = [new PromptMode()];
