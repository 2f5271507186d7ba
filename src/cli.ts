#!/usr/bin/env node
/**
 * spechub command line. Text streams to stdout as it is produced; statistics go to stderr.
 *   spechub generate [options]
 *   spechub chat [options]
 *   spechub tokenize --model M (--text T | --text-file F | piped stdin) [--json] [--parse-special] [--no-bos]
 *   spechub convert llama2c <model.bin> <tokenizer.bin> <out-dir>
 *   spechub bench --model M [--dtype LIST] [--threads LIST] [-p N] [-n N] [--speculative] [--repetitions N] [--json|--markdown]
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { join, resolve } from 'node:path';
import { fstatSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SpechubError, InvalidArgumentError, MemoryPlanError } from './errors.js';
import { memoryAdvice } from './model/memory-plan.js';
import { terminalProgress } from './node/progress.js';
import type { LoadProgress } from './model/llama.js';
import { createRng, type Rng } from './rng.js';
import { availableParallelism } from 'node:os';
import { createNodeExecutor, createNodeRuntime, convertLlama2cFiles, loadModelFromPath, loadTokenizerFromPath, WEIGHTS_DIR } from './node.js';
import type { Tokenizer } from './tokenizer.js';
import { Generator, type GenerationResult, type GenerationStats } from './engine/generate.js';
import { chatSpecialTokens, resolveChatTemplate, type ChatSession } from './engine/chat.js';
import { BUILTIN_CHAT_TEMPLATE_NAMES, ChatTemplate, type ChatMessage } from './chat/template.js';
import { resolveDrafter, DEFAULT_DRAFTS } from './node/drafters.js';
import { parseTreeSpec, treeNodeCount, treeSpecLabel, type TreeSpec } from './draft/tree.js';
import { isDynamicSpec } from './draft/dynamic.js';
import { checkMethodTree } from './engine/speculative.js';
import { METHOD_NAMES, maxChildrenOf, type MethodName } from './verify/types.js';
import type { LoadedModel } from './engine/load.js';
import type { Drafter } from './engine/speculative.js';
import { MIN_TEMPERATURE, type SamplingParams } from './sampling.js';
import type { Runtime } from './wasm/runtime.js';
import type { Executor } from './exec/executor.js';
import type { LlamaModel, WeightDtype } from './model/llama.js';
import type { KvType } from './model/kv-cache.js';
import { WEIGHT_TYPE_ALIASES } from './kernels/linear.js';
import { benchMarkdown, runBench } from './node/bench.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

const MODEL_OPTIONS = `  --model DIR|FILE      model directory (config.json, model.safetensors, tokenizer.json) or .gguf
                        (default: weights/stories260K)
  --max-tokens N        most tokens to generate per completion or reply (default: the model's
                        generation_config.json max_new_tokens, else 256 for generate and the rest
                        of the context for chat)
  --temperature T       sampling temperature; 0 = greedy (default: generation_config.json, else 1)
  --top-k K             keep the K most likely tokens; 0 = off (default: generation_config.json, else 0)
  --top-p P             nucleus sampling mass in (0, 1]; 1 = off (default: generation_config.json, else 1)
                        (generation_config.json's do_sample=false means greedy; the stats say which
                        settings came from it)
  --seed S              random seed (default: from the clock; printed in the stats)
  --stop STRING         stop when the text contains STRING (repeatable); the text ends before it
  --ignore-eos          do not stop at end-of-sequence tokens
  --draft SPEC          drafts for speculative decoding:
                          DIR|FILE  a draft model sharing the tokenizer
                          int8|int4 a quantised copy of the target (self-drafting)
                          exit:N    the target's first N layers (early exit)
                          none      plain autoregressive decoding
                        (default: the shipped draft for the shipped model, else none)
  --verifier NAME       ${METHOD_NAMES.join(' | ')}
                        (default spechub; block verifies chains only)
  --tree SHAPE|dynamic:N|auto
                        branching per level, e.g. 2,2,2,2 (30 drafts) or 1,1,1,1 (a chain);
                        dynamic:N lets the drafter shape up to N drafts per step from its own
                        probabilities; auto measures this machine's forward costs and picks a shape,
                        a dynamic tree or plain decoding by tokens/s as acceptance is observed
                        (default 2,2,2,2; 1,1,1,1 for sd and block)
  --max-context N       KV-cache positions (default: the model's max_position_embeddings, at
                        most 4096)
  --kv-type TYPE        what the KV cache stores: f32 | f16 (half the memory, rounded as
                        llama.cpp's default cache; a key or value beyond f16 fails) (default f32)
  --dtype TYPE          weight type of every matrix (linear layers, head, embedding): auto keeps each
                        tensor as stored (a Q4_K_M GGUF stays Q4_K + Q6_K; safetensors: F32, BF16,
                        F16 as stored); else f32 | bf16 | f16 | int8 (= q8_0) | int4 (= q4_0) | q8_0 |
                        q4_0 | q4_1 | q5_0 | q5_1 | iq4_nl | q2_k | q3_k | q4_k | q5_k | q6_k | iq4_xs,
                        quantised as llama.cpp's quantizer does (default auto)
  --threads N           kernel threads over one shared memory (default: the core count; at most
                        twice the core count; small kernels stay on one thread, so tiny models
                        are never slowed down)
  --relaxed MODE        relaxed SIMD (fused multiply-add, ~30 % faster batched matmuls): auto | on | off
                        (default auto: used where the engine has it; off gives results that are
                        bit-identical on every machine)
  --quiet               no stats on stderr`;

const TEMPLATE_OPTIONS = `  --system TEXT         a system message opening the conversation
  --chat-template NAME  a template the model ships by name (e.g. tool_use), or a built-in one for
                        models without: ${BUILTIN_CHAT_TEMPLATE_NAMES.join(' | ')}
                        (default: the model's own: tokenizer_config.json chat_template,
                        chat_template.jinja, or GGUF tokenizer.chat_template)
  --chat-template-file FILE  a Jinja chat template (Hugging Face conventions: messages,
                        add_generation_prompt, bos_token, eos_token)
  --chat-var NAME=VALUE a template variable (repeatable; VALUE is JSON if it parses, else text),
                        e.g. --chat-var enable_thinking=false for Qwen3`;

const GENERATE_HELP = `Usage: spechub generate [options]      generate text (streams to stdout, stats to stderr)

  --prompt TEXT         prompt text (default: empty, start from BOS)
  --prompt-file FILE    read the prompt from FILE; without --prompt or --prompt-file, a prompt
                        piped to stdin is read (one trailing newline is dropped from either)
  --chat                wrap the prompt as one user message in the model's chat template
                        (with --system and the template options below)
  --n COUNT             independent completions of the same prompt (default 1)
  --json                print one JSON object per completion (ids, text, stats) instead of text
${MODEL_OPTIONS}
${TEMPLATE_OPTIONS}
`;

const CHAT_HELP = `Usage: spechub chat [options]          talk with a chat model in the terminal

Type a message and press Enter; the reply streams back. The conversation's KV cache is kept, so a
turn only computes its new tokens. Commands: /reset (start over), /exit (quit), /help.
Ctrl-C stops a reply; at the prompt, a second Ctrl-C (or Ctrl-D) quits. With stdin piped, every
line is one user message and the replies are printed one after another. When the conversation
fills the context, its oldest exchanges are forgotten (the system message stays).

${TEMPLATE_OPTIONS}
${MODEL_OPTIONS}
`;

const HELP = `spechub ${VERSION} — Llama inference in WebAssembly SIMD with exact multi-draft speculative decoding

Usage:
  spechub generate [options]          generate text (streams to stdout, stats to stderr)
  spechub chat [options]              interactive chat with a model's chat template
  spechub tokenize --model M [options] the token ids and pieces of a text (reads no weights)
  spechub convert llama2c <model.bin> <tokenizer.bin> <out-dir>
                                      convert a llama2.c checkpoint to a Hugging Face directory
  spechub bench [options]             prompt-processing and generation tokens/s on this machine
                                      (like llama-bench; spechub bench --help)
  spechub --help | --version          (spechub COMMAND --help for one command)

generate options:
  --prompt TEXT         prompt text (default: empty, start from BOS)
  --prompt-file FILE    read the prompt from FILE (else a piped stdin is read)
  --chat                wrap the prompt as one user message in the model's chat template
  --n COUNT             independent completions of the same prompt (default 1)
  --json                print one JSON object per completion (ids, text, stats) instead of text
${MODEL_OPTIONS}

chat options: the model options above, and
${TEMPLATE_OPTIONS}

tokenize options:
  --model DIR|FILE      model directory (tokenizer.json, tokenizer_config.json) or .gguf (its
                        tokenizer metadata) (default: weights/stories260K)
  --text TEXT           the text; or --text-file FILE (UTF-8), or piped standard input
  --parse-special       recognise special-token strings such as <|im_start|> as their ids
                        (default: they are ordinary text, as llama.cpp without --parse-special)
  --no-bos              do not put BOS first (default: as the tokenizer files say)
  --json                one JSON object: ids and, per token, id, piece, text

Examples:
  spechub generate --prompt "Once upon a time" --max-tokens 100
  spechub generate --temperature 0 --draft none
  spechub generate --verifier rrs-wo --tree 3,2,1 --seed 7 --n 3 --json
  spechub generate --verifier traversal --tree dynamic:16 --prompt "Once upon a time"
  spechub tokenize --model path/to/SmolLM2-360M-Instruct --text "Hello, world!"
  echo "Once upon a time" | spechub generate --stop "." --max-tokens 100
  spechub chat --model ./SmolLM2-360M-Instruct --draft ./SmolLM2-135M-Instruct --system "Be brief."
`;

const BENCH_HELP = `Usage: spechub bench [options]         measure prompt processing (pp) and generation (tg) speed

Like llama.cpp's llama-bench: for every weight type × thread count (× plain / speculative), the median
tokens/s of a prefill of -p tokens (ppN) and of -n generated tokens (tgN, greedy, end-of-sequence
ignored), with the CPU model and this machine's measured read bandwidth (the bound of decoding: weight
bytes per token ÷ bandwidth) in the header. The prompt is ids drawn at random from the vocabulary.

  --model DIR|FILE      model directory or .gguf (default: weights/stories260K)
  --dtype LIST          weight types, comma-separated: auto (as stored) | ${Object.keys(WEIGHT_TYPE_ALIASES).join(' | ')}
                        (default auto)
  --threads LIST        thread counts, comma-separated, e.g. 1,2 (default: the core count)
  -p, --n-prompt N      prompt tokens of the pp test (default 128)
  -n, --n-gen N         generated tokens of the tg test (default 64)
  --speculative         also measure speculative decoding (SpecHub, tree auto) with --draft
  --draft SPEC          the drafter of --speculative: int8 | int4 (a quantised copy of the model) |
                        exit:N | DIR|FILE (a draft model) (default int4)
  -r, --repetitions N   timed runs per case, after one warm-up run (default 3)
  --relaxed MODE        relaxed SIMD: auto | on | off (default auto)
  --kv-type TYPE        what the KV caches store: f32 | f16 (default f32)
  --markdown            print a markdown table (the default)
  --json                print one JSON object (machine, model, parameters, rows) instead
  --quiet               no progress lines on stderr
  -h, --help            this text

Example:
  spechub bench --model ./qwen2.5-0.5b-instruct-q4_k_m.gguf --threads 1,2 --speculative
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

/** Flags that take a number (a negative value after them is that value, not an option). */
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

const COMMON_FLAGS = {
  model: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'ignore-eos': { type: 'boolean' },
  draft: { type: 'string' },
  verifier: { type: 'string' },
  tree: { type: 'string' },
  'max-context': { type: 'string' },
  'kv-type': { type: 'string' },
  dtype: { type: 'string' },
  threads: { type: 'string' },
  relaxed: { type: 'string' },
  quiet: { type: 'boolean' },
  system: { type: 'string' },
  'chat-template': { type: 'string' },
  'chat-template-file': { type: 'string' },
  'chat-var': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const GENERATE_FLAGS = {
  ...COMMON_FLAGS,
  prompt: { type: 'string' },
  'prompt-file': { type: 'string' },
  chat: { type: 'boolean' },
  n: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Flags = Record<string, string | boolean | string[] | undefined>;

function parseFlags(argv: string[], options: typeof COMMON_FLAGS | typeof GENERATE_FLAGS): Flags {
  return parseCommandFlags(joinNegativeValues(argv), options) as Flags;
}

/** Whether the flags ask for help (-h, --help); then `text` is printed and the command does nothing else. */
function helpAsked(v: { readonly help?: unknown }, text: string): boolean {
  if (v.help !== true) return false;
  process.stdout.write(text);
  return true;
}

/**
 * The values of `options` in `args` (node:util's parseArgs: no positionals, unknown flags refused).
 * A refusal is a UsageError of parseArgs's first line (its messages can span lines; the first says
 * what is wrong), worded by `say`.
 */
function parseCommandFlags<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, say = (message: string) => message) {
  try {
    return parseArgs({ args, allowPositionals: false, strict: true, options }).values;
  } catch (e) {
    throw new UsageError(say((e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '')));
  }
}

/** Everything both commands read from the common flags, validated before anything loads. */
interface CommonSetup {
  modelPath: string;
  draftSpec: string;
  tree: TreeSpec | 'auto';
  method: MethodName;
  maxContext: number | undefined;
  kvType: KvType;
  dtype: WeightDtype;
  threads: number;
  relaxed: 'auto' | boolean;
  /** Only the sampling flags given (the rest come from generation_config.json or the defaults). */
  sampling: Partial<SamplingParams>;
  maxTokens: number | undefined;
  seed: number;
  stop: string[];
  stopAtEos: boolean;
  system: string | undefined;
  templateName: string | undefined;
  templateFile: string | undefined;
  /** --chat-var NAME=VALUE pairs. */
  variables: Record<string, unknown> | undefined;
  quiet: boolean;
  log: (s: string) => void;
}

function commonSetup(v: Flags): CommonSetup {
  const str = (k: string) => v[k] as string | undefined;
  const maxTokens = num('max-tokens', str('max-tokens'), (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0');
  const temperature = num('temperature', str('temperature'), (x) => x === 0 || x >= MIN_TEMPERATURE, `0 (greedy) or a number >= ${MIN_TEMPERATURE}`);
  const topK = num('top-k', str('top-k'), (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0');
  const topP = num('top-p', str('top-p'), (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const seed = num('seed', str('seed'), (x) => Number.isSafeInteger(x), 'an integer') ?? Date.now() % 2 ** 31;
  const maxContext = num('max-context', str('max-context'), (x) => Number.isSafeInteger(x) && x >= 1, 'an integer >= 1');
  const cores = availableParallelism();
  const requestedThreads = num('threads', str('threads'), (x) => Number.isInteger(x) && x >= 1 && x <= 256, 'an integer in 1..256') ?? cores;
  const { threads, warning: threadsWarning } = capThreads(requestedThreads, cores);
  const relaxedFlag = str('relaxed') ?? 'auto';
  if (!['auto', 'on', 'off'].includes(relaxedFlag)) throw new UsageError(`--relaxed: expected auto, on or off, got "${relaxedFlag}"`);
  const dtype = str('dtype') ?? 'auto';
  if (dtype !== 'auto' && !Object.hasOwn(WEIGHT_TYPE_ALIASES, dtype)) {
    throw new UsageError(`--dtype: expected auto or one of ${Object.keys(WEIGHT_TYPE_ALIASES).join(', ')}, got "${dtype}"`);
  }
  const kvType = str('kv-type') ?? 'f32';
  if (kvType !== 'f32' && kvType !== 'f16') throw new UsageError(`--kv-type: expected f32 or f16, got "${kvType}"`);
  const method = (str('verifier') ?? 'spechub') as MethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--verifier: expected one of ${METHOD_NAMES.join(', ')}, got "${str('verifier')}"`);
  let tree: TreeSpec | 'auto';
  try {
    tree = str('tree') === 'auto' ? 'auto' : parseTreeSpec(str('tree') ?? (maxChildrenOf(method) === 1 ? '1,1,1,1' : '2,2,2,2'));
  } catch (e) {
    throw new UsageError(`--tree: ${(e as Error).message}`);
  }
  if (tree !== 'auto') {
    try {
      checkMethodTree(method, tree);
    } catch (e) {
      throw new UsageError(`--verifier ${method} --tree ${str('tree') ?? treeSpecLabel(tree)}: ${(e as Error).message.replace(/^speculative: /, '')}`);
    }
  }
  const stop = (v.stop as string[] | undefined) ?? [];
  for (const s of stop) if (s === '') throw new UsageError('--stop: expected a non-empty string, got ""');
  if (str('chat-template') !== undefined && str('chat-template-file') !== undefined) {
    throw new UsageError('--chat-template and --chat-template-file: expected one of them, got both');
  }
  let variables: Record<string, unknown> | undefined;
  for (const pair of (v['chat-var'] as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--chat-var: expected NAME=VALUE, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the text itself
    }
    (variables ??= {})[pair.slice(0, eq)] = value;
  }
  const modelPath = resolve(str('model') ?? join(WEIGHTS_DIR, 'stories260K'));
  const quiet = v.quiet === true;
  // every flag is valid: say what was changed
  if (threadsWarning !== null) process.stderr.write(`spechub: warning: ${threadsWarning}\n`);
  const sampling: Partial<SamplingParams> = {
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(topP !== undefined ? { topP } : {}),
  };
  return {
    modelPath,
    draftSpec: str('draft') ?? DEFAULT_DRAFTS.get(modelPath) ?? 'none',
    tree,
    method,
    maxContext,
    kvType,
    dtype: dtype as WeightDtype,
    threads,
    relaxed: relaxedFlag === 'auto' ? 'auto' : relaxedFlag === 'on',
    sampling,
    maxTokens,
    seed,
    stop,
    stopAtEos: v['ignore-eos'] !== true,
    system: str('system'),
    templateName: str('chat-template'),
    templateFile: str('chat-template-file'),
    variables,
    quiet,
    log: (s: string) => {
      if (!quiet) process.stderr.write(s + '\n');
    },
  };
}

/** Read a text file named on the command line (a usage error when it cannot be read). */
function readTextFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'expected a file, got a directory' : `cannot read (${code ?? (e as Error).message})`}`);
  }
}

/** Whether stdin is a pipe, a socket or a redirected file (not a terminal or /dev/null). */
function stdinIsPiped(): boolean {
  if (process.stdin.isTTY) return false;
  try {
    const s = fstatSync(0);
    return s.isFIFO() || s.isFile() || s.isSocket();
  } catch {
    return false;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function dropTrailingNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

interface Loaded {
  rt: Runtime;
  executor: Executor;
  target: LoadedModel;
  drafter: Drafter | null;
  generator: Generator;
}

/** Create the runtime, load target and draft, make the Generator (with the chat template, if chosen); close the executor after `body`. */
async function withModel(c: CommonSetup, body: (l: Loaded) => Promise<void>): Promise<void> {
  const templateText = c.templateFile !== undefined ? readTextFile('--chat-template-file', c.templateFile) : undefined;
  const rt = createNodeRuntime({ threads: c.threads, relaxed: c.relaxed });
  const executor = await createNodeExecutor(rt, { threads: c.threads });
  try {
    const maxBatch = c.tree === 'auto' ? 64 : Math.max(64, isDynamicSpec(c.tree) ? c.tree.dynamic + 1 : treeNodeCount(c.tree));
    const loadOpts = { maxBatch, executor, kvType: c.kvType, ...(c.maxContext !== undefined ? { capacity: c.maxContext } : {}) };
    // a progress line on a terminal while a model of more than a few MB loads (erased when done)
    const progress = (label: string) => (c.quiet ? null : terminalProgress(process.stderr, label));
    const withProgress = async <T>(label: string, load: (onProgress?: (p: LoadProgress) => void) => Promise<T>): Promise<T> => {
      const line = progress(label);
      try {
        return await load(line?.onProgress);
      } finally {
        line?.done();
      }
    };
    const target = await withProgress(c.modelPath, (onProgress) => loadModelFromPath(rt, c.modelPath, { ...loadOpts, dtype: c.dtype, ...(onProgress ? { onProgress } : {}) }));
    // what the files hold that spechub does not read (fields that do not change this architecture's math),
    // weights beyond any sane range: once, whatever --quiet says
    const warn = (line: string) => process.stderr.write(`spechub: warning: ${line}\n`);
    for (const w of target.warnings) warn(`${c.modelPath}: ${w}`);
    const drafter = await withProgress(`draft ${c.draftSpec}`, (onProgress) =>
      resolveDrafter(rt, target, c.modelPath, c.draftSpec, { ...loadOpts, ...(onProgress ? { onProgress } : {}) }, warn),
    );
    const chatTemplate =
      templateText !== undefined
        ? new ChatTemplate(templateText, { source: c.templateFile!, specialTokens: chatSpecialTokens(target) })
        : c.templateName !== undefined
          ? resolveChatTemplate(target, c.templateName)
          : undefined;
    const generator = new Generator(target, { drafter, method: c.method, tree: c.tree, sampling: c.sampling, ...(chatTemplate ? { chatTemplate } : {}) });
    c.log(
      `model ${c.modelPath} (${target.config.nLayers} layers, dim ${target.config.dim}, vocab ${target.config.vocabSize}) loaded in ${target.loadMs.toFixed(0)} ms` +
        ` [${rt.build}, ${executor.threads} thread${executor.threads > 1 ? 's' : ''}, ${weightSummary(target.model)}]` +
        (drafter ? `; draft ${drafter.label}, verifier ${c.method}, tree ${treeLine(c.tree)}` : '; plain decoding'),
    );
    await body({ rt, executor, target, drafter, generator });
  } finally {
    await executor.close();
  }
}

async function generateCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, GENERATE_FLAGS);
  if (helpAsked(v, GENERATE_HELP)) return;
  const c = commonSetup(v);
  const count = num('n', v.n as string | undefined, (x) => Number.isSafeInteger(x) && x >= 1, 'an integer >= 1') ?? 1;
  const json = v.json === true;
  const chat = v.chat === true;
  if (v.prompt !== undefined && v['prompt-file'] !== undefined) throw new UsageError('--prompt and --prompt-file: expected one of them, got both');
  if (!chat) {
    for (const flag of ['system', 'chat-template', 'chat-template-file', 'chat-var']) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag}: only with --chat (or spechub chat)`);
    }
  }
  const prompt =
    v.prompt !== undefined
      ? (v.prompt as string)
      : v['prompt-file'] !== undefined
        ? dropTrailingNewline(readTextFile('--prompt-file', v['prompt-file'] as string))
        : stdinIsPiped()
          ? dropTrailingNewline(await readStdin())
          : '';
  await withModel(c, async ({ generator }) => {
    const messages: ChatMessage[] | null = chat ? [...(c.system !== undefined ? [{ role: 'system', content: c.system }] : []), { role: 'user', content: prompt }] : null;
    const base = createRng(c.seed);
    for (let i = 0; i < count; i++) {
      const rng = count === 1 ? base : base.fork(i);
      const result = await generator.generate({
        ...(messages ? { messages, ...(c.variables ? { chatVariables: c.variables } : {}) } : { prompt }),
        ...(c.maxTokens !== undefined ? { maxTokens: c.maxTokens } : {}),
        stop: c.stop,
        stopAtEos: c.stopAtEos,
        rng,
        ...(json ? {} : { onText: (t: string) => process.stdout.write(t) }),
      });
      if (json) {
        process.stdout.write(JSON.stringify(jsonOf(result, i, c.seed)) + '\n');
      } else {
        process.stdout.write(count > 1 && i < count - 1 ? '\n\n' : '\n');
      }
      c.log(statsLine(result.stats, result, c.seed, count > 1 ? `[${i + 1}/${count}] ` : '', generator.samplingDefaults));
    }
  });
}

/** "Q4_K 1.1 GB + Q6_K 0.3 GB": the model's packed weights by type, largest first. */
function weightSummary(m: LlamaModel): string {
  const mb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
  return [...m.weightTypes].sort((a, b) => b[1] - a[1]).map(([t, b]) => `${t} ${mb(b)}`).join(' + ');
}

function treeLine(tree: TreeSpec | 'auto'): string {
  if (tree === 'auto') return 'auto';
  return isDynamicSpec(tree) ? `${treeSpecLabel(tree)} (up to ${tree.dynamic} drafts per step)` : `${tree.join(',')} (${treeNodeCount(tree) - 1} drafts)`;
}

function jsonOf(r: GenerationResult, index: number, seed: number) {
  return { index, seed, ids: Array.from(r.ids), text: r.text, stopReason: r.stopReason, stopString: r.stopString, stats: r.stats };
}

function statsLine(s: GenerationStats, r: GenerationResult, seed: number, head: string, defaults: readonly string[]): string {
  const prompt =
    s.reusedTokens > 0
      ? `prompt ${s.promptTokens} tokens: ${s.reusedTokens} from cache, ${s.prefilledTokens} prefilled in ${s.prefillMs.toFixed(1)} ms`
      : `prompt ${s.promptTokens} tokens prefilled in ${s.prefillMs.toFixed(1)} ms`;
  let line = `${head}${s.generatedTokens} tokens in ${(s.decodeMs / 1000).toFixed(3)} s (${s.tokensPerSecond.toFixed(0)} tok/s), ${prompt}, stop: ${r.stopReason}${r.stopString !== null ? ` ${JSON.stringify(r.stopString)}` : ''}, seed ${seed}`;
  if (defaults.length > 0) line += `, from generation_config.json: ${defaults.join(' ')}`;
  if (s.method !== 'none') {
    const tree = s.treeAuto
      ? `auto (${s.treeChoices.slice(0, 4).map((c) => `${c.tree || 'plain'}: ${c.steps} steps`).join(', ')})`
      : s.treeLabel;
    line += `\n${head}${s.method} with ${s.drafter}, tree ${tree}: ${s.tokensPerStep.toFixed(2)} tokens/step over ${s.steps} steps (${s.draftNodesPerStep.toFixed(1)} drafts per step); acceptance per level ${s.acceptancePerLevel.map((a) => a.toFixed(2)).join(' ')}`;
    line += `\n${head}target ${s.targetForwards} forwards ${s.targetMs.toFixed(1)} ms, draft ${s.draftForwards} forwards ${s.draftMs.toFixed(1)} ms, verify ${s.verifyMs.toFixed(1)} ms`;
  }
  return line;
}

/** A token's text for display, as llama-tokenize prints it: quoted, escapes for control characters, \xNN for bytes that are not whole UTF-8. */
function quotePiece(tok: Tokenizer, id: number): string {
  const text = tok.tokenText(id);
  const body =
    text === null
      ? Array.from(tok.tokenBytes(id), (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')
      : text.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\t': '\\t', '\r': '\\r' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${body}'`;
}

async function readStdinBytes(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function strictUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what}: expected UTF-8 text, got invalid UTF-8`);
  }
}

async function tokenizeCommand(argv: string[]): Promise<void> {
  const v = parseCommandFlags(argv, {
    model: { type: 'string' },
    text: { type: 'string' },
    'text-file': { type: 'string' },
    'parse-special': { type: 'boolean' },
    'no-bos': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (helpAsked(v, HELP)) return;
  if (v.text !== undefined && v['text-file'] !== undefined) throw new UsageError('tokenize: expected one of --text and --text-file, got both');
  let text: string;
  if (v.text !== undefined) text = v.text;
  else if (v['text-file'] !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(v['text-file']);
    } catch (e) {
      throw new UsageError(`--text-file: cannot read ${v['text-file']} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    text = strictUtf8(bytes, `--text-file ${v['text-file']}`);
  } else if (stdinIsPiped()) text = strictUtf8(await readStdinBytes(), 'standard input');
  else throw new UsageError('tokenize: expected --text TEXT, --text-file FILE or text piped to standard input');
  const tok = await loadTokenizerFromPath(resolve(v.model ?? join(WEIGHTS_DIR, 'stories260K')));
  const ids = tok.encode(text, { parseSpecial: v['parse-special'] === true, ...(v['no-bos'] ? { bos: false } : {}) });
  if (v.json) {
    const tokens = Array.from(ids, (id) => {
      const t = tok.tokenText(id);
      return t === null
        ? { id, piece: tok.idToPiece(id), text: null, bytes: Array.from(tok.tokenBytes(id), (b) => b.toString(16).padStart(2, '0')).join('') }
        : { id, piece: tok.idToPiece(id), text: t };
    });
    process.stdout.write(JSON.stringify({ count: ids.length, ids: Array.from(ids), tokens }) + '\n');
    return;
  }
  let out = '';
  for (const id of ids) out += `${String(id).padStart(6)} -> ${quotePiece(tok, id)}\n`;
  process.stdout.write(out);
}

async function chatCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, COMMON_FLAGS);
  if (helpAsked(v, CHAT_HELP)) return;
  const c = commonSetup(v);
  await withModel(c, async ({ generator, target }) => {
    const session = generator.chat({
      ...(c.system !== undefined ? { system: c.system } : {}),
      ...(c.variables ? { variables: c.variables } : {}),
      overflow: 'drop-oldest',
    });
    c.log(`chat template: ${session.template.source}; /reset starts over, /exit quits, Ctrl-C stops a reply`);
    // the system message is computed while the user types the first message
    if (c.system !== undefined) await session.preload();
    const maxTokens = c.maxTokens ?? target.generation?.maxNewTokens ?? session.generator.context.cache.capacity;
    await chatLoop(session, c, maxTokens, createRng(c.seed));
  });
}

/**
 * The interactive loop: one user message per input line, replies streamed to stdout. Ctrl-C during
 * a reply stops the reply; at the prompt the first Ctrl-C says how to quit and a second one quits.
 * Ctrl-C arrives as readline's SIGINT (a terminal in raw mode) or as the process signal (piped stdin).
 */
function chatLoop(session: ChatSession, c: CommonSetup, maxTokens: number, rng: Rng): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, prompt: '> ' });
  const queue: string[] = [];
  let replying: AbortController | null = null;
  let armed = false; // a Ctrl-C at the prompt was seen: the next one quits
  let closed = false;
  let finished = false;
  let turn = 0;
  return new Promise<void>((resolveLoop, rejectLoop) => {
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSigint);
      rl.close();
      if (error !== undefined) rejectLoop(error);
      else resolveLoop();
    };
    const prompt = () => {
      if (interactive && !closed) rl.prompt();
    };
    const onSigint = () => {
      if (replying) {
        replying.abort();
        return;
      }
      if (armed || !interactive) {
        if (interactive) process.stdout.write('\n');
        finish();
        return;
      }
      armed = true;
      process.stdout.write('\n(Ctrl-C again or /exit to quit)\n');
      prompt();
    };
    const pump = async () => {
      while (!replying && !finished && queue.length > 0) {
        const line = queue.shift()!;
        const text = line.trim();
        if (text === '') {
          prompt();
          continue;
        }
        if (text === '/exit' || text === '/quit') {
          finish();
          return;
        }
        if (text === '/reset') {
          session.reset();
          c.log('(conversation reset)');
          if (c.system !== undefined) await session.preload();
          prompt();
          continue;
        }
        if (text === '/help') {
          process.stdout.write('/reset  start a new conversation (the system message stays)\n/exit   quit\nCtrl-C  stop the reply; twice at the prompt to quit\n');
          prompt();
          continue;
        }
        if (/^\/\w+$/.test(text)) {
          process.stderr.write(`spechub: unknown command ${text} (/reset, /exit, /help)\n`);
          prompt();
          continue;
        }
        const controller = new AbortController();
        replying = controller;
        turn++;
        try {
          const r = await session.send(line, { maxTokens, stop: c.stop, stopAtEos: c.stopAtEos, rng, signal: controller.signal, onText: (t) => process.stdout.write(t) });
          process.stdout.write('\n');
          if (r.droppedMessages > 0) c.log(`(the ${r.droppedMessages} oldest messages were forgotten to fit the context of ${session.generator.context.cache.capacity} tokens)`);
          c.log(statsLine(r.stats, r, c.seed, `[turn ${turn}] `, turn === 1 ? session.generator.samplingDefaults : []));
        } catch (e) {
          if (!(e instanceof SpechubError)) {
            finish(e);
            return;
          }
          process.stdout.write('\n');
          process.stderr.write(`spechub: ${e.name}: ${e.message}\n`);
        } finally {
          replying = null;
        }
        prompt();
      }
      if (closed && !replying && queue.length === 0) finish();
    };
    rl.on('line', (line) => {
      armed = false;
      queue.push(line);
      void pump().catch(finish);
    });
    rl.on('SIGINT', onSigint);
    process.on('SIGINT', onSigint);
    rl.on('close', () => {
      closed = true;
      if (!replying && queue.length === 0) {
        if (interactive) process.stdout.write('\n');
        finish();
      }
    });
    prompt();
  });
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

/** A comma-separated list of a flag, each item checked. */
function listFlag<T>(flag: string, value: string, parse: (item: string) => T | undefined, what: string): T[] {
  const items = value.split(',').map((x) => x.trim());
  const out = items.map(parse);
  if (items.length === 0 || out.some((x) => x === undefined)) throw new UsageError(`${flag}: expected ${what}, got "${value}"`);
  return [...new Set(out as T[])];
}

async function benchCommand(argv: string[]): Promise<void> {
  const v = parseCommandFlags(
    argv,
    {
      model: { type: 'string' },
      dtype: { type: 'string' },
      threads: { type: 'string' },
      'n-prompt': { type: 'string', short: 'p' },
      'n-gen': { type: 'string', short: 'n' },
      speculative: { type: 'boolean' },
      draft: { type: 'string' },
      repetitions: { type: 'string', short: 'r' },
      relaxed: { type: 'string' },
      'kv-type': { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    (message) => `bench: ${message} (see spechub bench --help)`,
  );
  if (helpAsked(v, BENCH_HELP)) return;
  if (v.json && v.markdown) throw new UsageError('bench: expected one of --json and --markdown, got both');
  const int = (flag: string, value: string | undefined, min: number, fallback: number) =>
    num(flag, value, (x) => Number.isSafeInteger(x) && x >= min, `an integer >= ${min}`) ?? fallback;
  const promptTokens = int('n-prompt', v['n-prompt'], 1, 128);
  const genTokens = int('n-gen', v['n-gen'], 1, 64);
  const repetitions = int('repetitions', v.repetitions, 1, 3);
  const dtypes = listFlag('--dtype', v.dtype ?? 'auto', (d) => (d === 'auto' || Object.hasOwn(WEIGHT_TYPE_ALIASES, d) ? (d as WeightDtype) : undefined), `a list of auto, ${Object.keys(WEIGHT_TYPE_ALIASES).join(', ')}`);
  const cores = availableParallelism();
  const threads = listFlag('--threads', v.threads ?? String(cores), (t) => (/^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= 2 * cores ? Number(t) : undefined), `a list of integers in 1..${2 * cores} (twice this machine's cores)`);
  const relaxedFlag = v.relaxed ?? 'auto';
  if (!['auto', 'on', 'off'].includes(relaxedFlag)) throw new UsageError(`--relaxed: expected auto, on or off, got "${relaxedFlag}"`);
  const kvType = v['kv-type'] ?? 'f32';
  if (kvType !== 'f32' && kvType !== 'f16') throw new UsageError(`--kv-type: expected f32 or f16, got "${kvType}"`);
  if (v.draft !== undefined && !v.speculative) throw new UsageError('bench: --draft: expected --speculative with it (plain rows use no draft)');
  if (v.draft === 'none') throw new UsageError('bench: --draft: expected a drafter for --speculative, got "none"');
  const modelPath = resolve(v.model ?? join(WEIGHTS_DIR, 'stories260K'));
  const report = await runBench({
    modelPath, dtypes, threads, promptTokens, genTokens, repetitions, speculative: v.speculative === true, ...(v.draft !== undefined ? { draft: v.draft } : {}),
    relaxed: relaxedFlag === 'auto' ? 'auto' : relaxedFlag === 'on',
    kvType,
    log: (line) => {
      if (!v.quiet) process.stderr.write(`spechub bench: ${line}\n`);
    },
  });
  process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : benchMarkdown(report));
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
    else if (cmd === 'chat') await chatCommand(rest);
    else if (cmd === 'tokenize') await tokenizeCommand(rest);
    else if (cmd === 'convert') await convertCommand(rest);
    else if (cmd === 'bench') await benchCommand(rest);
    else throw new UsageError(`unknown command "${cmd}" (expected generate, chat, tokenize, convert or bench; see spechub --help)`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InvalidArgumentError) {
      process.stderr.write(`spechub: ${e.message}\n`);
      return 2;
    }
    if (e instanceof MemoryPlanError) {
      // the library's advice (dtype, capacity) as this command's flags
      process.stderr.write(`spechub: ${e.name}: ${e.summary}; ${memoryAdvice(e.fits, 'flags')}\n`);
      return 1;
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
