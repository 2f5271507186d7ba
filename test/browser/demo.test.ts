// The demo page in real Chromium, served by the real `npm run demo`:
//  - cross-origin isolated: the default models load on arrival over few requests into 2 kernel
//    threads (simd-mt); greedy generation prints llama2.c's reference text; a speculative generation
//    draws, step by step, exactly the trees, paths and final tokens that the library reports for
//    the same seed (computed here in Node, serially: threads are bit-identical); a second visit
//    loads both models from the cache without one model request; a screenshot is saved;
//  - not isolated (--no-isolation): the page says why it runs one thread, asking for two gives the
//    library's typed WasmFeatureError and a single-thread fallback that generates the same text;
//    models picked from disk (a .gguf and a folder, through the file inputs) load and generate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator, type StepEvent } from '../../src/engine/generate.js';
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
    await page.click('#stop-btn');
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
    assert.deepEqual(errors, []);
    await page.close();
  });
});
