/**
 * What every model-file target does with its mutated files: load them into a runtime (reused across
 * the cases of one worker), and then:
 *   - a failed load must be a SpechubError (anything else propagates: the runner calls it a crash),
 *     one line, naming a file of the model, and must leave the arena as it found it (no leak);
 *   - a model that loads generates a few tokens (greedy, then sampled) through Generator; the
 *     logits it ends with must be finite, and a NumericError is acceptable only if loading warned.
 * The runtime's arena is released to its mark after every case, so one worker runs thousands of
 * cases in one runtime (itself a test of defect 6); a runtime whose memory grew past MAX_KEEP_BYTES
 * is dropped for a fresh one (memory never shrinks).
 */
import { NumericError, SpechubError } from '../../src/errors.js';
import { Generator } from '../../src/engine/generate.js';
import type { LoadedModel } from '../../src/engine/load.js';
import { readWasm } from '../../src/node/advanced.js';
import { Runtime } from '../../src/wasm/runtime.js';
import { isWeightRangeWarning } from '../../src/weights/tensor.js';
import { crash, type CaseReport } from './types.js';

const MAX_KEEP_BYTES = 256 * 1024 * 1024;

/** `--replay` sets this: print each case's mutation before running it (a hang shows what it was). */
const trace = process.env.SPECHUB_FUZZ_TRACE === '1';

let module: WebAssembly.Module | null = null;
let runtime: Runtime | null = null;

/** This worker's runtime ("simd" build, compiled once). */
export function fuzzRuntime(): Runtime {
  if (runtime === null || runtime.memory.buffer.byteLength > MAX_KEEP_BYTES) {
    module ??= new WebAssembly.Module(readWasm('simd') as Uint8Array<ArrayBuffer>);
    runtime = Runtime.createSync(module, { build: 'simd' });
  }
  return runtime;
}

/** Why a typed error's message is unacceptable, or null: it must be one line, non-empty, and (when `names` is given) contain one of `names`. */
export function messageProblem(e: SpechubError, names: readonly string[] | null): string | null {
  const m = e.message;
  if (m.length === 0) return 'empty message';
  if (/[\n\r\u2028\u2029]/.test(m)) return `message spans lines: ${JSON.stringify(m.slice(0, 200))}`;
  if (names !== null && !names.some((n) => m.includes(n))) return `message names no file (${names.join(' / ')}): ${m.slice(0, 200)}`;
  return null;
}

function errorOf(e: SpechubError): { name: string; message: string } {
  return { name: e.name, message: e.message.length > 400 ? `${e.message.slice(0, 400)}… (${e.message.length} characters)` : e.message };
}

/**
 * Load with `load` into the worker's runtime and judge the result (see the file comment). `names`:
 * strings one of which every load error must contain (the model's source name). Exceptions other
 * than SpechubError come back as a crash report.
 */
export async function runModelCase(mutation: string, names: readonly string[], load: (rt: Runtime) => Promise<LoadedModel>): Promise<CaseReport> {
  if (trace) process.stderr.write(`fuzz case: ${mutation}\n`);
  const rt = fuzzRuntime();
  const mark = rt.arena.mark();
  const used = rt.arena.used;
  let model: LoadedModel;
  try {
    model = await load(rt);
  } catch (e) {
    if (!(e instanceof SpechubError)) {
      rt.arena.release(mark);
      return crash(mutation, e);
    }
    if (rt.arena.used !== used) {
      const left = rt.arena.used - used;
      rt.arena.release(mark);
      return { class: 'leak', mutation, error: errorOf(e), detail: `the failed load left ${left} bytes of arena memory reserved` };
    }
    const bad = messageProblem(e, names);
    if (bad !== null) return { class: 'bad-error', mutation, error: errorOf(e), detail: bad };
    return { class: 'typed', mutation, error: errorOf(e) };
  }
  try {
    const warned = model.warnings.some(isWeightRangeWarning);
    try {
      const greedy = new Generator(model, { sampling: { temperature: 0 } });
      await greedy.generate({ prompt: 'Once upon a time', maxTokens: 4 });
      const sampled = new Generator(model, { sampling: { temperature: 1, topP: 0.9 } });
      await sampled.generate({ maxTokens: 4, seed: 7 });
    } catch (e) {
      if (!(e instanceof SpechubError)) return crash(mutation, e);
      const bad = messageProblem(e, null);
      if (bad !== null) return { class: 'bad-error', mutation, error: errorOf(e), detail: bad };
      if (e instanceof NumericError && !warned) return { class: 'unwarned', mutation, error: errorOf(e), detail: 'generation stopped on non-finite values; loading gave no warning' };
      return { class: 'typed-late', mutation, error: errorOf(e) };
    }
    const V = model.config.vocabSize;
    const logits = model.model.logits.subarray(0, V);
    for (let i = 0; i < V; i++) {
      if (!Number.isFinite(logits[i]!)) return { class: 'nonfinite', mutation, detail: `logit ${i} is ${logits[i]} after a generation that raised nothing` };
    }
    return { class: 'ok', mutation, ...(warned ? { detail: `warned: ${model.warnings.find(isWeightRangeWarning)}` } : {}) };
  } finally {
    rt.arena.release(mark);
  }
}
