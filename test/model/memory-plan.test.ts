// The memory plan (issue 8 item 4, issue 11 defects 2 and 10): what a load needs, computed from the
// config before anything is allocated, and one line when it does not fit.
//  - the plan is what a load allocates (every architecture, every dtype, with and without a context);
//  - real model shapes (config.json of Llama-3.2-1B/3B, Qwen2.5-3B, SmolLM2-360M, …): what fits the
//    4 GiB WebAssembly memory at which dtype and context;
//  - a model that does not fit fails before any tensor is read, from synthetic safetensors and GGUF
//    headers describing the real model (no data anywhere; a sparse file for the CLI), with the bytes of
//    each part and what would fit (library: dtype/capacity; CLI: --dtype/--max-context), one line;
//  - every path gives that message: the engine refusing to grow, a huge context, a context made later;
//  - huge layer counts are refused at once;
//  - streamed loading (chunks of rows through a small staging buffer) gives the same model as
//    whole-matrix reads, and reports progress.
import type { KvType } from '../../src/model/kv-cache.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHfConfigDetailed, type ModelConfig } from '../../src/config.js';
import { createNodeRuntime } from '../../src/node.js';
import { ConfigError, MemoryPlanError, WeightsFormatError } from '../../src/errors.js';
import type { ByteSource, ModelSource } from '../../src/io/source.js';
import { bytesSource, memoryModelSource } from '../../src/io/source.js';
import { loadGgufModel, loadHfModel } from '../../src/engine/load.js';
import { LlamaModel, planLoad, type LoadProgress, type WeightDtype } from '../../src/model/llama.js';
import { contextMemory, DEFAULT_CONTEXT, formatBytes, memoryAdvice } from '../../src/model/memory-plan.js';
import { packedBytes } from '../../src/kernels/linear.js';
import type { GgmlType } from '../../src/weights/ggml-quants.js';
import { randomLlamaGguf, randomLlamaTensors } from '../kernels/random-llama.js';
import { ggufFormOf, ggufModelMetadata } from '../../src/weights/gguf-llama.js';
import { ggufParts, quantizeQ8_0, writeGguf } from '../../src/weights/gguf-writer.js';
import { memoryRoleReader, modelRoles, roleNames, roleShape, tensorsToStore } from '../../src/weights/llama-tensors.js';
import { openGgufModel, openHfModel } from '../../src/weights/open-model.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { f32ToBf16Array } from '../../src/weights/tensor.js';
import { randomRoles, sparseSafetensorsHead } from './arch-models.js';

const GiB = 2 ** 30;
const WASM_MEMORY = 4 * GiB;
const ROOT = new URL('../../../', import.meta.url);
const REAL = new URL('test/fixtures/real-configs/', ROOT);
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** A real config.json (origins in test/fixtures/real-configs/SOURCES.md), with `patch` applied. */
function realJson(folder: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...JSON.parse(readFileSync(new URL(`${folder}/config.json`, REAL), 'utf8')), ...patch };
}
function realConfig(folder: string, patch: Record<string, unknown> = {}): ModelConfig {
  return parseHfConfigDetailed(realJson(folder, patch), folder).config;
}

/** Small models of every architecture (the same families as test/model/architectures.test.ts). */
const SMALL: Record<string, Record<string, unknown>> = {
  llama: { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, tie_word_embeddings: false },
  qwen2: { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, tie_word_embeddings: true },
  qwen3: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, vocab_size: 64, max_position_embeddings: 64, tie_word_embeddings: true },
  phi3: { architectures: ['Phi3ForCausalLM'], model_type: 'phi3', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, vocab_size: 64, max_position_embeddings: 64, original_max_position_embeddings: 64, rope_scaling: null, sliding_window: null, bos_token_id: 1, eos_token_id: 2 },
  gemma3: { architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, vocab_size: 64, max_position_embeddings: 64, rope_theta: 1e6, rope_local_base_freq: 10000, query_pre_attn_scalar: 8, sliding_window: 4, sliding_window_pattern: 2, rope_scaling: null },
};

describe('memory plan', () => {
  test('the plan is what a load allocates: every architecture, every dtype, with and without its own context', async () => {
    for (const [arch, json] of Object.entries(SMALL)) {
      const c = parseHfConfigDetailed(json, arch).config;
      const roles = randomRoles(c, 3);
      for (const dtype of ['f32', 'bf16', 'int8', 'int4'] as const) {
        for (const defaultContext of [true, false]) {
          const rt = createNodeRuntime();
          const before = rt.arena.mark();
          const options = { dtype, maxBatch: 16, capacity: 40, defaultContext };
          const m = await LlamaModel.load(rt, c, memoryRoleReader(c, (r) => roles.get(r)), options);
          const plan = planLoad(c, options);
          assert.deepEqual(m.memoryPlan, plan);
          // the staging buffer went back when the load ended; the rest stays
          const used = rt.arena.mark() - before;
          assert.ok(Math.abs(used - (plan.total - plan.staging)) < 128, `${arch} ${dtype} ${defaultContext}: arena grew ${used}, plan ${plan.total - plan.staging}`);
          assert.equal(plan.kvCache, defaultContext ? 2 * c.nLayers * Math.ceil(((40 + 16) * c.nKvHeads * c.headDim * 4) / 64) * 64 : 0);
        }
      }
    }
  });

  test('a file whose layers store one role in different types (as Q4_K_M does): the plan counts each layer as stored', async () => {
    // layer 0's ffn_down in Q6_K, layer 1's in Q4_K, the rest Q8_0 (planning every layer as layer 0 counted Q6_K twice)
    const typeOf = (name: string): GgmlType => (name === 'blk.0.ffn_down.weight' ? 'Q6_K' : name === 'blk.1.ffn_down.weight' ? 'Q4_K' : name.endsWith('norm.weight') ? 'F32' : 'Q8_0');
    const bytes = randomLlamaGguf(randomLlamaTensors(5), typeOf);
    const rt = createNodeRuntime();
    const before = rt.arena.mark();
    const options = { maxBatch: 16, capacity: 40 };
    const loaded = await loadGgufModel(rt, bytesSource('mixed.gguf', bytes), options);
    const plan = loaded.model.memoryPlan;
    const c = loaded.config;
    const down = (t: 'Q6_K' | 'Q4_K') => Math.ceil(packedBytes(t, c.dim, c.hiddenDim) / 64) * 64;
    assert.equal(plan.linearBytes.get('Q6_K'), down('Q6_K'));
    assert.equal(plan.linearBytes.get('Q4_K'), down('Q4_K'));
    const used = rt.arena.mark() - before;
    assert.ok(Math.abs(used - (plan.total - plan.staging)) < 128, `arena grew ${used}, plan ${plan.total - plan.staging}`);
  });

  test('the default context: min(max_position_embeddings, 4096); capacity overrides it', async () => {
    assert.equal(DEFAULT_CONTEXT, 4096);
    const c = realConfig('llama-3.2-1b-instruct');
    assert.equal(c.maxSeqLen, 131072);
    assert.equal(planLoad(c, { dtype: 'int8' }).capacity, 4096);
    assert.equal(planLoad(c, { dtype: 'int8', capacity: 1000 }).capacity, 1000);
    assert.equal(planLoad(realConfig('smollm2-135m', { max_position_embeddings: 2048 })).capacity, 2048);
    const rt = createNodeRuntime();
    const small = parseHfConfigDetailed({ ...SMALL.llama!, max_position_embeddings: 100_000 }, 's').config;
    const roles = randomRoles(small, 1);
    const m = await LlamaModel.load(rt, small, memoryRoleReader(small, (r) => roles.get(r)));
    assert.equal(m.cache.capacity, 4096);
    assert.equal(m.defaultCapacity, 4096);
  });

  // Llama-3.2-1B as bf16/int8, Llama-3.2-3B and Qwen2.5-3B as int4 (int8 where it fits) at the default
  // context of 4096 positions; f32 of the 1B model does not fit.
  test('real model shapes: what fits the 4 GiB WebAssembly memory', () => {
    const rows: string[] = [];
    const fits = (folder: string, dtype: WeightDtype, capacity = DEFAULT_CONTEXT, patch: Record<string, unknown> = {}) => {
      const p = planLoad(realConfig(folder, patch), { dtype, capacity, maxBatch: 64 });
      rows.push(`${folder} ${dtype} ${capacity}: ${formatBytes(p.total)} (weights ${formatBytes(p.weights)}, KV ${formatBytes(p.kvCache)}, activations ${formatBytes(p.activations)}, scratch ${formatBytes(p.scratch)})`);
      return p.total <= WASM_MEMORY;
    };
    const causal = { architectures: ['LlamaForCausalLM'] };
    assert.equal(fits('llama-3.2-1b-instruct', 'f32'), false);
    assert.equal(fits('llama-3.2-1b-instruct', 'bf16'), true);
    assert.equal(fits('llama-3.2-1b-instruct', 'int8'), true);
    assert.equal(fits('llama-3.2-3b-instruct', 'bf16'), false);
    assert.equal(fits('llama-3.2-3b-instruct', 'int4'), true);
    assert.equal(fits('llama-3.2-3b-instruct', 'int8', 2048), true);
    assert.equal(fits('qwen2.5-3b-instruct', 'int4'), true);
    assert.equal(fits('qwen2.5-3b-instruct', 'int8'), true);
    assert.equal(fits('smollm2-360m-instruct-resaved', 'f32', DEFAULT_CONTEXT, causal), true);
    assert.equal(fits('qwen2.5-0.5b-instruct', 'f32'), true);
    assert.equal(fits('tinyllama-1.1b-chat-v1.0', 'bf16', 2048), true);
    assert.equal(fits('tinyllama-1.1b-chat-v1.0', 'f32', 2048), false);
    console.log(rows.join('\n'));
  });

  // README "Several streams on one model": what a context costs and how many fit beside the weights
  test('the README table of streams on one model is the memory plan (per context, the load, streams in 4 GiB)', () => {
    const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
    const row = (label: string, c: ModelConfig, dtype: WeightDtype, capacity: number, kvType: KvType = 'f32') => {
      const ctx = contextMemory(c, capacity, 64, kvType);
      const per = ctx.kvCache + ctx.activations;
      const load = planLoad(c, { dtype, capacity, maxBatch: 64, kvType }).total;
      const streams = 1 + Math.floor((WASM_MEMORY - load) / per);
      return `| ${label} | ${dtype} | ${capacity} | ${kvType} | ${formatBytes(per)} (KV cache ${formatBytes(ctx.kvCache)}) | ${formatBytes(load)} | ${streams} |`;
    };
    const stories = parseHfConfigDetailed(JSON.parse(readFileSync(new URL('weights/stories260K/config.json', ROOT), 'utf8')), 'stories260K').config;
    const smol = realConfig('smollm2-360m-instruct-resaved', { architectures: ['LlamaForCausalLM'] });
    const rows = [row('stories260K (shipped)', stories, 'f32', 512), row('SmolLM2-360M', smol, 'f32', 4096), row('SmolLM2-360M', smol, 'int8', 4096), row('SmolLM2-360M', smol, 'int8', 4096, 'f16'), row('SmolLM2-360M', smol, 'int8', 1024)];
    const missing = rows.filter((r) => !readme.includes(r));
    assert.deepEqual(missing, [], `README.md lacks these rows (or has other numbers):\n${missing.join('\n')}`);
  });
});

/** A byte source of `size` bytes whose first bytes are `head` and the rest zeros; counts reads of tensor data (past the head). */
function syntheticSource(name: string, head: Uint8Array, size: number): ByteSource & { dataReads: number } {
  const src = {
    name,
    size,
    dataReads: 0,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset >= head.length) src.dataReads++;
      const out = new Uint8Array(length);
      if (offset < head.length) out.set(head.subarray(offset, Math.min(head.length, offset + length)));
      return out;
    },
  };
  return src;
}

/** The header of an HF model.safetensors of config `c` with every matrix BF16 (no data). */
function safetensorsHeader(c: ModelConfig): { head: Uint8Array; size: number } {
  const { head, dataBytes } = sparseSafetensorsHead(c);
  return { head, size: head.length + dataBytes };
}

/** The header of a BF16 GGUF of config `c` (ggufParts over views of one zero buffer: nothing is written but the header). */
function ggufHeader(c: ModelConfig): { head: Uint8Array; size: number } {
  const g = ggufFormOf(c);
  const shapes = modelRoles(g).map((role) => roleShape(g, role));
  const largest = Math.max(...shapes.map((s) => s.reduce((a, d) => a * d, 1)));
  const zeros = new ArrayBuffer(4 * largest); // never touched: the pages stay unmapped
  const tensors = modelRoles(g).map((role, i) => {
    const shape = shapes[i]!;
    const n = shape.reduce((a, d) => a * d, 1);
    return shape.length === 2
      ? { name: roleNames(g, 'gguf', role)[0]!, type: 'BF16' as const, shape, data: new Uint16Array(zeros, 0, n) }
      : { name: roleNames(g, 'gguf', role)[0]!, type: 'F32' as const, shape, data: new Float32Array(zeros, 0, n) };
  });
  const { parts, totalBytes } = ggufParts({ metadata: ggufModelMetadata(g), tensors });
  return { head: parts[0]!, size: totalBytes };
}

/** An HF directory source: the real config.json, and model.safetensors from a synthetic header. */
function hfSource(folder: string, patch: Record<string, unknown> = {}): { source: ModelSource; weights: ReturnType<typeof syntheticSource> } {
  const json = realJson(folder, patch);
  const c = parseHfConfigDetailed(json, folder).config;
  const { head, size } = safetensorsHeader(c);
  const weights = syntheticSource(`${folder}/model.safetensors`, head, size);
  const texts: Record<string, string> = { 'config.json': JSON.stringify(json) };
  return {
    weights,
    source: {
      name: folder,
      exists: async (f) => f in texts || f === 'model.safetensors',
      readText: async (f) => {
        if (!(f in texts)) throw new Error(`no ${f}`);
        return texts[f]!;
      },
      open: async (f) => {
        if (f !== 'model.safetensors') throw new Error(`no ${f}`);
        return weights;
      },
    },
  };
}

/** One line; the parts; what would fit. */
function assertPlanMessage(e: unknown, parts: RegExp[]): boolean {
  assert.ok(e instanceof MemoryPlanError, `expected a MemoryPlanError, got ${String(e)}`);
  assert.equal(e.code, 'CAPACITY');
  assert.ok(!e.message.includes('\n'), 'one line');
  for (const p of parts) assert.match(e.message, p);
  return true;
}

describe('memory plan: a model that does not fit fails before anything is read', () => {
  test('Llama-3.2-1B at f32 and Llama-3.2-3B at bf16 (synthetic safetensors and GGUF headers, no data): one line, parts and what would fit', async () => {
    const rt = createNodeRuntime();
    const used = rt.arena.used;
    const hf = hfSource('llama-3.2-1b-instruct');
    await assert.rejects(loadHfModel(rt, hf.source, { dtype: 'f32' }), (e) =>
      assertPlanMessage(e, [
        /^llama-3\.2-1b-instruct: needs \d+\.\d+ GiB: weights \d+\.\d+ GiB \(f32\), KV cache 2\d\d MiB \(4096 positions\), activations \d+(\.\d+)? MiB, scratch \d+(\.\d+)? MiB; \d+\.\d+ GiB free of the 4\.00 GiB WebAssembly memory; would fit: dtype 'bf16' \(\d+\.\d+ GiB in all\)/,
      ]),
    );
    assert.equal(hf.weights.dataReads, 0, 'no tensor data was read');
    assert.equal(rt.arena.used, used, 'nothing was allocated');
    const c3 = realConfig('llama-3.2-3b-instruct');
    const gguf = ggufHeader(c3);
    const src = syntheticSource('llama-3.2-3b.gguf', gguf.head, gguf.size);
    await assert.rejects(loadGgufModel(rt, src, { dtype: 'bf16' }), (e) =>
      assertPlanMessage(e, [/^llama-3\.2-3b\.gguf: needs .* KV cache 9\d\d MiB \(4096 positions\).*would fit: dtype 'int4' \(2\.\d\d GiB in all\), or dtype 'int8' with capacity \d+ \(\d\.\d\d GiB in all\)$/]),
    );
    assert.equal(src.dataReads, 0);
    assert.equal(rt.arena.used, used);
    const e = await loadGgufModel(rt, src, { dtype: 'bf16' }).catch((x: unknown) => x);
    assert.ok(e instanceof MemoryPlanError && e.fits.length === 2 && e.fits[0]!.dtype === 'int4' && e.fits[1]!.dtype === 'int8' && e.fits[1]!.capacity! < 4096);
    assert.ok(e.fits.every((f) => f.total <= WASM_MEMORY));
  });

  test('Llama-3.2-3B at int8 and 4096 positions: with its f32 cache it does not fit, with an f16 cache it does (advised first)', async () => {
    const rt = createNodeRuntime();
    const used = rt.arena.used;
    const c = realConfig('llama-3.2-3b-instruct');
    const gguf = ggufHeader(c);
    const src = syntheticSource('llama-3.2-3b.gguf', gguf.head, gguf.size);
    await assert.rejects(loadGgufModel(rt, src, { dtype: 'int8' }), (e) =>
      assertPlanMessage(e, [/^llama-3\.2-3b\.gguf: needs 4\.\d\d GiB: .*KV cache 910 MiB \(4096 positions\).*; would fit: kvType 'f16' \(3\.\d\d GiB in all\), or dtype 'int4'/]),
    );
    assert.equal(src.dataReads, 0);
    assert.equal(rt.arena.used, used);
    const plan = planLoad(c, { dtype: 'int8', kvType: 'f16' });
    assert.ok(plan.total <= WASM_MEMORY && plan.kvCache * 2 === planLoad(c, { dtype: 'int8' }).kvCache, `f16: ${plan.total} bytes`);
    assert.equal(memoryAdvice([{ kvType: 'f16', total: plan.total }], 'flags'), `would fit: --kv-type f16 (${formatBytes(plan.total)} in all)`);
  });

  test('the CLI: a sparse GGUF of Llama-3.2-1B at f32 exits 1 with one line naming --dtype and --max-context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-plan-'));
    try {
      const { head, size } = ggufHeader(realConfig('llama-3.2-1b-instruct'));
      const path = join(dir, 'llama-3.2-1b.gguf');
      writeFileSync(path, head);
      truncateSync(path, size); // a sparse file of the full size: only the header is on disk
      const r = spawnSync(process.execPath, [CLI, 'generate', '--model', path, '--prompt', 'hi', '--dtype', 'f32', '--threads', '1'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^spechub: MemoryPlanError: .*llama-3\.2-1b\.gguf: needs \d+\.\d+ GiB: weights .*KV cache .*; would fit: --dtype bf16 \(\d+\.\d+ GiB in all\)/);
      const r2 = spawnSync(process.execPath, [CLI, 'generate', '--model', path, '--dtype', 'int8', '--max-context', '2000000', '--threads', '1'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r2.status, 2, 'a context beyond the model is a usage error');
      assert.match(r2.stderr, /capacity <= maxSeqLen \(131072\)/);
      const r3 = spawnSync(process.execPath, [CLI, 'generate', '--model', path, '--dtype', 'int8', '--max-context', '131072', '--threads', '1'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r3.status, 1, r3.stderr);
      assert.match(r3.stderr, /^spechub: MemoryPlanError: .*KV cache \d+\.\d+ GiB \(131072 positions\).*would fit: --max-context \d+ \(/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('defect 10: every path gives the plan message: a huge max_position_embeddings with a huge context, the engine refusing to grow, a context made later', async () => {
    // max_position_embeddings near 2^53 is harmless by default (4096 positions); asked for, it is the KV cache that does not fit
    const big = { ...SMALL.llama!, max_position_embeddings: 2 ** 53 - 1 };
    const c = parseHfConfigDetailed(big, 'big').config;
    const roles = randomRoles(c, 2);
    const files = { 'config.json': JSON.stringify(big), 'model.safetensors': writeSafetensors(tensorsToStore(c, 'hf', (r) => roles.get(r)!).map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data }))), 'tokenizer.json': '{}' };
    const rt = createNodeRuntime();
    await assert.rejects(loadHfModel(rt, memoryModelSource('big', files), { capacity: 2 ** 52 }), (e) =>
      assertPlanMessage(e, [/^big: needs .* KV cache \d+(\.\d+)? EiB \(4503599627370496 positions\).*would fit: capacity \d+/]),
    );
    // the engine may refuse to grow before 4 GiB (a browser tab): the same message, with that limit
    const rt2 = createNodeRuntime();
    const limit = rt2.memory.buffer.byteLength + (24 << 20);
    const grow = rt2.memory.grow.bind(rt2.memory);
    rt2.memory.grow = (pages: number) => {
      if (rt2.memory.buffer.byteLength + pages * 65536 > limit) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      return grow(pages);
    };
    await assert.rejects(LlamaModel.load(rt2, c, memoryRoleReader(c, (r) => roles.get(r)), { capacity: 100_000, maxBatch: 8 }), (e) =>
      assertPlanMessage(e, [/^model: needs .*KV cache .* \(100000 positions\).*; the engine refused to grow the WebAssembly memory past \d+(\.\d+)? MiB \(.* were free for this load\); would fit: capacity \d+/]),
    );
    // a context made later that does not fit
    const m = await LlamaModel.load(createNodeRuntime(), c, memoryRoleReader(c, (r) => roles.get(r)), { capacity: 64, maxBatch: 8 });
    assert.throws(() => m.createContext({ capacity: 2 ** 40 }), (e) =>
      assertPlanMessage(e, [/^model\.ctx1: a context needs .* KV cache .* \(1099511627776 positions\).* free of the 4\.00 GiB WebAssembly memory; would fit: capacity \d+/]),
    );
    assert.equal(m.createContext({ capacity: 2 ** 20 }).cache.capacity, 2 ** 20, 'a context that fits is made');
  });

  test('defect 2: huge layer counts are refused at once, before any per-layer work (num_hidden_layers, block_count 2^20 and 2^31)', async () => {
    for (const n of [2 ** 20, 2 ** 31]) {
      for (const base of [SMALL.llama!, SMALL.gemma3!]) {
        const t0 = performance.now();
        assert.throws(() => parseHfConfigDetailed({ ...base, num_hidden_layers: n }, 'c'), (e) => e instanceof ConfigError && /num_hidden_layers: expected at most 65536 layers/.test((e as Error).message));
        assert.ok(performance.now() - t0 < 1000);
      }
      // a GGUF header declaring n layers over the tensors of 2
      const c = parseHfConfigDetailed(SMALL.llama!, 'c').config;
      const roles = randomRoles(c, 1);
      const g = ggufFormOf(c);
      const meta = ggufModelMetadata(g).map(([k, v]) => (k === 'llama.block_count' ? ([k, { type: 'UINT32', value: n }] as const) : ([k, v] as const)));
      const bytes = writeGguf({ metadata: meta, tensors: tensorsToStore(g, 'gguf', (r) => roles.get(r)!).map((t) => ({ name: t.name, type: 'F32' as const, shape: t.shape, data: t.data })) });
      const t0 = performance.now();
      await assert.rejects(openGgufModel(bytesSource('huge.gguf', bytes)), (e) => e instanceof ConfigError && /llama\.block_count: expected at most 65536 layers/.test((e as Error).message));
      assert.ok(performance.now() - t0 < 1000);
    }
    // below that bound, more layers than tensors is refused before anything is named per layer
    const c = parseHfConfigDetailed(SMALL.llama!, 'c').config;
    const roles = randomRoles(c, 1);
    const st = writeSafetensors(tensorsToStore(c, 'hf', (r) => roles.get(r)!).map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data })));
    const t0 = performance.now();
    await assert.rejects(openHfModel(memoryModelSource('m', { 'config.json': JSON.stringify({ ...SMALL.llama!, num_hidden_layers: 65536 }), 'model.safetensors': st })), (e) =>
      e instanceof WeightsFormatError && /config\.json declares 65536 layers; expected at most as many as the 21 tensors/.test((e as Error).message),
    );
    assert.ok(performance.now() - t0 < 1000);
  });
});

describe('streamed loading', () => {
  test('chunks of rows through a small staging buffer give the same model as whole matrices (f32, BF16 bits, Q8_0 blocks, GGUF q/k rows, fused Phi-3), with progress', async () => {
    const PROMPT = [1, 17, 33, 9, 50, 21];
    const run = (m: LlamaModel) => {
      PROMPT.forEach((t, i) => {
        m.tokens[i] = t;
        m.positions[i] = i;
      });
      m.forward(PROMPT.length);
      return m.logits.slice(0, PROMPT.length * m.config.vocabSize);
    };
    for (const arch of ['llama', 'phi3', 'qwen2'] as const) {
      const json = { ...SMALL[arch]!, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: arch === 'phi3' ? 4 : 2, intermediate_size: 96, vocab_size: 96 };
      const c = parseHfConfigDetailed(json, arch).config;
      const roles = randomRoles(c, 5);
      const hf = writeSafetensors(tensorsToStore(c, 'hf', (r) => roles.get(r)!).map((t) => ({
        name: t.name, shape: t.shape, ...(t.kind === 'matrix' || t.kind === 'embedding' ? { dtype: 'BF16' as const, data: f32ToBf16Array(t.data) } : { dtype: 'F32' as const, data: t.data }),
      })));
      const g = ggufFormOf(c);
      const q8 = writeGguf({
        metadata: ggufModelMetadata(g),
        tensors: tensorsToStore(g, 'gguf', (r) => roles.get(r)!).map((t) => (t.kind === 'matrix' || t.kind === 'embedding'
          ? { name: t.name, type: 'Q8_0' as const, shape: t.shape, data: quantizeQ8_0(t.data) }
          : { name: t.name, type: 'F32' as const, shape: t.shape, data: t.data })),
      });
      const f32gguf = writeGguf({ metadata: ggufModelMetadata(g), tensors: tensorsToStore(g, 'gguf', (r) => roles.get(r)!).map((t) => ({ name: t.name, type: 'F32' as const, shape: t.shape, data: t.data })) });
      const cases = [
        { what: 'BF16 safetensors as bf16 (bits kept)', open: () => openHfModel(memoryModelSource('m', { 'config.json': JSON.stringify(json), 'model.safetensors': hf })), dtype: 'bf16' as const },
        { what: 'BF16 safetensors as f32', open: () => openHfModel(memoryModelSource('m', { 'config.json': JSON.stringify(json), 'model.safetensors': hf })), dtype: 'f32' as const },
        { what: 'Q8_0 GGUF as int8 (blocks kept)', open: () => openGgufModel(bytesSource('m.gguf', q8)), dtype: 'int8' as const },
        { what: 'F32 GGUF (q/k rows un-permuted per head) as int4', open: () => openGgufModel(bytesSource('m.gguf', f32gguf)), dtype: 'int4' as const },
      ];
      for (const k of cases) {
        const load = async (chunkBytes: number | undefined, progress?: LoadProgress[]) => {
          const opened = await k.open();
          const m = await LlamaModel.load(createNodeRuntime(), opened.config, opened.tensors, {
            dtype: k.dtype, maxBatch: 8, capacity: 16, ...(chunkBytes ? { chunkBytes } : {}), ...(progress ? { onProgress: (p: LoadProgress) => progress.push(p) } : {}),
          });
          await opened.close();
          return run(m);
        };
        const progress: LoadProgress[] = [];
        const chunked = await load(1, progress); // one row unit (lcm(4, headDim) rows) at a time
        assert.deepEqual(chunked, await load(undefined), `${arch}: ${k.what}`);
        // progress: from 0 to the stored bytes, never backwards, naming the stored tensors
        assert.equal(progress[0]!.bytes, 0);
        const last = progress[progress.length - 1]!;
        assert.ok(Math.abs(last.bytes - last.total) < 1e-6 * last.total, `${arch} ${k.what}: ends at ${last.bytes} of ${last.total}`);
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.bytes >= progress[i - 1]!.bytes && progress[i]!.total === last.total);
        const opened = await k.open();
        assert.equal(last.total, opened.tensors.all.reduce((a, t) => a + t.bytes, 0));
        const names = new Set(progress.map((p) => p.tensor));
        for (const t of opened.tensors.all) assert.ok(names.has(t.info.name), `${arch} ${k.what}: progress names ${t.info.name}`);
        // matrices of several row units come in chunks, each reported
        assert.ok(progress.length > opened.tensors.all.length + 4, `${arch} ${k.what}: ${progress.length} progress events for ${opened.tensors.all.length} tensors`);
        await opened.close();
      }
    }
  });
});
