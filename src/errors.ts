/**
 * Typed errors. Every failure a user can cause (bad file, bad config, bad argument, full cache)
 * is one of these, with a message of the form "what: expected X, got Y" and, where useful, a hint.
 */
export type ErrorCode =
  | 'CONFIG'
  | 'WEIGHTS_FORMAT'
  | 'TOKENIZER'
  | 'SHAPE'
  | 'CAPACITY'
  | 'INVALID_ARGUMENT'
  | 'WASM_FEATURE'
  | 'THREAD'
  | 'CHAT_TEMPLATE'
  | 'NUMERIC'
  | 'BUSY';

/**
 * `text` on one line: line breaks (\n, \r, U+2028, U+2029) become the escapes JSON would write. Every
 * SpechubError message goes through it, so a message quoting a file (V8's JSON snippets do) or a
 * user's string can never span lines in a log or a terminal.
 */
export function oneLine(text: string): string {
  return text.replace(/[\n\r\u2028\u2029]/g, (br) => (br === '\n' ? '\\n' : br === '\r' ? '\\r' : `\\u${br.charCodeAt(0).toString(16)}`));
}

/**
 * Base class of every error spechub throws on purpose. `code` is stable API; messages are too, and
 * always one line (see oneLine).
 */
export class SpechubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(oneLine(String(message)), options);
    this.name = new.target.name;
  }
}

/**
 * The base of an error class whose code is fixed: its constructor takes the message (and options)
 * only. The subclass's own name becomes `.name` (SpechubError sets it from `new.target`).
 */
function withCode(code: ErrorCode): new (message: string, options?: ErrorOptions) => SpechubError {
  return class extends SpechubError {
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

/** A model config (config.json, llama2.c header, GGUF metadata) that is missing, unknown or inconsistent. */
export class ConfigError extends withCode('CONFIG') {}

/** A weights file (safetensors, index, GGUF, llama2.c .bin) that is malformed; the message names the file. */
export class WeightsFormatError extends withCode('WEIGHTS_FORMAT') {}

/** A tokenizer file that cannot be used, or draft/target tokenizers that differ. */
export class TokenizerError extends withCode('TOKENIZER') {}

/** Arrays whose lengths or shapes do not fit together. */
export class ShapeError extends withCode('SHAPE') {}

/** A fixed capacity (KV cache, memory, tree size) would be exceeded. */
export class CapacityError extends withCode('CAPACITY') {}

/** One way a load that does not fit would fit: a smaller weight type, a shorter context, or both. */
export interface MemoryFit {
  /** The weight type (`dtype` option, `--dtype`), when it differs from the one asked for. */
  readonly dtype?: string;
  /** KV-cache positions (`capacity` option, `--max-context`), when shorter than asked for. */
  readonly capacity?: number;
  /** What the KV cache stores (`kvType` option, `--kv-type`), when it differs from the one asked for. */
  readonly kvType?: string;
  /** Bytes the load would then need. */
  readonly total: number;
}

/**
 * A model load (or a context) that does not fit the runtime's memory, refused before anything large
 * is allocated. The message is one line: the bytes of weights, KV cache, activations and scratch,
 * what is free, and what would fit (`fits`; in the message in library terms, dtype and capacity;
 * `memoryAdvice(fits, 'flags')` words it as command-line flags).
 */
export class MemoryPlanError extends CapacityError {
  /** Bytes by part (weights, kvCache, activations, scratch, total) and the context planned for. */
  readonly plan: { readonly weights: number; readonly kvCache: number; readonly activations: number; readonly scratch: number; readonly total: number; readonly capacity: number };
  /** Bytes the runtime could still hand out. */
  readonly free: number;
  /** What would fit, best first (empty when nothing does). */
  readonly fits: readonly MemoryFit[];
  /** The message without the advice (what is needed and what is free). */
  readonly summary: string;

  constructor(message: string, summary: string, details: { plan: MemoryPlanError['plan']; free: number; fits: readonly MemoryFit[] }, options?: ErrorOptions) {
    super(message, options);
    this.summary = summary;
    this.plan = details.plan;
    this.free = details.free;
    this.fits = details.fits;
  }
}

/**
 * A KV-cache context (or a Generator) that is already running a generation: two generations at the
 * same time on one context would overwrite each other's cache. Create one context per concurrent
 * stream (`model.createContext()`, GeneratorOptions.context) or wait for the running one to finish.
 */
export class ContextBusyError extends withCode('BUSY') {}

/** A public-API argument out of its domain (negative probability, k < 1, unknown method name, …). */
export class InvalidArgumentError extends withCode('INVALID_ARGUMENT') {}

/** The JavaScript engine lacks a WebAssembly feature spechub needs (SIMD). */
export class WasmFeatureError extends withCode('WASM_FEATURE') {}

/**
 * A worker thread of a threaded executor failed: a kernel trapped on a worker, a worker died, or
 * the executor was used after such a failure or after close(). The message names the thread.
 */
export class ThreadError extends withCode('THREAD') {}

/**
 * A chat template that is missing (the model ships none and no fallback was chosen), does not
 * parse, or refuses the conversation while rendering (the template's own raise_exception, e.g. roles
 * that do not alternate). The message names where the template came from.
 */
export class ChatTemplateError extends withCode('CHAT_TEMPLATE') {}

/**
 * Numbers out of the range spechub can compute with, coming from a model rather than from an
 * argument: a forward pass that produced NaN or infinite logits (weights or activations beyond f32,
 * which loading warns about: LoadedModel.warnings), or weights too large for the chosen quantisation
 * (a q8/q4 group whose scale does not fit an f16). The message names the model or tensor.
 */
export class NumericError extends withCode('NUMERIC') {}
