/**
 * Decode speed as the context fills: tokens/s of greedy decoding after C cached positions, spechub with
 * an f32 and an f16 KV cache against llama.cpp (node-llama-cpp, its default f16 cache), the same GGUF,
 * one thread, in one run. At a few thousand positions attention reads as many bytes per token as the
 * weights (SmolLM2-360M: 320 KV values per position and layer, 32 layers), so this is where the KV
 * cache's layout and type show.
 *
 * Files: the real-shape random-weight GGUFs of `npm run bench:decode` (bench/.cache, made by llama.cpp's
 * quantizer on first use). spechub prefills in 64-row chunks up to each context in turn and decodes
 * `--tokens` greedy tokens there (then forgets them: cache.truncate); llama.cpp prefills each context
 * from the start (its sequence evaluation), then generates as many. A figure is the median of the
 * per-token times. The ceiling is the read bandwidth measured here ÷ the bytes a token reads: the
 * weights as spechub packs them plus 2 · layers · context · kvDim · (4 or 2) bytes of cache.
 *
 *   node dist/bench/long-context.bench.js [--build relaxed] [--contexts 128,1024,4032] [--shapes smollm2-360m,qwen2.5-0.5b]
 *     [--type Q8_0] [--tokens 32] [--quick] [--json]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime, loadModelFromPath } from '../src/node.js';
import type { KvType } from '../src/model/kv-cache.js';
import type { WasmBuild } from '../src/wasm/kernels.js';
import { measureBandwidth1, validateReadKernel } from './lib/bandwidth.js';
import { benchPromptIds, ensureShapeFiles, QWEN25_05B, SMOLLM2_360M, streamedWeights, type BenchFileType, type RealShape } from './lib/real-shape-model.js';
import { machineInfo, machineMarkdown, markdownTable, sig, writeResults } from './common.js';
import { median } from '../src/util/stats.js';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));
const SHAPES: readonly RealShape[] = [SMOLLM2_360M, QWEN25_05B];
const SEED = 20261202; // bench:decode's: the same cached files

interface Args {
  build: WasmBuild;
  contexts: number[];
  shapes: RealShape[];
  type: BenchFileType;
  tokens: number;
  json: boolean;
  llama: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { build: 'relaxed', contexts: [128, 1024, 4032], shapes: [SMOLLM2_360M], type: 'Q8_0', tokens: 32, json: false, llama: true };
  const fail = (msg: string): never => {
    process.stderr.write(`long-context bench: ${msg}\nusage: node dist/bench/long-context.bench.js [--build simd|relaxed] [--contexts N,N,…] [--shapes ${SHAPES.map((s) => s.name.replace(/-shape$/, '')).join(',')}] [--type Q8_0|Q4_K_M|…] [--tokens N] [--no-llama] [--quick] [--json]\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const value = () => argv[++i] ?? fail(`${f}: expected a value`);
    if (f === '--build') {
      const v = value();
      if (v !== 'simd' && v !== 'relaxed') fail(`--build: expected simd or relaxed, got ${v}`);
      a.build = v as WasmBuild;
    } else if (f === '--contexts') {
      a.contexts = value().split(',').map(Number);
      if (a.contexts.some((c) => !Number.isSafeInteger(c) || c < 1)) fail('--contexts: expected integers >= 1');
      a.contexts.sort((x, y) => x - y);
    } else if (f === '--shapes') {
      a.shapes = value().split(',').map((n) => SHAPES.find((s) => s.name === n || s.name === `${n}-shape`) ?? fail(`--shapes: unknown shape ${n}`));
    } else if (f === '--type') a.type = value() as BenchFileType;
    else if (f === '--tokens') {
      a.tokens = Number(value());
      if (!Number.isSafeInteger(a.tokens) || a.tokens < 3) fail('--tokens: expected an integer >= 3');
    } else if (f === '--no-llama') a.llama = false;
    else if (f === '--quick') {
      a.contexts = [128, 512];
      a.tokens = 8;
    } else if (f === '--json') a.json = true;
    else fail(`unknown argument ${f}`);
  }
  return a;
}

/** spechub: tokens/s after each context (ascending), one load, the prompt prefilled in 64-row chunks. */
async function spechubRun(path: string, prompt: readonly number[], contexts: readonly number[], tokens: number, kvType: KvType, build: WasmBuild, log: (s: string) => void): Promise<number[]> {
  const rt = createNodeRuntime({ build });
  const m = await loadModelFromPath(rt, path, { capacity: contexts[contexts.length - 1]! + tokens + 8, maxBatch: 64, kvType });
  const model = m.model;
  const V = m.config.vocabSize;
  const out: number[] = [];
  let filled = 0;
  for (const C of contexts) {
    model.cache.truncate(filled);
    while (filled < C) {
      const n = Math.min(64, C - filled);
      for (let j = 0; j < n; j++) {
        model.tokens[j] = prompt[filled + j]!;
        model.positions[j] = filled + j;
      }
      model.forward(n, n - 1);
      model.cache.commit(n);
      filled += n;
    }
    const times: number[] = [];
    let tok = prompt[C]!;
    for (let s = 0; s < tokens; s++) {
      const t0 = performance.now();
      model.tokens[0] = tok;
      model.positions[0] = model.cache.length;
      model.forward(1);
      model.cache.commit(1);
      const l = model.logits;
      let best = 0;
      for (let v = 1; v < V; v++) if (l[v]! > l[best]!) best = v;
      tok = best;
      times.push(performance.now() - t0);
    }
    out.push(1000 / median(times));
    log(`  spechub ${kvType} cache, context ${C}: ${sig(out[out.length - 1]!)} tok/s`);
  }
  return out;
}

interface NlcSequence {
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, unknown>;
  clearHistory(): Promise<void>;
}

/** llama.cpp: tokens/s after each context, each prefilled from the start; its default (f16) cache. */
async function llamaRun(path: string, prompt: readonly number[], contexts: readonly number[], tokens: number, log: (s: string) => void): Promise<number[]> {
  const nlc = (await import('node-llama-cpp')) as unknown as {
    getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: Record<string, unknown>): Promise<{ createContext(o: Record<string, unknown>): Promise<{ getSequence(): NlcSequence; dispose(): Promise<void> }>; dispose(): Promise<void> }>; dispose(): Promise<void> }>;
  };
  const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: 1 });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: contexts[contexts.length - 1]! + tokens + 8, batchSize: 512, sequences: 1, threads: { ideal: 1, min: 1 } });
  const out: number[] = [];
  try {
    const seq = ctx.getSequence();
    for (const C of contexts) {
      await seq.clearHistory();
      const it = seq.evaluate(prompt.slice(0, C + 1), { temperature: 0 });
      const times: number[] = [];
      let last = 0;
      for (let i = 0; i <= tokens; i++) {
        const r = await it.next();
        if (r.done) throw new Error(`llama.cpp: generation ended after ${i} tokens`);
        const now = performance.now();
        if (i > 0) times.push(now - last); // the first token closes the prefill
        last = now;
      }
      await it.return();
      out.push(1000 / median(times));
      log(`  llama.cpp f16 cache, context ${C}: ${sig(out[out.length - 1]!)} tok/s`);
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
    await llama.dispose();
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => (args.json ? process.stderr : process.stdout).write(s + '\n');
  const machine = machineInfo(args.build);
  log(`# Decode as the context fills: spechub (f32 and f16 KV caches) and llama.cpp\n\n${machineMarkdown(machine, `contexts ${args.contexts.join(', ')}, ${args.tokens} tokens, 1 thread`)}`);
  validateReadKernel();
  const bw = measureBandwidth1(256, 7).gbps;
  log(`- Read bandwidth (WebAssembly, 1 thread): ${bw.toFixed(1)} GB/s\n`);
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const shape of args.shapes) {
    const files = ensureShapeFiles(join(BENCH_DIR, '.cache'), shape, [args.type], SEED, log);
    const path = files.paths[args.type]!;
    const c = files.config;
    const weights = (await streamedWeights(path)).spechubBytes;
    const prompt = benchPromptIds(c, args.contexts[args.contexts.length - 1]! + 1, SEED + 2);
    log(`${shape.name} ${args.type}:`);
    const f32 = await spechubRun(path, prompt, args.contexts, args.tokens, 'f32', args.build, log);
    const f16 = await spechubRun(path, prompt, args.contexts, args.tokens, 'f16', args.build, log);
    const ref = args.llama ? await llamaRun(path, prompt, args.contexts, args.tokens, log) : null;
    const kvDim = c.nKvHeads * c.headDim;
    args.contexts.forEach((C, i) => {
      const kv = (bytes: number) => 2 * c.nLayers * C * kvDim * bytes;
      const ceil32 = (bw * 1e9) / (weights + kv(4));
      const ceil16 = (bw * 1e9) / (weights + kv(2));
      rows.push([shape.name, args.type, C, sig(f32[i]!), sig(f16[i]!), ref ? sig(ref[i]!) : '–', ref ? `${sig(f32[i]! / ref[i]!)}×` : '–', ref ? `${sig(f16[i]! / ref[i]!)}×` : '–',
        `${sig(ceil32)} / ${sig(ceil16)}`, `${Math.round((100 * f32[i]!) / ceil32)} % / ${Math.round((100 * f16[i]!) / ceil16)} %`]);
      results.push({ shape: shape.name, type: args.type, context: C, spechubF32: f32[i], spechubF16: f16[i], llamaCpp: ref?.[i] ?? null, ceilingF32: ceil32, ceilingF16: ceil16, weightBytes: weights, kvBytesF32: kv(4) });
    });
  }
  log(`\n${markdownTable(['shape', 'type', 'context', 'spechub f32 KV tok/s', 'spechub f16 KV tok/s', 'llama.cpp (f16 KV) tok/s', 'f32 ÷ llama.cpp', 'f16 ÷ llama.cpp', 'ceiling f32 / f16 KV', 'of ceiling'], rows)}\n`);
  log('Greedy decoding, one thread, median per-token time over the generated tokens; the ceiling is the bandwidth above ÷ (packed weights + the KV cache a token reads).');
  const json = { bench: 'long-context', machine, bandwidthGBs: bw, params: { contexts: args.contexts, tokens: args.tokens, type: args.type, build: args.build }, results };
  const out = writeResults('long-context.json', json);
  log(`JSON written to ${out}`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`long-context bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
