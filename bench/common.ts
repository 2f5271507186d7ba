/**
 * Shared benchmark helpers: command-line flags, machine description, timing through benny
 * (medians of its samples), markdown tables, and JSON results under bench/results/.
 *
 * Every bench validates what it times first, measures its baselines in the same run, and reports
 * ratios, because single numbers on a shared VM move by ±15 % between runs.
 */
import { cpus, totalmem, platform, arch } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import b from 'benny';
import type { WasmBuild } from '../src/wasm/kernels.js';

/** Flags every bench understands. */
export interface BenchArgs {
  /** Fewer shapes and short timing: checks the bench works, numbers are rough. */
  readonly quick: boolean;
  /** Print the JSON result to stdout (the table goes to stderr). */
  readonly json: boolean;
  /** WASM build to measure. */
  readonly build: WasmBuild;
}

const BUILDS: readonly WasmBuild[] = ['simd', 'relaxed', 'simd-mt', 'relaxed-mt'];

/** Parse `--quick`, `--json`, `--build <name>` (or `--build=<name>`); exits with usage on anything else. */
export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2), usage = ''): BenchArgs {
  let quick = false;
  let json = false;
  let build: WasmBuild = 'simd';
  const fail = (msg: string): never => {
    process.stderr.write(`${msg}\nusage: node <bench>.js [--quick] [--json] [--build ${BUILDS.join('|')}]${usage ? `\n${usage}` : ''}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--build' || a.startsWith('--build=')) {
      const v = a === '--build' ? argv[++i] : a.slice('--build='.length);
      if (!BUILDS.includes(v as WasmBuild)) fail(`--build: expected one of ${BUILDS.join(', ')}, got ${v}`);
      build = v as WasmBuild;
    } else fail(`unknown argument ${a}`);
  }
  return { quick, json, build };
}

/** What the numbers were measured on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly logicalCpus: number;
  readonly memGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly os: string;
  readonly build: WasmBuild;
  readonly date: string;
}

export function machineInfo(build: WasmBuild): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    logicalCpus: list.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${arch()}`,
    build,
    date: new Date().toISOString(),
  };
}

/** A markdown header block describing the machine. */
export function machineMarkdown(m: MachineInfo, mode: string): string {
  return [
    `- CPU: ${m.cpu} (${m.logicalCpus} logical CPUs), ${m.memGiB} GiB RAM, ${m.os}`,
    `- Node ${m.node} (V8 ${m.v8}), WASM build \`${m.build}\`, ${mode}, ${m.date}`,
  ].join('\n');
}

/** Markdown table; numeric cells are right-aligned. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const numeric = headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || /^[-+]?[\d.,]+(e[-+]?\d+)?[×x%]?$/.test(String(r[j]))));
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j]?.length ?? 0), 3));
  const line = (r: readonly string[]) => `| ${r.map((c, j) => (numeric[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join(' | ')} |`;
  const sep = `|${widths.map((w, j) => (numeric[j] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), sep, ...cells.map(line)].join('\n');
}

/** Format with `digits` significant digits (no exponent for ordinary magnitudes). */
export function sig(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const p = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(p, 6));
}

/** Absolute path of bench/results/ in the repository (this file runs from dist/bench/). */
export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** Write `data` as pretty JSON to bench/results/<file>; returns the path. */
export function writeResults(file: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = RESULTS_DIR + file;
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}

/** Progress and tables: stdout normally, stderr when stdout carries JSON. */
export function makeLog(args: BenchArgs): (text: string) => void {
  return (text) => (args.json ? process.stderr : process.stdout).write(text + '\n');
}

/** Timing of one case: the median of benny's samples (seconds per call in each sample). */
export interface Timing {
  readonly name: string;
  readonly medianMs: number;
  readonly meanMs: number;
  readonly minMs: number;
  /** Relative margin of error of the mean (%). */
  readonly rme: number;
  readonly samples: number;
}

export interface TimeOptions {
  readonly quick: boolean;
  /** Calls made before timing (V8 tiers wasm up from Liftoff to TurboFan; there is no OSR). */
  readonly warmup?: number;
}

/**
 * Time each case with benny in one suite, after `warmup` calls of each. Setup belongs outside
 * `fn`. benny's own console output is routed to stderr so stdout stays clean for tables or JSON.
 */
export async function timeCases(
  suite: string,
  cases: readonly { readonly name: string; readonly fn: () => void }[],
  opts: TimeOptions,
): Promise<Timing[]> {
  for (const c of cases) for (let i = 0; i < (opts.warmup ?? 5); i++) c.fn();
  const config = opts.quick
    ? { minTime: 0.02, maxTime: 0.4, minSamples: 5, delay: 0.005 }
    : { minTime: 0.1, maxTime: 3, minSamples: 10, delay: 0.02 };
  const log = console.log;
  console.log = (...a: unknown[]) => console.error(...a);
  try {
    const summary = await b.suite(suite, b.configure({ cases: config }), ...cases.map((c) => b.add(c.name, c.fn)));
    return summary.results.map((r) => ({
      name: r.name,
      medianMs: r.details.median * 1e3,
      meanMs: r.details.mean * 1e3,
      minMs: r.details.min * 1e3,
      rme: r.details.relativeMarginOfError,
      samples: r.samples,
    }));
  } finally {
    console.log = log;
  }
}

/** A median time without benny (cases that run in child processes, async peers). */
export interface SimpleTiming {
  /** Median milliseconds per call. */
  readonly medianMs: number;
  /** Milliseconds per call of each sample. */
  readonly samplesMs: readonly number[];
  /** Calls per sample. */
  readonly reps: number;
}

export interface SimpleTimeOptions {
  /** Calls before timing (wasm tier-up: Liftoff → TurboFan). Default 5. */
  readonly warmup?: number;
  /** Timed samples. Default 7. */
  readonly samples?: number;
  /** Each sample repeats the call until it lasts at least this long. Default 50 ms. */
  readonly minSampleMs?: number;
}

/** Median per-call time of `fn` (sync or async): warm-up calls, then samples of `reps` calls each. */
export async function timeMedian(fn: () => void | Promise<void>, opts: SimpleTimeOptions = {}): Promise<SimpleTiming> {
  const warmup = opts.warmup ?? 5;
  const samples = opts.samples ?? 7;
  const minMs = opts.minSampleMs ?? 50;
  // only async calls are awaited: a microtask per sync call would blur microsecond kernels
  const call = (): Promise<void> | void => fn();
  for (let i = 0; i < warmup; i++) {
    const p = call();
    if (p) await p;
  }
  let t0 = performance.now();
  const p0 = call();
  if (p0) await p0;
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.ceil(minMs / once));
  const out: number[] = [];
  for (let s = 0; s < samples; s++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) {
      const p = call();
      if (p) await p;
    }
    out.push((performance.now() - t0) / reps);
  }
  const sorted = [...out].sort((a, b) => a - b);
  const n = sorted.length;
  const medianMs = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { medianMs, samplesMs: out, reps };
}
