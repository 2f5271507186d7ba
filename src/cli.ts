#!/usr/bin/env node
/**
 * spechub command line. Text streams to stdout as it is produced; statistics go to stderr.
 *   spechub generate [options]
 *   spechub convert llama2c <model.bin> <tokenizer.bin> <out-dir>
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { SpechubError, InvalidArgumentError } from './errors.js';
import { createRng } from './rng.js';
import { availableParallelism } from 'node:os';
import { createNodeExecutor, createNodeRuntime, convertLlama2cFiles, loadModelFromPath, WEIGHTS_DIR } from './node.js';
import { Generator, type GenerationResult, type GenerationStats } from './engine/generate.js';
import { resolveDrafter, DEFAULT_DRAFTS } from './node/drafters.js';
import { parseTreeShape, treeNodeCount } from './draft/tree.js';
import { VERIFIER_NAMES, type VerifierName } from './verify/types.js';
import { MIN_TEMPERATURE } from './sampling.js';
import type { Runtime } from './wasm/runtime.js';
import type { Executor } from './model/executor.js';
import type { WeightDtype } from './model/llama.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

const HELP = `spechub ${VERSION} — Llama inference in WebAssembly SIMD with exact multi-draft speculative decoding

Usage:
  spechub generate [options]          generate text (streams to stdout, stats to stderr)
  spechub convert llama2c <model.bin> <tokenizer.bin> <out-dir>
                                      convert a llama2.c checkpoint to a Hugging Face directory
  spechub --help | --version

generate options:
  --model DIR|FILE      model directory (config.json, model.safetensors, tokenizer.json) or .gguf
                        (default: weights/stories260K)
  --prompt TEXT         prompt text (default: empty, start from BOS)
  --max-tokens N        tokens to generate per completion (default 256)
  --temperature T       sampling temperature; 0 = greedy (default 1)
  --top-k K             keep the K most likely tokens; 0 = off (default 0)
  --top-p P             nucleus sampling mass in (0, 1]; 1 = off (default 1)
  --seed S              random seed (default: from the clock; printed in the stats)
  --n COUNT             independent completions of the same prompt (default 1)
  --json                print one JSON object per completion (ids, text, stats) instead of text
  --draft SPEC          drafts for speculative decoding:
                          DIR|FILE  a draft model sharing the tokenizer
                          int8|int4 a quantised copy of the target (self-drafting)
                          exit:N    the target's first N layers (early exit)
                          none      plain autoregressive decoding
                        (default: the shipped draft for the shipped model, else none)
  --verifier NAME       ${VERIFIER_NAMES.join(' | ')} (default spechub)
  --tree SHAPE|auto     branching per level, e.g. 2,2,2,2 (30 drafts) or 1,1,1,1 (a chain);
                        auto measures this machine's forward costs and picks the shape (or plain
                        decoding) with the most expected tokens/s as acceptance is observed
                        (default 2,2,2,2)
  --max-context N       KV-cache positions (default: the model's max_position_embeddings)
  --dtype TYPE          weights of the linear layers: f32 | bf16 | int8 | int4 (default f32)
  --threads N           kernel threads over one shared memory (default: the core count; small
                        kernels stay on one thread, so tiny models are never slowed down)
  --relaxed MODE        relaxed SIMD (fused multiply-add, ~30 % faster batched matmuls): auto | on | off
                        (default auto: used where the engine has it; off gives results that are
                        bit-identical on every machine)
  --quiet               no stats on stderr

Examples:
  spechub generate --prompt "Once upon a time" --max-tokens 100
  spechub generate --temperature 0 --draft none
  spechub generate --verifier rrs-wo --tree 3,2,1 --seed 7 --n 3 --json
`;

class UsageError extends SpechubError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

function num(name: string, value: string | undefined, check: (x: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || !check(x)) throw new UsageError(`--${name}: expected ${what}, got "${value}"`);
  return x;
}

/** Options of `generate` that take a number (a negative value after them is that value, not an option). */
const NUMERIC_OPTIONS = new Set(['--max-tokens', '--temperature', '--top-k', '--top-p', '--seed', '--n', '--max-context', '--threads']);

/**
 * `--seed -1` as `--seed=-1`: node:util's parseArgs takes a value that starts with a dash for an
 * option ("argument is ambiguous"); after a numeric option a negative number is always its value,
 * so that it gets checked like any other (and `--seed -1` works as `--seed=-1` does).
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (NUMERIC_OPTIONS.has(a) && next !== undefined && /^-(\d|\.\d|Infinity$)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Threads worth starting on this machine: `requested`, capped at twice the cores (more only compete
 * for them: 256 threads on 2 cores took 17.6 s and 2.2 GB to start). Returns the count and, when
 * capped, the warning to print.
 */
function capThreads(requested: number, cores: number): { threads: number; warning: string | null } {
  const cap = Math.max(1, 2 * cores);
  if (requested <= cap) return { threads: requested, warning: null };
  return { threads: cap, warning: `--threads ${requested}: using ${cap} (twice the ${cores} core${cores === 1 ? '' : 's'} of this machine; more threads only compete for them)` };
}

async function generateCommand(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: false,
      strict: true,
      options: {
        model: { type: 'string' },
        prompt: { type: 'string' },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        n: { type: 'string' },
        json: { type: 'boolean' },
        draft: { type: 'string' },
        verifier: { type: 'string' },
        tree: { type: 'string' },
        'max-context': { type: 'string' },
        dtype: { type: 'string' },
        threads: { type: 'string' },
        relaxed: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // node:util's messages can span lines; the first says what is wrong
    throw new UsageError((e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, ''));
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const maxTokens = num('max-tokens', v['max-tokens'], (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0') ?? 256;
  const temperature = num('temperature', v.temperature, (x) => x === 0 || x >= MIN_TEMPERATURE, `0 (greedy) or a number >= ${MIN_TEMPERATURE}`) ?? 1;
  const topK = num('top-k', v['top-k'], (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0') ?? 0;
  const topP = num('top-p', v['top-p'], (x) => x > 0 && x <= 1, 'a number in (0, 1]') ?? 1;
  const count = num('n', v.n, (x) => Number.isSafeInteger(x) && x >= 1, 'an integer >= 1') ?? 1;
  const seed = num('seed', v.seed, (x) => Number.isSafeInteger(x), 'an integer') ?? Date.now() % 2 ** 31;
  const maxContext = num('max-context', v['max-context'], (x) => Number.isSafeInteger(x) && x >= 1, 'an integer >= 1');
  const cores = availableParallelism();
  const requestedThreads = num('threads', v.threads, (x) => Number.isInteger(x) && x >= 1 && x <= 256, 'an integer in 1..256') ?? cores;
  const { threads, warning: threadsWarning } = capThreads(requestedThreads, cores);
  if (threadsWarning) process.stderr.write(`spechub: warning: ${threadsWarning}\n`);
  const relaxedFlag = v.relaxed ?? 'auto';
  if (!['auto', 'on', 'off'].includes(relaxedFlag)) throw new UsageError(`--relaxed: expected auto, on or off, got "${relaxedFlag}"`);
  const relaxed = relaxedFlag === 'auto' ? 'auto' : relaxedFlag === 'on';
  const dtype = v.dtype ?? 'f32';
  if (!['f32', 'bf16', 'int8', 'int4'].includes(dtype)) throw new UsageError(`--dtype: expected f32, bf16, int8 or int4, got "${dtype}"`);
  const method = (v.verifier ?? 'spechub') as VerifierName;
  if (!VERIFIER_NAMES.includes(method)) throw new UsageError(`--verifier: expected one of ${VERIFIER_NAMES.join(', ')}, got "${v.verifier}"`);
  let tree: number[] | 'auto';
  try {
    tree = v.tree === 'auto' ? 'auto' : parseTreeShape(v.tree ?? '2,2,2,2');
  } catch (e) {
    throw new UsageError(`--tree: ${(e as Error).message}`);
  }
  const modelPath = resolve(v.model ?? join(WEIGHTS_DIR, 'stories260K'));
  const draftSpec = v.draft ?? DEFAULT_DRAFTS.get(modelPath) ?? 'none';
  const quiet = v.quiet === true;
  const json = v.json === true;
  const log = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };

  const rt = createNodeRuntime({ threads, relaxed });
  const executor = await createNodeExecutor(rt, { threads });
  try {
    await generateWith(rt, executor, { v, modelPath, draftSpec, tree, method, maxContext, dtype: dtype as WeightDtype, temperature, topK, topP, count, seed, maxTokens, json, log });
  } finally {
    await executor.close();
  }
}

interface GenerateSetup {
  v: { prompt?: string | undefined };
  modelPath: string;
  draftSpec: string;
  tree: number[] | 'auto';
  method: VerifierName;
  maxContext: number | undefined;
  dtype: WeightDtype;
  temperature: number;
  topK: number;
  topP: number;
  count: number;
  seed: number;
  maxTokens: number;
  json: boolean;
  log: (s: string) => void;
}

async function generateWith(rt: Runtime, executor: Executor, o: GenerateSetup): Promise<void> {
  const { v, modelPath, draftSpec, tree, method, maxContext, temperature, topK, topP, count, seed, maxTokens, json, log } = o;
  const maxBatch = tree === 'auto' ? 64 : Math.max(64, treeNodeCount(tree));
  const loadOpts = { maxBatch, executor, ...(maxContext !== undefined ? { capacity: maxContext } : {}) };
  const target = await loadModelFromPath(rt, modelPath, { ...loadOpts, dtype: o.dtype });
  for (const w of target.warnings ?? []) process.stderr.write(`spechub: warning: ${modelPath}: ${w}\n`);
  const drafter = await resolveDrafter(rt, target, modelPath, draftSpec, loadOpts);
  log(
    `model ${modelPath} (${target.config.nLayers} layers, dim ${target.config.dim}, vocab ${target.config.vocabSize}) loaded in ${target.loadMs.toFixed(0)} ms` +
      ` [${rt.build}, ${executor.threads} thread${executor.threads > 1 ? 's' : ''}, ${o.dtype}]` +
      (drafter ? `; draft ${drafter.label}, verifier ${method}, tree ${tree === 'auto' ? 'auto' : `${tree.join(',')} (${treeNodeCount(tree) - 1} drafts)`}` : '; plain decoding'),
  );
  const gen = new Generator(target, { drafter, method, tree, sampling: { temperature, topK, topP } });
  const base = createRng(seed);
  for (let i = 0; i < count; i++) {
    const rng = count === 1 ? base : base.fork(i);
    const result = await gen.generate({
      prompt: v.prompt ?? '',
      maxTokens,
      rng,
      ...(json ? {} : { onText: (t: string) => process.stdout.write(t) }),
    });
    if (json) {
      process.stdout.write(JSON.stringify(jsonOf(result, i, seed)) + '\n');
    } else {
      process.stdout.write(count > 1 && i < count - 1 ? '\n\n' : '\n');
    }
    log(statsLine(result.stats, result, seed, i, count));
  }
}

function jsonOf(r: GenerationResult, index: number, seed: number) {
  return { index, seed, ids: Array.from(r.ids), text: r.text, stopReason: r.stopReason, stats: r.stats };
}

function statsLine(s: GenerationStats, r: GenerationResult, seed: number, i: number, n: number): string {
  const head = n > 1 ? `[${i + 1}/${n}] ` : '';
  let line = `${head}${s.generatedTokens} tokens in ${(s.decodeMs / 1000).toFixed(3)} s (${s.tokensPerSecond.toFixed(0)} tok/s), prompt ${s.promptTokens} tokens prefilled in ${s.prefillMs.toFixed(1)} ms, stop: ${r.stopReason}, seed ${seed}`;
  if (s.method !== 'none') {
    const tree = s.treeAuto
      ? `auto (${s.treeChoices.slice(0, 4).map((c) => `${c.tree || 'plain'}: ${c.steps} steps`).join(', ')})`
      : s.tree.join(',');
    line += `\n${head}${s.method} with ${s.drafter}, tree ${tree}: ${s.tokensPerStep.toFixed(2)} tokens/step over ${s.steps} steps; acceptance per level ${s.acceptancePerLevel.map((a) => a.toFixed(2)).join(' ')}`;
    line += `\n${head}target ${s.targetForwards} forwards ${s.targetMs.toFixed(1)} ms, draft ${s.draftForwards} forwards ${s.draftMs.toFixed(1)} ms, verify ${s.verifyMs.toFixed(1)} ms`;
  }
  return line;
}

async function convertCommand(argv: string[]): Promise<void> {
  const [kind, model, tokenizer, out, ...rest] = argv;
  if (kind === '--help' || kind === '-h') {
    process.stdout.write(HELP);
    return;
  }
  if (kind !== 'llama2c') throw new UsageError(`convert: expected "llama2c", got ${kind === undefined ? 'nothing' : `"${kind}"`}`);
  if (!model || !tokenizer || !out || rest.length > 0) {
    throw new UsageError('convert llama2c: expected <model.bin> <tokenizer.bin> <out-dir>');
  }
  await convertLlama2cFiles(model, tokenizer, out, { log: (s: string) => process.stderr.write(s + '\n') });
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      process.stdout.write(VERSION + '\n');
      return 0;
    }
    if (cmd === 'generate') await generateCommand(rest);
    else if (cmd === 'convert') await convertCommand(rest);
    else throw new UsageError(`unknown command "${cmd}" (expected generate or convert; see spechub --help)`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InvalidArgumentError) {
      process.stderr.write(`spechub: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SpechubError) {
      process.stderr.write(`spechub: ${e.name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// A closed pipe (spechub generate | head) ends the run quietly, as other command-line tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const code = await main(process.argv.slice(2));
process.exitCode = code;
