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

/**
 * What to generate from. Only prompts today; a chat mode adds `{ kind: 'chat', messages }` here and
 * a Mode in app.ts, and the worker applies the model's chat template.
 */
export type GenerateInput = { kind: 'prompt'; prompt: string };

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
}

export type WorkerMessage =
  /** Sent once at start: what this page can do. */
  | { type: 'hello'; isolated: boolean; threadsAvailable: number; threadsReason: string | null; verifiers: string[] }
  | { type: 'progress'; which: 'target' | 'draft'; loaded: number; total: number }
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
    }
  | { type: 'pieces'; id: number; pieces: TextPiece[] }
  | { type: 'steps'; id: number; steps: StepRecord[] }
  | { type: 'done'; id: number; summary: GenerationSummary }
  | { type: 'cache-cleared'; existed: boolean }
  | { type: 'failed'; id: number | null; error: ErrorInfo };
