// ChatSession (issue 8, item 3): a multi-turn conversation keeps its KV cache, so a turn prefills
// only its new tokens (counted through the model's own forward calls), and what it computes equals a
// fresh prefill of the whole conversation — the next-token logits, and greedy replies token for token,
// with plain decoding, a separate draft model and early exit. stories260K stands in for a chat model
// with a simple Q/A template.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ChatTemplate, encodeChat, type ChatMessage } from '../../src/chat/template.js';
import { Generator } from '../../src/engine/generate.js';
import { earlyExitDrafter, modelDrafter } from '../../src/engine/drafters.js';
import { feedCausal, type Drafter } from '../../src/engine/speculative.js';
import type { LoadedModel } from '../../src/engine/load.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { fixturePath } from '../weights/helpers.js';

// "Q: …\nA:…</s>\n" turns after the system text (test/fixtures/chat-templates/stories-qa.jinja)
const TEMPLATE = new ChatTemplate(readFileSync(fixturePath('chat-templates/stories-qa.jinja'), 'utf8'), {
  source: 'stories-qa.jinja',
  specialTokens: { bos_token: '<s>', eos_token: '</s>' },
});
const SYSTEM = 'Lily and Tom were friends.';
const QUESTIONS = ['Where did they go?', 'What did Lily see?', 'Was Tom happy?'];

const rt = createNodeRuntime();
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });

/** Count the prompt rows the target runs in prefills (causal batches without logits: feedCausal). */
function countPrefillRows(m: LoadedModel): { rows: number; restore(): void } {
  const model = m.model;
  const original = model.forward;
  const counter = {
    rows: 0,
    restore: () => {
      model.forward = original;
    },
  };
  model.forward = function (n, logitsFrom = 0, tree = false, stagedBefore = 0, layers = model.config.nLayers) {
    if (logitsFrom === n && !tree && layers === model.config.nLayers) counter.rows += n;
    return original.call(model, n, logitsFrom, tree, stagedBefore, layers);
  };
  return counter;
}

function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Next-token logits after `ids` computed from an empty cache. */
function freshLogits(m: LoadedModel, ids: Int32Array): Float32Array {
  m.model.cache.truncate(0);
  feedCausal(m.model, ids.subarray(0, ids.length - 1), m.config.nLayers);
  return rootLogits(m, ids[ids.length - 1]!);
}

/** Logits of `root` at the next position of the current cache (nothing committed). */
function rootLogits(m: LoadedModel, root: number): Float32Array {
  const model = m.model;
  model.tokens[0] = root;
  model.positions[0] = model.cache.length;
  model.forward(1);
  return model.logits.slice(0, m.config.vocabSize);
}

const DRAFTERS: { name: string; make: () => Drafter | null }[] = [
  { name: 'plain', make: () => null },
  { name: 'draft model', make: () => modelDrafter(target, draft) },
  { name: 'early exit', make: () => earlyExitDrafter(target, 2) },
];

describe('ChatSession on stories260K', () => {
  for (const d of DRAFTERS) {
    test(`${d.name}: 3 turns prefill only their new tokens, and each reply equals a one-shot generation of the whole conversation`, async () => {
      const gen = new Generator(target, { drafter: d.make(), tree: [2, 2, 2], chatTemplate: TEMPLATE, sampling: { temperature: 0 } });
      const session = gen.chat({ system: SYSTEM });
      let cached: number[] = [];
      const replies: { before: ChatMessage[]; ids: number[]; text: string }[] = [];
      for (const [turn, q] of QUESTIONS.entries()) {
        const before = session.messages;
        const ids = encodeChat(target.tokenizer, TEMPLATE, [...before, { role: 'user', content: q }]).ids;
        const expectReused = Math.min(commonPrefix(cached, ids), ids.length - 1);
        const counter = countPrefillRows(target);
        const r = await session.send(q, { maxTokens: 40 });
        counter.restore();
        assert.equal(r.stats.promptTokens, ids.length);
        assert.equal(r.stats.reusedTokens, expectReused, `turn ${turn}: reused`);
        assert.equal(r.stats.prefilledTokens, ids.length - 1 - expectReused);
        assert.equal(counter.rows, r.stats.prefilledTokens, `turn ${turn}: rows the model actually ran`);
        if (turn > 0) {
          // the whole previous turn (prompt and reply) came from the cache
          assert.equal(r.cacheHit, true);
          assert.equal(r.droppedTokens, 0);
          assert.ok(expectReused >= cached.length - 1 && cached.length > 40, `turn ${turn}: reused ${expectReused} of ${cached.length}`);
        }
        // the cache now holds the conversation and the reply, up to the last generated token
        cached = [...ids, ...r.ids].slice(0, target.model.cache.length);
        assert.deepEqual(r.message, { role: 'assistant', content: r.text });
        replies.push({ before: [...before, { role: 'user', content: q }], ids: Array.from(r.ids), text: r.text });
      }
      // the same replies from scratch (another Generator: run after the session, which it would disturb)
      for (const [turn, reply] of replies.entries()) {
        const fresh = await new Generator(target, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } }).generate({ messages: reply.before, maxTokens: 40 });
        assert.deepEqual(reply.ids, Array.from(fresh.ids), `turn ${turn}: reply`);
        assert.equal(reply.text, fresh.text);
      }
      assert.equal(session.messages.length, 1 + 2 * QUESTIONS.length);
      assert.deepEqual(
        { turns: session.stats.turns, reprefills: session.stats.reprefills },
        { turns: 3, reprefills: 0 },
      );
      assert.ok(session.stats.reusedTokens > session.stats.prefilledTokens, JSON.stringify(session.stats));
    });
  }

  test('the cached conversation gives the logits of a fresh full prefill (3 turns, then a 4th user message preloaded)', async () => {
    const gen = new Generator(target, { drafter: modelDrafter(target, draft), tree: [2, 2], chatTemplate: TEMPLATE, sampling: { temperature: 0 } });
    const session = gen.chat({ system: SYSTEM });
    let cached: number[] = [];
    for (const q of QUESTIONS) {
      const prompt = encodeChat(target.tokenizer, TEMPLATE, [...session.messages, { role: 'user', content: q }]).ids;
      const r = await session.send(q, { maxTokens: 30 });
      cached = [...prompt, ...r.ids].slice(0, target.model.cache.length);
    }
    session.add({ role: 'user', content: 'What happened next?' });
    const pre = await session.preload();
    const ids = encodeChat(target.tokenizer, TEMPLATE, session.messages).ids;
    assert.equal(pre.tokens, ids.length);
    assert.equal(pre.reusedTokens, commonPrefix(cached, ids));
    assert.equal(pre.reusedTokens, cached.length, 'the whole cached conversation was reused');
    assert.equal(pre.prefilledTokens, ids.length - 1 - pre.reusedTokens);
    assert.equal(target.model.cache.length, ids.length - 1);
    const viaSession = rootLogits(target, ids[ids.length - 1]!);
    const fresh = freshLogits(target, ids);
    let worst = 0;
    for (let i = 0; i < fresh.length; i++) worst = Math.max(worst, Math.abs(viaSession[i]! - fresh[i]!));
    // equal up to f32 rounding: the cached keys/values were computed in other batch shapes (tree steps)
    assert.ok(worst <= 1e-4, `max |Δlogit| ${worst}`);
    // (the fresh prefill left the same tokens in the cache) the reply starts from everything preloaded
    const r = await session.respond({ maxTokens: 10 });
    assert.equal(r.stats.reusedTokens, ids.length - 1);
    assert.equal(r.stats.prefilledTokens, 0);
    assert.equal(r.cacheHit, true);
    assert.equal(session.stats.reprefills, 0);
  });

  test('re-prefill fallback: another Generator on the same model, a stop string that cut the reply, a one-shot generation in between; results stay exact', async () => {
    const gen = new Generator(target, { drafter: earlyExitDrafter(target, 3), tree: [2, 2], chatTemplate: TEMPLATE, sampling: { temperature: 0 } });
    const session = gen.chat({ system: SYSTEM });
    const first = await session.send(QUESTIONS[0]!, { maxTokens: 40 });
    // the next reply as a one-shot generation gives a stop string that will occur in it
    const upcoming = await new Generator(target, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } }).generate({
      messages: [...session.messages, { role: 'user', content: QUESTIONS[1]! }],
      maxTokens: 40,
    });
    const stop = upcoming.text.slice(20, 24);
    // that other Generator used the model's cache: this turn cannot trust it
    // and the reply is cut by a stop string: the cache keeps tokens the conversation does not have
    const cut = await session.send(QUESTIONS[1]!, { maxTokens: 40, stop: [stop] });
    assert.equal(cut.stats.reusedTokens, 0);
    assert.equal(cut.droppedTokens, first.stats.promptTokens + first.ids.length - 1);
    assert.equal(cut.stopReason, 'stop');
    assert.equal(cut.text, upcoming.text.slice(0, upcoming.text.indexOf(stop)));
    const next = await session.send(QUESTIONS[2]!, { maxTokens: 20 });
    assert.ok(next.droppedTokens > 0, 'the stop string\'s tokens were dropped');
    assert.equal(next.cacheHit, false);
    assert.ok(next.stats.reusedTokens > first.stats.promptTokens);
    const fresh = await new Generator(target, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } }).generate({ messages: session.messages.slice(0, -1), maxTokens: 20 });
    assert.deepEqual(Array.from(next.ids), Array.from(fresh.ids));
    // a one-shot generation on the same Generator takes the cache; the session notices and recomputes
    await gen.generate({ prompt: 'Once upon a time', maxTokens: 10 });
    const after = await session.send('And then?', { maxTokens: 20 });
    assert.equal(after.stats.reusedTokens, 0);
    const fresh2 = await new Generator(target, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } }).generate({ messages: session.messages.slice(0, -1), maxTokens: 20 });
    assert.deepEqual(Array.from(after.ids), Array.from(fresh2.ids));
    assert.equal(after.droppedTokens > 0, true);
    assert.equal(session.stats.reprefills, 3);
  });

  test('overflow "drop-oldest": the oldest exchanges are forgotten to leave room for a reply, the system message stays; the reply is exact', async () => {
    const small = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64, capacity: 160 });
    const gen = new Generator(small, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } });
    const session = gen.chat({ system: SYSTEM, overflow: 'drop-oldest' });
    let dropped = 0;
    for (let i = 0; i < 8 && dropped === 0; i++) {
      const r = await session.send(QUESTIONS[i % 3]!, { maxTokens: 24 });
      dropped = r.droppedMessages;
      if (dropped > 0) {
        const history = session.messages;
        assert.deepEqual(history[0], { role: 'system', content: SYSTEM });
        assert.equal(history[1]!.role, 'user', 'whole exchanges are dropped');
        assert.ok(r.stats.promptTokens + 40 <= 160, 'a quarter of the context is left for the reply');
        const fresh = await new Generator(small, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } }).generate({ messages: history.slice(0, -1), maxTokens: 24 });
        assert.deepEqual(Array.from(r.ids), Array.from(fresh.ids));
      }
    }
    assert.ok(dropped >= 2, 'the conversation outgrew 160 positions');
    // with the default policy the same conversation is refused once it does not fit
    const strict = gen.chat({ system: SYSTEM, messages: session.messages });
    await assert.rejects(async () => {
      for (let i = 0; i < 8; i++) await strict.send(QUESTIONS[i % 3]!, { maxTokens: 24 });
    }, /chat: the conversation to reply to has \d+ tokens; the context holds 160/);
  });

  test('abort keeps the partial reply and the cache; reset() starts over with the system message; errors take the turn back', async () => {
    const gen = new Generator(target, { chatTemplate: TEMPLATE, sampling: { temperature: 0 } });
    const session = gen.chat({ system: SYSTEM });
    const ac = new AbortController();
    let tokens = 0;
    const r = await session.send(QUESTIONS[0]!, { maxTokens: 100, stopAtEos: false, signal: ac.signal, onToken: () => ++tokens === 5 && ac.abort() });
    assert.equal(r.stopReason, 'aborted');
    assert.equal(r.ids.length, 5);
    assert.deepEqual(session.messages.at(-1), { role: 'assistant', content: r.text });
    const next = await session.send(QUESTIONS[1]!, { maxTokens: 5 });
    assert.equal(next.cacheHit, true);
    session.reset();
    assert.deepEqual(session.messages, [{ role: 'system', content: SYSTEM }]);
    assert.equal(session.stats.turns, 0);
    const again = await session.send(QUESTIONS[0]!, { maxTokens: 5 });
    assert.equal(again.stats.reusedTokens, 0);
    assert.equal(again.droppedTokens, 0);
    // a failing turn (maxTokens invalid) leaves the conversation as it was
    const n = session.messages.length;
    await assert.rejects(session.send('x', { maxTokens: -1 }), InvalidArgumentError);
    assert.equal(session.messages.length, n);
    // a conversation longer than the context is refused with a clear error
    const long: ChatMessage[] = [{ role: 'user', content: 'Once upon a time '.repeat(200) }];
    await assert.rejects(gen.chat({ messages: long }).respond(), /chat: the conversation to reply to has \d+ tokens; the context holds 512/);
    assert.throws(() => gen.chat({ messages: [{ role: 'user' } as unknown as ChatMessage] }), /messages\[0\]\.content: expected a string/);
  });
});
