/**
 * Speculative decoding with a separate draft model (a real draft/target pair's shapes, e.g.
 * SmolLM2-135M → SmolLM2-360M), one engine per child process (bench/lib/case-runner.ts): plain
 * sampling against speculative sampling on the same target file, temperature 1, runs alternating.
 *
 *   spechub:   Generator, drafter null, against Generator with `modelDrafter(target, draft)`, SpecHub,
 *              tree "auto" (the tuner measures the forward costs and learns the acceptance across runs);
 *   llama.cpp: node-llama-cpp's `sequence.evaluate` plain, against a sequence with its
 *              `DraftSequenceTokenPredictor` over the draft model (node-llama-cpp's defaults: up to 16
 *              drafted tokens while the draft's confidence stays above 0.6; the target validates them).
 *
 * Tokens per second count the generated tokens after the first (the prompt's prefill excluded), as the
 * Generator's `stats.tokensPerSecond` does.
 */
import { Generator, loadModelFromPath, modelDrafter } from '../../src/node.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import { progress } from './child.js';
import { plainVsSpeculative } from './decode-cases.js';
import { hasThreads, runtimeFor } from './spechub-caps.js';

export interface PairSpec {
  readonly kind: 'pair';
  readonly engine: 'spechub' | 'llama.cpp';
  readonly threads: number;
  /** GGUF files (spechub keeps their stored types). */
  readonly targetPath: string;
  readonly draftPath: string;
  /** For progress lines, e.g. "smollm2-135m-shape → smollm2-360m-shape Q8_0". */
  readonly label: string;
  /** Prompt ids (BOS first). */
  readonly prompt: readonly number[];
  /** Tokens generated per run. */
  readonly tokens: number;
  readonly runs: number;
  readonly warmupRuns: number;
  readonly contextSize: number;
  readonly build?: WasmBuild;
}

export interface PairResult {
  readonly engine: string;
  readonly threads: number;
  /** Set when this build cannot run the case. */
  readonly unsupported?: string;
  /** Per timed run. */
  readonly plainTokS: readonly number[];
  readonly specTokS: readonly number[];
  /** spechub: tokens emitted per target forward, per run; null for llama.cpp (node-llama-cpp does not expose its batches). */
  readonly tokensPerStep: readonly number[] | null;
  /** spechub: steps per tree chosen by the tuner ("" = plain), summed over the timed runs. */
  readonly trees?: Record<string, number>;
  /** llama.cpp: drafted tokens validated and refuted by the target over the timed runs. */
  readonly predictions?: { readonly validated: number; readonly refuted: number };
  readonly info: Record<string, unknown>;
}

export async function runSpechubPair(spec: PairSpec): Promise<PairResult> {
  if (spec.threads > 1 && !hasThreads()) return { engine: 'spechub', threads: spec.threads, unsupported: 'no threaded executor in this spechub build', plainTokS: [], specTokS: [], tokensPerStep: null, info: {} };
  const { rt, exec, build } = await runtimeFor(spec.threads, spec.build);
  try {
    const options = { capacity: spec.contextSize, maxBatch: 64, executor: exec, dtype: 'auto' as const };
    progress(`spechub pair ${spec.label} T=${spec.threads}: loading target and draft (build ${build})`);
    const target = await loadModelFromPath(rt, spec.targetPath, options);
    const draft = await loadModelFromPath(rt, spec.draftPath, { ...options, name: 'draft' });
    const plain = new Generator(target, { drafter: null, sampling: { temperature: 1 } });
    const sp = new Generator(target, { drafter: modelDrafter(target, draft, 'separate draft model'), method: 'spechub', tree: 'auto', sampling: { temperature: 1 } });
    const timed = await plainVsSpeculative(plain, sp, spec.prompt, spec.tokens, spec.runs, spec.warmupRuns, `spechub pair ${spec.label} T=${spec.threads}`);
    return { engine: 'spechub', threads: spec.threads, ...timed, info: { build, memoryMiB: Math.round(rt.memory.buffer.byteLength / 2 ** 20) } };
  } finally {
    await exec.close();
  }
}

// ---- llama.cpp through node-llama-cpp (types: only what is used) ----

interface NlcSequence {
  evaluate(tokens: number[], options?: { temperature?: number; seed?: number }): AsyncGenerator<number, void, unknown>;
  clearHistory(): Promise<void>;
  readonly tokenPredictions: { used: number; unused: number; validated: number; refuted: number };
}
interface NlcContext {
  getSequence(o?: Record<string, unknown>): NlcSequence;
  dispose(): Promise<void>;
}
interface NlcModel {
  createContext(o: Record<string, unknown>): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcModule {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: Record<string, unknown>): Promise<NlcModel>; dispose(): Promise<void> }>;
  DraftSequenceTokenPredictor: new (draftSequence: NlcSequence, options?: Record<string, unknown>) => unknown;
}

export async function runLlamaPair(spec: PairSpec): Promise<PairResult> {
  const nlc = (await import('node-llama-cpp')) as unknown as NlcModule;
  const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: spec.threads });
  const disposers: (() => Promise<void>)[] = [];
  try {
    progress(`llama.cpp pair ${spec.label} T=${spec.threads}: loading target and draft`);
    const target = await llama.loadModel({ modelPath: spec.targetPath, gpuLayers: 0 });
    disposers.push(() => target.dispose());
    const draft = await llama.loadModel({ modelPath: spec.draftPath, gpuLayers: 0 });
    disposers.push(() => draft.dispose());
    const ctxOptions = { contextSize: spec.contextSize, batchSize: 512, sequences: 1, threads: { ideal: spec.threads, min: spec.threads } };
    const plainCtx = await target.createContext(ctxOptions);
    disposers.push(() => plainCtx.dispose());
    const specCtx = await target.createContext(ctxOptions);
    disposers.push(() => specCtx.dispose());
    const draftCtx = await draft.createContext(ctxOptions);
    disposers.push(() => draftCtx.dispose());
    const plainSeq = plainCtx.getSequence();
    const specSeq = specCtx.getSequence({ tokenPredictor: new nlc.DraftSequenceTokenPredictor(draftCtx.getSequence()) });
    const prompt = [...spec.prompt];

    /** Decode tok/s of one run: tokens after the first ÷ the time after the first. */
    const run = async (seq: NlcSequence, seed: number): Promise<number> => {
      await seq.clearHistory();
      const it = seq.evaluate(prompt, { temperature: 1, seed });
      let tFirst = 0;
      try {
        for (let i = 0; i < spec.tokens; i++) {
          const r = await it.next();
          if (r.done) throw new Error(`llama.cpp: generation ended after ${i} tokens`);
          if (i === 0) tFirst = performance.now();
        }
      } finally {
        await it.return();
      }
      return ((spec.tokens - 1) * 1000) / (performance.now() - tFirst);
    };
    for (let w = 0; w < spec.warmupRuns; w++) {
      progress(`llama.cpp pair ${spec.label} T=${spec.threads}: warm-up ${w + 1}/${spec.warmupRuns}`);
      await run(plainSeq, 1000 + w);
      await run(specSeq, 1000 + w);
    }
    const before = { ...specSeq.tokenPredictions };
    const plainTokS: number[] = [];
    const specTokS: number[] = [];
    for (let r = 0; r < spec.runs; r++) {
      plainTokS.push(await run(plainSeq, r));
      specTokS.push(await run(specSeq, r));
      progress(`llama.cpp pair ${spec.label} T=${spec.threads}: run ${r + 1}/${spec.runs}: plain ${plainTokS[r]!.toFixed(1)} tok/s, speculative ${specTokS[r]!.toFixed(1)} tok/s`);
    }
    const after = specSeq.tokenPredictions;
    return {
      engine: 'llama.cpp',
      threads: spec.threads,
      plainTokS,
      specTokS,
      tokensPerStep: null,
      predictions: { validated: after.validated - before.validated, refuted: after.refuted - before.refuted },
      info: {},
    };
  } finally {
    for (const d of disposers.reverse()) await d();
    await llama.dispose();
  }
}
