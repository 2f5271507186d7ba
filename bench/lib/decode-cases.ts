/**
 * One model-level measurement (engine × weights × threads), run inside a child process
 * (bench/lib/case-runner.ts): load, check, warm up, then `runs` timed runs of
 *   prefill: one forward of the prompt (one batch; the bench uses 128 tokens);
 *   decode:  greedy tokens (the bench uses 64), one single-token forward each (sampling included).
 * spechub runs through `Generator` (drafter null, temperature 0: what a user of the API gets);
 * the bare forward loop (forward + commit + argmax in JS) is timed too, to show the Generator's
 * own cost. llama.cpp runs through node-llama-cpp's `sequence.evaluate` (docs/performance.md §4):
 * prefill = until the first generated token, decode = the tokens after it.
 *
 * Both engines also report the next-token distribution after the prompt (top 5), so the bench
 * can check that they compute the same model from the same weights.
 *
 * The bench runs both engines of a case in one child (runPairedDecode) with their timed runs
 * interleaved; runSpechubDecode / runLlamaDecode run one engine alone (--no-llama).
 */
import { Generator, loadModelFromPath, modelDrafter, type LoadModelOptions, type LoadedModel } from '../../src/node.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import { progress } from './child.js';
import { measureBandwidth1, measureBandwidth2 } from './bandwidth.js';
import { median } from '../../src/util/stats.js';
import { hasDtype, hasThreads, runtimeFor, type SpechubDtype } from './spechub-caps.js';

export interface DecodeSpec {
  readonly kind: 'decode';
  readonly engine: 'spechub' | 'llama.cpp';
  /** spechub: a weight type (`auto` keeps the file's types); llama.cpp: the file's type, for the table. */
  readonly dtype: string;
  readonly threads: number;
  /** Hugging Face directory or .gguf file. */
  readonly modelPath: string;
  /** How the weights reach the engine (shown in the table). */
  readonly weightsNote: string;
  /** Prompt ids; the first `promptTokens` are the prompt, one more feeds spechub's first decode step. */
  readonly prompt: readonly number[];
  readonly promptTokens: number;
  readonly decodeTokens: number;
  readonly runs: number;
  readonly warmupRuns: number;
  readonly contextSize: number;
  readonly build?: WasmBuild;
  /** spechub: rows per forward (default 64, at least the prompt: prefill is one forward). */
  readonly maxBatch?: number;
  /** spechub: also time the bare forward loop each run (default true). */
  readonly forwardLoop?: boolean;
  /**
   * spechub only: also measure speculative sampling (temperature 1) with a quantised self-draft of
   * the same weights and tree "auto", against plain sampling at temperature 1, in the same process.
   */
  readonly speculative?: { readonly draftDtype: SpechubDtype; readonly tokens: number };
  /**
   * spechub only: also time the matrices alone — every matrix of one decode step once (n = 1, through
   * the model's executor, x quantised per call), 5 samples per run — and then measure the read
   * bandwidth at this thread count in this process, so the two are seen minutes apart at most.
   */
  readonly weightStream?: boolean;
}

export interface TopToken {
  readonly id: number;
  readonly p: number;
}

export interface DecodeResult {
  readonly engine: string;
  readonly dtype: string;
  readonly threads: number;
  readonly weightsNote: string;
  /** Set when this build/peer cannot run the case (nothing else is then meaningful). */
  readonly unsupported?: string;
  readonly loadMs: number;
  /** Per timed run. */
  readonly prefillTokS: readonly number[];
  readonly decodeTokS: readonly number[];
  /** spechub: the bare forward loop, per run. */
  readonly forwardLoopTokS?: readonly number[];
  /** spechub with `weightStream`: tokens/s of the matrices alone (1 ÷ the time to stream one step's matrices), per sample. */
  readonly streamTokS?: readonly number[];
  /** spechub with `weightStream`: read bandwidth at this thread count measured right after, GB/s (median). */
  readonly streamBandwidthGBs?: number;
  /** spechub with `speculative`: plain sampling vs speculative sampling (tree auto), per run. */
  readonly spec?: {
    readonly draft: string;
    readonly plainTokS: readonly number[];
    readonly specTokS: readonly number[];
    readonly tokensPerStep: readonly number[];
    /** Steps per tree shape chosen by the tuner ("" = plain), summed over the timed runs. */
    readonly trees: Record<string, number>;
  };
  /** First generated ids of the last run (greedy). */
  readonly firstTokens: readonly number[];
  /** Next-token distribution after the prompt (top 5). */
  readonly top: readonly TopToken[];
  readonly info: Record<string, unknown>;
}

function unsupported(spec: DecodeSpec, why: string): DecodeResult {
  return { engine: spec.engine, dtype: spec.dtype, threads: spec.threads, weightsNote: spec.weightsNote, unsupported: why, loadMs: 0, prefillTokS: [], decodeTokS: [], firstTokens: [], top: [], info: {} };
}

function topOf(probs: Iterable<[number, number]>, k: number): TopToken[] {
  return [...probs].sort((a, b) => b[1] - a[1]).slice(0, k).map(([id, p]) => ({ id, p }));
}

/** softmax(logits) top k, in f64. */
function softmaxTop(logits: Float32Array, k: number): TopToken[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const best: [number, number][] = [];
  for (let i = 0; i < logits.length; i++) {
    const p = Math.exp(logits[i]! - max) / sum;
    if (best.length < k || p > best[best.length - 1]![1]) {
      best.push([i, p]);
      best.sort((a, b) => b[1] - a[1]);
      if (best.length > k) best.pop();
    }
  }
  return best.map(([id, p]) => ({ id, p }));
}

/**
 * One engine's side of a decode case, opened (loaded and checked) and then driven run by run, so
 * that two engines' timed runs can alternate in one process (runPairedDecode).
 */
interface DecodeSession {
  /** Timed runs the case asks for (`spec.runs`). */
  readonly runs: number;
  /** `spec.warmupRuns` untimed runs. */
  warmUp(): Promise<void>;
  /** Timed run r (0-based): appends its prefill and decode tok/s. */
  timedRun(r: number): Promise<void>;
  /** Measurements after the timed runs (spechub: matrices alone, speculative) and the result. */
  finish(info?: Record<string, unknown>): Promise<DecodeResult>;
  /** Releases the engine (always called, also after a failure). */
  close(): Promise<void>;
}

/** Runs one engine's case alone: warm-up, `spec.runs` timed runs, the extras. */
async function runSession(open: () => Promise<DecodeSession | DecodeResult>): Promise<DecodeResult> {
  const s = await open();
  if (!isSession(s)) return s;
  try {
    await s.warmUp();
    for (let r = 0; r < s.runs; r++) await s.timedRun(r);
    return await s.finish();
  } finally {
    await s.close();
  }
}

function isSession(s: DecodeSession | DecodeResult): s is DecodeSession {
  return 'timedRun' in s;
}

export function runSpechubDecode(spec: DecodeSpec): Promise<DecodeResult> {
  return runSession(() => openSpechubDecode(spec));
}

export function runLlamaDecode(spec: DecodeSpec): Promise<DecodeResult> {
  return runSession(() => openLlamaDecode(spec));
}

/** Both engines on one file, their timed runs interleaved in one process (see PairedDecodeSpec). */
export interface PairedDecodeSpec {
  readonly kind: 'decode-paired';
  readonly spechub: DecodeSpec;
  readonly llama: DecodeSpec;
}

export interface PairedDecodeResult {
  readonly spechub: DecodeResult;
  readonly llama: DecodeResult;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * spechub and llama.cpp on the same file in one process, timed runs interleaved: both load and warm
 * up, then run r goes spechub → llama.cpp for even r and llama.cpp → spechub for odd r, with a pause
 * of PAUSE_MS before each run (so that the other engine's threads have stopped spinning). The host's
 * read bandwidth moves by tens of per cent within minutes (docs/performance.md §6.11); run back to
 * back, the two engines see the same host, and the ratio of their medians is what they differ by.
 * llama.cpp is released before spechub's extras (matrices alone, speculative) run.
 */
export async function runPairedDecode(spec: PairedDecodeSpec): Promise<PairedDecodeResult> {
  if (spec.spechub.runs !== spec.llama.runs) throw new Error(`paired decode: spechub runs ${spec.spechub.runs} ≠ llama.cpp runs ${spec.llama.runs}`);
  const PAUSE_MS = 250;
  const s = await openSpechubDecode(spec.spechub);
  if (!isSession(s)) return { spechub: s, llama: await runLlamaDecode(spec.llama) };
  try {
    const l = await openLlamaDecode(spec.llama);
    let llama: DecodeResult;
    const order: string[] = [];
    try {
      await s.warmUp();
      await l.warmUp();
      for (let r = 0; r < spec.spechub.runs; r++) {
        const pair = r % 2 === 0 ? [s, l] : [l, s];
        for (const e of pair) {
          await sleep(PAUSE_MS);
          await e.timedRun(r);
          order.push(e === s ? 'spechub' : 'llama.cpp');
        }
      }
      llama = await l.finish({ interleavedWith: 'spechub', runOrder: order });
    } finally {
      await l.close();
    }
    const spechub = await s.finish({ interleavedWith: 'llama.cpp', runOrder: order });
    return { spechub, llama };
  } finally {
    await s.close();
  }
}

async function openSpechubDecode(spec: DecodeSpec): Promise<DecodeSession | DecodeResult> {
  const dtype = spec.dtype as SpechubDtype;
  if (!hasDtype(dtype)) return unsupported(spec, `dtype ${dtype} is not available in this spechub build`);
  if (spec.threads > 1 && !hasThreads()) return unsupported(spec, 'no threaded executor in this spechub build');
  const { rt, exec, build } = await runtimeFor(spec.threads, spec.build);
  let ok = false;
  try {
    progress(`spechub ${dtype} T=${spec.threads}: loading ${spec.modelPath} (build ${build})`);
    const options: LoadModelOptions = { capacity: spec.contextSize, maxBatch: Math.max(spec.maxBatch ?? 64, spec.promptTokens), executor: exec, dtype };
    const loaded = await loadModelFromPath(rt, spec.modelPath, options);
    const model = loaded.model;
    const got = model.dtype;
    if (got !== dtype) return unsupported(spec, `asked for ${dtype} weights, the model loaded ${got} (the loader ignores dtype)`);
    if (model.exec.threads !== spec.threads) return unsupported(spec, `asked for ${spec.threads} threads, the executor has ${model.exec.threads}`);
    const P = spec.promptTokens;
    const V = loaded.config.vocabSize;

    // check: the next-token distribution after the prompt, straight from the forward pass
    const tk = model.tokens;
    const pos = model.positions;
    model.cache.truncate(0);
    for (let i = 0; i < P; i++) {
      tk[i] = spec.prompt[i]!;
      pos[i] = i;
    }
    model.forward(P, P - 1);
    const last = model.logits.subarray(0, V);
    for (let i = 0; i < V; i++) if (!Number.isFinite(last[i]!)) throw new Error(`spechub ${dtype}: logit ${i} after the prompt is ${last[i]}`);
    const top = softmaxTop(last, 5);

    const gen = new Generator(loaded, { drafter: null, sampling: { temperature: 0 } });
    const promptIds = spec.prompt.slice(0, P + 1); // prefill P tokens; the last one feeds decode step 1
    const oneRun = async () => {
      const r = await gen.generate({ promptIds, maxTokens: spec.decodeTokens, stopAtEos: false });
      if (r.ids.length !== spec.decodeTokens) throw new Error(`spechub: generated ${r.ids.length} tokens, expected ${spec.decodeTokens} (${r.stopReason})`);
      return r;
    };
    // the bare loop: prefill forward, then forward(1) + commit + argmax
    const forwardLoop = (): number => {
      model.cache.truncate(0);
      const t = model.tokens;
      const p = model.positions;
      for (let i = 0; i < P; i++) {
        t[i] = spec.prompt[i]!;
        p[i] = i;
      }
      model.forward(P, P);
      model.cache.commit(P);
      let tok = spec.prompt[P]!;
      const t0 = performance.now();
      for (let s = 0; s < spec.decodeTokens; s++) {
        const tt = model.tokens;
        tt[0] = tok;
        model.positions[0] = model.cache.length;
        model.forward(1, 0);
        model.cache.commit(1);
        const lg = model.logits;
        let best = 0;
        for (let i = 1; i < V; i++) if (lg[i]! > lg[best]!) best = i;
        tok = best;
      }
      return (spec.decodeTokens * 1000) / (performance.now() - t0);
    };
    const prefillTokS: number[] = [];
    const decodeTokS: number[] = [];
    const forwardLoopTokS: number[] = [];
    let firstTokens: number[] = [];
    ok = true;
    return {
      runs: spec.runs,
      async warmUp() {
        for (let w = 0; w < spec.warmupRuns; w++) {
          progress(`spechub ${dtype} T=${spec.threads}: warm-up ${w + 1}/${spec.warmupRuns}`);
          await oneRun();
          if (spec.forwardLoop !== false) forwardLoop();
        }
      },
      async timedRun(r: number) {
        const res = await oneRun();
        prefillTokS.push((P * 1000) / res.stats.prefillMs);
        decodeTokS.push(res.stats.tokensPerSecond);
        if (spec.forwardLoop !== false) forwardLoopTokS.push(forwardLoop());
        firstTokens = Array.from(res.ids.subarray(0, 8));
        progress(`spechub ${dtype} T=${spec.threads}: run ${r + 1}/${spec.runs}: prefill ${prefillTokS[r]!.toFixed(1)} tok/s, decode ${decodeTokS[r]!.toFixed(1)} tok/s${spec.forwardLoop !== false ? ` (forward loop ${forwardLoopTokS[r]!.toFixed(1)})` : ''}`);
      },
      async finish(info?: Record<string, unknown>): Promise<DecodeResult> {
        const stream = spec.weightStream ? await measureWeightStream(loaded, spec) : undefined;
        const specResult = spec.speculative ? await measureSpeculative(loaded, options, spec) : undefined;
        return {
          engine: 'spechub',
          dtype,
          threads: spec.threads,
          weightsNote: spec.weightsNote,
          loadMs: loaded.loadMs,
          prefillTokS,
          decodeTokS,
          forwardLoopTokS,
          ...(stream ? { streamTokS: stream.tokS, streamBandwidthGBs: stream.bandwidth } : {}),
          ...(specResult ? { spec: specResult } : {}),
          firstTokens,
          top,
          info: { build, memoryMiB: Math.round(rt.memory.buffer.byteLength / 2 ** 20), executorThreads: model.exec.threads, ...info },
        };
      },
      close: () => exec.close(),
    };
  } finally {
    if (!ok) await exec.close();
  }
}

/**
 * The matrices of one decode step alone (LlamaModel.decodeMatrices: each layer's seven and the head),
 * n = 1, through the model's own executor (the same panel split as a forward), x a fixed random vector
 * quantised per call; 2 warm-up passes, then 5 samples per run. Then the read bandwidth at this thread
 * count, in this process (the executor's workers idle by then).
 */
async function measureWeightStream(loaded: LoadedModel, spec: DecodeSpec): Promise<{ tokS: number[]; bandwidth: number }> {
  const model = loaded.model;
  const rt = model.rt;
  const mats = model.decodeMatrices();
  const cols = Math.max(...mats.map((m) => m.cols));
  const rows = Math.max(...mats.map((m) => m.rows));
  const x = rt.arena.alloc('bench.stream.x', cols * 4).ptr;
  const out = rt.arena.alloc('bench.stream.out', rows * 4).ptr;
  const xs = new Float32Array(rt.memory.buffer, x, cols);
  for (let i = 0; i < cols; i++) xs[i] = Math.sin(i * 0.37) * 0.5;
  const pass = (): number => {
    const t0 = performance.now();
    for (const m of mats) model.exec.linear(m, out, m.rows, x, 1);
    return 1000 / (performance.now() - t0);
  };
  pass();
  pass();
  const tokS: number[] = [];
  for (let i = 0; i < 5 * spec.runs; i++) tokS.push(pass());
  const bw = spec.threads >= 2 ? await measureBandwidth2(256, 7) : measureBandwidth1(256, 7);
  progress(`spechub ${spec.dtype} T=${spec.threads}: matrices alone ${median(tokS).toFixed(1)} tok/s; bandwidth beside it ${bw.gbps.toFixed(1)} GB/s`);
  return { tokS, bandwidth: bw.gbps };
}

/**
 * Speculative sampling against plain sampling on the same target: a quantised self-draft loaded
 * from the same file, SpecHub, tree "auto" (the Generator measures the forward costs when it is
 * created and learns the acceptance across runs). Runs alternate plain / speculative.
 */
async function measureSpeculative(loaded: LoadedModel, options: LoadModelOptions, spec: DecodeSpec): Promise<NonNullable<DecodeResult['spec']>> {
  const s = spec.speculative!;
  const label = `spechub ${spec.dtype} T=${spec.threads} speculative (${s.draftDtype} self-draft, tree auto)`;
  progress(`${label}: loading the draft, measuring forward costs`);
  const draft = await loadModelFromPath(loaded.model.rt, spec.modelPath, { ...options, dtype: s.draftDtype, name: `draft-${s.draftDtype}` });
  const plain = new Generator(loaded, { drafter: null, sampling: { temperature: 1 } });
  const sp = new Generator(loaded, { drafter: modelDrafter(loaded, draft, `${s.draftDtype} self-draft`), method: 'spechub', tree: 'auto', sampling: { temperature: 1 } });
  const timed = await plainVsSpeculative(plain, sp, spec.prompt.slice(0, spec.promptTokens + 1), s.tokens, spec.runs, spec.warmupRuns, label);
  return { draft: `${s.draftDtype} self-draft`, ...timed };
}

/**
 * Plain against speculative sampling on one target: `warmupRuns` then `runs` runs of `tokens` tokens
 * each, alternating (seeds 1000 + w for warm-ups, r for timed runs); tok/s from the Generator's stats.
 */
export async function plainVsSpeculative(plain: Generator, sp: Generator, promptIds: readonly number[], tokens: number, runs: number, warmupRuns: number, label: string): Promise<{ plainTokS: number[]; specTokS: number[]; tokensPerStep: number[]; trees: Record<string, number> }> {
  const run = async (g: Generator, seed: number) => g.generate({ promptIds: [...promptIds], maxTokens: tokens, stopAtEos: false, seed });
  for (let w = 0; w < warmupRuns; w++) {
    progress(`${label}: warm-up ${w + 1}/${warmupRuns}`);
    await run(plain, 1000 + w);
    await run(sp, 1000 + w);
  }
  const plainTokS: number[] = [];
  const specTokS: number[] = [];
  const tokensPerStep: number[] = [];
  const trees: Record<string, number> = {};
  for (let r = 0; r < runs; r++) {
    const a = await run(plain, r);
    const b = await run(sp, r);
    plainTokS.push(a.stats.tokensPerSecond);
    specTokS.push(b.stats.tokensPerSecond);
    tokensPerStep.push(b.stats.tokensPerStep);
    for (const c of b.stats.treeChoices) trees[c.tree] = (trees[c.tree] ?? 0) + c.steps;
    progress(`${label}: run ${r + 1}/${runs}: plain ${a.stats.tokensPerSecond.toFixed(1)} tok/s, speculative ${b.stats.tokensPerSecond.toFixed(1)} tok/s (${b.stats.tokensPerStep.toFixed(2)} tokens/step)`);
  }
  return { plainTokS, specTokS, tokensPerStep, trees };
}

// ---- llama.cpp through node-llama-cpp (types: only what is used) ----

interface NlcSequence {
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, unknown>;
  evaluateWithMetadata(tokens: number[], metadata: { probabilities: true }, options?: { temperature?: number }): AsyncGenerator<{ token: number; probabilities: Map<number, number> }, void, unknown>;
  clearHistory(): Promise<void>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
  readonly currentThreads: number;
  readonly idealThreads: number;
  readonly batchSize: number;
  readonly contextSize: number;
}
interface NlcModel {
  createContext(o: Record<string, unknown>): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcLlama {
  loadModel(o: Record<string, unknown>): Promise<NlcModel>;
  dispose(): Promise<void>;
  readonly gpu: unknown;
  readonly cpuMathCores: number;
  readonly maxThreads: number;
  readonly buildType?: unknown;
}
interface NlcModule {
  getLlama(o: Record<string, unknown>): Promise<NlcLlama>;
}

async function openLlamaDecode(spec: DecodeSpec): Promise<DecodeSession> {
  // the node-llama-cpp devDependency (the oracle of the test suite too)
  const nlc = (await import('node-llama-cpp')) as unknown as NlcModule;
  const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: spec.threads });
  let model: NlcModel | null = null;
  let ctx: NlcContext | null = null;
  const close = async () => {
    await ctx?.dispose();
    await model?.dispose();
    await llama.dispose();
  };
  try {
    progress(`llama.cpp ${spec.dtype} T=${spec.threads}: loading ${spec.modelPath}`);
    const t0 = performance.now();
    model = await llama.loadModel({ modelPath: spec.modelPath, gpuLayers: 0 });
    const loadMs = performance.now() - t0;
    const prompt = spec.prompt.slice(0, spec.promptTokens);

    // check: next-token distribution after the prompt, in a context with an F32 KV cache (as spechub's), so
    // that only activation quantisation and summation orders separate the engines; timed runs use the
    // default F16 cache (what users of llama.cpp get)
    const checkCtx = await model.createContext({ contextSize: spec.contextSize, batchSize: 512, sequences: 1, threads: { ideal: spec.threads, min: spec.threads }, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    let top: TopToken[];
    try {
      const meta = checkCtx.getSequence().evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 0 });
      const first = await meta.next();
      await meta.return();
      if (first.done) throw new Error('llama.cpp: no token after the prompt');
      top = topOf(first.value.probabilities.entries(), 5);
    } finally {
      await checkCtx.dispose();
    }
    const c = await model.createContext({ contextSize: spec.contextSize, batchSize: 512, sequences: 1, threads: { ideal: spec.threads, min: spec.threads } });
    ctx = c;
    const seq = c.getSequence();

    const oneRun = async (): Promise<{ prefill: number; decode: number; tokens: number[] }> => {
      await seq.clearHistory();
      const tokens: number[] = [];
      const start = performance.now();
      const it = seq.evaluate(prompt, { temperature: 0 });
      let tFirst = 0;
      try {
        for (let i = 0; i <= spec.decodeTokens; i++) {
          const r = await it.next();
          if (r.done) throw new Error(`llama.cpp: generation ended after ${i} tokens`);
          tokens.push(r.value);
          if (i === 0) tFirst = performance.now();
        }
      } finally {
        await it.return();
      }
      const end = performance.now();
      return { prefill: (spec.promptTokens * 1000) / (tFirst - start), decode: (spec.decodeTokens * 1000) / (end - tFirst), tokens };
    };
    const prefillTokS: number[] = [];
    const decodeTokS: number[] = [];
    let firstTokens: number[] = [];
    return {
      runs: spec.runs,
      async warmUp() {
        for (let w = 0; w < spec.warmupRuns; w++) {
          progress(`llama.cpp ${spec.dtype} T=${spec.threads}: warm-up ${w + 1}/${spec.warmupRuns}`);
          await oneRun();
        }
      },
      async timedRun(r: number) {
        const res = await oneRun();
        prefillTokS.push(res.prefill);
        decodeTokS.push(res.decode);
        firstTokens = res.tokens.slice(0, 8);
        progress(`llama.cpp ${spec.dtype} T=${spec.threads}: run ${r + 1}/${spec.runs}: prefill ${res.prefill.toFixed(1)} tok/s, decode ${res.decode.toFixed(1)} tok/s`);
      },
      async finish(info?: Record<string, unknown>): Promise<DecodeResult> {
        return {
          engine: 'llama.cpp',
          dtype: spec.dtype,
          threads: spec.threads,
          weightsNote: spec.weightsNote,
          loadMs,
          prefillTokS,
          decodeTokS,
          firstTokens,
          top,
          info: { currentThreads: c.currentThreads, idealThreads: c.idealThreads, batchSize: c.batchSize, contextSize: c.contextSize, cpuMathCores: llama.cpuMathCores, maxThreads: llama.maxThreads, ...info },
        };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
