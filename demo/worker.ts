/**
 * The demo's generation worker (a module Web Worker, bundled with the core by esbuild): loads
 * models, runs Generator.generate() for prompts and a ChatSession for conversations (its KV cache
 * kept between turns), and streams text pieces and step records to the page, so the page never
 * blocks. Kernel threads, when the page is cross-origin isolated, are further workers started by
 * createBrowserExecutor.
 */
import {
  BUILTIN_CHAT_TEMPLATES,
  BUILTIN_CHAT_TEMPLATE_NAMES,
  Generator,
  InvalidArgumentError,
  SpechubError,
  WasmFeatureError,
  VERIFIER_NAMES,
  blobByteSource,
  blobModelSource,
  clearBrowserModelCache,
  createBrowserExecutor,
  createBrowserRuntime,
  defaultBrowserThreads,
  earlyExitDrafter,
  httpByteSource,
  httpModelSource,
  loadGgufModel,
  loadHfModel,
  modelDrafter,
  resolveChatTemplate,
  threadsUnavailableReason,
  type ByteSource,
  type ChatSession,
  type ChatTurnOptions,
  type Drafter,
  type Executor,
  type GenerationResult,
  type LoadedModel,
  type LoadProgress,
  type ModelSource,
  type Runtime,
  type StepEvent,
} from '../src/index.js';
import { loadHfConfig, openGgufModel } from '../src/formats.js';
import { suggestChatTemplate } from './templates.js';
import type {
  ChatModelInfo, ChatTurnInfo, DraftSpec, ErrorInfo, GenerateInput, GenerateRequest, LoadRequest, ModelInfo, ModelSpec, PageMessage, PieceKind, StepRecord, TextPiece, WorkerMessage,
} from './protocol.js';

interface Scope {
  postMessage(message: WorkerMessage): void;
  onmessage: ((ev: { data: PageMessage }) => void) | null;
}
const scope = globalThis as unknown as Scope;
const post = (m: WorkerMessage): void => scope.postMessage(m);

/** Where the .wasm builds are served (the demo server maps build/ there). */
const WASM_BASE = new URL('/build/', location.href);
/** Rows one forward may take: the largest tree the page offers, and prompt chunks. */
const MAX_BATCH = 64;

interface Loaded {
  rt: Runtime;
  executor: Executor;
  target: LoadedModel;
  drafter: Drafter | null;
  /** Generators by settings (each plans its buffers in the runtime's memory once). */
  generators: Map<string, Generator>;
  /** The conversation of the chat mode, on the generator of its settings (null before the first turn). */
  chat: ChatSession | null;
}

let loaded: Loaded | null = null;
let abort: AbortController | null = null;

function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof SpechubError) return { name: e.name, code: e.code, message: e.message };
  if (e instanceof Error) return { name: e.name, code: null, message: e.message };
  return { name: 'Error', code: null, message: String(e) };
}

/** Byte counters of one model load, whatever the source. */
interface Counters {
  requests: number;
  networkBytes: number;
  cacheBytes: number;
  localBytes: number;
}

/** A ModelSource that keeps the text files it read (config.json is read twice: for the context cap, then by the loader). */
function rememberText(src: ModelSource): ModelSource {
  const texts = new Map<string, Promise<string>>();
  return {
    name: src.name,
    exists: (f) => src.exists(f),
    open: (f) => src.open(f),
    readText(f) {
      let t = texts.get(f);
      if (t === undefined) {
        t = src.readText(f);
        texts.set(f, t);
      }
      return t;
    },
  };
}

async function loadModel(rt: Runtime, executor: Executor, spec: ModelSpec, context: number, which: 'target' | 'draft', dtype?: 'int8' | 'int4'): Promise<{ model: LoadedModel; counters: Counters }> {
  const counters: Counters = { requests: 0, networkBytes: 0, cacheBytes: 0, localBytes: 0 };
  // the bar follows the weights as the engine reads them (from the network, the cache or a local file alike)
  const onProgress = (p: LoadProgress) => post({ type: 'progress', which, loaded: p.bytes, total: p.total, tensor: p.tensor });
  const opts = (maxSeqLen: number) => ({ maxBatch: MAX_BATCH, executor, capacity: Math.min(context, maxSeqLen), onProgress, ...(dtype ? { dtype, name: `${which}.${dtype}` } : {}) });
  if (spec.kind === 'url' || spec.kind === 'folder') {
    let http: ReturnType<typeof httpModelSource> | null = null;
    let src: ModelSource;
    if (spec.kind === 'url') {
      http = httpModelSource(spec.url, { ...(spec.files ? { files: spec.files } : {}) });
      src = rememberText(http);
    } else {
      src = rememberText(blobModelSource(spec.name, spec.files));
      counters.localBytes = Object.values(spec.files).reduce((a, f) => a + f.size, 0);
    }
    const { config } = await loadHfConfig(src);
    const model = await loadHfModel(rt, src, opts(config.maxSeqLen));
    if (http) Object.assign(counters, { requests: http.stats.requests, networkBytes: http.stats.networkBytes, cacheBytes: http.stats.cacheBytes });
    return { model, counters };
  }
  let source: ByteSource;
  if (spec.kind === 'gguf-url') source = await httpByteSource(spec.url);
  else {
    source = blobByteSource(spec.file.name, spec.file);
    counters.localBytes = spec.file.size;
  }
  const header = await openGgufModel(source);
  const maxSeqLen = header.config.maxSeqLen;
  const model = await loadGgufModel(rt, source, opts(maxSeqLen));
  const stats = (source as { stats?: { requests: number; networkBytes: number; cacheBytes: number } }).stats;
  if (stats) Object.assign(counters, { requests: stats.requests, networkBytes: stats.networkBytes, cacheBytes: stats.cacheBytes });
  await source.close?.();
  return { model, counters };
}

function info(m: LoadedModel, c: Counters): ModelInfo {
  return {
    name: m.name,
    layers: m.config.nLayers,
    dim: m.config.dim,
    vocabSize: m.config.vocabSize,
    context: m.model.cache.capacity,
    loadMs: m.loadMs,
    ...c,
  };
}

async function load(req: LoadRequest): Promise<void> {
  if (loaded) await loaded.executor.close();
  loaded = null;
  // threads: the page asks; a page without cross-origin isolation gets the library's typed error,
  // shown as it is, and one thread
  let threads = req.threads;
  let threadsFallback: ErrorInfo | null = null;
  let rt: Runtime;
  try {
    rt = await createBrowserRuntime({ threads, wasmBaseUrl: WASM_BASE });
  } catch (e) {
    if (!(e instanceof WasmFeatureError) || threads === 1) throw e;
    threadsFallback = errorInfo(e);
    threads = 1;
    rt = await createBrowserRuntime({ threads: 1, wasmBaseUrl: WASM_BASE });
  }
  const executor = await createBrowserExecutor(rt, { threads, workerUrl: new URL('./browser-kernel-worker.js', import.meta.url) });
  try {
    const t = await loadModel(rt, executor, req.target, req.context, 'target');
    let drafter: Drafter | null = null;
    let draftInfo: ModelInfo | null = null;
    const d: DraftSpec = req.draft;
    if (d.kind === 'model') {
      const m = await loadModel(rt, executor, d.model, req.context, 'draft');
      drafter = modelDrafter(t.model, m.model, m.model.name.split('/').filter(Boolean).pop() ?? m.model.name);
      draftInfo = info(m.model, m.counters);
    } else if (d.kind === 'quant') {
      const m = await loadModel(rt, executor, req.target, req.context, 'draft', d.dtype);
      drafter = modelDrafter(t.model, m.model, d.dtype);
      draftInfo = info(m.model, m.counters);
    } else if (d.kind === 'exit') {
      drafter = earlyExitDrafter(t.model, d.layers);
    }
    loaded = { rt, executor, target: t.model, drafter, generators: new Map(), chat: null };
    const tok = t.model.tokenizer;
    const pieces = Array.from({ length: tok.vocabSize }, (_, i) => tok.idToPiece(i));
    post({
      type: 'loaded', target: info(t.model, t.counters), draft: draftInfo, drafter: drafter?.label ?? 'none',
      build: rt.build, threads, threadsFallback, pieces, eosId: tok.eosId, chat: chatInfo(t.model),
    });
  } catch (e) {
    await executor.close();
    throw e;
  }
}

/** The chat templates of a loaded model, and the library's typed error when it has none. */
function chatInfo(m: LoadedModel): ChatModelInfo {
  let own: string | null = null;
  let error: ErrorInfo | null = null;
  try {
    own = resolveChatTemplate(m).source;
  } catch (e) {
    error = errorInfo(e);
  }
  return {
    own,
    named: m.chatTemplates ? [...m.chatTemplates.named.keys()].filter((n) => n !== 'default') : [],
    error,
    builtins: BUILTIN_CHAT_TEMPLATE_NAMES.map((name) => ({ name, description: BUILTIN_CHAT_TEMPLATES[name]!.description })),
    suggested: suggestChatTemplate(m.tokenizer),
  };
}

function generatorFor(l: Loaded, req: GenerateRequest): Generator {
  const s = req.settings;
  const drafter = s.speculative ? l.drafter : null;
  // a chat turn's template is the generator's (null: the model's own, which prompts may share)
  const template = req.input.kind === 'chat' ? req.input.template : null;
  const key = JSON.stringify([drafter ? s.method : 'none', drafter ? s.tree : '', s.temperature, s.topK, s.topP, template]);
  let g = l.generators.get(key);
  if (g === undefined) {
    g = new Generator(l.target, {
      drafter,
      method: s.method as never,
      tree: s.tree.trim() === 'auto' ? 'auto' : s.tree,
      sampling: { temperature: s.temperature, topK: s.topK, topP: s.topP },
      ...(template !== null ? { chatTemplate: template } : {}),
    });
    l.generators.set(key, g);
  }
  return g;
}

/**
 * The chat session to answer `input` with: the current one when it runs on `gen` and holds exactly
 * the conversation before the new user message (so its KV cache is reused), else a new one with
 * that conversation. The session forgets the oldest exchanges when the context fills up (the CLI's
 * policy); the page is told how many.
 */
function sessionFor(l: Loaded, gen: Generator, input: Extract<GenerateInput, { kind: 'chat' }>): { session: ChatSession; fresh: boolean } {
  const last = input.messages[input.messages.length - 1];
  if (last?.role !== 'user') throw new InvalidArgumentError(`chat: expected the conversation to end with a user message, got ${last ? `a ${last.role} message` : 'none'}`);
  const prior = input.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content }));
  const want = input.system !== '' ? [{ role: 'system', content: input.system }, ...prior] : prior;
  const s = l.chat;
  if (s !== null && s.generator === gen) {
    const have = s.messages;
    if (have.length === want.length && have.every((m, i) => m.role === want[i]!.role && m.content === want[i]!.content)) return { session: s, fresh: false };
  }
  const session = gen.chat({ ...(input.system !== '' ? { system: input.system } : {}), messages: prior, overflow: 'drop-oldest' });
  l.chat = session;
  return { session, fresh: true };
}

async function generate(req: GenerateRequest): Promise<void> {
  if (!loaded) throw new WasmFeatureError('generate: load a model first');
  const l = loaded;
  const gen = generatorFor(l, req);
  const id = req.id;
  // pieces of text wait for their step's record (which says how each token was produced)
  let pending: { text: string; index: number }[] = [];
  let tokenIndex = 0; // tokens kept in this step so far
  let outPieces: TextPiece[] = [];
  let outSteps: StepRecord[] = [];
  let lastFlush = performance.now();
  const flush = () => {
    if (outPieces.length > 0) post({ type: 'pieces', id, pieces: outPieces });
    if (outSteps.length > 0) post({ type: 'steps', id, steps: outSteps });
    outPieces = [];
    outSteps = [];
    lastFlush = performance.now();
  };
  const onStep = (e: StepEvent) => {
    const kindOf = (j: number): PieceKind => (j < e.emittedCount - 1 ? 'accepted' : e.final);
    for (const p of pending) outPieces.push({ text: p.text, kind: kindOf(p.index), step: e.step });
    pending = [];
    tokenIndex = 0;
    const acceptance = e.levelReached.map((r, i) => (r > 0 ? e.levelAccepted[i]! / r : NaN));
    outSteps.push({
      step: e.step,
      shape: [...e.shape],
      tokens: Array.from(e.tokens.subarray(0, e.size)),
      parents: Array.from(e.parents.subarray(0, e.size)),
      path: Array.from(e.path.subarray(0, e.pathLength)),
      emitted: Array.from(e.emitted.subarray(0, e.emittedCount)),
      final: e.final,
      acceptance,
      generated: e.generated,
      elapsedMs: e.elapsedMs,
    });
    if (performance.now() - lastFlush > 50) flush();
  };
  abort = new AbortController();
  const options: ChatTurnOptions = {
    maxTokens: req.settings.maxTokens,
    seed: req.settings.seed,
    signal: abort.signal,
    onToken: () => void tokenIndex++,
    onText: (text) => pending.push({ text, index: tokenIndex - 1 }),
    onStep,
  };
  let result: GenerationResult;
  let chat: ChatTurnInfo | null = null;
  const input = req.input;
  try {
    if (input.kind === 'prompt') result = await gen.generate({ prompt: input.prompt, ...options });
    else {
      const { session, fresh } = sessionFor(l, gen, input);
      const turn = await session.send(input.messages[input.messages.length - 1]!.content, options);
      result = turn;
      const read = session.messages.slice(0, -1); // the conversation the reply answered (after any forgetting)
      chat = {
        template: session.template.source, promptTokens: turn.stats.promptTokens, reusedTokens: turn.stats.reusedTokens,
        prefilledTokens: turn.stats.prefilledTokens, cacheHit: turn.cacheHit, droppedTokens: turn.droppedTokens,
        droppedMessages: turn.droppedMessages, newSession: fresh, rendered: session.template.render(read, { addGenerationPrompt: true }),
      };
    }
  } finally {
    abort = null;
  }
  // the decoder's tail (an incomplete character at the end) arrives after the last step
  for (const p of pending) outPieces.push({ text: p.text, kind: 'plain', step: -1 });
  flush();
  const st = result.stats;
  post({
    type: 'done',
    id,
    summary: {
      text: result.text, stopReason: result.stopReason, tokens: st.generatedTokens, steps: st.steps, tokensPerStep: st.tokensPerStep,
      tokensPerSecond: st.tokensPerSecond, decodeMs: st.decodeMs, prefillMs: st.prefillMs, acceptancePerLevel: st.acceptancePerLevel,
      method: st.method, tree: st.treeAuto ? 'auto' : st.tree.join(','), treeChoices: st.treeChoices, drafter: st.drafter, chat,
    },
  });
}

let queue: Promise<void> = Promise.resolve();

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'stop') {
    abort?.abort();
    return;
  }
  // one request at a time, in order
  queue = queue.then(async () => {
    try {
      if (m.type === 'load') await load(m);
      else if (m.type === 'generate') await generate(m);
      else post({ type: 'cache-cleared', existed: await clearBrowserModelCache() });
    } catch (e) {
      post({ type: 'failed', id: m.type === 'generate' ? m.id : null, error: errorInfo(e) });
    }
  });
};

post({
  type: 'hello',
  isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
  threadsAvailable: defaultBrowserThreads(),
  threadsReason: threadsUnavailableReason(),
  verifiers: [...VERIFIER_NAMES],
});
