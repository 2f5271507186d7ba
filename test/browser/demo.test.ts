// The demo page in real Chromium, served by the real `npm run demo`:
//  - cross-origin isolated: the default models load on arrival over few requests into 2 kernel
//    threads (simd-mt); greedy generation prints llama2.c's reference text; a speculative generation
//    draws, step by step, exactly the trees, paths and final tokens that the library reports for
//    the same seed (computed here in Node, serially: threads are bit-identical); a second visit
//    loads both models from the cache without one model request; a screenshot is saved;
//  - chat: the shipped model has no chat template, so the page shows the library's ChatTemplateError
//    and a built-in template; a 3-turn conversation with speculative decoding gives the replies, the
//    KV-cache reuse per turn and the steps of the library's ChatSession in Node; a stopped reply is
//    the library's reply aborted at the same token and the conversation goes on from it; reset
//    starts over;
//  - not isolated (--no-isolation): the page says why it runs one thread, asking for two gives the
//    library's typed WasmFeatureError and a single-thread fallback that generates the same text;
//    models picked from disk (a .gguf and a folder, through the file inputs) load and generate; a
//    folder with its own chat_template.jinja chats with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator, type StepEvent } from '../../src/engine/generate.js';
import type { ChatTurnResult } from '../../src/engine/chat.js';
import { modelDrafter } from '../../src/engine/drafters.js';
import { GREEDY_200, ROOT, launch, openPage, outputPath, startDemo, type Demo } from './harness.js';

const WANT = readFileSync(GREEDY_200, 'utf8');

/** What the library reports for one step, reduced to what the tree view draws. */
interface DrawnStep {
  tokens: number[];
  parents: number[];
  path: number[];
  final: string;
  finalToken: number;
}

async function setValue(page: Page, id: string, value: string): Promise<void> {
  const tag = await page.$eval(`#${id}`, (el) => el.tagName);
  if (tag === 'SELECT') await page.selectOption(`#${id}`, value);
  else await page.fill(`#${id}`, value);
}

async function settings(page: Page, s: Record<string, string>, speculative: boolean): Promise<void> {
  for (const [id, v] of Object.entries(s)) await setValue(page, id, v);
  await page.setChecked('#speculative', speculative);
}

async function waitLoaded(page: Page): Promise<Record<string, string>> {
  await page.waitForSelector('#load-status:is([data-state="ready"], [data-state="error"])', { timeout: 60_000 });
  const status: Record<string, string> = await page.$eval('#load-status', (el) => ({ ...(el as HTMLElement).dataset, text: el.textContent ?? '' }) as Record<string, string>);
  assert.equal(status.state, 'ready', status.text);
  return status;
}

async function load(page: Page): Promise<Record<string, string>> {
  await page.click('#load-btn');
  return waitLoaded(page);
}

/** Click Generate, wait for the end, return the generated text (the prompt excluded). */
async function generate(page: Page): Promise<string> {
  await page.click('#generate-btn');
  await page.waitForSelector('#gen-status:is([data-state="done"], [data-state="error"])', { timeout: 60_000 });
  const status = await page.$eval('#gen-status', (el) => [(el as HTMLElement).dataset.state, el.textContent]);
  assert.equal(status[0], 'done', status[1] ?? '');
  return page.$eval('#output', (el) => Array.from(el.querySelectorAll('span:not(.prompt)'), (s) => s.textContent).join(''));
}

/** One chat turn as the page shows it: the reply's text and the numbers under it. */
interface PageTurn {
  text: string;
  state: string;
  steps: number;
  meta: Record<string, string>;
}

/** Type `text` into the chat, press Enter, wait for the reply; `stop`: click Stop right after. */
/**
 * Press Stop right away: a DOM click, not a pointer one, so that the layout moving as the generation
 * starts (the chat panel above the buttons grows) cannot put another button under the pointer while a
 * short generation runs to its end; Stop must be enabled the moment the generation has started.
 */
async function clickStop(page: Page): Promise<void> {
  await page.$eval('#stop-btn', (b) => {
    if ((b as HTMLButtonElement).disabled) throw new Error('#stop-btn: expected enabled once a generation started, got disabled');
    (b as HTMLButtonElement).click();
  });
}

async function sendChat(page: Page, text: string, stop = false): Promise<PageTurn> {
  const before = await page.$$eval('.msg.assistant', (els) => els.length);
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  if (stop) await clickStop(page);
  await page.waitForSelector('#gen-status:is([data-state="done"], [data-state="stopped"], [data-state="error"])', { timeout: 60_000 });
  const [state, status, steps] = await page.$eval('#gen-status', (el) => [(el as HTMLElement).dataset.state!, el.textContent ?? '', (el as HTMLElement).dataset.steps ?? '']);
  assert.notEqual(state, 'error', status);
  await page.waitForFunction((n) => document.querySelectorAll('.msg.assistant:not(.streaming)').length === n + 1, before);
  assert.equal(await page.$eval('#chat-input', (el) => (el as HTMLTextAreaElement).value), '', 'the composer is emptied');
  const last = await page.$$eval('.msg.assistant', (els) => {
    const el = els[els.length - 1]!;
    return { text: el.querySelector('.body')!.textContent ?? '', meta: { ...(el.querySelector('.turn-meta') as HTMLElement).dataset } as Record<string, string> };
  });
  return { ...last, state, steps: Number(steps) };
}

/** Move the step slider to step k and read the tree view's SVG. */
async function drawnStep(page: Page, k: number): Promise<DrawnStep & { label: string }> {
  return page.evaluate((step) => {
    const slider = document.getElementById('step-slider') as HTMLInputElement;
    slider.value = String(step);
    slider.dispatchEvent(new Event('input'));
    const svg = document.querySelector('#tree-view svg')!;
    const nodes = Array.from(svg.querySelectorAll<SVGGElement>('g.node'));
    const drafted = nodes.filter((g) => g.dataset.node !== 'final');
    const fin = nodes.find((g) => g.dataset.node === 'final')!;
    const byId = new Map(drafted.map((g) => [Number(g.dataset.node), g]));
    const tokens = drafted.map((g) => Number(g.dataset.token));
    const parents = drafted.map((g) => Number(g.dataset.parent));
    // the accepted path as drawn: the root, then the green nodes from parent to child
    const path = [0];
    for (;;) {
      const next = drafted.find((g) => g.classList.contains('accepted') && Number(g.dataset.parent) === path[path.length - 1]);
      if (!next) break;
      path.push(Number(next.dataset.node));
    }
    if (Number(fin.dataset.parent) !== path[path.length - 1] || byId.size !== drafted.length) throw new Error('the final token hangs off another node');
    return { tokens, parents, path, final: fin.dataset.kind!, finalToken: Number(fin.dataset.token), label: document.getElementById('step-label')!.textContent ?? '' };
  }, k);
}

let demo: Demo;
let browser: Awaited<ReturnType<typeof launch>>;

describe('browser: the demo in Chromium (npm run demo, cross-origin isolated)', { timeout: 180_000 }, () => {
  before(async () => {
    demo = await startDemo();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('threads, greedy = llama2.c, the step view draws the library\'s steps, a second visit from the cache', async () => {
    const { page, errors } = await openPage(browser.context, demo.url);
    // arrival: the default target and draft load by themselves, into 2 kernel threads
    const first = await waitLoaded(page);
    assert.equal(first.build, 'simd-mt');
    assert.equal(first.threads, '2');
    assert.equal(await page.$eval('#threads-status', (el) => (el as HTMLElement).dataset.isolated), 'true');
    assert.equal(first.requests, '8', 'config, weights, tokenizer, tokenizer_config of two models: 4 requests each, no probe');
    assert.ok(Number(first.networkBytes) > 2_000_000, first.networkBytes);
    const modelRequests = demo.requests.filter((l) => l.includes('/models/') && !l.includes('/models/index.json'));
    assert.equal(modelRequests.length, 8, modelRequests.join('\n'));
    assert.ok(modelRequests.every((l) => l.startsWith('GET ') && / 206 /.test(l)), modelRequests.join('\n'));

    // greedy from BOS, plain and speculative: llama2.c's text, byte for byte
    await page.fill('#prompt', '');
    await settings(page, { temperature: '0', 'max-tokens': '200', tree: '2,2,2' }, false);
    assert.equal(await generate(page), WANT);
    await settings(page, {}, true);
    assert.equal(await generate(page), WANT);

    // a sampled speculative generation, and the same one computed by the library in Node
    await page.fill('#prompt', 'Once upon a time');
    await settings(page, { method: 'spechub', tree: '2,2,2', temperature: '0.8', 'top-k': '0', 'top-p': '1', seed: '7', 'max-tokens': '60' }, true);
    const text = await generate(page);
    const rt = createNodeRuntime({ build: 'simd' });
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    const reported: DrawnStep[] = [];
    const gen = new Generator(target, { drafter: modelDrafter(target, draft), method: 'spechub', tree: [2, 2, 2], sampling: { temperature: 0.8, topK: 0, topP: 1 } });
    const ref = await gen.generate({
      prompt: 'Once upon a time', maxTokens: 60, seed: 7,
      onStep: (e: StepEvent) =>
        reported.push({
          tokens: Array.from(e.tokens.subarray(0, e.size)), parents: Array.from(e.parents.subarray(0, e.size)),
          path: Array.from(e.path.subarray(0, e.pathLength)), final: e.final, finalToken: e.emitted[e.emittedCount - 1]!,
        }),
    });
    assert.equal(text, ref.text);
    assert.equal(await page.$eval('#gen-status', (el) => (el as HTMLElement).dataset.steps), String(reported.length));
    assert.equal(await page.$eval('#step-slider', (el) => (el as HTMLInputElement).max), String(reported.length - 1));
    assert.ok(reported.some((s) => s.final === 'bonus') && reported.some((s) => s.final === 'correction'));
    for (const k of new Set([0, 1, 2, Math.floor(reported.length / 2), reported.length - 2, reported.length - 1])) {
      const { label, ...drawn } = await drawnStep(page, k);
      assert.deepEqual(drawn, reported[k], `step ${k}`);
      assert.equal(label, `step ${k + 1} of ${reported.length}`);
    }
    // the plot has one entry per step; the per-level bars show the library's acceptance
    assert.equal(await page.$eval('#plot svg', (el) => (el as SVGElement).dataset.steps), String(reported.length));
    const bars = await page.$$eval('#level-bars .level-bar', (els) => els.map((e) => Number((e as HTMLElement).dataset.acceptance)));
    assert.deepEqual(bars.map((b) => b.toFixed(4)), ref.stats.acceptancePerLevel.map((a) => a.toFixed(4)));
    await drawnStep(page, 3);
    await page.screenshot({ path: outputPath('demo.png'), fullPage: true });
    assert.deepEqual(errors, []);

    // the second visit: both models come from the cache, no model request at all
    const before = demo.requests.length;
    await page.reload();
    const second = await waitLoaded(page);
    assert.equal(second.requests, '0');
    assert.ok(Number(second.cacheBytes) > 2_000_000, second.cacheBytes);
    const again = demo.requests.slice(before).filter((l) => l.includes('/models/') && !l.includes('/models/index.json'));
    assert.deepEqual(again, [], 'no model file requested on the second visit');
    assert.match(await page.textContent('#load-status') ?? '', /from the cache, no request/);
    // "Clear model cache": the next visit downloads again
    await page.click('#clear-cache-btn');
    await page.waitForFunction(() => /Model cache cleared/.test(document.getElementById('load-status')!.textContent ?? ''));
    await page.reload();
    assert.equal((await waitLoaded(page)).requests, '8');
    await page.close();
  });

  test('plain vs speculative on the same seed, the stop button, a model by URL', async () => {
    const { page, errors } = await openPage(browser.context, demo.url);
    await waitLoaded(page);
    // the comparison: greedy, so the two texts must be the same
    await page.fill('#prompt', '');
    await settings(page, { temperature: '0', tree: '2,2,2', 'max-tokens': '100' }, true);
    await page.click('#compare-btn');
    await page.waitForSelector('#compare-card:not([hidden]) table');
    const table: Record<string, string | number> = await page.$eval('#compare table', (el) => ({ ...(el as HTMLElement).dataset, rows: el.querySelectorAll('tr').length }));
    assert.equal(table.sameText, 'true');
    assert.equal(table.rows, 3);
    assert.ok(Number(table.speedup) > 0);
    assert.equal(await page.$eval('#gen-status', (el) => (el as HTMLElement).dataset.state), 'done');

    // stop: a long generation with large trees (hundreds of ms), stopped right after it started
    // (the worker sees the stop at the generator's first yield, ~16 ms into decoding)
    await page.fill('#prompt', 'Once upon a time');
    await settings(page, { temperature: '1', tree: '4,4,2', 'max-tokens': '500' }, true);
    await page.click('#generate-btn');
    await clickStop(page);
    await page.waitForSelector('#gen-status:is([data-state="stopped"], [data-state="done"], [data-state="error"])');
    const stopped: Record<string, string> = await page.$eval('#gen-status', (el) => ({ ...(el as HTMLElement).dataset, text: el.textContent ?? '' }) as Record<string, string>);
    assert.equal(stopped.state, 'stopped', stopped.text);
    assert.ok(Number(stopped.tokens) < 500 && Number(stopped.tokens) > 0, stopped.tokens);

    // a model folder by URL (no manifest: each file asked once; this one has every optional file)
    await page.selectOption('#target-select', 'url');
    await page.fill('#model-url', `${demo.url}models/tinystories-656K/`);
    await page.selectOption('#draft-select', 'exit:1');
    const st = await load(page);
    assert.equal(st.requests, '6', 'config, generation_config, chat_template.jinja (absent), weights, tokenizer, tokenizer_config');
    await page.fill('#prompt', '');
    await settings(page, { temperature: '0', tree: '2,2', 'max-tokens': '60' }, true);
    const text = await generate(page);
    const rt = createNodeRuntime({ build: 'simd' });
    const m656 = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'tinystories-656K'), { maxBatch: 64 });
    assert.equal(text, (await new Generator(m656, { sampling: { temperature: 0 } }).generate({ maxTokens: 60 })).text);
    assert.deepEqual(errors, ['404 /models/tinystories-656K/chat_template.jinja'], 'the one absent optional file, asked once');
    await page.close();
  });
  test('chat: the library\'s ChatTemplateError and a built-in template; 3 turns = ChatSession.send (replies, cache reuse, steps); stop; reset', async () => {
    const { page, errors } = await openPage(browser.context, demo.url);
    await waitLoaded(page);
    await page.click('#mode-tabs button[data-mode="chat"]');
    assert.equal(await page.textContent('#generate-btn'), 'Send');
    assert.equal(await page.textContent('#output-title'), 'Conversation');
    // stories260K ships no chat template: the library's typed error, shown as it is, and a built-in template
    assert.match(
      await page.textContent('#chat-template-note') ?? '',
      /^ChatTemplateError: http:\/\/127\.0\.0\.1:\d+\/models\/stories260K: the model has no chat template \(.*\) — using the built-in chatml template \(no turn markers in the vocabulary; ChatML is the most common format\)\.$/,
    );
    assert.deepEqual(await page.$$eval('#chat-template option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['chatml', 'llama3', 'llama2', 'zephyr', 'phi3', 'gemma', 'mistral']);
    await page.selectOption('#chat-template', 'zephyr');
    const system = 'You tell short stories.';
    await page.fill('#chat-system', system);
    await settings(page, { method: 'spechub', tree: '2,2,2', temperature: '0.8', 'top-k': '0', 'top-p': '1', seed: '7', 'max-tokens': '40' }, true);

    // the library in Node: the same models, settings, template and seed, one ChatSession
    const rt = createNodeRuntime({ build: 'simd' });
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    const gen = new Generator(target, { drafter: modelDrafter(target, draft), method: 'spechub', tree: [2, 2, 2], sampling: { temperature: 0.8, topK: 0, topP: 1 }, chatTemplate: 'zephyr' });
    const chat = gen.chat({ system, overflow: 'drop-oldest' });
    let steps: DrawnStep[] = [];
    const record = (e: StepEvent) =>
      steps.push({
        tokens: Array.from(e.tokens.subarray(0, e.size)), parents: Array.from(e.parents.subarray(0, e.size)),
        path: Array.from(e.path.subarray(0, e.pathLength)), final: e.final, finalToken: e.emitted[e.emittedCount - 1]!,
      });
    const expectTurn = (got: PageTurn, ref: ChatTurnResult, what: string) => {
      assert.equal(got.text, ref.text, what);
      assert.deepEqual(
        { prompt: got.meta.promptTokens, reused: got.meta.reused, prefilled: got.meta.prefilled, generated: got.meta.generated, hit: got.meta.cacheHit, stop: got.meta.stop },
        { prompt: String(ref.stats.promptTokens), reused: String(ref.stats.reusedTokens), prefilled: String(ref.stats.prefilledTokens), generated: String(ref.stats.generatedTokens), hit: String(ref.cacheHit), stop: ref.stopReason },
        what,
      );
      assert.equal(got.steps, ref.stats.steps, what);
    };

    const questions = ['Tell me about a cat.', 'What did the cat eat?', 'And then?'];
    const refs: ChatTurnResult[] = [];
    for (const [i, q] of questions.entries()) {
      const got = await sendChat(page, q);
      steps = [];
      const ref = await chat.send(q, { seed: 7, maxTokens: 40, onStep: record });
      refs.push(ref);
      expectTurn(got, ref, `turn ${i + 1}`);
    }
    // the cache did its work: the first turn prefilled everything, later ones reused the earlier turns
    assert.equal(refs[0]!.stats.reusedTokens, 0);
    assert.ok(refs[1]!.stats.reusedTokens > 100 && refs[2]!.stats.reusedTokens > 100, refs.map((r) => r.stats.reusedTokens).join(' '));
    assert.equal(await page.$$eval('.msg.user', (els) => els.length), 3);
    assert.equal(await page.$eval('#stats [data-stat="cache"] b', (el) => el.textContent), `${refs[2]!.stats.reusedTokens} / ${refs[2]!.stats.prefilledTokens}`);
    // what the model read: the template's rendering of the conversation the last reply answered
    const rendered = await page.$$eval('.msg.assistant .rendered pre', (els) => els[els.length - 1]!.textContent);
    assert.equal(rendered, chat.template.render(chat.messages.slice(0, -1), { addGenerationPrompt: true }));
    // the step view and the plot show the last turn's steps, as the library reported them
    assert.equal(await page.$eval('#plot svg', (el) => (el as SVGElement).dataset.steps), String(steps.length));
    assert.ok(steps.some((s) => s.tokens.length > 1));
    for (const k of [0, 1, steps.length - 1]) {
      const { label, ...drawn } = await drawnStep(page, k);
      assert.deepEqual(drawn, steps[k], `turn 3, step ${k}`);
      assert.equal(label, `step ${k + 1} of ${steps.length}`);
    }
    await drawnStep(page, steps.reduce((best, st, k) => (st.path.length > steps[best]!.path.length ? k : best), 0)); // a step that accepted most
    await page.screenshot({ path: outputPath('demo-chat.png'), fullPage: true });

    // a full context: a long reply runs into it ('context'); the next turn forgets the oldest
    // exchanges (the session's 'drop-oldest'), the page greys them out and leaves them out of the
    // next request, whose cache reuse is again the library's
    await settings(page, { 'max-tokens': '300' }, true);
    expectTurn(await sendChat(page, 'Tell me more.'), await chat.send('Tell me more.', { seed: 7, maxTokens: 300 }), 'turn 4');
    await settings(page, { 'max-tokens': '40' }, true);
    const turn5 = await chat.send('What happened next?', { seed: 7, maxTokens: 40 });
    assert.ok(turn5.droppedMessages > 0);
    expectTurn(await sendChat(page, 'What happened next?'), turn5, 'turn 5');
    assert.equal(await page.$$eval('.msg.forgotten', (els) => els.length), turn5.droppedMessages);
    const turn6 = await chat.send('Is that all?', { seed: 7, maxTokens: 40 });
    assert.ok(turn6.stats.reusedTokens > 0, 'the system message and the start of the kept conversation');
    expectTurn(await sendChat(page, 'Is that all?'), turn6, 'turn 6');
    assert.equal(await page.$$eval('.msg.forgotten', (els) => els.length), turn5.droppedMessages + turn6.droppedMessages);

    // reset: the conversation is gone (the system message stays); the next turn starts from nothing
    await page.click('#chat-reset');
    assert.equal(await page.$$eval('.msg.user, .msg.assistant', (els) => els.length), 0);
    chat.reset();
    const fresh = await sendChat(page, 'Tell me about a dog.');
    expectTurn(fresh, await chat.send('Tell me about a dog.', { seed: 7, maxTokens: 40 }), 'after reset');
    assert.equal(fresh.meta.reused, '0');
    assert.equal(fresh.meta.newSession, 'true');
    assert.equal(await page.$$eval('.msg.user', (els) => els.length), 1);

    // stop: a long reply with large trees, stopped right after it started. Other settings make
    // another generator, so the worker starts a new session with the conversation so far (as here
    // in Node); the stopped reply stays as far as it got — the library's reply aborted after as many
    // tokens — and the next turn goes on from it
    await settings(page, { tree: '4,4,2', 'max-tokens': '300' }, true);
    const stopped = await sendChat(page, 'Tell me more.', true);
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.meta.newSession, 'true');
    const n = Number(stopped.meta.generated);
    assert.ok(n > 0 && n < 300, String(n));
    const gen442 = new Generator(target, { drafter: modelDrafter(target, draft), method: 'spechub', tree: [4, 4, 2], sampling: { temperature: 0.8, topK: 0, topP: 1 }, chatTemplate: 'zephyr' });
    const chat442 = gen442.chat({ system, messages: chat.messages.slice(1), overflow: 'drop-oldest' });
    const abort = new AbortController();
    let count = 0;
    const refStopped = await chat442.send('Tell me more.', { seed: 7, maxTokens: 300, signal: abort.signal, onToken: () => void (++count === n && abort.abort()) });
    assert.equal(refStopped.stopReason, 'aborted');
    expectTurn(stopped, refStopped, 'the stopped turn');
    await settings(page, { 'max-tokens': '40' }, true);
    const after = await sendChat(page, 'What happened next?');
    expectTurn(after, await chat442.send('What happened next?', { seed: 7, maxTokens: 40 }), 'the turn after the stop');
    assert.ok(Number(after.meta.reused) > 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('browser: the demo without cross-origin isolation (npm run demo -- --no-isolation)', { timeout: 180_000 }, () => {
  let plainDemo: Demo;
  let b: Awaited<ReturnType<typeof launch>>;
  before(async () => {
    plainDemo = await startDemo(['--no-isolation']);
    b = await launch();
  });
  after(async () => {
    await b?.close();
    await plainDemo?.stop();
  });

  test('a typed message and one thread; models from disk (a .gguf, a folder) through the file inputs', async () => {
    const { page, errors } = await openPage(b.context, `${plainDemo.url}?load=0`);
    await page.waitForSelector('#threads-status[data-state="single"]');
    assert.equal(await page.$eval('#threads-status', (el) => (el as HTMLElement).dataset.isolated), 'false');
    assert.match(await page.textContent('#threads-status') ?? '', /One thread: the page is not cross-origin isolated, so it has no SharedArrayBuffer/);
    assert.equal(await page.$eval('#threads', (el) => (el as HTMLSelectElement).value), '1');
    // ask for two threads anyway: the library's WasmFeatureError, shown as it is, and one thread
    await page.selectOption('#threads', '2');
    const st = await load(page);
    assert.equal(st.threads, '1');
    assert.equal(st.build, 'simd');
    assert.match(
      await page.textContent('#threads-status') ?? '',
      /^WasmFeatureError: createBrowserRuntime: 2 threads need shared memory, but the page is not cross-origin isolated.*use threads: 1 or 'auto' — running on one thread\.$/,
    );
    await page.fill('#prompt', '');
    await settings(page, { temperature: '0', 'max-tokens': '200' }, true);
    assert.equal(await generate(page), WANT);

    // a .gguf picked from disk (no draft)
    await page.selectOption('#target-select', 'disk');
    await page.setInputFiles('#gguf-input', join(ROOT, 'test', 'fixtures', 'stories260K.gguf'));
    assert.match(await page.textContent('#disk-choice') ?? '', /stories260K\.gguf/);
    await page.selectOption('#draft-select', 'none');
    const gguf = await load(page);
    assert.equal(gguf.requests, '0');
    await settings(page, { 'max-tokens': '200' }, false);
    assert.equal(await generate(page), WANT);
    // a Hugging Face folder picked from disk, with an int8 copy of itself as the draft
    await page.setInputFiles('#folder-input', join(WEIGHTS_DIR, 'stories260K'));
    assert.match(await page.textContent('#disk-choice') ?? '', /stories260K\//);
    await page.selectOption('#draft-select', 'int8');
    await load(page);
    await settings(page, { tree: '2,2', 'max-tokens': '200' }, true);
    assert.equal(await generate(page), WANT);

    // a folder with a chat template of its own (chat_template.jinja): the chat uses it, as the library does
    const dir = mkdtempSync(join(tmpdir(), 'spechub-qa-'));
    try {
      for (const f of readdirSync(join(WEIGHTS_DIR, 'stories260K'))) copyFileSync(join(WEIGHTS_DIR, 'stories260K', f), join(dir, f));
      copyFileSync(join(ROOT, 'test', 'fixtures', 'chat-templates', 'stories-qa.jinja'), join(dir, 'chat_template.jinja'));
      await page.setInputFiles('#folder-input', dir);
      await page.selectOption('#draft-select', 'none');
      await load(page);
      await page.click('#mode-tabs button[data-mode="chat"]');
      assert.equal(await page.$eval('#chat-template', (el) => (el as HTMLSelectElement).value), 'own');
      assert.match(await page.textContent('#chat-template-note') ?? '', /^From spechub-qa-\w+\/chat_template\.jinja\.$/);
      await page.fill('#chat-system', 'Stories about animals.');
      await settings(page, { temperature: '0', 'max-tokens': '30', seed: '3' }, false);
      const got = await sendChat(page, 'Where is the cat?');
      const rt = createNodeRuntime({ build: 'simd' });
      const qa = await loadModelFromPath(rt, dir, { maxBatch: 64 });
      const ref = await new Generator(qa, { sampling: { temperature: 0 } }).chat({ system: 'Stories about animals.' }).send('Where is the cat?', { seed: 3, maxTokens: 30 });
      assert.equal(got.text, ref.text);
      assert.equal(got.meta.promptTokens, String(ref.stats.promptTokens));
      assert.match(await page.textContent('.msg.assistant .rendered summary') ?? '', /rendered by spechub-qa-\w+\/chat_template\.jinja$/);
      assert.equal(await page.textContent('.msg.assistant .rendered pre'), '<s>Stories about animals.\nQ: Where is the cat?\nA:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});
