// What ends a generation (issue 8, item 3): every EOS id of the model files, stop strings found
// across token boundaries without ever showing part of one, and generation_config.json's sampling
// defaults.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { StopStringMatcher, endOfGenerationIds } from '../../src/engine/stop.js';
import { Generator, generationDefaults } from '../../src/engine/generate.js';
import { loadGgufModel, loadHfModel, type LoadedModel } from '../../src/engine/load.js';
import { bytesSource } from '../../src/io/source.js';
import { storiesGgufWith } from '../chat/gguf-fixture.js';
import { earlyExitDrafter, modelDrafter } from '../../src/engine/drafters.js';
import { memoryModelSource } from '../../src/io/source.js';
import { ConfigError, InvalidArgumentError } from '../../src/errors.js';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';

/** Feed pieces; returns what was shown at each push, then the flush. */
function run(stops: string[], pieces: string[]): { shown: string[]; matched: string | null } {
  const m = new StopStringMatcher(stops);
  const shown: string[] = [];
  for (const p of pieces) {
    shown.push(m.push(p));
    if (m.matched !== null) return { shown, matched: m.matched };
  }
  shown.push(m.flush());
  return { shown, matched: null };
}

describe('StopStringMatcher', () => {
  test('table: matches across pieces, holds back only possible starts, shows everything before the stop', () => {
    const cases: { stops: string[]; pieces: string[]; shown: string[]; matched: string | null }[] = [
      // no stop strings: everything passes through
      { stops: [], pieces: ['ab', 'c'], shown: ['ab', 'c', ''], matched: null },
      // the stop string split over three pieces; the text before it is shown at once
      { stops: ['END'], pieces: ['the E', 'N', 'D and more'], shown: ['the ', '', ''], matched: 'END' },
      // a possible start that does not continue is released with the next piece
      { stops: ['END'], pieces: ['the E', 'nd'], shown: ['the ', 'End', ''], matched: null },
      // held back at the end of the generation, then released by flush()
      { stops: ['END'], pieces: ['x', 'EN'], shown: ['x', '', 'EN'], matched: null },
      // inside one piece, with text after it dropped
      { stops: ['\n\n'], pieces: ['one\n\ntwo'], shown: ['one'], matched: '\n\n' },
      // the earliest occurrence wins over the one listed first
      { stops: ['cd', 'bc'], pieces: ['abcd'], shown: ['a'], matched: 'bc' },
      // overlapping prefixes: "aab" contains the stop "ab" starting at 1
      { stops: ['ab'], pieces: ['a', 'a', 'b'], shown: ['', 'a', ''], matched: 'ab' },
      // a held suffix that is a prefix of a second stop string only
      { stops: ['xyz', 'yq'], pieces: ['axy', 'q'], shown: ['a', 'x'], matched: 'yq' },
      // emoji (surrogate pairs) are never split
      { stops: ['🙂!'], pieces: ['hi 🙂', '🙂!'], shown: ['hi ', '🙂'], matched: '🙂!' },
    ];
    for (const c of cases) assert.deepEqual(run(c.stops, c.pieces), { shown: c.shown, matched: c.matched }, JSON.stringify(c));
  });

  test('property: shown text = text before the first stop string; shown + held = consumed; held is a possible start', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', ' ', '\n');
    const str = (min: number, max: number) => fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(str(1, 4), { minLength: 1, maxLength: 3 }), fc.array(str(0, 5), { maxLength: 12 }), (stops, pieces) => {
        const text = pieces.join('');
        let first = -1;
        for (const s of stops) {
          const i = text.indexOf(s);
          if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        const m = new StopStringMatcher(stops);
        let shown = '';
        let consumed = '';
        for (const p of pieces) {
          shown += m.push(p);
          consumed += p;
          if (m.matched !== null) break;
          assert.equal(shown + m.pending, consumed);
          assert.ok(m.pending === '' || stops.some((s) => s.startsWith(m.pending) && s !== m.pending));
        }
        if (m.matched === null) shown += m.flush();
        assert.equal(shown, first < 0 ? text : text.slice(0, first));
        assert.equal(m.matched !== null, first >= 0);
      }),
      { numRuns: 500, seed: 8 },
    );
  });

  test('bad stop strings are refused', () => {
    assert.throws(() => new StopStringMatcher(['']), (e: Error) => e instanceof InvalidArgumentError && /stop\[0\]: expected a non-empty string/.test(e.message));
    assert.throws(() => new StopStringMatcher([3 as unknown as string]), InvalidArgumentError);
  });
});

const rt = createNodeRuntime();
const files: Record<string, Uint8Array> = {};
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
  files[f] = new Uint8Array(readFileSync(join(WEIGHTS_DIR, 'stories260K', f)));
}
/** stories260K from memory with config.json patched and an optional generation_config.json. */
async function storiesWith(config: Record<string, unknown>, generation?: Record<string, unknown>): Promise<LoadedModel> {
  const base = JSON.parse(new TextDecoder().decode(files['config.json']));
  const all: Record<string, Uint8Array | string> = { ...files, 'config.json': JSON.stringify({ ...base, ...config }) };
  if (generation) all['generation_config.json'] = JSON.stringify(generation);
  return loadHfModel(rt, memoryModelSource('stories260K-patched', all), { maxBatch: 64 });
}

describe('end-of-generation ids and stop strings on stories260K', async () => {
  const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
  const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
  const PROMPT = 'Once upon a time';
  const greedy = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 60, stopAtEos: false });

  test('one place: tokenizer EOS ∪ config.json eos_token_id list ∪ generation_config.json eos_token_id', async () => {
    assert.deepEqual(endOfGenerationIds(target), [2]);
    const ids = Array.from(greedy.ids);
    const m = await storiesWith({ eos_token_id: [2, ids[10]!] }, { eos_token_id: [ids[5]!, 2] });
    assert.deepEqual(endOfGenerationIds(m), [...new Set([2, ids[10]!, ids[5]!])].sort((a, b) => a - b));
    const bad = await storiesWith({}, { eos_token_id: 4096 });
    assert.throws(() => endOfGenerationIds(bad), (e: Error) => e instanceof ConfigError && /generation_config\.json: eos_token_id: expected token ids in \[0, 512\), got 4096/.test(e.message));
  });

  test('generation stops on every EOS id (config list and generation_config), plain and speculative, the EOS not emitted', async () => {
    const ids = Array.from(greedy.ids);
    // the earliest position whose token does not occur before it: stopping there is unambiguous
    const at = (from: number) => {
      for (let i = from; i < ids.length; i++) if (!ids.slice(0, i).includes(ids[i]!)) return i;
      return assert.fail('no fresh token');
    };
    const a = at(6);
    const b = at(a + 1);
    for (const [config, generation, stopAt] of [
      [{ eos_token_id: [2, ids[a]!] }, undefined, a],
      [{ eos_token_id: 2 }, { eos_token_id: [ids[b]!] }, b],
      [{ eos_token_id: [2, ids[b]!] }, { eos_token_id: ids[a]! }, a],
    ] as const) {
      const m = await storiesWith(config, generation);
      for (const drafter of [null, modelDrafter(m, draft), earlyExitDrafter(m, 2)]) {
        const r = await new Generator(m, { drafter, tree: [2, 2], sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 60 });
        assert.equal(r.stopReason, 'eos');
        assert.deepEqual(Array.from(r.ids), ids.slice(0, stopAt), `${JSON.stringify(config)} ${JSON.stringify(generation)} ${drafter?.label}`);
        const off = await new Generator(m, { drafter, tree: [2, 2], sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 60, stopAtEos: false });
        assert.deepEqual(Array.from(off.ids), ids);
      }
    }
  });

  test('GGUF: tokenizer.ggml.eot_token_id ends generation as well as eos_token_id', async () => {
    const ids = Array.from(greedy.ids);
    let at = 8;
    while (ids.slice(0, at).includes(ids[at]!)) at++;
    const bytes = await storiesGgufWith([['tokenizer.ggml.eot_token_id', { type: 'UINT32', value: ids[at]! }]]);
    const m = await loadGgufModel(rt, bytesSource('eot.gguf', bytes), { maxBatch: 64 });
    assert.deepEqual(endOfGenerationIds(m), [2, ids[at]!].sort((x, y) => x - y));
    const r = await new Generator(m, { drafter: earlyExitDrafter(m, 2), tree: [2, 2], sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 60 });
    assert.equal(r.stopReason, 'eos');
    assert.deepEqual(Array.from(r.ids), ids.slice(0, at));
  });

  test('stop strings across token boundaries: text ends right before the stop, streamed text never shows part of it', async () => {
    const tok = target.tokenizer;
    const ids = Array.from(greedy.ids);
    const pieces = ids.map((_, i) => tok.decode(ids.slice(0, i + 1)).length);
    const full = greedy.text;
    // a stop string made of the last 2 characters of token 12 and the first 3 of token 13 (both longer than that)
    let k = 12;
    while (!(pieces[k]! - pieces[k - 1]! >= 2 && pieces[k + 1]! - pieces[k]! >= 3)) k++;
    const stop = full.slice(pieces[k]! - 2, pieces[k]! + 3);
    const first = full.indexOf(stop);
    assert.ok(first > 0);
    for (const drafter of [null, modelDrafter(target, draft)]) {
      let streamed = '';
      const snapshots: string[] = [];
      const r = await new Generator(target, { drafter, tree: [2, 2, 2], sampling: { temperature: 0 } }).generate({
        prompt: PROMPT,
        maxTokens: 60,
        stop: ['never appears', stop],
        onText: (t) => {
          streamed += t;
          snapshots.push(streamed);
        },
      });
      assert.equal(r.stopReason, 'stop');
      assert.equal(r.stopString, stop);
      assert.equal(r.text, full.slice(0, first));
      assert.equal(streamed, r.text);
      // every intermediate stream is a prefix of the final text: nothing shown was withdrawn
      for (const s of snapshots) assert.ok(r.text.startsWith(s));
      // ids run up to the token that completed the stop string
      assert.deepEqual(Array.from(r.ids), ids.slice(0, r.ids.length));
      assert.ok(tok.decode(r.ids).includes(stop) && !tok.decode(r.ids.subarray(0, r.ids.length - 1)).includes(stop));
    }
    // a stop string that never completes: its held-back start is released, the text is complete
    const never = full.slice(pieces[k]! - 2, pieces[k]! + 1) + '\u0000';
    const r = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 60, stop: [never], stopAtEos: false });
    assert.equal(r.stopReason, 'max_tokens');
    assert.equal(r.text, full);
  });

  test('generation_config.json sampling defaults: do_sample=false is greedy; temperature/top_k/top_p/max_new_tokens; the caller wins', async () => {
    assert.deepEqual(generationDefaults(null), { sampling: {}, maxTokens: null, fields: [] });
    const g1 = new Generator(await storiesWith({}, { do_sample: false, temperature: 0.6, max_new_tokens: 7 }));
    assert.equal(g1.sampling.temperature, 0);
    assert.deepEqual(g1.samplingDefaults, ['do_sample=false', 'max_new_tokens=7']);
    assert.equal(g1.defaultMaxTokens, 7);
    const r = await g1.generate({ prompt: PROMPT, stopAtEos: false });
    assert.deepEqual(Array.from(r.ids), Array.from(greedy.ids.subarray(0, 7)));
    // Qwen2.5-Instruct's generation_config.json: repetition_penalty is named as not applied
    const sampled = await storiesWith({}, { do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.9, repetition_penalty: 1.05, min_p: 0 });
    const g2 = new Generator(sampled);
    assert.deepEqual(g2.sampling, { temperature: 0.7, topK: 20, topP: 0.9 });
    assert.deepEqual(g2.samplingDefaults, ['temperature=0.7', 'top_k=20', 'top_p=0.9', 'repetition_penalty=1.05 (not applied)']);
    assert.equal(g2.defaultMaxTokens, 256);
    const g3 = new Generator(sampled, { sampling: { temperature: 1.2, topP: undefined } });
    assert.deepEqual(g3.sampling, { temperature: 1.2, topK: 20, topP: 0.9 });
    assert.deepEqual(g3.samplingDefaults, ['top_k=20', 'top_p=0.9', 'repetition_penalty=1.05 (not applied)']);
    const g4 = new Generator(sampled, { generationConfig: false });
    assert.deepEqual(g4.sampling, { temperature: 1, topK: 0, topP: 1 });
    assert.deepEqual(g4.samplingDefaults, []);
  });
});

describe("end-of-generation ids include the tokenizer's end-of-generation set (llama.cpp's eog)", () => {
  test('Phi-3 stops on <|end|> and Qwen3 on <|im_end|> even with no config or generation_config id for them', async () => {
    const { REAL_TOKENIZERS } = await import('../tokenizer/corpus.js');
    const { Tokenizer } = await import('../../src/tokenizer.js');
    for (const [name, piece] of [['Phi-3', '<|end|>'], ['Qwen3', '<|im_end|>']] as const) {
      const real = REAL_TOKENIZERS.find((t) => t.name === name)!;
      const tokenizer = Tokenizer.fromJson(real.tokenizerJson(), real.tokenizerConfigJson());
      const id = tokenizer.encode(piece, { parseSpecial: true, bos: false });
      assert.equal(id.length, 1, `${piece} is one token of ${name}`);
      const config = { vocabSize: tokenizer.vocabSize, eosTokenId: null, eosTokenIds: [] };
      const ids = endOfGenerationIds({ name, config, tokenizer, generation: null } as unknown as LoadedModel);
      assert.ok(ids.includes(id[0]!), `${name}: ${piece} (id ${id[0]}) ends generation; got ${ids.join(', ')}`);
      assert.deepEqual(ids, [...new Set([...(tokenizer.eosId === null ? [] : [tokenizer.eosId]), ...tokenizer.eogIds])].sort((a, b) => a - b));
    }
  });
});
