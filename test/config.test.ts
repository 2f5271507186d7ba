import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/errors.js';
import { kvDim, loadHfConfig, parseConfigJson, parseGenerationConfig, parseHfConfig, type ModelConfig } from '../src/config.js';
import { memoryModelSource } from '../src/io/source.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url)), 'utf8');
const F = 'dir/config.json';

/** A minimal valid config.json. */
const base = (): Record<string, unknown> => ({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  vocab_size: 512,
});

function fails(patch: Record<string, unknown>, pattern: RegExp | string, drop: string[] = []): void {
  const json = { ...base(), ...patch };
  for (const k of drop) delete json[k];
  let caught: unknown;
  try {
    parseHfConfig(json, F);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(patch)} without ${drop}, got ${String(caught)}`);
  assert.ok(caught.message.startsWith(`${F}: `), caught.message);
  if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `${caught.message} should contain ${pattern}`);
  else assert.match(caught.message, pattern);
}

test('config: the real TinyStories-656K config.json', () => {
  const c = parseHfConfig(parseConfigJson(fixture('tinystories-656K/config.json'), F), F);
  const expected: ModelConfig = {
    dim: 128,
    hiddenDim: 384,
    nLayers: 2,
    nHeads: 8,
    nKvHeads: 4,
    headDim: 16,
    vocabSize: 2048,
    maxSeqLen: 512,
    ropeTheta: 10000,
    normEps: 1e-6,
    tiedEmbeddings: true,
    bosTokenId: 1,
    eosTokenId: 2,
    eosTokenIds: [2],
    architecture: 'llama',
  };
  assert.deepEqual(c, expected);
  assert.equal(kvDim(c), 64);
  const g = parseGenerationConfig(parseConfigJson(fixture('tinystories-656K/generation_config.json'), 'g.json'), 'g.json');
  assert.deepEqual(g, { bosTokenId: 1, eosTokenIds: [2] });
});

test('config: Hugging Face LlamaConfig defaults for omitted optional fields', () => {
  const c = parseHfConfig(base(), F);
  assert.equal(c.nKvHeads, 8); // = num_attention_heads
  assert.equal(c.headDim, 8); // hidden_size / heads
  assert.equal(c.maxSeqLen, 2048);
  assert.equal(c.normEps, 1e-6);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.tiedEmbeddings, false);
  assert.equal(c.bosTokenId, 1);
  assert.equal(c.eosTokenId, 2);
  // null means "no such token", not the default.
  const n = parseHfConfig({ ...base(), bos_token_id: null, eos_token_id: null, num_key_value_heads: null, head_dim: null, rope_scaling: null }, F);
  assert.equal(n.bosTokenId, null);
  assert.equal(n.eosTokenId, null);
  assert.deepEqual(n.eosTokenIds, []);
  assert.equal(n.nKvHeads, 8);
  // Only model_type, or only architectures, identifies the model.
  const { architectures: _a, ...noArch } = base();
  assert.equal(parseHfConfig(noArch, F).dim, 64);
  const { model_type: _m, ...noType } = base();
  assert.equal(parseHfConfig(noType, F).dim, 64);
});

test('config: an eos list keeps every id, eosTokenId is the first', () => {
  const c = parseHfConfig({ ...base(), eos_token_id: [7, 2, 9] }, F);
  assert.equal(c.eosTokenId, 7);
  assert.deepEqual(c.eosTokenIds, [7, 2, 9]);
});

test('config: an explicit head_dim (also one wider than hidden_size / heads), and transformers v5 rope_parameters', () => {
  assert.equal(parseHfConfig({ ...base(), head_dim: 8 }, F).headDim, 8);
  assert.equal(parseHfConfig({ ...base(), head_dim: 16 }, F).headDim, 16); // attention 8 × 16 = 128 wide over a 64-wide stream
  const c = parseHfConfig({ ...base(), rope_parameters: { rope_type: 'default', rope_theta: 500000 } }, F);
  assert.equal(c.ropeTheta, 500000);
  assert.equal(parseHfConfig({ ...base(), rope_theta: 5e5, rope_parameters: { rope_theta: 5e5 } }, F).ropeTheta, 5e5);
});

const errors: [string, Record<string, unknown>, RegExp | string, string[]?][] = [
  ['another architecture', { architectures: ['FalconForCausalLM'] }, 'architectures: expected one of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Phi3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM (the causal LMs spechub runs), got ["FalconForCausalLM"]'],
  ['a sequence classifier', { architectures: ['LlamaForSequenceClassification'] }, 'architectures: expected one of LlamaForCausalLM, '],
  ['architectures not a list', { architectures: 'LlamaForCausalLM' }, 'architectures: expected a list of class names, got "LlamaForCausalLM"'],
  ['another model_type', { model_type: 'falcon' }, 'model_type: expected one of "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "gemma3_text", got "falcon"'],
  ['model_type disagreeing with architectures', { model_type: 'mistral' }, 'expected model_type and architectures to agree, got model_type "mistral" and architectures ["LlamaForCausalLM"]'],
  ['the multimodal Gemma-3', { model_type: 'gemma3', architectures: null }, 'model_type: "gemma3" is the multimodal Gemma-3'],
  ['no architecture at all', {}, 'expected model_type or architectures naming the model class, got neither', ['architectures', 'model_type']],
  ['a missing size', {}, 'hidden_size: expected a positive integer, got nothing (required)', ['hidden_size']],
  ['a zero size', { num_hidden_layers: 0 }, 'num_hidden_layers: expected a positive integer, got 0'],
  ['a fractional size', { intermediate_size: 171.5 }, 'intermediate_size: expected a positive integer, got 171.5'],
  ['a string size', { vocab_size: '512' }, 'vocab_size: expected a positive integer, got "512"'],
  ['a negative KV head count', { num_key_value_heads: -4 }, 'num_key_value_heads: expected a positive integer, got -4'],
  ['hidden_size not divisible by heads', { num_attention_heads: 6 }, 'expected hidden_size divisible by num_attention_heads, got 64 and 6'],
  ['a Phi-3 head_dim unlike hidden_size / heads', { model_type: 'phi3', architectures: ['Phi3ForCausalLM'], head_dim: 16 }, 'head_dim: expected hidden_size / num_attention_heads = 8 (Phi-3 has no separate head_dim), got 16'],
  ['KV heads not dividing heads', { num_key_value_heads: 3 }, 'num_key_value_heads: expected a divisor of num_attention_heads (8), got 3'],
  ['an odd head dimension', { hidden_size: 56, num_attention_heads: 8 }, 'expected an even head dimension (RoPE rotates pairs), got 7'],
  ['another activation', { hidden_act: 'gelu' }, 'hidden_act: expected "silu" (SwiGLU), got "gelu"'],
  ['attention bias on Phi-3', { model_type: 'phi3', architectures: ['Phi3ForCausalLM'], attention_bias: true }, 'attention_bias: expected false (phi3 has no attention biases), got true'],
  ['MLP bias on Mistral', { model_type: 'mistral', architectures: ['MistralForCausalLM'], mlp_bias: true }, 'mlp_bias: expected false (mistral has no MLP biases), got true'],
  ['a non-boolean bias flag', { mlp_bias: 'no' }, 'mlp_bias: expected true or false, got "no"'],
  ['llama3 RoPE scaling without its frequency factors', { rope_scaling: { rope_type: 'llama3', factor: 8 } }, 'rope_scaling.low_freq_factor: expected a positive number for "llama3" scaling, got nothing (required)'],
  ['dynamic NTK RoPE scaling', { rope_scaling: { type: 'dynamic', factor: 2 } }, 'rope_scaling: type "dynamic" is not supported (spechub honours default, linear, llama3 and yarn RoPE scaling)'],
  ['LongRoPE', { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [2] } }, 'rope_scaling: type "longrope" (LongRoPE, Phi-3\'s 128k-context scaling) is not supported'],
  ['rope_parameters with an incomplete yarn', { rope_parameters: { rope_type: 'yarn', rope_theta: 1e4 } }, 'rope_parameters.factor: expected a positive number for "yarn" scaling, got nothing (required)'],
  ['an unknown RoPE scaling field', { rope_scaling: { type: 'linear', factor: 2, smoothing: 3 } }, 'rope_scaling.smoothing: not a field of "linear" RoPE scaling in llama (it would change RoPE), got 3'],
  ['DeepSeek-style YaRN mscale', { rope_scaling: { type: 'yarn', factor: 4, mscale: 0.7 } }, 'rope_scaling.mscale: DeepSeek-style YaRN magnitude scaling is not supported, got 0.7'],
  ['partial rotary embeddings', { partial_rotary_factor: 0.5 }, 'partial_rotary_factor: expected 1 (partial rotary embeddings are not supported), got 0.5'],
  ['rope_parameters disagreeing with rope_theta', { rope_theta: 1e4, rope_parameters: { rope_theta: 5e5 } }, 'expected rope_theta and rope_parameters.rope_theta to agree, got 10000 and 500000'],
  ['a zero rms_norm_eps', { rms_norm_eps: 0 }, 'rms_norm_eps: expected a positive finite number, got 0'],
  ['a negative rope_theta', { rope_theta: -1 }, 'rope_theta: expected a positive finite number, got -1'],
  ['a string rope_theta', { rope_theta: 'big' }, 'rope_theta: expected a positive finite number, got "big"'],
  ['a non-boolean tie_word_embeddings', { tie_word_embeddings: 1 }, 'tie_word_embeddings: expected true or false, got 1'],
  ['a bos id outside the vocabulary', { bos_token_id: 512 }, 'bos token id: expected an integer in [0, 512), got 512'],
  ['an eos list with a bad id', { eos_token_id: [2, -1] }, 'eos token id: expected an integer in [0, 512), got -1'],
  ['an empty eos list', { eos_token_id: [] }, 'eos_token_id: expected a token id, a non-empty list of token ids, or null, got []'],
  ['a bos list', { bos_token_id: [1, 2] }, 'bos_token_id: expected one token id, got [1,2]'],
  ['a quantized checkpoint', { quantization_config: { quant_method: 'gptq' } }, 'quantization_config: quantized Hugging Face checkpoints are not supported'],
  ['a non-integer max_position_embeddings', { max_position_embeddings: 1e400 }, 'max_position_embeddings: expected a positive integer'],
];
for (const [what, patch, pattern, drop] of errors) {
  test(`config: rejects ${what}`, () => fails(patch, pattern, drop));
}

test('config: non-objects and duplicate keys are ConfigErrors naming the file', () => {
  assert.throws(() => parseHfConfig([1], F), (e: unknown) => e instanceof ConfigError && e.message === `${F}: expected a JSON object, got [1]`);
  assert.throws(
    () => parseConfigJson('{"hidden_size": 64, "hidden_size": 128}', F),
    (e: unknown) => e instanceof ConfigError && e.message === `${F}: expected unique keys, got "hidden_size" twice at the top level`,
  );
  assert.throws(() => parseConfigJson('{', F), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${F}: expected valid JSON`));
});

test('config: generation_config.json is optional; its fields are type-checked', async () => {
  const g = parseGenerationConfig({ bos_token_id: 1, eos_token_id: [2, 3], pad_token_id: null, do_sample: true, temperature: 0.7, top_k: 40, top_p: 0.9, max_length: 100, other: 'x' }, 'g');
  assert.deepEqual(g, { bosTokenId: 1, eosTokenIds: [2, 3], padTokenId: null, doSample: true, temperature: 0.7, topK: 40, topP: 0.9, maxLength: 100 });
  for (const [patch, msg] of [
    [{ temperature: -1 }, 'g: temperature: expected a finite number >= 0, got -1'],
    [{ top_p: 1.5 }, 'g: top_p: expected a number in (0, 1], got 1.5'],
    [{ eos_token_id: 'x' }, 'g: eos_token_id: expected a token id or a list of token ids, got "x"'],
    [{ do_sample: 1 }, 'g: do_sample: expected true or false, got 1'],
  ] as const) {
    assert.throws(() => parseGenerationConfig(patch, 'g'), (e: unknown) => e instanceof ConfigError && e.message === msg);
  }
  const withGen = await loadHfConfig(memoryModelSource('m', { 'config.json': JSON.stringify(base()), 'generation_config.json': '{"eos_token_id": 2}' }));
  assert.deepEqual(withGen.generation, { eosTokenIds: [2] });
  const noGen = await loadHfConfig(memoryModelSource('m', { 'config.json': JSON.stringify(base()) }));
  assert.equal(noGen.generation, null);
  assert.equal(noGen.config.dim, 64);
  await assert.rejects(() => loadHfConfig(memoryModelSource('m', {})), (e: unknown) => e instanceof ConfigError && e.message === 'm/config.json: expected a Hugging Face config.json, found none');
});
