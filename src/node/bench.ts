/**
 * `spechub bench`: prompt processing and generation speed of one model on this machine, in the manner of
 * llama.cpp's llama-bench — per (weight type, threads, plain | speculative) the median tokens/s of a
 * `promptTokens`-token prompt (ppN: one prefill) and of `genTokens` generated tokens (tgN: one forward per
 * step, or one verification per tree with a draft), with the CPU and its measured read bandwidth, so a
 * user measures their own machine with the installed package. Node only (files, worker threads).
 *
 * Each repetition runs the Generator on the same random prompt (ids drawn from the vocabulary with a
 * fixed seed, the first one BOS when the model has one): the prefill is timed as pp, the decode as tg.
 * A warm-up run comes first (WebAssembly tiers up; tree auto measures its forward costs and starts to
 * learn the acceptance). Decoding is greedy and never stops early (EOS ignored), so every run does the
 * same work.
 */
import { cpus, totalmem, platform, arch } from 'node:os';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeRuntime, createNodeExecutor } from '../node.js';
import { loadModelFromPath } from './load.js';
import { resolveKvType, type KvType } from '../model/kv-cache.js';
import { resolveDrafter } from './drafters.js';
import { measureBandwidth1, measureBandwidth2, validateReadKernel, type Bandwidth } from './bandwidth.js';
import { Generator } from '../engine/generate.js';
import { createRng } from '../rng.js';
import { median } from '../util/stats.js';
import { InvalidArgumentError } from '../errors.js';
import type { WeightDtype } from '../model/llama.js';
import type { ModelConfig } from '../config.js';

/** What to measure. */
export interface BenchOptions {
  /** Model directory or .gguf file. */
  readonly modelPath: string;
  /** Weight types to load the model as (LoadModelOptions.dtype); default ['auto'] (as stored). */
  readonly dtypes?: readonly WeightDtype[];
  /** Thread counts; default [1]. */
  readonly threads?: readonly number[];
  /** Prompt tokens of the pp test (≥ 1); default 128. */
  readonly promptTokens?: number;
  /** Generated tokens of the tg test (≥ 1); default 64. */
  readonly genTokens?: number;
  /** Also measure speculative decoding with `draft`, tree auto (rows with mode "speculative"). Default false. */
  readonly speculative?: boolean;
  /** Drafter as `spechub generate --draft` takes it (int8 | int4 | exit:N | a model path); default 'int4'. */
  readonly draft?: string;
  /** What the KV caches store (target and draft); default 'f32'. */
  readonly kvType?: KvType;
  /** Timed runs per case (≥ 1); default 3. */
  readonly repetitions?: number;
  /** Relaxed SIMD: 'auto' (where available), true or false. Default 'auto'. */
  readonly relaxed?: 'auto' | boolean;
  /** Seed of the prompt ids. Default 1. */
  readonly seed?: number;
  /** Read-bandwidth probe buffer (MiB, per thread; ≥ 16). Default 256. */
  readonly bandwidthMiB?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** One measured case: a test (pp or tg) of one (dtype, threads, mode). */
export interface BenchRow {
  /** The weight type asked for ('auto' = as stored). */
  readonly dtype: string;
  /** The packed types of the loaded matrices, e.g. "Q4_K+Q6_K". */
  readonly weightTypes: string;
  /** Bytes of the packed weights in memory. */
  readonly weightBytes: number;
  /** Milliseconds the load of this (dtype, threads) took: files read, weights packed, context planned. */
  readonly loadMs: number;
  readonly threads: number;
  readonly mode: 'plain' | 'speculative';
  /** "pp128" or "tg64". */
  readonly test: string;
  /** Median tokens/s over the repetitions. */
  readonly tokensPerSecond: number;
  /** Tokens/s of each repetition. */
  readonly samples: readonly number[];
  /** Speculative tg rows: median tokens per target forward, and the tree most used. */
  readonly tokensPerStep?: number;
  readonly tree?: string;
  /** Speculative rows: the drafter. */
  readonly draft?: string;
}

/** Everything `spechub bench --json` prints. */
export interface BenchReport {
  readonly model: { readonly path: string; readonly architecture: string; readonly parameters: number; readonly fileBytes: number };
  readonly machine: {
    readonly cpu: string;
    readonly logicalCpus: number;
    readonly memGiB: number;
    readonly os: string;
    readonly node: string;
    /** Measured WebAssembly read bandwidth, GB/s (1 thread; 2 threads when the machine has 2+ CPUs, else null). */
    readonly bandwidthGBs: { readonly oneThread: number; readonly twoThreads: number | null };
  };
  readonly params: {
    readonly promptTokens: number;
    readonly genTokens: number;
    readonly repetitions: number;
    readonly dtypes: readonly string[];
    readonly threads: readonly number[];
    readonly speculative: boolean;
    readonly draft: string | null;
    readonly kvType: KvType;
  };
  readonly rows: readonly BenchRow[];
  readonly date: string;
}


function checkInt(name: string, x: number, min: number): void {
  if (!Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`bench: ${name}: expected an integer >= ${min}, got ${x}`);
}

/** Bytes of the files a model path holds (a .gguf file, or a directory's *.safetensors / *.gguf). */
function modelFileBytes(path: string): number {
  const st = statSync(path);
  if (st.isFile()) return st.size;
  let total = 0;
  for (const f of readdirSync(path)) if (f.endsWith('.safetensors') || f.endsWith('.gguf')) total += statSync(join(path, f)).size;
  return total;
}

/** Parameters of the matrices (embedding, attention, MLP, an untied head) plus the norms: biases aside, the model's size. */
function matrixParameters(c: ModelConfig): number {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const layer = c.dim * q + 2 * c.dim * kv + q * c.dim + 3 * c.dim * c.hiddenDim + 2 * c.dim;
  return c.vocabSize * c.dim * (c.tiedEmbeddings ? 1 : 2) + c.nLayers * layer + c.dim;
}

/** Measure (see the module comment). Throws the loader's typed errors for a bad model, InvalidArgumentError for bad options. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const dtypes = o.dtypes ?? ['auto'];
  const threadsList = o.threads ?? [1];
  const P = o.promptTokens ?? 128;
  const N = o.genTokens ?? 64;
  const reps = o.repetitions ?? 3;
  const speculative = o.speculative ?? false;
  const draftSpec = o.draft ?? 'int4';
  const log = o.log ?? (() => {});
  const kvType = resolveKvType('bench: kvType', o.kvType ?? 'f32');
  checkInt('promptTokens', P, 1);
  checkInt('genTokens', N, 1);
  checkInt('repetitions', reps, 1);
  for (const t of threadsList) checkInt('threads', t, 1);
  if (dtypes.length === 0 || threadsList.length === 0) throw new InvalidArgumentError('bench: expected at least one dtype and one thread count');
  const mib = o.bandwidthMiB ?? 256;
  checkInt('bandwidthMiB', mib, 16);

  const list = cpus();
  log(`measuring read bandwidth (${mib} MiB per thread)`);
  validateReadKernel();
  const bw1: Bandwidth = measureBandwidth1(mib, 5);
  const bw2: Bandwidth | null = list.length >= 2 ? await measureBandwidth2(mib, 5) : null;

  const rows: BenchRow[] = [];
  let modelInfo: BenchReport['model'] | null = null;
  for (const threads of threadsList) {
    for (const dtype of dtypes) {
      const rt = createNodeRuntime({ threads, relaxed: o.relaxed ?? 'auto' });
      const executor = await createNodeExecutor(rt, { threads });
      try {
        log(`loading ${o.modelPath} as ${dtype}, ${threads} thread${threads === 1 ? '' : 's'}`);
        const loadOpts = { executor, maxBatch: Math.max(64, P), capacity: P + N + 64, kvType };
        const target = await loadModelFromPath(rt, o.modelPath, { ...loadOpts, dtype });
        const c = target.config;
        const plan = target.model.memoryPlan;
        const weightTypes = [...plan.linearBytes.keys()].join('+');
        if (modelInfo === null) {
          modelInfo = {
            path: o.modelPath,
            architecture: c.architecture ?? 'llama',
            parameters: matrixParameters(c),
            fileBytes: modelFileBytes(o.modelPath),
          };
        }
        // the prompt: BOS (when the model has one), then ids drawn from the vocabulary; P + 1 ids so that P are
        // prefilled (the last one is the first decoding step's input)
        const rng = createRng(o.seed ?? 1);
        const promptIds: number[] = [];
        if (c.bosTokenId !== undefined && c.bosTokenId !== null) promptIds.push(c.bosTokenId);
        while (promptIds.length < P + 1) promptIds.push(Math.floor(rng.next() * c.vocabSize));
        const measure = async (gen: Generator, mode: 'plain' | 'speculative', draft?: string) => {
          const run = () => gen.generate({ promptIds, maxTokens: N, stopAtEos: false, seed: 1 });
          log(`${dtype} T=${threads} ${mode}: warm-up`);
          await run();
          const pp: number[] = [];
          const tg: number[] = [];
          const perStep: number[] = [];
          const trees = new Map<string, number>();
          for (let r = 0; r < reps; r++) {
            const s = (await run()).stats;
            pp.push((s.prefilledTokens * 1000) / s.prefillMs);
            tg.push(s.tokensPerSecond);
            perStep.push(s.tokensPerStep);
            for (const t of s.treeChoices) trees.set(t.tree, (trees.get(t.tree) ?? 0) + t.steps);
            log(`${dtype} T=${threads} ${mode}: run ${r + 1}/${reps}: pp ${pp[r]!.toFixed(1)} tok/s, tg ${tg[r]!.toFixed(1)} tok/s`);
          }
          const base = { dtype, weightTypes, weightBytes: plan.weights, loadMs: target.loadMs, threads, mode };
          rows.push({ ...base, test: `pp${P}`, tokensPerSecond: median(pp), samples: pp, ...(draft !== undefined ? { draft } : {}) });
          const tree = [...trees].sort((a, b) => b[1] - a[1])[0]?.[0];
          rows.push({
            ...base, test: `tg${N}`, tokensPerSecond: median(tg), samples: tg,
            ...(mode === 'speculative' ? { tokensPerStep: median(perStep), tree: tree === undefined || tree === '' ? 'plain' : tree, draft: draft! } : {}),
          });
        };
        await measure(new Generator(target, { drafter: null, sampling: { temperature: 0 } }), 'plain');
        if (speculative) {
          const drafter = await resolveDrafter(rt, target, o.modelPath, draftSpec, loadOpts, (w) => log(`warning: ${w}`));
          if (drafter === null) throw new InvalidArgumentError('bench: speculative: expected a drafter, got --draft none');
          await measure(new Generator(target, { drafter, method: 'spechub', tree: 'auto', sampling: { temperature: 0 } }), 'speculative', draftSpec);
        }
      } finally {
        await executor.close();
      }
    }
  }
  return {
    model: modelInfo!,
    machine: {
      cpu: list[0]?.model.trim() ?? 'unknown',
      logicalCpus: list.length,
      memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${platform()} ${arch()}`,
      node: process.version,
      bandwidthGBs: { oneThread: bw1.gbps, twoThreads: bw2?.gbps ?? null },
    },
    params: { promptTokens: P, genTokens: N, repetitions: reps, dtypes: [...dtypes], threads: [...threadsList], speculative, draft: speculative ? draftSpec : null, kvType },
    rows,
    date: new Date().toISOString(),
  };
}

const fixed = (x: number) => (x >= 100 ? x.toFixed(1) : x.toFixed(2));

/** The report as markdown: a header (CPU, bandwidth, model) and one table row per measured test. */
export function benchMarkdown(r: BenchReport): string {
  const m = r.machine;
  const gb = (x: number) => `${x.toFixed(1)} GB/s`;
  const head = [
    `- CPU: ${m.cpu} (${m.logicalCpus} logical CPUs), ${m.memGiB} GiB RAM, ${m.os}, Node ${m.node}`,
    `- Measured read bandwidth (WebAssembly): ${gb(m.bandwidthGBs.oneThread)} on 1 thread${m.bandwidthGBs.twoThreads === null ? '' : `, ${gb(m.bandwidthGBs.twoThreads)} on 2`}`,
    `- Model: ${r.model.path} (${r.model.architecture}, ${(r.model.parameters / 1e6).toFixed(2)} M parameters, ${(r.model.fileBytes / 2 ** 20).toFixed(2)} MiB of weight files)`,
    `- Median of ${r.params.repetitions} run(s) after a warm-up; pp = prefill of a ${r.params.promptTokens}-token prompt, tg = ${r.params.genTokens} greedy tokens${r.params.speculative ? `; speculative: --draft ${r.params.draft}, tree auto` : ''}; KV cache ${r.params.kvType}`,
    '',
  ];
  const headers = ['dtype', 'weights', 'size MiB', 'load ms', 'threads', 'mode', 'test', 't/s', 'min–max', 'tokens/step', 'tree'];
  const cells = r.rows.map((x) => [
    x.dtype, x.weightTypes, (x.weightBytes / 2 ** 20).toFixed(2), x.loadMs.toFixed(0), String(x.threads), x.mode, x.test, fixed(x.tokensPerSecond),
    `${fixed(Math.min(...x.samples))}–${fixed(Math.max(...x.samples))}`, x.tokensPerStep === undefined ? '' : x.tokensPerStep.toFixed(2), x.tree ?? '',
  ]);
  const right = new Set([2, 3, 4, 7, 9]);
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((s, j) => (right.has(j) ? s.padStart(widths[j]!) : s.padEnd(widths[j]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, j) => (right.has(j) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [...head, line(headers), sep, ...cells.map(line)].join('\n') + '\n';
}
