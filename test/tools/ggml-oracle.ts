/**
 * llama.cpp's own quantisation code as a test oracle: compiles test/tools/ggml-oracle.c with the
 * machine's gcc (once per content hash, in the OS temp directory) and runs it against the shared
 * libraries the node-llama-cpp devDependency ships (libggml-base: quantize_row_*_ref,
 * ggml_quantize_chunk, dequantize_row_*; a CPU backend variant: the activation quantisers;
 * libllama: llama_model_quantize). Test tooling only: nothing here is part of the package.
 *
 * No gcc, no llama.cpp libraries, or a CPU without AVX2 (the CPU variant whose activation rounding
 * the tests pin) is an error that fails the test with a message saying what is missing, never a skip.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GgmlQuantType } from '../../src/weights/ggml-quants.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/tools). */
const ROOT = join(here, '..', '..', '..');
const SOURCE = join(ROOT, 'test', 'tools', 'ggml-oracle.c');

/** llama.cpp's type names as its symbols spell them. */
const SYMBOL: Readonly<Record<GgmlQuantType | 'Q8_K', string>> = {
  Q4_0: 'q4_0', Q4_1: 'q4_1', Q5_0: 'q5_0', Q5_1: 'q5_1', Q8_0: 'q8_0', Q2_K: 'q2_K', Q3_K: 'q3_K', Q4_K: 'q4_K', Q5_K: 'q5_K',
  Q6_K: 'q6_K', IQ4_NL: 'iq4_nl', IQ4_XS: 'iq4_xs', Q8_K: 'q8_K',
};

/** llama_ftype codes of the presets the tests quantise to (llama.h). */
export const LLAMA_FTYPE = {
  Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_M: 12, Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18,
  IQ4_NL: 25, IQ4_XS: 30,
} as const;

let compiled: { bin: string; libDir: string } | null = null;

/** The directory holding llama.cpp's Linux x64 CPU libraries inside node-llama-cpp. */
function libDir(): string {
  const bins = join(ROOT, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins');
  if (!existsSync(bins)) throw new Error(`ggml oracle: ${bins} is missing (is the node-llama-cpp devDependency installed on linux-x64?)`);
  for (const d of readdirSync(bins)) if (existsSync(join(bins, d, 'libggml-base.so'))) return join(bins, d);
  throw new Error(`ggml oracle: no libggml-base.so under ${bins}`);
}

/** Compile the helper if needed; returns the binary and the library directory. */
export function ggmlOracle(): { bin: string; libDir: string } {
  if (compiled) return compiled;
  const src = readFileSync(SOURCE);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `spechub-ggml-oracle-${hash}`);
  const bin = join(dir, 'ggml-oracle');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    const r = spawnSync('gcc', ['-O1', '-o', tmp, SOURCE, '-ldl'], { encoding: 'utf8' });
    if (r.error) throw new Error(`ggml oracle: could not run gcc (${r.error.message}); these tests compile a small C helper and need gcc installed`);
    if (r.status !== 0) throw new Error(`ggml oracle: gcc failed to compile ${SOURCE}:\n${r.stderr}`);
    renameSync(tmp, bin);
  }
  compiled = { bin, libDir: libDir() };
  return compiled;
}

function run(args: string[], input?: Uint8Array): Uint8Array {
  const { bin, libDir: lib } = ggmlOracle();
  const r = spawnSync(bin, [lib, ...args], { input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`ggml oracle ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ggml oracle ${args.join(' ')}: exit ${r.status}: ${r.stderr.toString().trim()}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}

function bytesOf(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

/** ggml's quantize_row_<type>_ref over `src` (a multiple of the block size). */
export function ggmlRefQuantize(type: GgmlQuantType, src: Float32Array): Uint8Array {
  return run(['ref-quantize', SYMBOL[type], String(src.length)], bytesOf(src));
}

/** ggml_quantize_chunk(type, src [rows, cols], no importance matrix): what llama.cpp's quantizer writes. */
export function ggmlChunkQuantize(type: GgmlQuantType, src: Float32Array, rows: number, cols: number): Uint8Array {
  return run(['chunk-quantize', SYMBOL[type], String(rows), String(cols)], bytesOf(src));
}

/** ggml's dequantize_row_<type> of `count` values. */
export function ggmlDequantize(type: GgmlQuantType, blocks: Uint8Array, count: number): Float32Array {
  const out = run(['dequantize', SYMBOL[type], String(count)], blocks);
  return new Float32Array(out.slice().buffer);
}

/** The CPU variant whose activation quantisers the tests compare with (AVX2, as on any machine llama.cpp picks AVX2+ for). */
const CPU_VARIANT = 'libggml-cpu-haswell.so';

/** llama.cpp's activation quantiser (the CPU backend's quantize_row_q8_0 / quantize_row_q8_K) over `src`. */
export function ggmlActivationQuantize(type: 'Q8_0' | 'Q8_K', src: Float32Array): Uint8Array {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8');
  for (const flag of ['avx2', 'fma', 'f16c']) {
    if (!new RegExp(`\\b${flag}\\b`).test(cpu)) throw new Error(`ggml oracle: this CPU lacks ${flag}; the activation-quantiser oracle runs llama.cpp's AVX2 variant`);
  }
  return run(['act-quantize', CPU_VARIANT, SYMBOL[type], String(src.length)], bytesOf(src));
}

/** llama_model_quantize(input → output, ftype) on 1 thread (llama.cpp's own type mix for presets like Q4_K_M). */
export function llamaModelQuantize(input: string, output: string, ftype: number): void {
  run(['model-quantize', input, output, String(ftype)]);
}
