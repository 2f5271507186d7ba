/**
 * Decode benchmark: spechub against llama.cpp (the node-llama-cpp devDependency) on the SAME GGUF files,
 * side by side in one run (issue 13 item 5).
 *
 * 1. Models (bench/lib/real-shape-model.ts): random weights at the real dimensions of SmolLM2-360M and
 *    Qwen2.5-0.5B (their config.json; --quick: both cut to 4 small layers), written as F32 GGUF by
 *    spechub's writer and quantised by llama.cpp's own quantizer to Q8_0 and Q4_K_M (llama.cpp's type
 *    mix: Q4_K + Q6_K, Q5_0 where a row is not a multiple of 256) — with --types also BF16, Q6_K, Q5_K_M
 *    and Q4_0, and the F32 file itself. Cached in bench/.cache/.
 * 2. Per shape × type × threads, both engines in one child process: a 128-token prompt in one forward
 *    (prefill tok/s) and 64 greedy tokens (decode tok/s); medians of --runs timed runs after warm-up,
 *    the two engines' timed runs interleaved (S L, L S, S L, …) so that both see the host's bandwidth
 *    of the same minute (it moves by tens of per cent between minutes: docs/performance.md §6.11).
 *    spechub keeps the stored types (dtype auto). spechub also runs speculative sampling (a quantised
 *    self-draft of the same file, SpecHub, tree auto) against plain sampling, same target, same process.
 * 2b. Real draft/target pairs (issue 8 item 5): a separate draft model at the shape of a real pair's draft
 *    (SmolLM2-135M → SmolLM2-360M, Qwen2.5-0.5B → Qwen2.5-1.5B), both files of the same type, plain vs
 *    speculative sampling at temperature 1 in each engine (spechub: SpecHub, tree auto; llama.cpp:
 *    node-llama-cpp's DraftSequenceTokenPredictor), same target file, same process per engine.
 * 3. Ceilings: measured WebAssembly read bandwidth (1 and 2 threads) ÷ weight bytes per token (each
 *    engine's layout of the matrices a token multiplies). Since the host's bandwidth moves between
 *    cases, each spechub case also times the matrices alone (one decode step's matrices through the
 *    same executor) and measures the bandwidth at its thread count in the same process right after:
 *    what a 2-thread miss is up against, seen in the same minute.
 * 4. Targets (reported, not asserted): decode ≥ 1.2× llama.cpp at 1 thread and ≥ 1.0× at 2 for Q8_0 and
 *    Q4_K_M; prefill ≥ 1.0×; 2 threads ≥ 1.7× 1 thread where 1 thread is below 80 % of its ceiling.
 * 5. Optionally (--only kernels, --with-kernels) the round-1 kernel table: matvec GB/s and batched
 *    matmul GFLOP/s against onnxruntime-web (installed on demand into bench/.peers/).
 *
 * Table on stdout (markdown, also bench/results/decode.md), JSON in bench/results/decode.json
 * (decode.quick.* with --quick).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WasmBuild } from '../src/wasm/kernels.js';
import { machineInfo, markdownTable, RESULTS_DIR, sig, writeResults, type MachineInfo } from './common.js';
import { runChild, type ChildOutcome } from './lib/child.js';
import type { DecodeResult, DecodeSpec, PairedDecodeResult, PairedDecodeSpec } from './lib/decode-cases.js';
import type { PairResult, PairSpec } from './lib/pair-cases.js';
import type { KernelResult, KernelRow, KernelSpec } from './lib/kernel-cases.js';
import { prefillCeiling, type Bandwidth, type DotPeak } from './lib/bandwidth.js';
import { ensurePeer, ORT_WEB_VERSION, type PeerStatus } from './lib/peers.js';
import {
  benchPromptIds, BENCH_FILE_TYPES, ensureShapeFiles, parameterCountOf, QUICK_DRAFT_SHAPE, QUICK_SHAPES, QWEN25_05B, QWEN25_15B, SMOLLM2_135M, SMOLLM2_360M, streamedWeights,
  type BenchFileType, type RealShape, type ShapeFiles, type StreamedWeights,
} from './lib/real-shape-model.js';
import { hasThreads, type SpechubDtype } from './lib/spechub-caps.js';
import { median } from '../src/util/stats.js';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));
const CASE_RUNNER = fileURLToPath(new URL('./lib/case-runner.js', import.meta.url));
const BUILDS: readonly WasmBuild[] = ['simd', 'relaxed', 'simd-mt', 'relaxed-mt'];
const LLAMA_CPP_VERSION: string = JSON.parse(readFileSync(fileURLToPath(new URL('../../node_modules/node-llama-cpp/package.json', import.meta.url)), 'utf8')).version;
const SHAPES: Readonly<Record<string, RealShape>> = { 'smollm2-360m': SMOLLM2_360M, 'qwen2.5-0.5b': QWEN25_05B, 'qwen2.5-1.5b': QWEN25_15B };
const PROMPT_TOKENS = 128;
const DECODE_TOKENS = 64;
const SPEC_TOKENS = 96;

/** A real draft/target pair, at the two models' shapes (random weights). */
interface ShapePair {
  readonly draft: RealShape;
  readonly target: RealShape;
}
/** The pairs README "Run your own model" lists, at two families: --pairs smollm2,qwen2.5. */
const PAIRS: Readonly<Record<string, ShapePair>> = {
  smollm2: { draft: SMOLLM2_135M, target: SMOLLM2_360M },
  'qwen2.5': { draft: QWEN25_05B, target: QWEN25_15B },
};
const QUICK_PAIRS: readonly ShapePair[] = [{ draft: QUICK_DRAFT_SHAPE, target: QUICK_SHAPES[0]! }];
/** File types a pair is measured at (both models in the same type). */
const PAIR_TYPES: readonly BenchFileType[] = ['Q8_0', 'Q4_K_M'];

/** The self-draft of a target type: the cheapest quantisation the loader makes from it at load (none for the 4–6-bit files but Q4_K_M). */
const DRAFT_OF: Readonly<Partial<Record<BenchFileType, SpechubDtype>>> = { F32: 'q8_0', BF16: 'q8_0', Q8_0: 'q4_0', Q4_K_M: 'q4_0' };

const USAGE = `usage: node dist/bench/decode.bench.js [options]     (npm run bench:decode -- [options])

spechub vs llama.cpp (node-llama-cpp ${LLAMA_CPP_VERSION}) on the same GGUF files: decode and prefill (${PROMPT_TOKENS}-token
prompt) tok/s at 1 and 2 threads, random weights at the SmolLM2-360M and Qwen2.5-0.5B shapes, files quantised by
llama.cpp's quantizer; speculative (quantised self-draft, tree auto) vs plain. Progress on stderr; table on
stdout and in bench/results/decode.md; JSON in bench/results/decode.json (decode.quick.* with --quick).

  --quick           both architectures cut to 4 small layers, 1 timed run: checks that everything works
  --json            print the JSON result to stdout (the table then goes to stderr)
  --runs N          timed runs per case (default 3; --quick 1)
  --threads LIST    thread counts, e.g. 1 or 1,2 (default 1,2)
  --types LIST      GGUF types: ${BENCH_FILE_TYPES.join(',')}, or all (default Q8_0,Q4_K_M)
  --shapes LIST     ${Object.keys(SHAPES).join(',')} (default smollm2-360m,qwen2.5-0.5b; ignored with --quick)
  --only WHAT       decode | kernels (default decode); --with-kernels runs both
  --build NAME      spechub WASM build for 1 thread: ${BUILDS.join(' | ')} (default simd; threads use its -mt twin)
  --no-speculative  skip the speculative-sampling measurements (self-draft and pairs)
  --pairs LIST      separate-model draft pairs: ${Object.entries(PAIRS).map(([k, p]) => `${k} (${p.draft.name} → ${p.target.name})`).join(', ')}, or none
                    (default both; --quick: a small pair); at the --types among Q8_0,Q4_K_M and the --spec-threads
  --spec-threads LIST  thread counts with a speculative measurement (default: the largest of --threads)
  --no-llama        spechub only
  --no-install      kernel table: use onnxruntime-web only if already installed in bench/.peers/
  --cache DIR       model cache (default bench/.cache/)
  --peers-dir DIR   where onnxruntime-web is installed for the kernel table (default bench/.peers/)
  --out NAME        base name of the markdown and JSON results in bench/results/ (default decode; decode.quick with --quick),
                    so a partial run does not replace the committed full one
  --help            this text`;

interface Args {
  quick: boolean;
  json: boolean;
  runs: number;
  threads: number[];
  types: BenchFileType[];
  shapes: RealShape[];
  decode: boolean;
  kernels: boolean;
  build: WasmBuild;
  llama: boolean;
  install: boolean;
  cacheDir: string;
  peersDir: string;
  speculative: boolean;
  /** Thread counts whose spechub cases also measure speculative sampling (null: the largest). */
  specThreads: number[] | null;
  /** Separate-model draft pairs (null: the default for the mode). */
  pairs: ShapePair[] | null;
  /** Base name of the result files in bench/results/ (null: decode, or decode.quick with --quick). */
  out: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    quick: false, json: false, runs: 0, threads: [1, 2], types: ['Q8_0', 'Q4_K_M'], shapes: [SMOLLM2_360M, QWEN25_05B], decode: true, kernels: false,
    build: 'simd', llama: true, install: true, cacheDir: `${BENCH_DIR}.cache`, peersDir: `${BENCH_DIR}.peers`, speculative: true, specThreads: null, pairs: null, out: null,
  };
  const fail = (msg: string): never => {
    process.stderr.write(`${msg}\n\n${USAGE}\n`);
    process.exit(2);
  };
  const list = (flag: string, v: string, allowed: readonly string[]): string[] => {
    const items = v.split(',').filter(Boolean);
    if (items.length === 0 || !items.every((x) => allowed.includes(x))) fail(`${flag}: expected a list of ${allowed.join(', ')}, got ${v}`);
    return [...new Set(items)];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => (eq > 0 ? arg.slice(eq + 1) : (argv[++i] ?? fail(`${flag}: expected a value`)));
    switch (flag) {
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      // falls through (exit)
      case '--quick':
        a.quick = true;
        break;
      case '--json':
        a.json = true;
        break;
      case '--runs': {
        const v = value();
        const n = Number(v);
        if (!Number.isSafeInteger(n) || n < 1) fail(`--runs: expected an integer >= 1, got ${v}`);
        a.runs = n;
        break;
      }
      case '--threads': {
        const v = value();
        const t = v.split(',').map(Number);
        if (t.length === 0 || !t.every((x) => Number.isSafeInteger(x) && x >= 1 && x <= 64)) fail(`--threads: expected a list like 1,2, got ${v}`);
        a.threads = [...new Set(t)].sort((x, y) => x - y);
        break;
      }
      case '--types': {
        const v = value();
        a.types = v === 'all' ? [...BENCH_FILE_TYPES] : (list('--types', v, BENCH_FILE_TYPES) as BenchFileType[]);
        break;
      }
      case '--shapes':
        a.shapes = list('--shapes', value(), Object.keys(SHAPES)).map((s) => SHAPES[s]!);
        break;
      case '--only': {
        const v = value();
        if (v !== 'decode' && v !== 'kernels') fail(`--only: expected decode or kernels, got ${v}`);
        a.decode = v === 'decode';
        a.kernels = v === 'kernels';
        break;
      }
      case '--with-kernels':
        a.decode = true;
        a.kernels = true;
        break;
      case '--build': {
        const v = value();
        if (!BUILDS.includes(v as WasmBuild)) fail(`--build: expected one of ${BUILDS.join(', ')}, got ${v}`);
        a.build = v as WasmBuild;
        break;
      }
      case '--no-speculative':
        a.speculative = false;
        break;
      case '--spec-threads': {
        const v = value();
        const t = v.split(',').map(Number);
        if (t.length === 0 || !t.every((x) => Number.isSafeInteger(x) && x >= 1 && x <= 64)) fail(`--spec-threads: expected a list like 2 or 1,2, got ${v}`);
        a.specThreads = [...new Set(t)];
        break;
      }
      case '--pairs': {
        const v = value();
        a.pairs = v === 'none' ? [] : list('--pairs', v, Object.keys(PAIRS)).map((k) => PAIRS[k]!);
        break;
      }
      case '--out': {
        const v = value();
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) fail(`--out: expected a file base name (letters, digits, '.', '_', '-'), got ${v}`);
        a.out = v;
        break;
      }
      case '--no-llama':
        a.llama = false;
        break;
      case '--no-install':
        a.install = false;
        break;
      case '--cache':
        a.cacheDir = value();
        break;
      case '--peers-dir':
        a.peersDir = value();
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  if (a.runs === 0) a.runs = a.quick ? 1 : 3;
  if (a.quick) a.shapes = [...QUICK_SHAPES];
  if (a.specThreads === null) a.specThreads = [Math.max(...a.threads)];
  if (a.pairs === null) a.pairs = a.quick ? [...QUICK_PAIRS] : Object.values(PAIRS);
  if (!a.speculative) a.pairs = [];
  return a;
}

const progress = (s: string) => process.stderr.write(`[bench:decode ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

type Outcome = ChildOutcome<DecodeResult> | { ok: false; reason: string; ms: 0 };
type PairOutcome = ChildOutcome<PairResult> | { ok: false; reason: string; ms: 0 };

/** One engine's plain-vs-speculative measurement of a draft/target pair. */
interface PairRow {
  readonly pair: string;
  readonly type: BenchFileType;
  readonly threads: number;
  readonly engine: 'spechub' | 'llama.cpp';
  readonly outcome: PairOutcome;
}

interface DecodeRow {
  readonly shape: string;
  readonly engine: 'spechub' | 'llama.cpp';
  readonly type: BenchFileType;
  readonly threads: number;
  readonly outcome: Outcome;
  readonly bytesPerToken: number;
  prefill: number | null;
  decode: number | null;
  forwardLoop: number | null;
  ceiling: number | null;
  vsLlamaDecode: number | null;
  vsLlamaPrefill: number | null;
  /** This row's decode ÷ the same engine's at 1 thread. */
  scaling: number | null;
  /** spechub: tokens/s of the matrices alone (one decode step's matrices streamed through the executor), median. */
  stream: number | null;
  /** spechub: read bandwidth at this thread count measured in the case's process right after the stream, GB/s. */
  streamBw: number | null;
}

/** The median of the samples, or null when there are none (a case that did not run). */
function medianOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : median(xs);
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : sig(x, d));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(0)}%`);
const times = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`);
const usable = (o: Outcome): o is { ok: true; result: DecodeResult; ms: number } => o.ok && o.result.unsupported === undefined;

/** Top-5 agreement of the two engines on one file: top-1 id equal, largest |Δp| among spechub's top 5. */
function crossCheck(s: DecodeResult, l: DecodeResult): { sameTop1: boolean; sameTop5: boolean; maxAbsDp: number } {
  const lp = new Map(l.top.map((t) => [t.id, t.p]));
  return {
    sameTop1: s.top[0]?.id === l.top[0]?.id,
    sameTop5: s.top.every((t) => lp.has(t.id)),
    maxAbsDp: Math.max(...s.top.map((t) => Math.abs(t.p - (lp.get(t.id) ?? 0)))),
  };
}

/** Returns false when the engines disagree on a model (the tables are still printed). */
async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const out = (s: string) => (args.json ? process.stderr : process.stdout).write(s + '\n');
  const machine: MachineInfo = machineInfo(args.build);
  const seed = 20261202;
  const caseTimeout = (args.quick ? 5 : 25) * 60_000;
  progress(`${args.quick ? 'quick' : 'full'} run: ${args.shapes.map((s) => s.name).join(', ')}; types ${args.types.join(',')}; runs ${args.runs}; threads ${args.threads.join(',')}; build ${args.build}`);

  // ---- bandwidth (ceilings) ----
  progress('measuring read bandwidth (ceilings)');
  const bw = await runChild<{ one: Bandwidth; two: Bandwidth; dot: DotPeak; dot8: DotPeak | null }>(CASE_RUNNER, { kind: 'bandwidth', mib: args.quick ? 128 : 256, passes: args.quick ? 3 : 9, build: args.build }, { timeoutMs: 5 * 60_000, label: 'bandwidth' });
  const bandwidth = (t: number): number | null => (bw.ok ? (t >= 2 ? bw.result.two.gbps : bw.result.one.gbps) : null);
  if (!bw.ok) progress(`bandwidth: failed (${bw.reason}); ceilings use the anchors of docs/performance.md §1`);
  const bwOrAnchor = (t: number) => bandwidth(t) ?? (t >= 2 ? 50 : 26);
  /** GOP/s of exact integer dot products per thread (peak_dot_i16), or null. */
  const dotPeak = bw.ok ? bw.result.dot.gops : null;
  /** GOP/s of the byte dots per thread (peak_dot_i8; relaxed builds only), or null. */
  const bytePeak = bw.ok ? (bw.result.dot8?.gops ?? null) : null;

  // ---- decode ----
  const rows: DecodeRow[] = [];
  const shapeInfo: { shape: RealShape; files: ShapeFiles; streamed: Partial<Record<BenchFileType, StreamedWeights>> }[] = [];
  const crossChecks: { shape: string; type: BenchFileType; threads: number; sameTop1: boolean; sameTop5: boolean; maxAbsDp: number }[] = [];
  if (args.decode) {
    for (const shape of args.shapes) {
      const files = ensureShapeFiles(args.cacheDir, shape, args.types, seed, progress);
      const streamed: Partial<Record<BenchFileType, StreamedWeights>> = {};
      for (const t of args.types) streamed[t] = await streamedWeights(files.paths[t]!);
      shapeInfo.push({ shape, files, streamed });
      const prompt = benchPromptIds(files.config, PROMPT_TOKENS + 1, seed + 1);
      const base = { kind: 'decode' as const, prompt, promptTokens: PROMPT_TOKENS, decodeTokens: DECODE_TOKENS, runs: args.runs, warmupRuns: 1, contextSize: 1024 };
      for (const threads of args.threads) {
        for (const type of args.types) {
          const path = files.paths[type]!;
          const st = streamed[type]!;
          const sSpec: DecodeSpec = {
            ...base, engine: 'spechub', dtype: 'auto', threads, modelPath: path, weightsNote: `GGUF ${type} (stored types kept)`, build: args.build, maxBatch: PROMPT_TOKENS, forwardLoop: false, weightStream: true,
            ...(args.speculative && args.specThreads!.includes(threads) && DRAFT_OF[type] ? { speculative: { draftDtype: DRAFT_OF[type], tokens: SPEC_TOKENS } } : {}),
          };
          const label = `${shape.name} spechub ${type} T=${threads}`;
          const lSpec: DecodeSpec = { ...base, engine: 'llama.cpp', dtype: type, threads, modelPath: path, weightsNote: `GGUF ${type}` };
          const noThreads = threads > 1 && !hasThreads();
          let sOut: Outcome;
          let lOut: Outcome = { ok: false, reason: '--no-llama', ms: 0 };
          if (args.llama && !noThreads) {
            // both engines in one child, their timed runs interleaved (runPairedDecode)
            const plabel = `${shape.name} ${type} T=${threads} spechub+llama.cpp`;
            progress(`decode: ${plabel}, timed runs interleaved`);
            const both = await runChild<PairedDecodeResult>(CASE_RUNNER, { kind: 'decode-paired', spechub: sSpec, llama: lSpec } satisfies PairedDecodeSpec, { timeoutMs: caseTimeout, label: plabel });
            sOut = both.ok ? { ok: true, result: both.result.spechub, ms: both.ms } : both;
            lOut = both.ok ? { ok: true, result: both.result.llama, ms: both.ms } : both;
          } else {
            if (noThreads) sOut = { ok: false, reason: 'no threaded executor in this spechub build', ms: 0 };
            else {
              progress(`decode: ${label}`);
              sOut = await runChild<DecodeResult>(CASE_RUNNER, sSpec, { timeoutMs: caseTimeout, label });
            }
            if (args.llama) {
              const llabel = `${shape.name} llama.cpp ${type} T=${threads}`;
              progress(`decode: ${llabel}`);
              lOut = await runChild<DecodeResult>(CASE_RUNNER, lSpec, { timeoutMs: caseTimeout, label: llabel });
            }
          }
          rows.push(newRow(shape.name, 'spechub', type, threads, sOut, st.spechubBytes));
          rows.push(newRow(shape.name, 'llama.cpp', type, threads, lOut, st.fileBytes));
          if (usable(sOut) && usable(lOut)) crossChecks.push({ shape: shape.name, type, threads, ...crossCheck(sOut.result, lOut.result) });
        }
      }
    }
    for (const r of rows) {
      if (usable(r.outcome)) {
        r.prefill = medianOrNull(r.outcome.result.prefillTokS);
        r.decode = medianOrNull(r.outcome.result.decodeTokS);
        r.forwardLoop = medianOrNull(r.outcome.result.forwardLoopTokS ?? []);
        r.stream = medianOrNull(r.outcome.result.streamTokS ?? []);
        r.streamBw = r.outcome.result.streamBandwidthGBs ?? null;
      }
      r.ceiling = (bwOrAnchor(r.threads) * 1e9) / r.bytesPerToken;
    }
    for (const r of rows) {
      const same = (q: DecodeRow) => q.shape === r.shape && q.type === r.type;
      const one = rows.find((q) => same(q) && q.engine === r.engine && q.threads === 1);
      if (r.threads > 1 && one?.decode && r.decode) r.scaling = r.decode / one.decode;
      if (r.engine !== 'spechub') continue;
      const peer = rows.find((q) => same(q) && q.engine === 'llama.cpp' && q.threads === r.threads);
      if (peer?.decode && r.decode) r.vsLlamaDecode = r.decode / peer.decode;
      if (peer?.prefill && r.prefill) r.vsLlamaPrefill = r.prefill / peer.prefill;
    }
  }

  // ---- separate-model draft pairs (issue 8 item 5) ----
  const pairRows: PairRow[] = [];
  const pairInfo: { pair: ShapePair; types: BenchFileType[]; draft: ShapeFiles; target: ShapeFiles }[] = [];
  if (args.decode) {
    const types = args.types.filter((t) => PAIR_TYPES.includes(t));
    for (const pair of types.length > 0 ? args.pairs! : []) {
      const name = `${pair.draft.name} → ${pair.target.name}`;
      const draft = ensureShapeFiles(args.cacheDir, pair.draft, types, seed, progress);
      const target = ensureShapeFiles(args.cacheDir, pair.target, types, seed, progress);
      pairInfo.push({ pair, types, draft, target });
      const prompt = benchPromptIds(target.config, PROMPT_TOKENS + 1, seed + 1);
      for (const threads of args.specThreads!) {
        for (const type of types) {
          const base = { kind: 'pair' as const, threads, targetPath: target.paths[type]!, draftPath: draft.paths[type]!, label: `${name} ${type}`, prompt, tokens: SPEC_TOKENS, runs: args.runs, warmupRuns: 1, contextSize: 1024 };
          for (const engine of ['spechub', 'llama.cpp'] as const) {
            let outcome: PairOutcome;
            if (engine === 'llama.cpp' && !args.llama) outcome = { ok: false, reason: '--no-llama', ms: 0 };
            else if (engine === 'spechub' && threads > 1 && !hasThreads()) outcome = { ok: false, reason: 'no threaded executor in this spechub build', ms: 0 };
            else {
              const label = `pair ${name} ${engine} ${type} T=${threads}`;
              progress(label);
              outcome = await runChild<PairResult>(CASE_RUNNER, { ...base, engine, build: args.build } satisfies PairSpec, { timeoutMs: caseTimeout, label });
            }
            pairRows.push({ pair: name, type, threads, engine, outcome });
          }
        }
      }
    }
  }

  // ---- kernels (round-1 table, on request) ----
  const kernelResults: { engine: string; threads: number; outcome: ChildOutcome<KernelResult> | { ok: false; reason: string; ms: 0 } }[] = [];
  const kBatches = args.quick ? [1, 8, 64] : [1, 8, 16, 32, 64];
  let ortPeer: PeerStatus | null = null;
  if (args.kernels) {
    ortPeer = ensurePeer(args.peersDir, 'onnxruntime-web', progress, args.install);
    const kShapes: [number, number][] = args.quick ? [[576, 576], [1536, 576]] : [[576, 576], [1536, 576], [49152, 576]];
    const timing = args.quick ? { warmup: 3, samples: 3, minSampleMs: 20 } : { warmup: 5, samples: 7, minSampleMs: 100 };
    const kBase = { kind: 'kernels' as const, shapes: kShapes, batches: kBatches, poolMiB: args.quick ? 64 : 128, coldMiB: 32, timing, peersDir: args.peersDir, seed };
    const dtypes: SpechubDtype[] = ['f32', 'bf16', 'q8_0', 'q4_k'];
    for (const threads of args.threads) {
      const label = `kernels spechub T=${threads}`;
      if (threads > 1 && !hasThreads()) kernelResults.push({ engine: 'spechub', threads, outcome: { ok: false, reason: 'no threaded executor in this spechub build', ms: 0 } });
      else {
        progress(label);
        kernelResults.push({ engine: 'spechub', threads, outcome: await runChild<KernelResult>(CASE_RUNNER, { ...kBase, engine: 'spechub', dtypes, threads, build: args.build } satisfies KernelSpec, { timeoutMs: caseTimeout, label }) });
      }
      const olabel = `kernels onnxruntime-web T=${threads}`;
      if (!ortPeer.ok) kernelResults.push({ engine: 'onnxruntime-web', threads, outcome: { ok: false, reason: `onnxruntime-web unavailable: ${ortPeer.reason}`, ms: 0 } });
      else {
        progress(olabel);
        kernelResults.push({ engine: 'onnxruntime-web', threads, outcome: await runChild<KernelResult>(CASE_RUNNER, { ...kBase, engine: 'onnxruntime-web', dtypes: ['f32'], threads } satisfies KernelSpec, { timeoutMs: caseTimeout, label: olabel }) });
      }
    }
  }
  const kRows: KernelRow[] = kernelResults.flatMap((k) => (k.outcome.ok ? k.outcome.result.rows : []));

  // ---- report ----
  const lines: string[] = [];
  const mode = args.quick ? 'quick (small shapes, 1 run: checks the bench works; numbers are not the result)' : 'full';
  lines.push('# spechub decode benchmark vs llama.cpp', '');
  lines.push(`- CPU: **${machine.cpu}** (${machine.logicalCpus} logical CPUs), ${machine.memGiB} GiB RAM, ${machine.os}`);
  const bwText = (t: number) => (bandwidth(t) === null ? `n/a (anchor ${t >= 2 ? 50 : 26} GB/s used)` : `**${sig(bandwidth(t)!)} GB/s**`);
  lines.push(`- Measured WASM read bandwidth: 1 thread ${bwText(1)}, 2 threads ${bwText(2)} (ceiling = bandwidth ÷ weight bytes per token)`);
  if (dotPeak !== null) {
    lines.push(`- Measured WASM integer-dot peak (peak_dot_i16: independent i32x4.dot_i16x8_s + add chains, best of ${bw.ok ? bw.result.dot.samples.length : 0} samples): **${sig(dotPeak)} GOP/s per thread**, the op of the W8A8 batch kernels (Q8_0, Q6_K, Q3_K, Q2_K, IQ4${bytePeak === null ? ', and in this build every type' : ''})`);
  }
  if (bytePeak !== null) {
    lines.push(`- Measured WASM byte-dot peak (peak_dot_i8: independent i16x8.relaxed_dot_i8x16_i7x16_s + i16 add chains, best of ${bw.ok ? (bw.result.dot8?.samples.length ?? 0) : 0} samples): **${sig(bytePeak)} GOP/s per thread**, the op of the relaxed build's 4/5-bit batch kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K)`);
  }
  if (dotPeak !== null) {
    lines.push(`- Prefill compute ceiling of a file: threads ÷ Σ over its tensor types (2 × weights a prompt token multiplies ÷ that type's peak) tok/s; the head is left out (neither engine computes logits for the prompt rows)`);
  }
  lines.push(`- Node ${machine.node} (V8 ${machine.v8}), spechub WASM build \`${args.build}\` (threads: its -mt twin); llama.cpp: node-llama-cpp ${LLAMA_CPP_VERSION} prebuilt CPU binaries (getLlama({gpu: false, build: 'never'})); ${mode}; ${machine.date}`);
  lines.push(`- Command: \`npm run bench:decode${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``);
  for (const { shape, files, streamed } of shapeInfo) {
    const perType = args.types.map((t) => {
      const s = streamed[t]!;
      const mix = Object.entries(s.types).map(([k, n]) => `${n} ${k}`).join(' + ');
      return `${t}: ${sig(s.fileBytes / 1e6)} MB/token in the file (${mix}), ${sig(s.spechubBytes / 1e6)} MB as spechub packs it`;
    });
    const anyStreamed = streamed[args.types[0]!]!;
    lines.push(`- Shape **${shape.name}**: ${shape.note}; ${(parameterCountOf(files.config, anyStreamed) / 1e6).toFixed(0)} M parameters; random weights. ${perType.join('; ')}`);
  }
  lines.push('');
  const bw1 = bandwidth(1);
  const bw2 = bandwidth(2);
  if (bw1 !== null && bw2 !== null && args.threads.some((t) => t >= 2) && bw2 < 1.2 * bw1) {
    lines.push(`**Warning**: two threads read only ${sig(bw2 / bw1, 2)}× the bandwidth of one (a quiet 2-core machine gives ~1.9×): other work is probably running; the 2-thread rows are unreliable.`, '');
  }

  if (rows.length > 0) {
    lines.push('## Decode and prefill (same file in both engines)', '');
    const notes = new Notes();
    lines.push(
      markdownTable(
        ['shape', 'type', 'engine', 'T', `prefill tok/s (pp${PROMPT_TOKENS})`, `decode tok/s (tg${DECODE_TOKENS})`, 'decode vs llama.cpp', 'prefill vs llama.cpp', '2T / 1T', 'ceiling tok/s', '% of ceiling'],
        rows.map((r) => {
          const why = r.outcome.ok ? r.outcome.result.unsupported : r.outcome.reason;
          if (why !== undefined) return [r.shape, r.type, r.engine, r.threads, `skipped ${notes.mark(why)}`, '—', '—', '—', '—', fmt(r.ceiling), '—'];
          return [r.shape, r.type, r.engine, r.threads, fmt(r.prefill), fmt(r.decode), times(r.vsLlamaDecode), times(r.vsLlamaPrefill), times(r.scaling), fmt(r.ceiling), pct(r.decode !== null && r.ceiling !== null ? r.decode / r.ceiling : null)];
        }),
      ),
      ...notes.lines(),
      '',
    );
    lines.push(
      `Prefill: one forward of a ${PROMPT_TOKENS}-token prompt (spechub: the Generator's prefill; llama.cpp: until the first generated token). Decode: ${DECODE_TOKENS} greedy tokens, one single-token forward each, sampling included (spechub: \`Generator\`, drafter null, temperature 0, weights kept as stored (dtype auto); llama.cpp: \`sequence.evaluate\`, F16 KV cache). ` +
        `Medians of ${args.runs} run(s) after a warm-up run. Ceiling: measured bandwidth at that thread count ÷ the engine's weight bytes per token (every matrix a token multiplies, the tied embedding as the head; norms, biases and the KV cache left out).`,
      '',
    );
    const streamed = rows.filter((r) => r.engine === 'spechub' && r.stream !== null);
    if (streamed.length > 0) {
      lines.push('### spechub: the matrices alone, and the bandwidth beside them', '');
      lines.push(
        markdownTable(
          ['shape', 'type', 'T', 'decode tok/s', 'matrices alone tok/s', 'matrices share of a token', 'matrices GB/s', 'bandwidth beside it GB/s', 'matrices % of it', 'matrices 2T / 1T', 'bandwidth 2T / 1T'],
          streamed.map((r) => {
            const one = streamed.find((q) => q.shape === r.shape && q.type === r.type && q.threads === 1);
            const gbs = (r.stream! * r.bytesPerToken) / 1e9;
            return [r.shape, r.type, r.threads, fmt(r.decode), fmt(r.stream), pct(r.decode !== null ? r.decode / r.stream! : null), sig(gbs), r.streamBw === null ? '—' : sig(r.streamBw), pct(r.streamBw ? gbs / r.streamBw : null),
              r.threads > 1 && one?.stream ? times(r.stream! / one.stream) : '—', r.threads > 1 && one?.streamBw && r.streamBw ? times(r.streamBw / one.streamBw) : '—'];
          }),
        ),
        '',
        'Matrices alone: every matrix of one decode step (each layer\'s seven and the head) once at n = 1 through the same executor as the decode (the same panel split over the threads; x quantised per call), ' +
          `${5 * args.runs} samples after 2 warm-up passes, median; "share of a token" = decode tok/s ÷ matrices-alone tok/s (the rest of a forward: attention, norms, RoPE, sampling, the threads' joins). ` +
          'The bandwidth beside it is measured in the same process right after (1 thread: this thread; 2 threads: this thread and a fresh worker, each over its own 256 MiB), so both see the host in the same state.',
        '',
      );
    }
    if (crossChecks.length > 0) {
      lines.push(
        `Same model in both engines? Next-token distribution after the prompt, spechub vs llama.cpp: ` +
          crossChecks.map((c) => `${c.shape} ${c.type} T=${c.threads}: ${c.sameTop1 ? 'same top-1' : '**top-1 differs**'}, ${c.sameTop5 ? 'same top 5' : 'top 5 differ'}, largest |Δp| ${c.maxAbsDp.toExponential(1)}`).join('; ') +
          ' (test/kernels/llamacpp-quants.test.ts bounds the difference on every type).',
        '',
      );
    }
    const specRows = rows.filter((r) => usable(r.outcome) && r.outcome.result.spec !== undefined);
    if (specRows.length > 0) {
      lines.push('## Speculative sampling (quantised self-draft, tree auto, temperature 1) vs plain, same target, same process', '');
      lines.push(
        markdownTable(
          ['shape', 'target', 'T', 'draft', 'plain tok/s', 'speculative tok/s', 'speed-up', 'tokens/step', 'trees chosen (steps)'],
          specRows.map((r) => {
            const sp = (r.outcome as { ok: true; result: DecodeResult }).result.spec!;
            const a = medianOrNull(sp.plainTokS);
            const b = medianOrNull(sp.specTokS);
            const trees = Object.entries(sp.trees).sort((x, y) => y[1] - x[1]).slice(0, 3).map(([t, n]) => `${t || 'plain'}: ${n}`).join(', ');
            return [r.shape, r.type, r.threads, sp.draft, fmt(a), fmt(b), times(a && b ? b / a : null), fmt(medianOrNull(sp.tokensPerStep)), trees];
          }),
        ),
        '',
        `The draft is the same file quantised further at load (${Object.entries(DRAFT_OF).filter(([t]) => args.types.includes(t as BenchFileType)).map(([t, d]) => `${t} → ${d}`).join(', ')}). SpecHub, ${SPEC_TOKENS} tokens per run, medians; the tuner measures the forward costs when the generator is created and learns the acceptance across runs. Random weights: what a quantised self-draft predicts of its own target, not what a real draft/target pair accepts (bench:accept).`,
        '',
      );
    }
  }

  if (pairRows.length > 0) {
    lines.push('## Speculative decoding with a separate draft model (real pairs\' shapes, temperature 1) vs plain, same target file, each engine', '');
    for (const { pair, types, draft, target } of pairInfo) {
      const sizes = types.map((t) => `${t} ${sig(draft.sizes[`model-${t.toLowerCase()}.gguf`]! / 1e6)} MB → ${sig(target.sizes[`model-${t.toLowerCase()}.gguf`]! / 1e6)} MB`).join(', ');
      lines.push(`- **${pair.draft.name} → ${pair.target.name}**: draft ${pair.draft.note}; target ${pair.target.note}. Files (draft → target): ${sizes}.`);
    }
    lines.push('');
    const notes = new Notes();
    lines.push(
      markdownTable(
        ['draft → target', 'type', 'T', 'engine', 'plain tok/s', 'speculative tok/s', 'speed-up', 'tokens/step', 'drafts accepted', 'trees chosen (steps)'],
        pairRows.map((r) => {
          const why = r.outcome.ok ? r.outcome.result.unsupported : r.outcome.reason;
          if (why !== undefined) return [r.pair, r.type, r.threads, r.engine, `skipped ${notes.mark(why)}`, '—', '—', '—', '—', '—'];
          const res = (r.outcome as { ok: true; result: PairResult }).result;
          const a = medianOrNull(res.plainTokS);
          const b = medianOrNull(res.specTokS);
          const pr = res.predictions;
          const accepted = pr ? `${pr.validated} of ${pr.validated + pr.refuted} validated` : '—';
          const trees = res.trees ? Object.entries(res.trees).sort((x, y) => y[1] - x[1]).slice(0, 3).map(([t, n]) => `${t || 'plain'}: ${n}`).join(', ') : '—';
          return [r.pair, r.type, r.threads, r.engine, fmt(a), fmt(b), times(a && b ? b / a : null), res.tokensPerStep ? fmt(medianOrNull(res.tokensPerStep)) : '—', accepted, trees];
        }),
      ),
      ...notes.lines(),
      '',
      `Both models of a pair in the same file type (llama.cpp's quantizer), random weights drawn independently: the draft predicts its target no better than chance, so this measures what drafting and verifying cost and how each engine copes when the draft is poor (spechub's tuner falls back to plain steps; what real pairs accept is in bench:accept). spechub: SpecHub, tree auto, ${SPEC_TOKENS} tokens per run. llama.cpp: node-llama-cpp's DraftSequenceTokenPredictor with its defaults (drafts while the draft's top token has p ≥ 0.6, up to 16). Tok/s after the first token; medians of ${args.runs} run(s) after a warm-up, plain and speculative alternating.`,
      '',
    );
  }

  if (kernelResults.length > 0) {
    lines.push('## Kernels: matrix–vector and batched matmul (cold weights)', '');
    const byKey = new Map<string, KernelRow[]>();
    for (const r of kRows) {
      const key = `${r.rows}×${r.cols}|${r.engine}|${r.dtype}|${r.threads}`;
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    const table: (string | number)[][] = [];
    for (const [key, rs] of byKey) {
      const [shapeName, engine, dtype, t] = key.split('|');
      const at = (n: number) => rs.find((r) => r.n === n);
      const one = at(1);
      table.push([shapeName!, `${engine} ${dtype}`, Number(t), fmt(one?.gbps), pct(one && bandwidth(Number(t)) ? one.gbps / bandwidth(Number(t))! : null), ...kBatches.map((n) => fmt(at(n)?.gflops))]);
    }
    const notes = new Notes();
    for (const k of kernelResults) {
      if (!k.outcome.ok) table.push(['all', k.engine, k.threads, `skipped ${notes.mark(k.outcome.reason)}`, '—', ...kBatches.map(() => '—')]);
      else for (const [d, why] of Object.entries(k.outcome.result.skipped)) table.push(['all', `${k.engine} ${d}`, k.threads, `skipped ${notes.mark(why)}`, '—', ...kBatches.map(() => '—')]);
    }
    lines.push(markdownTable(['W (rows×cols)', 'engine', 'T', 'n=1 GB/s', '% of BW', ...kBatches.map((n) => `n=${n} GFLOP/s`)], table), ...notes.lines(), '');
    lines.push(`GB/s = weight bytes as stored ÷ time; GFLOP/s = 2·rows·cols·n ÷ time; "% of BW" against the measured read bandwidth at that thread count. onnxruntime-web ${ORT_WEB_VERSION}.`, '');
  }

  // ---- targets (issue 13 item 5) ----
  const targets: { target: string; value: number | null; goal: number; met: boolean | null; limit: string }[] = [];
  const find = (shape: string, engine: string, type: string, t: number) => rows.find((r) => r.shape === shape && r.engine === engine && r.type === type && r.threads === t) ?? null;
  for (const { shape } of shapeInfo) {
    for (const type of args.types.filter((t) => t === 'Q8_0' || t === 'Q4_K_M')) {
      for (const t of args.threads.filter((x) => x <= 2)) {
        const s = find(shape.name, 'spechub', type, t);
        const l = find(shape.name, 'llama.cpp', type, t);
        const limit = (r: DecodeRow | null) => (r?.decode && r.ceiling ? `${pct(r.decode / r.ceiling)} of its ceiling (${fmt(r.ceiling)} tok/s)` : '—');
        const goal = t === 1 ? 1.2 : 1.0;
        targets.push({ target: `${shape.name} ${type} decode vs llama.cpp, T=${t}`, value: s?.vsLlamaDecode ?? null, goal, met: s?.vsLlamaDecode == null ? null : s.vsLlamaDecode >= goal, limit: `spechub ${limit(s)}; llama.cpp ${limit(l)}` });
        const streamedT = shapeInfo.find((x) => x.shape === shape)?.streamed[type] ?? null;
        const weights = streamedT ? streamedT.weights - streamedT.headWeights : null;
        const computeCeiling = streamedT ? prefillCeiling(streamedT.prefillWeightsByType, args.build, t, { i16: dotPeak, i8: bytePeak }) : null;
        const gops = (tokS: number | null | undefined) => (tokS && weights !== null ? ` = ${sig((2 * weights * tokS) / 1e9)} GOP/s` : '');
        const prefillLimit =
          computeCeiling === null
            ? `spechub ${fmt(s?.prefill)} tok/s, llama.cpp ${fmt(l?.prefill)} tok/s`
            : `spechub ${fmt(s?.prefill)} tok/s${gops(s?.prefill)}, ${pct(s?.prefill ? s.prefill / computeCeiling : null)} of the integer-dot ceiling (${fmt(computeCeiling)} tok/s at ${t} thread${t > 1 ? 's' : ''}); llama.cpp ${fmt(l?.prefill)} tok/s${gops(l?.prefill)}, ${l?.prefill ? `${(l.prefill / computeCeiling).toFixed(2)}×` : '—'} that ceiling`;
        targets.push({ target: `${shape.name} ${type} prefill vs llama.cpp, T=${t}`, value: s?.vsLlamaPrefill ?? null, goal: 1.0, met: s?.vsLlamaPrefill == null ? null : s.vsLlamaPrefill >= 1.0, limit: prefillLimit });
      }
    }
    for (const type of args.types) {
      const one = find(shape.name, 'spechub', type, 1);
      const two = find(shape.name, 'spechub', type, 2);
      if (!one?.decode || !one.ceiling || !two) continue;
      const frac = one.decode / one.ceiling;
      if (frac >= 0.8) continue; // the target applies below 80 % of the 1-thread ceiling
      const streamNote =
        one.stream && two.stream && one.streamBw && two.streamBw
          ? `; matrices alone 2T / 1T ${times(two.stream / one.stream)}, at 2T streaming ${pct((two.stream * two.bytesPerToken) / 1e9 / two.streamBw)} of the 2-thread bandwidth beside them (${sig(two.streamBw)} GB/s; 1T ${pct((one.stream * one.bytesPerToken) / 1e9 / one.streamBw)} of ${sig(one.streamBw)}), matrices ${pct(two.decode ? two.decode / two.stream : null)} of a 2T token`
          : '';
      targets.push({ target: `${shape.name} ${type} spechub decode 2T / 1T (1T at ${pct(frac)} of its ceiling)`, value: two.scaling, goal: 1.7, met: two.scaling === null ? null : two.scaling >= 1.7, limit: `2T at ${pct(two.decode && two.ceiling ? two.decode / two.ceiling : null)} of the 2-thread ceiling (${fmt(two.ceiling)} tok/s); bandwidth 2T/1T ${bw1 && bw2 ? times(bw2 / bw1) : '—'}${streamNote}` });
    }
  }
  if (targets.length > 0) {
    lines.push('## Targets (issue 13 item 5; reported, not asserted)', '');
    lines.push(markdownTable(['target', 'measured', 'goal', 'met', 'where it stands'], targets.map((t) => [t.target, times(t.value), `≥ ${t.goal}×`, t.met === null ? 'n/a' : t.met ? 'yes' : 'no', t.limit])), '');
  }
  if (args.quick) lines.push("(--quick: the small models fit in the caches, so the bandwidth ceilings do not bind; only the full run's ratios mean anything.)", '');
  const markdown = lines.join('\n');
  out(markdown);

  const json = {
    bench: 'decode',
    machine,
    mode: args.quick ? 'quick' : 'full',
    command: `npm run bench:decode${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    params: { runs: args.runs, threads: args.threads, types: args.types, build: args.build, promptTokens: PROMPT_TOKENS, decodeTokens: DECODE_TOKENS, speculativeTokens: SPEC_TOKENS, contextSize: 1024, seed, llamaCpp: LLAMA_CPP_VERSION },
    bandwidth: bw.ok ? { oneThread: bw.result.one, twoThreads: bw.result.two } : { error: bw.reason, anchors: { oneThread: 26, twoThreads: 50 } },
    dotPeak: bw.ok ? bw.result.dot : null,
    byteDotPeak: bw.ok ? bw.result.dot8 : null,
    shapes: shapeInfo.map(({ shape, files, streamed }) => ({ name: shape.name, note: shape.note, config: files.config, files: files.sizes, streamed })),
    decode: rows.map((r) => ({
      shape: r.shape,
      engine: r.engine,
      type: r.type,
      threads: r.threads,
      ok: usable(r.outcome),
      skipped: r.outcome.ok ? (r.outcome.result.unsupported ?? null) : r.outcome.reason,
      prefillTokS: r.prefill,
      decodeTokS: r.decode,
      forwardLoopTokS: r.forwardLoop,
      matricesAloneTokS: r.stream,
      bandwidthBesideGBs: r.streamBw,
      weightBytesPerToken: r.bytesPerToken,
      ceilingTokS: r.ceiling,
      fractionOfCeiling: r.decode !== null && r.ceiling !== null ? r.decode / r.ceiling : null,
      decodeVsLlamaCpp: r.vsLlamaDecode,
      prefillVsLlamaCpp: r.vsLlamaPrefill,
      twoThreadScaling: r.scaling,
      runs: r.outcome.ok ? r.outcome.result : null,
    })),
    crossChecks,
    pairs: pairRows.map((r) => ({
      pair: r.pair,
      type: r.type,
      threads: r.threads,
      engine: r.engine,
      ok: r.outcome.ok && r.outcome.result.unsupported === undefined,
      skipped: r.outcome.ok ? (r.outcome.result.unsupported ?? null) : r.outcome.reason,
      plainTokS: r.outcome.ok ? medianOrNull(r.outcome.result.plainTokS) : null,
      specTokS: r.outcome.ok ? medianOrNull(r.outcome.result.specTokS) : null,
      runs: r.outcome.ok ? r.outcome.result : null,
    })),
    kernels: kernelResults.map((k) => ({ engine: k.engine, threads: k.threads, ok: k.outcome.ok, error: k.outcome.ok ? null : k.outcome.reason, result: k.outcome.ok ? k.outcome.result : null })),
    targets,
  };
  const base = args.out ?? (args.quick ? 'decode.quick' : 'decode');
  const path = writeResults(`${base}.json`, json);
  writeFileSync(`${RESULTS_DIR}${base}.md`, markdown + '\n');
  progress(`JSON written to ${path} (markdown: ${RESULTS_DIR}${base}.md)`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  return crossChecks.every((c) => c.sameTop1);
}

/** Numbered notes under a table (skip reasons), one number per distinct text. */
class Notes {
  private readonly texts: string[] = [];
  mark(text: string): string {
    let i = this.texts.indexOf(text);
    if (i < 0) i = this.texts.push(text) - 1;
    return `[${i + 1}]`;
  }
  lines(): string[] {
    return this.texts.length === 0 ? [] : ['', ...this.texts.map((t, i) => `[${i + 1}] ${t}`)];
  }
}

function newRow(shape: string, engine: 'spechub' | 'llama.cpp', type: BenchFileType, threads: number, outcome: Outcome, bytesPerToken: number): DecodeRow {
  return { shape, engine, type, threads, outcome, bytesPerToken, prefill: null, decode: null, forwardLoop: null, ceiling: null, vsLlamaDecode: null, vsLlamaPrefill: null, scaling: null, stream: null, streamBw: null };
}

if (!existsSync(CASE_RUNNER)) {
  process.stderr.write(`bench:decode: ${CASE_RUNNER} is missing; run npm run build first\n`);
  process.exit(1);
}
/** Resolve once everything written to stdout/stderr so far has been handed to the OS (pipes are async). */
const flushed = () => Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r()))));
main().then(
  async (valid) => {
    await flushed();
    process.exit(valid ? 0 : 1);
  },
  (e: unknown) => {
    process.stderr.write(`bench:decode: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
