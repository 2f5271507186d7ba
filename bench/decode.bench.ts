/**
 * Decode benchmark: spechub against llama.cpp (node-llama-cpp) and onnxruntime-web, side by side on
 * the same machine in the same run (issue #5 item 5).
 *
 * 1. Models: random weights (seeded) at the SmolLM-135M shape (30 layers, d 576, ffn 1536, 9/3
 *    heads, vocab 49152, tied embeddings), or a small shape with --quick, written once to
 *    bench/.cache/ as Hugging Face directories (safetensors F32, BF16) and GGUF F32/F16/Q8_0 with the
 *    same weights (bench/lib/synthetic-model.ts).
 * 2. Decode: per engine × weights × threads, a 64-token prompt in one forward (prefill tok/s) and
 *    64 greedy tokens (decode tok/s); medians of --runs timed runs after warm-up. spechub f32 and bf16
 *    load the safetensors directories, int8 loads the GGUF Q8_0 file (its blocks kept as stored, so
 *    spechub int8 and llama.cpp q8_0 hold identical weights); llama.cpp loads the GGUFs.
 * 3. Ceilings: measured WebAssembly read bandwidth (1 and 2 threads) ÷ weight bytes per token.
 * 4. Kernel table: matrix–vector GB/s and batched matmul GFLOP/s (n = 1…64), cold weights, for
 *    spechub's linear kernels and onnxruntime-web MatMul, 1 and 2 threads.
 *
 * Peers are installed on demand into bench/.peers/ (never dependencies of spechub); without them
 * (offline, --no-peers) the spechub rows are still measured and the table says why peers are missing.
 * Every case runs in its own child process (bench/lib/case-runner.ts) with a time limit.
 * Targets (reported, not asserted): f32 decode ≥ 1.15× llama.cpp f32; int8 ≥ 1.5× llama.cpp q8_0;
 * 2 threads ≥ 1.8× 1 thread; batched matmul ≥ 47 GFLOP/s per thread at 64 rows; matvec ≥ 90 % of
 * the measured bandwidth.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WasmBuild } from '../src/wasm/kernels.js';
import { machineInfo, markdownTable, sig, writeResults, type MachineInfo } from './common.js';
import { runChild, type ChildOutcome } from './lib/child.js';
import type { DecodeResult, DecodeSpec } from './lib/decode-cases.js';
import type { KernelResult, KernelRow, KernelSpec } from './lib/kernel-cases.js';
import type { Bandwidth } from './lib/bandwidth.js';
import { ensurePeer, LLAMA_CPP_VERSION, ORT_WEB_VERSION, type PeerStatus } from './lib/peers.js';
import { ensureModelFiles, linearWeightsPerToken, parameterCount, promptIds, QUICK_SHAPE, SMOLLM_135M, type ModelFiles, type ModelShape } from './lib/synthetic-model.js';
import { hasDtype, hasThreads, linearOf, type SpechubDtype } from './lib/spechub-caps.js';
import { packedBytes } from '../src/kernels/linear.js';
import { median } from '../src/util/stats.js';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));
const CASE_RUNNER = fileURLToPath(new URL('./lib/case-runner.js', import.meta.url));
const BUILDS: readonly WasmBuild[] = ['simd', 'relaxed', 'simd-mt', 'relaxed-mt'];

const USAGE = `usage: node dist/bench/decode.bench.js [options]     (npm run bench:decode -- [options])

spechub vs llama.cpp (node-llama-cpp ${LLAMA_CPP_VERSION}) decode/prefill tok/s at f32, bf16/f16, int8/q8_0,
1 and 2 threads, on random-weight SmolLM-135M-shape models; plus a kernel table (matvec GB/s, batched
matmul GFLOP/s) against onnxruntime-web ${ORT_WEB_VERSION}. Progress on stderr; table on stdout; JSON to
bench/results/decode.json (decode.quick.json with --quick).

  --quick           small model shape, 1 timed run, short kernel table: checks that everything works
  --json            print the JSON result to stdout (the table then goes to stderr)
  --runs N          timed runs per decode case (default 3; --quick 1)
  --threads LIST    thread counts, e.g. 1 or 1,2 (default 1,2)
  --only WHAT       decode | kernels (default: both)
  --dtypes LIST     spechub weight types to run: f32,bf16,int8,int4 (default all this build has; int4
                    has no llama.cpp counterpart here and is skipped by --quick); each with its llama.cpp peer
  --build NAME      spechub WASM build for 1 thread: ${BUILDS.join(' | ')} (default simd; threads use its -mt twin)
  --no-speculative  skip the speculative-sampling rows (int8/int4 self-draft, tree auto) of each spechub case
  --no-peers        spechub only (no llama.cpp, no onnxruntime-web)
  --no-install      use peers only if already installed in bench/.peers/
  --cache DIR       model cache (default bench/.cache/)
  --peers-dir DIR   where peers are installed (default bench/.peers/)
  --help            this text`;

interface Args {
  quick: boolean;
  json: boolean;
  runs: number;
  threads: number[];
  only: 'decode' | 'kernels' | null;
  build: WasmBuild;
  peers: boolean;
  install: boolean;
  cacheDir: string;
  peersDir: string;
  dtypes: SpechubDtype[] | null;
  /** Also measure speculative sampling (int4 self-draft, tree auto) on each spechub row. */
  speculative: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { quick: false, json: false, runs: 0, threads: [1, 2], only: null, build: 'simd', peers: true, install: true, cacheDir: `${BENCH_DIR}.cache`, peersDir: `${BENCH_DIR}.peers`, dtypes: null, speculative: true };
  const fail = (msg: string): never => {
    process.stderr.write(`${msg}\n\n${USAGE}\n`);
    process.exit(2);
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
        const list = v.split(',').map(Number);
        if (list.length === 0 || !list.every((t) => Number.isSafeInteger(t) && t >= 1 && t <= 64)) fail(`--threads: expected a list like 1,2, got ${v}`);
        a.threads = [...new Set(list)].sort((x, y) => x - y);
        break;
      }
      case '--only': {
        const v = value();
        if (v !== 'decode' && v !== 'kernels') fail(`--only: expected decode or kernels, got ${v}`);
        a.only = v as 'decode' | 'kernels';
        break;
      }
      case '--build': {
        const v = value();
        if (!BUILDS.includes(v as WasmBuild)) fail(`--build: expected one of ${BUILDS.join(', ')}, got ${v}`);
        a.build = v as WasmBuild;
        break;
      }
      case '--no-speculative':
        a.speculative = false;
        break;
      case '--no-peers':
        a.peers = false;
        break;
      case '--no-install':
        a.install = false;
        break;
      case '--cache':
        a.cacheDir = value();
        break;
      case '--dtypes': {
        const v = value();
        const list = v.split(',');
        if (list.length === 0 || !list.every((d) => ['f32', 'bf16', 'int8', 'int4'].includes(d))) fail(`--dtypes: expected a list of f32, bf16, int8, int4, got ${v}`);
        a.dtypes = list as SpechubDtype[];
        break;
      }
      case '--peers-dir':
        a.peersDir = value();
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  if (a.runs === 0) a.runs = a.quick ? 1 : 3;
  return a;
}

const progress = (s: string) => process.stderr.write(`[bench:decode ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

/** One decode comparison: spechub weights and llama.cpp's counterpart. */
interface Pair {
  readonly label: string;
  readonly spechub: SpechubDtype;
  readonly spechubPath: (f: ModelFiles) => string;
  readonly spechubNote: string;
  /** llama.cpp dtype and GGUF, or null (no counterpart in this bench). */
  readonly llama: 'f32' | 'f16' | 'q8_0' | null;
}

const PAIRS: readonly Pair[] = [
  { label: 'f32', spechub: 'f32', spechubPath: (f) => f.hfF32, spechubNote: 'safetensors F32', llama: 'f32' },
  { label: 'bf16 / f16', spechub: 'bf16', spechubPath: (f) => f.hfBf16, spechubNote: 'safetensors BF16 (bits kept)', llama: 'f16' },
  { label: 'int8 / q8_0', spechub: 'int8', spechubPath: (f) => f.gguf.q8_0, spechubNote: 'GGUF Q8_0 (blocks kept)', llama: 'q8_0' },
  { label: 'int4', spechub: 'int4', spechubPath: (f) => f.hfF32, spechubNote: 'safetensors F32, quantised to q4 at load', llama: null },
];

/**
 * Largest relative difference of the top-5 next-token probabilities between spechub and llama.cpp
 * that still means "the same model". f32: summation order only; bf16 vs f16 round the weights
 * differently; int8 vs q8_0 hold the same weights but quantise activations each their own way.
 */
const CROSS_CHECK_TOLERANCE: Readonly<Record<string, number>> = { f32: 1e-3, bf16: 3e-2, int8: 3e-2 };

/** llama.cpp bytes per weight of each GGUF type. */
const GGUF_BYTES_PER_WEIGHT: Readonly<Record<string, number>> = { f32: 4, f16: 2, q8_0: 34 / 32 };

/**
 * Weight bytes one decode step streams: every linear layer and the (tied) lm_head, as the engine
 * stores them (spechub: its packed panels, scales included; llama.cpp: the GGUF type's block size).
 * The single embedding row and the KV cache are left out (small at short context).
 */
function weightBytesPerToken(shape: ModelShape, engine: 'spechub' | 'llama.cpp', dtype: string): number | null {
  if (engine === 'llama.cpp') {
    const b = GGUF_BYTES_PER_WEIGHT[dtype];
    return b === undefined ? null : b * linearWeightsPerToken(shape);
  }
  if (!hasDtype(dtype)) return null;
  const lin = linearOf(dtype);
  const hd = shape.dim / shape.nHeads;
  const q = shape.nHeads * hd;
  const kv = shape.nKvHeads * hd;
  const layer =
    packedBytes(lin, q, shape.dim) + 2 * packedBytes(lin, kv, shape.dim) + packedBytes(lin, shape.dim, q) +
    2 * packedBytes(lin, shape.hiddenDim, shape.dim) + packedBytes(lin, shape.dim, shape.hiddenDim);
  return shape.nLayers * layer + packedBytes(lin, shape.vocabSize, shape.dim);
}

interface DecodeRow {
  readonly engine: 'spechub' | 'llama.cpp';
  readonly pair: string;
  readonly dtype: string;
  readonly threads: number;
  readonly weights: string;
  readonly outcome: ChildOutcome<DecodeResult> | { ok: false; reason: string; ms: 0 };
  prefill: number | null;
  decode: number | null;
  forwardLoop: number | null;
  ceiling: number | null;
  vsLlamaDecode: number | null;
  vsLlamaPrefill: number | null;
}

/** The median of the samples, or null when there are none (a case that did not run). */
function medianOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : median(xs);
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : sig(x, d));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(0)}%`);
const times = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`);

/** Returns false when the engines disagree on the model (the tables are still printed). */
async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const out = (s: string) => (args.json ? process.stderr : process.stdout).write(s + '\n');
  const machine: MachineInfo = machineInfo(args.build);
  const shape: ModelShape = args.quick ? QUICK_SHAPE : SMOLLM_135M;
  const seed = 20260505;
  const caseTimeout = (args.quick ? 4 : 25) * 60_000;
  progress(`${args.quick ? 'quick' : 'full'} run: ${shape.name}, runs ${args.runs}, threads ${args.threads.join(',')}, build ${args.build}`);

  // ---- peers ----
  const peersDir = args.peersDir;
  const peers: Record<string, PeerStatus | { ok: false; reason: string }> = {};
  if (args.peers) {
    if (args.only !== 'kernels') peers['node-llama-cpp'] = ensurePeer(peersDir, 'node-llama-cpp', progress, args.install);
    if (args.only !== 'decode') peers['onnxruntime-web'] = ensurePeer(peersDir, 'onnxruntime-web', progress, args.install);
  } else {
    peers['node-llama-cpp'] = { ok: false, reason: '--no-peers' };
    peers['onnxruntime-web'] = { ok: false, reason: '--no-peers' };
  }
  for (const [name, st] of Object.entries(peers)) if (!st.ok) progress(`peers: ${name} unavailable (${st.reason}); its rows are skipped`);
  const llamaOk = peers['node-llama-cpp']?.ok === true;
  const ortOk = peers['onnxruntime-web']?.ok === true;

  // ---- bandwidth (ceilings) ----
  progress('measuring read bandwidth (ceilings)');
  const bw = await runChild<{ one: Bandwidth; two: Bandwidth }>(CASE_RUNNER, { kind: 'bandwidth', mib: args.quick ? 128 : 256, passes: args.quick ? 3 : 9 }, { timeoutMs: 5 * 60_000, label: 'bandwidth' });
  const bandwidth = (t: number): number | null => (bw.ok ? (t >= 2 ? bw.result.two.gbps : bw.result.one.gbps) : null);
  if (!bw.ok) progress(`bandwidth: failed (${bw.reason}); ceilings use the anchors of docs/performance.md §1`);
  const bwOrAnchor = (t: number) => bandwidth(t) ?? (t >= 2 ? 50 : 26);

  // ---- decode ----
  const W = linearWeightsPerToken(shape);
  const decodeRows: DecodeRow[] = [];
  const crossCheckFailures: string[] = [];
  let files: ModelFiles | null = null;
  if (args.only !== 'kernels') {
    files = ensureModelFiles(args.cacheDir, shape, seed, progress);
    const prompt = promptIds(shape, 65, seed + 1);
    const base = { kind: 'decode' as const, prompt, promptTokens: 64, decodeTokens: 64, runs: args.runs, warmupRuns: args.quick ? 1 : 2, contextSize: 1024, peersDir };
    const pairs = PAIRS.filter((p) => (args.dtypes === null ? p.llama !== null || !args.quick : args.dtypes.includes(p.spechub)));
    for (const threads of args.threads) {
      for (const p of pairs) {
        const sSpec: DecodeSpec = {
          ...base, engine: 'spechub', dtype: p.spechub, threads, modelPath: p.spechubPath(files), weightsNote: p.spechubNote, build: args.build,
          // the draft: the cheapest quantised copy that is still cheaper than the target per token
          ...(args.speculative && p.spechub !== 'int4' ? { speculative: { draftDtype: p.spechub === 'int8' ? ('int4' as const) : ('int8' as const), tokens: 96 } } : {}),
        };
        const label = `spechub ${p.spechub} T=${threads}`;
        let sOut: DecodeRow['outcome'];
        if (!hasDtype(p.spechub)) sOut = { ok: false, reason: `dtype ${p.spechub} not in this spechub build`, ms: 0 };
        else if (threads > 1 && !hasThreads()) sOut = { ok: false, reason: 'no threaded executor in this spechub build', ms: 0 };
        else {
          progress(`decode: ${label}`);
          sOut = await runChild<DecodeResult>(CASE_RUNNER, sSpec, { timeoutMs: caseTimeout, label });
        }
        if (p.llama === null && !sOut.ok && !hasDtype(p.spechub)) continue; // optional extra row, absent in this build
        decodeRows.push(row('spechub', p, p.spechub, threads, p.spechubNote, sOut));
        if (p.llama !== null) {
          const kind = p.llama;
          const note = `GGUF ${kind.toUpperCase()}`;
          const llabel = `llama.cpp ${kind} T=${threads}`;
          let lOut: DecodeRow['outcome'];
          if (!llamaOk) lOut = { ok: false, reason: `node-llama-cpp unavailable: ${peers['node-llama-cpp']?.ok === false ? peers['node-llama-cpp'].reason : 'not requested'}`, ms: 0 };
          else {
            progress(`decode: ${llabel}`);
            lOut = await runChild<DecodeResult>(CASE_RUNNER, { ...base, engine: 'llama.cpp', dtype: kind, threads, modelPath: files.gguf[kind], weightsNote: note } satisfies DecodeSpec, { timeoutMs: caseTimeout, label: llabel });
          }
          decodeRows.push(row('llama.cpp', p, kind, threads, note, lOut));
        }
      }
    }
    // medians, ceilings, ratios
    for (const r of decodeRows) {
      if (r.outcome.ok && r.outcome.result.unsupported === undefined) {
        r.prefill = medianOrNull(r.outcome.result.prefillTokS);
        r.decode = medianOrNull(r.outcome.result.decodeTokS);
        r.forwardLoop = medianOrNull(r.outcome.result.forwardLoopTokS ?? []);
      }
      const bytes = weightBytesPerToken(shape, r.engine, r.dtype);
      r.ceiling = bytes === null ? null : (bwOrAnchor(r.threads) * 1e9) / bytes;
    }
    for (const r of decodeRows) {
      if (r.engine !== 'spechub') continue;
      const peer = decodeRows.find((q) => q.engine === 'llama.cpp' && q.pair === r.pair && q.threads === r.threads);
      if (peer && peer.decode && r.decode) r.vsLlamaDecode = r.decode / peer.decode;
      if (peer && peer.prefill && r.prefill) r.vsLlamaPrefill = r.prefill / peer.prefill;
    }
  }

  // ---- kernels ----
  const kernelResults: { engine: string; threads: number; outcome: ChildOutcome<KernelResult> | { ok: false; reason: string; ms: 0 } }[] = [];
  const kShapes: [number, number][] = args.quick ? [[576, 576], [1536, 576]] : [[576, 576], [1536, 576], [49152, 576]];
  const kBatches = args.quick ? [1, 8, 64] : [1, 8, 16, 32, 64];
  if (args.only !== 'decode') {
    const timing = args.quick ? { warmup: 3, samples: 3, minSampleMs: 20 } : { warmup: 5, samples: 7, minSampleMs: 100 };
    const kBase = { kind: 'kernels' as const, shapes: kShapes, batches: kBatches, poolMiB: args.quick ? 64 : 128, coldMiB: 32, timing, peersDir, seed };
    const dtypes = (args.dtypes ?? ['f32', 'bf16', 'int8']).filter((d) => hasDtype(d));
    for (const threads of args.threads) {
      const label = `kernels spechub T=${threads}`;
      if (threads > 1 && !hasThreads()) kernelResults.push({ engine: 'spechub', threads, outcome: { ok: false, reason: 'no threaded executor in this spechub build', ms: 0 } });
      else {
        progress(label);
        kernelResults.push({ engine: 'spechub', threads, outcome: await runChild<KernelResult>(CASE_RUNNER, { ...kBase, engine: 'spechub', dtypes, threads, build: args.build } satisfies KernelSpec, { timeoutMs: caseTimeout, label }) });
      }
      const olabel = `kernels onnxruntime-web T=${threads}`;
      if (!ortOk) kernelResults.push({ engine: 'onnxruntime-web', threads, outcome: { ok: false, reason: `onnxruntime-web unavailable: ${peers['onnxruntime-web']?.ok === false ? peers['onnxruntime-web'].reason : 'not requested'}`, ms: 0 } });
      else {
        progress(olabel);
        kernelResults.push({ engine: 'onnxruntime-web', threads, outcome: await runChild<KernelResult>(CASE_RUNNER, { ...kBase, engine: 'onnxruntime-web', dtypes: ['f32'], threads } satisfies KernelSpec, { timeoutMs: caseTimeout, label: olabel }) });
      }
    }
  }
  const kRows: KernelRow[] = kernelResults.flatMap((k) => (k.outcome.ok ? k.outcome.result.rows : []));

  // ---- report ----
  const lines: string[] = [];
  const mode = args.quick ? 'quick (small shape, 1 run: checks the bench works; numbers are not the result)' : 'full';
  lines.push(`# spechub decode benchmark vs llama.cpp and onnxruntime-web`, '');
  lines.push(`- CPU: ${machine.cpu} (${machine.logicalCpus} logical CPUs), ${machine.memGiB} GiB RAM, ${machine.os}`);
  lines.push(`- Node ${machine.node} (V8 ${machine.v8}), spechub WASM build \`${args.build}\` (threads: its -mt twin), ${mode}, ${machine.date}`);
  lines.push(`- Model: random weights, ${shape.name}: ${shape.nLayers} layers, d ${shape.dim}, ffn ${shape.hiddenDim}, ${shape.nHeads}/${shape.nKvHeads} heads, vocab ${shape.vocabSize}, tied embeddings; ${(parameterCount(shape) / 1e6).toFixed(1)} M parameters, ${(W / 1e6).toFixed(2)} M weights streamed per token`);
  const peerLine = (name: string, v: string) => {
    const st = peers[name];
    return st === undefined ? `${name}: not used` : st.ok ? `${name} ${v}` : `${name}: **unavailable** (${st.reason})`;
  };
  lines.push(`- Peers: ${peerLine('node-llama-cpp', `${LLAMA_CPP_VERSION} (llama.cpp prebuilt CPU binaries, getLlama({gpu: false, build: 'never'}))`)}; ${peerLine('onnxruntime-web', ORT_WEB_VERSION)}`);
  const bwText = (t: number) => (bandwidth(t) === null ? `n/a (anchor ${t >= 2 ? 50 : 26} GB/s used)` : `${sig(bandwidth(t)!)} GB/s`);
  lines.push(`- Measured WASM read bandwidth: 1 thread ${bwText(1)}, 2 threads ${bwText(2)} (ceiling = bandwidth ÷ weight bytes per token)`);
  const perToken = (['f32', 'bf16', 'int8', 'int4'] as const)
    .filter((d) => hasDtype(d))
    .map((d) => `${d} ${sig(weightBytesPerToken(shape, 'spechub', d)! / 1e6)} MB`);
  lines.push(`- Weight bytes per decoded token (spechub's packed layers): ${perToken.join(', ')}; llama.cpp q8_0 ${sig(weightBytesPerToken(shape, 'llama.cpp', 'q8_0')! / 1e6)} MB`, '');
  const bw1 = bandwidth(1);
  const bw2 = bandwidth(2);
  if (bw1 !== null && bw2 !== null && args.threads.some((t) => t >= 2) && bw2 < 1.2 * bw1) {
    lines.push(`**Warning**: two threads read only ${sig(bw2 / bw1, 2)}× the bandwidth of one (a quiet 2-core machine gives ~1.9×): other work is probably running; the 2-thread rows are unreliable.`, '');
  }

  if (decodeRows.length > 0) {
    lines.push('## Decode and prefill', '');
    const notes = new Notes();
    lines.push(
      markdownTable(
        ['engine', 'weights', 'T', 'prefill tok/s', 'decode tok/s', 'decode vs llama.cpp', 'prefill vs llama.cpp', 'ceiling tok/s', '% of ceiling', 'forward loop tok/s'],
        decodeRows.map((r) => {
          const why = r.outcome.ok ? r.outcome.result.unsupported : r.outcome.reason;
          const name = `${r.engine} ${r.dtype}`;
          if (why !== undefined) return [name, r.weights, r.threads, `skipped ${notes.mark(why)}`, '—', '—', '—', fmt(r.ceiling), '—', '—'];
          return [name, r.weights, r.threads, fmt(r.prefill), fmt(r.decode), times(r.vsLlamaDecode), times(r.vsLlamaPrefill), fmt(r.ceiling), pct(r.decode !== null && r.ceiling !== null ? r.decode / r.ceiling : null), fmt(r.forwardLoop)];
        }),
      ),
      ...notes.lines(),
      '',
    );
    lines.push(
      `Prefill: one forward of a ${64}-token prompt. Decode: 64 greedy tokens, one single-token forward each, sampling included (spechub: \`Generator\`, drafter null, temperature 0; llama.cpp: \`sequence.evaluate\`). ` +
        `Medians of ${args.runs} run(s) after warm-up. "forward loop": spechub's bare forward + argmax loop (the Generator's own cost is the difference). ` +
        'spechub int8 reads the same Q8_0 blocks llama.cpp q8_0 does; spechub bf16 and llama.cpp f16 both store 2 bytes per weight.',
      '',
    );
    // speculative sampling vs plain sampling, same target, same process
    const specRows = decodeRows.filter((r) => r.outcome.ok && r.outcome.result.spec !== undefined);
    if (specRows.length > 0) {
      lines.push('## Speculative sampling with tree auto (temperature 1)', '');
      lines.push(
        markdownTable(
          ['target', 'T', 'draft', 'plain tok/s', 'speculative tok/s', 'speed-up', 'tokens/step', 'trees chosen (steps)'],
          specRows.map((r) => {
            const sp = (r.outcome as { ok: true; result: DecodeResult }).result.spec!;
            const a = medianOrNull(sp.plainTokS);
            const b = medianOrNull(sp.specTokS);
            const trees = Object.entries(sp.trees).sort((x, y) => y[1] - x[1]).slice(0, 3).map(([t, n]) => `${t || 'plain'}: ${n}`).join(', ');
            return [`spechub ${r.dtype}`, r.threads, sp.draft, fmt(a), fmt(b), times(a && b ? b / a : null), fmt(medianOrNull(sp.tokensPerStep)), trees];
          }),
        ),
        '',
        'Random weights give a nearly flat next-token law, which a quantised copy of the same weights predicts well; the speed-up shows what tree verification buys when a step is memory-bound, not what a real draft/target pair accepts (see bench:accept for that). SpecHub, 96 tokens per run, medians; the tuner measures the forward costs when the generator is created and learns the acceptance across runs.',
        '',
      );
    }
    // cross-check: the same model from the same weights
    const checks: string[] = [];
    for (const p of PAIRS) {
      if (p.llama === null) continue;
      const s = decodeRows.find((r) => r.engine === 'spechub' && r.dtype === p.spechub && r.outcome.ok && !r.outcome.result.unsupported);
      const l = decodeRows.find((r) => r.engine === 'llama.cpp' && r.dtype === p.llama && r.outcome.ok && !r.outcome.result.unsupported);
      if (!s || !l || !s.outcome.ok || !l.outcome.ok) continue;
      const st = s.outcome.result.top;
      const lt = l.outcome.result.top;
      const lp = new Map(lt.map((t) => [t.id, t.p]));
      const rel = Math.max(...st.map((t) => (lp.has(t.id) ? Math.abs(t.p - lp.get(t.id)!) / t.p : Infinity)));
      const sameSet = st.every((t) => lp.has(t.id));
      const tol = CROSS_CHECK_TOLERANCE[p.spechub] ?? 0.03;
      const ok = sameSet && rel <= tol;
      if (!ok) crossCheckFailures.push(p.label);
      checks.push(
        `${p.label}: ${sameSet ? `same top 5, largest relative difference in p ${rel.toExponential(1)}` : 'top 5 differ'} ` +
          `(${ok ? 'ok' : '**MISMATCH**'}, tolerance ${tol}; top-1 ${st[0]?.id === lt[0]?.id ? 'same id' : `ids ${st[0]?.id} vs ${lt[0]?.id}, p ${fmt(st[0]?.p)} vs ${fmt(lt[0]?.p)}`})`,
      );
    }
    if (checks.length > 0) lines.push(`Same model in both engines? Next-token distribution after the prompt, spechub vs llama.cpp: ${checks.join('; ')}.`, '');
    if (crossCheckFailures.length > 0) {
      lines.push(`**Warning**: spechub and llama.cpp disagree on the model (${crossCheckFailures.join(', ')}): the files or one engine are wrong; their speeds are not comparable until this is fixed.`, '');
      progress(`cross-check MISMATCH for ${crossCheckFailures.join(', ')}`);
    }
    if (args.quick) lines.push('(--quick: the small model fits in the caches, so the bandwidth ceilings do not bind; only the full run\'s ratios mean anything.)', '');
  }

  if (kernelResults.length > 0) {
    lines.push('## Kernels: matrix–vector and batched matmul (cold weights)', '');
    const byKey = new Map<string, KernelRow[]>();
    for (const r of kRows) {
      const key = `${r.rows}×${r.cols}|${r.engine}|${r.dtype}|${r.threads}`;
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    const ortAt = (r: KernelRow, n: number) => kRows.find((q) => q.engine === 'onnxruntime-web' && q.rows === r.rows && q.cols === r.cols && q.threads === r.threads && q.n === n);
    const table: (string | number)[][] = [];
    for (const [key, rs] of byKey) {
      const [shapeName, engine, dtype, t] = key.split('|');
      const at = (n: number) => rs.find((r) => r.n === n);
      const one = at(1);
      table.push([shapeName!, `${engine} ${dtype}`, Number(t), fmt(one?.gbps), pct(one && bandwidth(Number(t)) ? one.gbps / bandwidth(Number(t))! : null), ...kBatches.map((n) => fmt(at(n)?.gflops)), engine === 'spechub' && dtype === 'f32' ? times(one && ortAt(one, 1) ? ortAt(one, 1)!.medianMs / one.medianMs : null) : '—', engine === 'spechub' && dtype === 'f32' && at(64) && ortAt(at(64)!, 64) ? times(ortAt(at(64)!, 64)!.medianMs / at(64)!.medianMs) : '—']);
    }
    const notes = new Notes();
    for (const k of kernelResults) {
      if (!k.outcome.ok) table.push(['all', k.engine, k.threads, `skipped ${notes.mark(k.outcome.reason)}`, '—', ...kBatches.map(() => '—'), '—', '—']);
      else for (const [d, why] of Object.entries(k.outcome.result.skipped)) table.push(['all', `${k.engine} ${d}`, k.threads, `skipped ${notes.mark(why)}`, '—', ...kBatches.map(() => '—'), '—', '—']);
    }
    lines.push(markdownTable(['W (rows×cols)', 'engine', 'T', 'n=1 GB/s', '% of BW', ...kBatches.map((n) => `n=${n} GFLOP/s`), 'vs ORT n=1', 'vs ORT n=64'], table), ...notes.lines(), '');
    lines.push('GB/s = weight bytes as stored ÷ time; GFLOP/s = 2·rows·cols·n ÷ time; "% of BW" against the measured read bandwidth at that thread count. Cold: each call reads the next of several copies (a pool larger than the last-level cache) or W alone exceeds it. spechub times the executor\'s `linear` (int8: input quantisation included); ORT-web times one MatMul node (its share of a session of many).', '');
  }

  // targets
  const targets: { target: string; value: number | null; goal: number; met: boolean | null; note: string }[] = [];
  const dec = (engine: string, dtype: string, t: number) => decodeRows.find((r) => r.engine === engine && r.dtype === dtype && r.threads === t)?.decode ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
  const addTarget = (target: string, value: number | null, goal: number, note: string) => targets.push({ target, value, goal, met: value === null ? null : value >= goal, note });
  if (decodeRows.length > 0) {
    addTarget('f32 decode vs llama.cpp f32 (T=1)', ratio(dec('spechub', 'f32', 1), dec('llama.cpp', 'f32', 1)), 1.15, '×');
    addTarget('int8 decode vs llama.cpp q8_0 (T=1)', ratio(dec('spechub', 'int8', 1), dec('llama.cpp', 'q8_0', 1)), 1.5, '×');
    for (const d of ['f32', 'bf16', 'int8']) if (args.threads.includes(2)) addTarget(`spechub ${d} decode, 2 threads vs 1`, ratio(dec('spechub', d, 2), dec('spechub', d, 1)), 1.8, '×');
  }
  if (kRows.length > 0) {
    for (const t of args.threads) {
      const at64 = kRows.filter((r) => r.engine === 'spechub' && r.dtype === 'f32' && r.threads === t && r.n === 64);
      if (at64.length > 0) addTarget(`batched matmul f32, n=64, per thread (T=${t}, worst shape)`, Math.min(...at64.map((r) => r.gflops / t)), 47, 'GFLOP/s');
      const mv = kRows.filter((r) => r.engine === 'spechub' && r.dtype === 'f32' && r.threads === t && r.n === 1).sort((a, b) => b.weightBytes - a.weightBytes)[0];
      if (mv && bandwidth(t) !== null) addTarget(`matvec f32 ${mv.rows}×${mv.cols} vs measured bandwidth (T=${t})`, mv.gbps / bandwidth(t)!, 0.9, 'of BW');
    }
  }
  if (targets.length > 0) {
    lines.push('## Targets (reported, not asserted)', '');
    lines.push(
      markdownTable(
        ['target', 'measured', 'goal', 'met'],
        targets.map((t) => [t.target, t.value === null ? '—' : t.note === 'of BW' ? pct(t.value) : t.note === '×' ? times(t.value) : `${sig(t.value)} ${t.note}`, t.note === 'of BW' ? pct(t.goal) : t.note === '×' ? `≥ ${t.goal}×` : `≥ ${t.goal} ${t.note}`, t.met === null ? 'n/a' : t.met ? 'yes' : 'no']),
      ),
      '',
    );
  }
  out(lines.join('\n'));

  const json = {
    bench: 'decode',
    machine,
    mode: args.quick ? 'quick' : 'full',
    params: { runs: args.runs, threads: args.threads, build: args.build, promptTokens: 64, decodeTokens: 64, contextSize: 1024, seed },
    shape,
    weightsPerToken: W,
    files: files ? { dir: files.dir, sizes: files.sizes } : null,
    peers: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.ok ? { ok: true, version: (v as { version: string }).version } : { ok: false, reason: v.reason }])),
    bandwidth: bw.ok ? { oneThread: bw.result.one, twoThreads: bw.result.two } : { error: bw.reason, anchors: { oneThread: 26, twoThreads: 50 } },
    decode: decodeRows.map((r) => ({
      engine: r.engine,
      dtype: r.dtype,
      threads: r.threads,
      weights: r.weights,
      ok: r.outcome.ok && r.outcome.result.unsupported === undefined,
      skipped: r.outcome.ok ? (r.outcome.result.unsupported ?? null) : r.outcome.reason,
      prefillTokS: r.prefill,
      decodeTokS: r.decode,
      forwardLoopTokS: r.forwardLoop,
      weightBytesPerToken: weightBytesPerToken(shape, r.engine, r.dtype),
      ceilingTokS: r.ceiling,
      fractionOfCeiling: r.decode !== null && r.ceiling !== null ? r.decode / r.ceiling : null,
      decodeVsLlamaCpp: r.vsLlamaDecode,
      prefillVsLlamaCpp: r.vsLlamaPrefill,
      runs: r.outcome.ok ? r.outcome.result : null,
    })),
    kernels: kernelResults.map((k) => ({ engine: k.engine, threads: k.threads, ok: k.outcome.ok, error: k.outcome.ok ? null : k.outcome.reason, result: k.outcome.ok ? k.outcome.result : null })),
    targets,
    crossCheckFailures,
  };
  const path = writeResults(args.quick ? 'decode.quick.json' : 'decode.json', json);
  progress(`JSON written to ${path}`);
  if (args.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  return crossCheckFailures.length === 0;
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

function row(engine: 'spechub' | 'llama.cpp', p: Pair, dtype: string, threads: number, weights: string, outcome: DecodeRow['outcome']): DecodeRow {
  return { engine, pair: p.label, dtype, threads, weights, outcome, prefill: null, decode: null, forwardLoop: null, ceiling: null, vsLlamaDecode: null, vsLlamaPrefill: null };
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
