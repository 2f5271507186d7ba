// The model with bf16 / int8 (Q8_0) / int4 (Q4_0) weights against the f32 model, on the real stories260K
// (test/fixtures), and the loading paths that keep stored weights as they are (BF16 and F16 bits, GGUF Q8_0).
//
// Metrics (stated, then asserted with margin; the computation is deterministic):
//  - teacher-forced on the f32 model's 300-token greedy continuation of BOS: relative L2 error of the
//    logits ‖l − l_f32‖ / ‖l_f32‖ per position (mean and max) and top-1 agreement;
//  - free-running greedy: the common prefix with f32 greedy and the fraction of equal tokens;
//  - coherence: the f32 model's mean negative log-likelihood of each dtype's greedy text, next to that
//    of the f32 greedy text itself and of uniformly random tokens.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { LlamaModel, type LlamaLoadOptions, type WeightDtype } from '../../src/model/llama.js';
import { configOf, refReader, readFixture, stories260KRef } from '../model/helpers.js';
import { createRng } from '../../src/rng.js';
import { bytesSource } from '../../src/io/source.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { openGgufModel } from '../../src/weights/open-model.js';
import { loadGgufModel } from '../../src/engine/load.js';
import type { ModelTensors, RoleReader } from '../../src/weights/llama-tensors.js';
import { quantizeQ8_0, writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { f32ToBf16Array, f32ToF16Array } from '../../src/weights/tensor.js';
import { quantizeGgml, type GgmlQuantType } from '../../src/weights/ggml-quants.js';
import { InvalidArgumentError, WeightsFormatError } from '../../src/errors.js';
import type { ModelConfig } from '../../src/config.js';

const POSITIONS = 300;
const BOS = 1;

async function load(reader: RoleReader, config: ModelConfig, options: LlamaLoadOptions): Promise<LlamaModel> {
  return LlamaModel.load(createNodeRuntime(), config, reader, { maxBatch: 4, capacity: POSITIONS + 1, ...options });
}

/** Logits after each of `tokens` (fed one at a time from position 0), as Float64Array rows. */
function teacherForced(m: LlamaModel, tokens: readonly number[]): Float64Array[] {
  const V = m.config.vocabSize;
  const out: Float64Array[] = [];
  tokens.forEach((t, pos) => {
    m.tokens[0] = t;
    m.positions[0] = pos;
    m.forward(1);
    m.cache.commit(1);
    out.push(Float64Array.from(m.logits.subarray(0, V)));
  });
  return out;
}

function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

/** Greedy continuation of BOS: `count` tokens after it. */
function greedy(m: LlamaModel, count: number): number[] {
  const V = m.config.vocabSize;
  const seq = [BOS];
  for (let pos = 0; pos < count; pos++) {
    m.tokens[0] = seq[pos];
    m.positions[0] = pos;
    m.forward(1);
    m.cache.commit(1);
    seq.push(argmax(m.logits.subarray(0, V)));
  }
  return seq;
}

/** Mean −log p_f32(next token) over a sequence, from teacher-forced f32 logits. */
function meanNll(logits: Float64Array[], seq: readonly number[]): number {
  let total = 0;
  for (let i = 0; i + 1 < seq.length && i < logits.length; i++) {
    const l = logits[i];
    let m = -Infinity;
    for (const v of l) m = Math.max(m, v);
    let z = 0;
    for (const v of l) z += Math.exp(v - m);
    total += -(l[seq[i + 1]] - m - Math.log(z));
  }
  return total / (seq.length - 1);
}

interface Metrics {
  relL2Mean: number;
  relL2P95: number;
  relL2Max: number;
  top1: number;
  prefix: number;
  equalTokens: number;
  nll: number;
}

describe('model with bf16 / int8 / int4 weights (stories260K)', () => {
  test('each dtype stays close to f32: logits error, top-1 agreement, greedy agreement and coherence', async (t) => {
    const w = stories260KRef();
    const config = configOf(w);
    const tensors = refReader(w);
    const f32 = await load(tensors, config, {});
    const ref = greedy(f32, POSITIONS);
    const f32Fresh = await load(tensors, config, {});
    const refLogits = teacherForced(f32Fresh, ref.slice(0, POSITIONS));
    const f32Nll = meanNll(refLogits, ref);
    const rng = createRng(77);
    const random = [BOS, ...Array.from({ length: POSITIONS }, () => rng.nextU32() % config.vocabSize)];
    const randomNll = meanNll(teacherForced(await load(tensors, config, {}), random.slice(0, POSITIONS)), random);
    t.diagnostic(`f32 greedy text: mean NLL ${f32Nll.toFixed(3)} nats/token under f32; random tokens: ${randomNll.toFixed(3)}`);

    const results = new Map<WeightDtype, Metrics>();
    for (const dtype of ['bf16', 'int8', 'int4'] as const) {
      const forced = teacherForced(await load(tensors, config, { dtype }), ref.slice(0, POSITIONS));
      let sum = 0, worst = 0, agree = 0;
      const errs: number[] = [];
      forced.forEach((l, i) => {
        const r = refLogits[i];
        let num = 0, den = 0;
        for (let v = 0; v < r.length; v++) {
          num += (l[v] - r[v]) ** 2;
          den += r[v] ** 2;
        }
        const e = Math.sqrt(num / den);
        sum += e;
        errs.push(e);
        worst = Math.max(worst, e);
        if (argmax(l) === argmax(r)) agree++;
      });
      const m = await load(tensors, config, { dtype });
      assert.equal(m.dtype, dtype);
      const own = greedy(m, POSITIONS);
      let prefix = 0;
      while (prefix < own.length && own[prefix] === ref[prefix]) prefix++;
      const equal = own.filter((tok, i) => tok === ref[i]).length;
      const nll = meanNll(teacherForced(await load(tensors, config, {}), own.slice(0, POSITIONS)), own);
      errs.sort((a, b) => a - b);
      const r: Metrics = { relL2Mean: sum / POSITIONS, relL2P95: errs[Math.floor(0.95 * POSITIONS)], relL2Max: worst, top1: agree / POSITIONS, prefix: prefix - 1, equalTokens: (equal - 1) / POSITIONS, nll };
      results.set(dtype, r);
      t.diagnostic(
        `${dtype}: logits rel. L2 error mean ${(100 * r.relL2Mean).toFixed(2)} % (95th percentile ${(100 * r.relL2P95).toFixed(2)} %, max ${(100 * r.relL2Max).toFixed(2)} %), top-1 agreement ${(100 * r.top1).toFixed(1)} %, ` +
          `greedy: ${r.prefix} tokens equal before the first difference, ${(100 * r.equalTokens).toFixed(1)} % equal overall, f32 NLL of its text ${r.nll.toFixed(3)}`,
      );
    }
    const bf16 = results.get('bf16')!, int8 = results.get('int8')!, int4 = results.get('int4')!;
    // measured (deterministic): bf16 0.23 % / 0.52 % / 99.3 %, int8 (= Q8_0) 1.14 % / 2.53 % / 99.0 %, int4 (= Q4_0, ggml's
    // quantisation, embedding included) 12.4 % / 23.7 % / 85.0 % (mean / 95th percentile rel. L2 error / top-1); the bounds
    // leave about 2× margin on the errors
    assert.ok(bf16.relL2Mean < 0.006 && bf16.relL2P95 < 0.015 && bf16.top1 >= 0.97, JSON.stringify(bf16));
    assert.ok(int8.relL2Mean < 0.03 && int8.relL2P95 < 0.06 && int8.top1 >= 0.95, JSON.stringify(int8));
    assert.ok(int4.relL2Mean < 0.25 && int4.relL2P95 < 0.5 && int4.top1 >= 0.8, JSON.stringify(int4));
    assert.ok(bf16.prefix >= 50 && int8.prefix >= 30, `greedy prefixes ${bf16.prefix}, ${int8.prefix}`);
    // coherent text: the f32 model finds each dtype's greedy text about as likely as its own, and far from random
    for (const [dtype, r] of results) assert.ok(r.nll < f32Nll + 0.5 && r.nll < randomNll / 3, `${dtype}: NLL ${r.nll} vs f32 ${f32Nll}, random ${randomNll}`);
  });

  test('an unknown dtype is an InvalidArgumentError', async () => {
    const w = stories260KRef();
    await assert.rejects(
      load(refReader(w), configOf(w), { dtype: 'int3' as WeightDtype }),
      (e: unknown) => e instanceof InvalidArgumentError && /dtype: expected a weight type \(auto, f32, bf16, f16, int8, int4, .*\), got "int3"/.test(e.message),
    );
  });
});

/** The engine's RoleReader (the resolved tensor table), logging which kind of read each role got. */
function tensorReader(t: ModelTensors, reads: string[]): RoleReader {
  return {
    has: t.has,
    shape: t.shape,
    dtype: t.dtype,
    readF32: (role, dest, rows) => (reads.push(`F32 ${role}`), t.readF32(role, dest, rows)),
    readBytes: (role, dest, rows) => (reads.push(`${t.dtype(role)} ${role}`), t.readBytes(role, dest, rows)),
  };
}

/** stories260K.gguf rewritten with its 2-D tensors in `type` where possible; `tied` drops output.weight. */
async function rewriteGguf(type: 'Q8_0' | 'BF16' | 'F16' | GgmlQuantType, tied: boolean): Promise<Uint8Array> {
  const f = await GgufFile.open(bytesSource('stories260K.gguf', readFixture('stories260K.gguf')));
  const tensors: GgufTensorToWrite[] = [];
  for (const info of f.tensors.values()) {
    if (tied && info.name === 'output.weight') continue;
    const d = new Float32Array(info.elements);
    await f.readTensorF32(info.name, d);
    const cols = info.shape[info.shape.length - 1];
    const quant = type !== 'BF16' && type !== 'F16';
    if (info.shape.length !== 2 || (quant && cols % 32 !== 0)) tensors.push({ name: info.name, type: 'F32', shape: info.shape, data: d });
    else if (type === 'Q8_0') tensors.push({ name: info.name, type, shape: info.shape, data: quantizeQ8_0(d) });
    else if (quant) tensors.push({ name: info.name, type, shape: info.shape, data: quantizeGgml(type, d, info.shape[0]!, cols) });
    else tensors.push({ name: info.name, type, shape: info.shape, data: type === 'BF16' ? f32ToBf16Array(d) : f32ToF16Array(d) });
  }
  return writeGguf({ version: 3, metadata: [...f.metadata], tensors });
}

async function ggufModel(bytes: Uint8Array, dtype: WeightDtype, raw: boolean, reads: string[], stagingBytes?: number): Promise<LlamaModel> {
  const opened = await openGgufModel(bytesSource('m.gguf', bytes));
  const reader = tensorReader(opened.tensors, reads);
  if (!raw) delete reader.readBytes;
  return load(reader, opened.config, { dtype, capacity: 64, ...(stagingBytes !== undefined ? { chunkBytes: stagingBytes } : {}) });
}

describe('loading stored weights as they are', () => {
  test('matrices load slice by slice through a small staging region (whole panels and heads, GGUF q/k rows un-permuted per slice): the same model', async () => {
    const q8 = await rewriteGguf('Q8_0', false);
    const bf16 = await rewriteGguf('BF16', false);
    const f32 = readFixture('stories260K.gguf');
    // [file, dtype, read as stored]: Q8_0 and BF16 blocks kept, F32 converted to Q4_0 (the kernel quantiser) and Q5_1 (the TS one)
    const cases: [Uint8Array, WeightDtype, boolean][] = [[q8, 'auto', true], [bf16, 'bf16', true], [f32, 'int4', true], [f32, 'q5_1', true]];
    for (const [bytes, dtype, raw] of cases) {
      const oneRead: string[] = [];
      const slicedReads: string[] = [];
      const whole = await ggufModel(bytes, dtype, raw, oneRead);
      const sliced = await ggufModel(bytes, dtype, raw, slicedReads, 1); // slices of lcm(4, headDim = 8) = 8 rows
      // the smallest staging holds one row unit of the widest matrix as f32: stored rows (Q8_0, BF16) are narrower, so more fit a slice
      assert.ok(slicedReads.length > 2 * oneRead.length, `${dtype}: ${slicedReads.length} slice reads vs ${oneRead.length} whole reads`);
      const V = whole.config.vocabSize;
      const seq = greedy(await ggufModel(bytes, dtype, raw, []), 12);
      for (let pos = 0; pos < 12; pos++) {
        for (const m of [whole, sliced]) {
          m.tokens[0] = seq[pos];
          m.positions[0] = pos;
          m.forward(1);
          m.cache.commit(1);
        }
        assert.deepEqual(new Uint32Array(sliced.logits.slice(0, V).buffer), new Uint32Array(whole.logits.slice(0, V).buffer), `${dtype} pos ${pos}`);
      }
    }
  });

  test('GGML blocks converted to another type (f32, bf16, int4, int8) are read as stored and dequantised in WebAssembly: the same model as through readF32', async () => {
    for (const type of ['Q5_0', 'Q4_1', 'Q8_0', 'IQ4_NL'] as const) {
      const bytes = await rewriteGguf(type, false);
      for (const dtype of ['f32', 'bf16', 'int4', 'int8'] as const) {
        if (type === 'Q8_0' && dtype === 'int8') continue; // kept as stored: the test above
        const reads: string[] = [];
        const wasm = await ggufModel(bytes, dtype, true, reads);
        const sliced = await ggufModel(bytes, dtype, true, [], 1); // one row unit per slice (GGUF q/k rows un-permuted per slice)
        const js = await ggufModel(bytes, dtype, false, []); // readF32 only: dequantizeGgml in TypeScript
        // every matrix with 64 columns is stored in the type: q, k, v, o, gate, up per layer, the head and the embedding
        assert.equal(reads.filter((r) => r.startsWith(type)).length, 5 * 6 + 2, `${type} → ${dtype}: ${reads.join(', ')}`);
        const V = js.config.vocabSize;
        const seq = greedy(await ggufModel(bytes, dtype, false, []), 8);
        for (let pos = 0; pos < 8; pos++) {
          for (const m of [wasm, sliced, js]) {
            m.tokens[0] = seq[pos];
            m.positions[0] = pos;
            m.forward(1);
            m.cache.commit(1);
          }
          const want = new Uint32Array(js.logits.slice(0, V).buffer);
          assert.deepEqual(new Uint32Array(wasm.logits.slice(0, V).buffer), want, `${type} → ${dtype}, pos ${pos}`);
          assert.deepEqual(new Uint32Array(sliced.logits.slice(0, V).buffer), want, `${type} → ${dtype} in slices, pos ${pos}`);
        }
      }
    }
    // a block with an Inf scale (row 5's second block of blk.1.attn_v.weight) is refused, naming the row and its columns
    const bytes = await rewriteGguf('Q5_0', false);
    const info = (await GgufFile.open(bytesSource('q5.gguf', bytes))).tensors.get('blk.1.attn_v.weight')!;
    const broken = bytes.slice();
    broken[info.offset + (5 * 2 + 1) * 22 + 1] = 0x7c; // f16 d = +Inf
    await assert.rejects(ggufModel(broken, 'f32', true, []), (e: unknown) => e instanceof WeightsFormatError && /row 5, columns 32\.\.63: expected a Q5_0 block with finite f16 scales/.test(e.message));
    // decoded values beyond ±65504 (a Q8_0 scale of 60000) are noted for the load's warning, as readF32 notes them
    const big = (await rewriteGguf('Q8_0', false)).slice();
    const v = (await GgufFile.open(bytesSource('q8.gguf', big))).tensors.get('blk.1.attn_v.weight')!;
    big[v.offset] = 0x53;
    big[v.offset + 1] = 0x7b; // block 0's d: f16 0x7b53 = 60000
    const loaded = await loadGgufModel(createNodeRuntime(), bytesSource('big.gguf', big), { dtype: 'f32', capacity: 64 });
    assert.equal(loaded.warnings.length, 1, loaded.warnings.join('\n'));
    assert.match(loaded.warnings[0]!, /^\d+ weights? beyond ±65504 \(the f16 range\), the largest [0-9.e+]+ in blk\.1\.attn_v\.weight/);
  });

  test('GGUF Q8_0 (tied head): int8 reads every Q8_0 matrix as stored (never through f32) and matches the f32 model of the same values', async () => {
    const bytes = await rewriteGguf('Q8_0', true);
    const reads: string[] = [];
    const direct = await ggufModel(bytes, 'int8', true, reads);
    const q8Reads = reads.filter((r) => r.startsWith('Q8_0'));
    // every matrix with 64 columns is Q8_0: q, k, v, o, gate, up per layer and the tied head; down (172 columns) stays F32
    assert.equal(q8Reads.length, 5 * 6 + 1);
    assert.ok(q8Reads.includes('Q8_0 embed'), 'the tied head is packed from the Q8_0 embedding');
    assert.deepEqual(reads.filter((r) => r.startsWith('F32') && !/Norm|norm|wDown/.test(r)), []);
    // the same file through readF32 only: f32 weights equal to the Q8_0 values, and int8 re-quantised from them
    const viaF32 = await ggufModel(bytes, 'f32', true, []);
    const auto = await ggufModel(bytes, 'auto', true, []); // as stored: Q8_0 matrices, the F32 down_proj
    const requant = await ggufModel(bytes, 'int8', false, []);
    const V = direct.config.vocabSize;
    const seq = greedy(await ggufModel(bytes, 'f32', true, []), 40);
    let worst = 0;
    let autoWorst = 0;
    for (let pos = 0; pos < 40; pos++) {
      for (const m of [direct, viaF32, requant, auto]) {
        m.tokens[0] = seq[pos];
        m.positions[0] = pos;
        m.forward(1);
        m.cache.commit(1);
      }
      const a = direct.logits.subarray(0, V), b = viaF32.logits.subarray(0, V), c = requant.logits.subarray(0, V);
      // quantizeQ8_0 blocks always hold a ±127 quant, so re-quantising their values gives the same quants and scales
      assert.deepEqual(c, a, `pos ${pos}: direct Q8_0 vs re-quantised`);
      const d = auto.logits.subarray(0, V);
      let an = 0;
      for (let v = 0; v < V; v++) an += (d[v] - b[v]) ** 2;
      autoWorst = Math.max(autoWorst, Math.sqrt(an / b.reduce((t, x) => t + x * x, 0)));
      let num = 0, den = 0;
      for (let v = 0; v < V; v++) {
        num += (a[v] - b[v]) ** 2;
        den += b[v] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(num / den));
    }
    assert.ok(worst < 0.05, `int8 (activations quantised) vs f32 on identical weights: rel. L2 ${worst}`);
    assert.ok(autoWorst < 0.05, `auto (Q8_0 as stored, F32 down_proj) vs f32 on identical weights: rel. L2 ${autoWorst}`);
  });

  test('BF16 GGUF: bf16 keeps the stored bits (no f32 round trip) and equals bf16 packed from f32; F16 → bf16 rounds (lossy) and loads; F16 as stored is exact', async () => {
    const reads: string[] = [];
    const bf16Bytes = await rewriteGguf('BF16', false);
    const direct = await ggufModel(bf16Bytes, 'bf16', true, reads);
    assert.equal(reads.filter((r) => r.startsWith('BF16')).length, 5 * 7 + 2, 'every matrix, the head and the (untied) embedding as stored');
    assert.deepEqual(reads.filter((r) => r.startsWith('F32') && !/Norm|norm/.test(r)), []);
    const fromF32 = await ggufModel(bf16Bytes, 'bf16', false, []); // BF16 → f32 (exact) → RNE → the same bits
    const f16Bytes = await rewriteGguf('F16', false);
    const f16 = await ggufModel(f16Bytes, 'bf16', true, []);
    const f16Reads: string[] = [];
    const f16Auto = await ggufModel(f16Bytes, 'auto', true, f16Reads);
    assert.equal(f16Reads.filter((r) => r.startsWith('F16')).length, 5 * 7 + 2, 'every F16 matrix (and the untied embedding) read as stored');
    const f16AsF32 = await ggufModel(f16Bytes, 'f32', true, []); // the same f16 values, f32 kernels
    const f32 = await ggufModel(readFixture('stories260K.gguf'), 'f32', true, []);
    const V = direct.config.vocabSize;
    const seq = greedy(await ggufModel(readFixture('stories260K.gguf'), 'f32', true, []), 30);
    for (let pos = 0; pos < 30; pos++) {
      for (const m of [direct, fromF32, f16, f32, f16Auto, f16AsF32]) {
        m.tokens[0] = seq[pos];
        m.positions[0] = pos;
        m.forward(1);
        m.cache.commit(1);
      }
      assert.deepEqual(fromF32.logits.subarray(0, V), direct.logits.subarray(0, V), `pos ${pos}`);
      let num = 0, den = 0;
      const a = f16.logits.subarray(0, V), b = f32.logits.subarray(0, V);
      for (let v = 0; v < V; v++) {
        num += (a[v] - b[v]) ** 2;
        den += b[v] ** 2;
      }
      assert.ok(Math.sqrt(num / den) < 0.03, `F16 → bf16 vs f32 at pos ${pos}: ${Math.sqrt(num / den)}`);
      // F16 kept as stored computes with exactly the f16 values: equal to f32 kernels over them up to f32 rounding
      const e = f16Auto.logits.subarray(0, V), g = f16AsF32.logits.subarray(0, V);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(e[v] - g[v]) <= 1e-4 * (1 + Math.abs(g[v])), `pos ${pos}: F16 auto vs f32 of the same values`);
    }
  });
});
