/**
 * Messages between the demo page (app.ts) and its generation worker (worker.ts). Everything here is
 * structured-cloneable (File objects included). One request at a time: the page sends `load` or
 * `generate` and waits for its `loaded` / `done` / `failed` before the next (`stop` may come at any
 * time).
 */

/** Where a model comes from. */
export type ModelSpec =
  /** A Hugging Face folder served over HTTP; `files` is its manifest (name → bytes) when known. */
  | { kind: 'url'; url: string; files?: Record<string, number> }
  /** A .gguf file over HTTP. */
  | { kind: 'gguf-url'; url: string }
  /** A folder picked or dropped: file name → File. */
  | { kind: 'folder'; name: string; files: Record<string, File> }
  /** A .gguf file picked or dropped. */
  | { kind: 'gguf-file'; file: File };

/** Where drafts come from. */
export type DraftSpec =
  | { kind: 'none' }
  | { kind: 'model'; model: ModelSpec }
  /** A quantised copy of the target (loaded again from the same source). */
  | { kind: 'quant'; dtype: 'int8' | 'int4' }
  /** The target's first `layers` layers. */
  | { kind: 'exit'; layers: number };

export interface LoadRequest {
  type: 'load';
  target: ModelSpec;
  draft: DraftSpec;
  /** Kernel threads (1 = serial); more than 1 needs a cross-origin-isolated page. */
  threads: number;
  /** KV cache positions (capped by the model's context). */
  context: number;
}

/** Sampling and speculation settings of one generation. */
export interface GenerateSettings {
  method: string;
  /** "2,2,2" or "auto". */
  tree: string;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  maxTokens: number;
  /** false: plain decoding even when a draft is loaded (the comparison's baseline). */
  speculative: boolean;
}

/** One message of a conversation as the page keeps it (the system message travels apart). */
export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * What to generate from: a prompt to complete, or a conversation to answer. A chat request carries
 * the whole conversation; the worker continues its chat session (and the session's KV cache) when
 * the conversation extends the session's by this one user message, with the same generator, and
 * starts a new session otherwise (settings, template or system message changed, a reset, a model load).
 */
export type GenerateInput =
  | { kind: 'prompt'; prompt: string }
  | {
      kind: 'chat';
      /** The system message; '' = none. */
      system: string;
      /** The conversation, user and assistant in turn, ending with the user's new message. */
      messages: ChatTurn[];
      /** The chat template: null = the model's own; else a name the model ships or a built-in one (chatml, llama3, …). */
      template: string | null;
    };

export interface GenerateRequest {
  type: 'generate';
  id: number;
  input: GenerateInput;
  settings: GenerateSettings;
}

export type PageMessage =
  | LoadRequest
  | GenerateRequest
  | { type: 'stop' }
  /** Empty the model cache (the next load downloads again). */
  | { type: 'clear-cache' };

/** One loaded model, as the page shows it. */
export interface ModelInfo {
  name: string;
  layers: number;
  dim: number;
  vocabSize: number;
  context: number;
  loadMs: number;
  /** Bytes read from the network / from the model cache / from local files. */
  networkBytes: number;
  cacheBytes: number;
  localBytes: number;
  /** HTTP requests made to load it. */
  requests: number;
}

/** A step as the tree view draws it (copied out of the library's StepEvent). */
export interface StepRecord {
  step: number;
  shape: number[];
  tokens: number[];
  parents: number[];
  /** Accepted path as node ids, root first. */
  path: number[];
  /** Tokens the step emitted (accepted drafts, then the final one). */
  emitted: number[];
  final: 'correction' | 'bonus' | 'plain';
  /** Acceptance per tree level so far (accepted / reached; NaN where not reached yet). */
  acceptance: number[];
  /** Tokens generated so far. */
  generated: number;
  elapsedMs: number;
}

/** How a piece of text was produced. */
export type PieceKind = 'accepted' | 'correction' | 'bonus' | 'plain';

export interface TextPiece {
  text: string;
  kind: PieceKind;
  step: number;
}

export interface ErrorInfo {
  /** The error class (ConfigError, WasmFeatureError, …). */
  name: string;
  /** SpechubError code, when it is one. */
  code: string | null;
  message: string;
}

/** The chat templates of a loaded model, as the chat mode's picker offers them. */
export interface ChatModelInfo {
  /** Where the model's own default template comes from (e.g. "…/tokenizer_config.json chat_template"); null when it has none. */
  own: string | null;
  /** Other templates the model ships, by name (e.g. "tool_use"). */
  named: string[];
  /** The typed error (ChatTemplateError) the library gives for the model's own template when it has none. */
  error: ErrorInfo | null;
  /** The built-in templates (for models without one, or to override it). */
  builtins: { name: string; description: string }[];
  /** The built-in template to preselect when the model has none, and why. */
  suggested: { name: string; reason: string };
}

/** What one chat turn did with the KV cache (the library's ChatTurnResult and its stats). */
export interface ChatTurnInfo {
  /** Where the template came from (ChatTemplate.source). */
  template: string;
  /** Tokens of the rendered conversation. */
  promptTokens: number;
  /** Of those, tokens whose keys and values were already in the cache (earlier turns). */
  reusedTokens: number;
  /** Tokens run in this turn's prefill. */
  prefilledTokens: number;
  /** Whether the cache held a prefix of this turn's tokens. */
  cacheHit: boolean;
  /** Cached tokens that differed from this turn's rendering and were recomputed. */
  droppedTokens: number;
  /** Oldest messages forgotten to fit the context (the page greys them out and stops sending them). */
  droppedMessages: number;
  /** Whether the worker started a new chat session for this turn (so nothing could be reused). */
  newSession: boolean;
  /** The conversation as the template rendered it for this turn: what the model read. */
  rendered: string;
}

export interface GenerationSummary {
  text: string;
  stopReason: string;
  tokens: number;
  steps: number;
  tokensPerStep: number;
  tokensPerSecond: number;
  decodeMs: number;
  prefillMs: number;
  acceptancePerLevel: number[];
  method: string;
  tree: string;
  treeChoices: { tree: string; steps: number }[];
  drafter: string;
  /** Set for a chat turn. */
  chat: ChatTurnInfo | null;
}

export type WorkerMessage =
  /** Sent once at start: what this page can do. */
  | { type: 'hello'; isolated: boolean; threadsAvailable: number; threadsReason: string | null; verifiers: string[] }
  /** Weights read so far (bytes of the model's files), and the tensor just read. */
  | { type: 'progress'; which: 'target' | 'draft'; loaded: number; total: number; tensor: string }
  | {
      type: 'loaded';
      target: ModelInfo;
      draft: ModelInfo | null;
      drafter: string;
      build: string;
      threads: number;
      /** Set when more threads were asked for than the page allows: the typed error's message (the worker fell back to one thread). */
      threadsFallback: ErrorInfo | null;
      /** id → token piece, for labels. */
      pieces: string[];
      eosId: number | null;
      /** The target's chat templates. */
      chat: ChatModelInfo;
    }
  | { type: 'pieces'; id: number; pieces: TextPiece[] }
  | { type: 'steps'; id: number; steps: StepRecord[] }
  | { type: 'done'; id: number; summary: GenerationSummary }
  | { type: 'cache-cleared'; existed: boolean }
  | { type: 'failed'; id: number | null; error: ErrorInfo };
