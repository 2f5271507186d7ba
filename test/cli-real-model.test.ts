// "Run your own model", end to end as a user would (issue 8 item 5): a random-weight model of
// SmolLM2-360M-Instruct's real dimensions (2 of its 32 layers) with the real SmolLM2 tokenizer and chat
// template, written as a Hugging Face directory (BF16 safetensors) and as a GGUF (BF16, llama.cpp's
// tokenizer metadata), and a SmolLM2-135M-shaped draft (1 layer) with the same tokenizer. Through
// the CLI as child processes:
//  - spechub generate on the directory and on the GGUF: the same greedy tokens;
//  - a speculative run with the draft: the same greedy tokens (exactness);
//  - spechub chat with piped stdin: two turns, the second reusing the first's KV cache;
//  - in a terminal (script(1)): the load draws a progress line and erases it;
// and the progress line's own rules (TTY only, a few MB or more, throttled, erased) on a stand-in stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, closeSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseHfConfigDetailed } from '../src/config.js';
import { ggufFormOf, ggufModelMetadata } from '../src/weights/gguf-llama.js';
import { ggufParts, tokenizerGgufMetadata } from '../src/weights/gguf-writer.js';
import { tensorsToStore, type TensorRole } from '../src/weights/llama-tensors.js';
import { safetensorsParts } from '../src/weights/safetensors-writer.js';
import { f32ToBf16Array } from '../src/weights/tensor.js';
import { terminalProgress } from '../src/node/progress.js';
import { randomRoles } from './model/arch-models.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const FIXTURES = new URL('../../test/fixtures/', import.meta.url);
const TOKENIZER = new URL('tokenizers/smollm2-360m-instruct-resaved/', FIXTURES);

/** SmolLM2-360M-Instruct's config.json (the re-saved one in real-configs, as the causal LM it is), `layers` layers. */
function smolConfig(size: '360m' | '135m', layers: number): Record<string, unknown> {
  const json = JSON.parse(readFileSync(new URL('real-configs/smollm2-360m-instruct-resaved/config.json', FIXTURES), 'utf8'));
  for (const k of ['id2label', 'label2id', 'problem_type', 'transformers.js_config', 'is_llama_config', 'rope_interleaved']) delete json[k];
  json.architectures = ['LlamaForCausalLM'];
  json.num_hidden_layers = layers;
  // SmolLM2-135M: hidden 576, 9 heads of 64 (3 KV heads), intermediate 1536; the same 49153-token vocabulary
  if (size === '135m') Object.assign(json, { hidden_size: 576, intermediate_size: 1536, num_attention_heads: 9, num_key_value_heads: 3 });
  return json;
}

function writeParts(path: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) for (let off = 0; off < p.length; ) off += writeSync(fd, p, off, p.length - off);
  } finally {
    closeSync(fd);
  }
}

/** Matrices BF16 (as the published checkpoints), norms F32. */
function bf16Tensors(c: ReturnType<typeof parseHfConfigDetailed>['config'], scheme: 'hf' | 'gguf', roles: Map<TensorRole, Float32Array>) {
  return tensorsToStore(c, scheme, (r) => roles.get(r)!).map((t) =>
    t.kind === 'matrix' || t.kind === 'embedding'
      ? { name: t.name, shape: t.shape, dtype: 'BF16' as const, type: 'BF16' as const, data: f32ToBf16Array(t.data) }
      : { name: t.name, shape: t.shape, dtype: 'F32' as const, type: 'F32' as const, data: t.data },
  );
}

/** An HF directory and (optionally) a GGUF of random weights with the real tokenizer and chat template. */
function writeModel(dir: string, json: Record<string, unknown>, seed: number, gguf: string | null): void {
  const c = parseHfConfigDetailed(json, dir).config;
  const roles = randomRoles(c, seed);
  const tokenizerJson = gunzipSync(readFileSync(new URL('tokenizer.json.gz', TOKENIZER)));
  const tokenizerConfig = gunzipSync(readFileSync(new URL('tokenizer_config.json.gz', TOKENIZER)));
  const template = readFileSync(new URL('chat_template.jinja', TOKENIZER), 'utf8');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), tokenizerJson);
  writeFileSync(join(dir, 'tokenizer_config.json'), tokenizerConfig);
  writeFileSync(join(dir, 'chat_template.jinja'), template);
  writeParts(join(dir, 'model.safetensors'), safetensorsParts(bf16Tensors(c, 'hf', roles), { format: 'pt' }).parts);
  if (gguf !== null) {
    const g = ggufFormOf(c);
    const metadata = [
      ...ggufModelMetadata(g),
      ...tokenizerGgufMetadata(tokenizerJson, tokenizerConfig, { name: 'SmolLM2-360M-Instruct (random weights)' }),
      ['tokenizer.chat_template', { type: 'STRING', value: template }] as const,
    ];
    writeParts(gguf, ggufParts({ metadata, tensors: bf16Tensors(g, 'gguf', roles) }).parts);
  }
}

function spechub(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...(input !== undefined ? { input } : {}) });
  assert.equal(r.status, 0, `spechub ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

describe('run your own model: SmolLM2-360M-shaped, real tokenizer, HF directory and GGUF, through the CLI', () => {
  let dir = '';
  let target = '';
  let gguf = '';
  let draft = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'spechub-real-'));
    target = join(dir, 'SmolLM2-360M-Instruct');
    gguf = join(dir, 'SmolLM2-360M-Instruct-BF16.gguf');
    draft = join(dir, 'SmolLM2-135M-Instruct');
    writeModel(target, smolConfig('360m', 2), 7, gguf);
    writeModel(draft, smolConfig('135m', 1), 8, null);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const GREEDY = ['--prompt', 'The capital of France is', '--max-tokens', '12', '--temperature', '0', '--ignore-eos', '--threads', '1', '--json'];
  let plainIds: number[] = [];

  test('spechub generate: the HF directory and the GGUF give the same greedy tokens', () => {
    const hf = JSON.parse(spechub(['generate', '--model', target, '--draft', 'none', ...GREEDY]).stdout);
    const g = JSON.parse(spechub(['generate', '--model', gguf, '--draft', 'none', ...GREEDY]).stdout);
    assert.equal(hf.ids.length, 12);
    assert.deepEqual(g.ids, hf.ids);
    assert.equal(g.text, hf.text);
    assert.equal(hf.stats.promptTokens, 5, 'the prompt as SmolLM2 tokenizes it (no BOS)');
    plainIds = hf.ids;
  });

  test('speculative decoding with a SmolLM2-135M-shaped draft: the same greedy tokens (exact whatever the draft proposes)', () => {
    assert.equal(plainIds.length, 12, 'needs the plain run');
    const r = spechub(['generate', '--model', target, '--draft', draft, '--tree', '2,2', ...GREEDY]);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.ids, plainIds);
    assert.equal(out.stats.method, 'spechub');
    assert.equal(out.stats.drafter, draft);
    assert.ok(out.stats.steps <= 12);
    // the stats line on stderr names the draft
    assert.match(r.stderr, new RegExp(`draft ${draft.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, verifier spechub, tree 2,2`));
  });

  test('spechub chat with piped stdin: two turns under the model\'s own template, the second reuses the cache', () => {
    const r = spechub(['chat', '--model', target, '--draft', 'none', '--max-tokens', '6', '--temperature', '0', '--threads', '1', '--system', 'Be brief.'], 'Hello!\nAnd then?\n');
    assert.match(r.stderr, /chat template: .*chat_template\.jinja/);
    assert.match(r.stderr, /\[turn 1\] \d+ tokens/);
    const t2 = /\[turn 2\] \d+ tokens[^\n]*prompt (\d+) tokens: (\d+) from cache/.exec(r.stderr);
    assert.ok(t2 && Number(t2[2]) > 0 && Number(t2[2]) < Number(t2[1]), r.stderr);
  });

  test('in a terminal, loading draws a progress line and erases it', () => {
    const which = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' });
    assert.equal(which.status, 0, 'this test needs script(1) from util-linux (Debian: bsdutils)');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, CLI, 'generate', '--model', target, '--draft', 'none', '--max-tokens', '2', '--threads', '1', '--prompt', 'Hi'].map(quote).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const line = new RegExp(`\\r\\x1b\\[2Kloading ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+% \\(`);
    assert.match(r.stdout, line, JSON.stringify(r.stdout.slice(0, 400)));
    // erased before the model line is printed
    assert.match(r.stdout, /\r\x1b\[2Kmodel /);
  });
});

describe('the progress line', () => {
  const MB = 1 << 20;
  const stream = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, s: { isTTY, columns: 60, write: (t: string) => out.push(t) } };
  };
  test('a TTY only, models of 8 MiB or more, at most every 100 ms (and at 100 %), cut to the terminal width, erased when done', () => {
    let t = 0;
    const tty = stream(true);
    const p = terminalProgress(tty.s, 'big-model', { now: () => t });
    p.onProgress({ bytes: 0, total: 100 * MB, tensor: '' });
    t = 50;
    p.onProgress({ bytes: 10 * MB, total: 100 * MB, tensor: 'model.layers.0.self_attn.q_proj.weight' }); // throttled
    t = 120;
    p.onProgress({ bytes: 40 * MB, total: 100 * MB, tensor: 'model.layers.0.mlp.down_proj.weight' });
    t = 130;
    p.onProgress({ bytes: 100 * MB, total: 100 * MB, tensor: 'lm_head.weight' }); // the end is always drawn
    p.done();
    assert.equal(tty.out.length, 4);
    assert.equal(tty.out[0], '\r\x1b[2Kloading big-model   0% (0 B of 100 MiB)');
    assert.match(tty.out[1]!, /^\r\x1b\[2Kloading big-model  40% \(40\.0 MiB of 100 MiB\) model\.layers\..*…$/); // cut to 59 columns
    assert.equal(tty.out[1]!.length, '\r\x1b[2K'.length + 59);
    assert.equal(tty.out[2], '\r\x1b[2Kloading big-model 100% (100 MiB of 100 MiB) lm_head.weight');
    assert.equal(tty.out[3], '\r\x1b[2K');
    const pipe = stream(false);
    const q = terminalProgress(pipe.s, 'm');
    q.onProgress({ bytes: 0, total: 100 * MB, tensor: '' });
    q.done();
    assert.deepEqual(pipe.out, [], 'nothing on a pipe');
    const small = stream(true);
    const r = terminalProgress(small.s, 'm');
    r.onProgress({ bytes: 0, total: 4 * MB, tensor: '' });
    r.done();
    assert.deepEqual(small.out, [], 'nothing for a small model');
  });
});
