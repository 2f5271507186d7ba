// The package as web developers use it, in real Chromium:
//  - an app (test/browser/app/: a page and a module Web Worker that imports 'spechub', 2 kernel
//    threads) bundled by esbuild and by Vite without a single warning, runs: greedy text = llama2.c's,
//    kernels split over the threads (the kernel worker was bundled too);
//  - an unbundled page with the import map the README documents imports the core as it is;
//  - the README's worker example runs as written on the prebuilt bundle dist/browser/spechub.js
//    (no map at all), 2 threads, with the same text and steps as the library in Node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build as esbuild } from 'esbuild';
import { build as viteBuild, createLogger } from 'vite';
import { GREEDY_200, ROOT, launch, openPage, staticServer } from './harness.js';
import { createNodeRuntime, loadModelFromPath } from '../../src/node.js';
import { Generator } from '../../src/engine/generate.js';
import { modelDrafter } from '../../src/engine/drafters.js';

const WANT = readFileSync(GREEDY_200, 'utf8');
const APP = join(ROOT, 'test', 'browser', 'app');
const WEIGHTS = join(ROOT, 'weights');
/** Without a manifest the loader asks once (and only once) for each optional file: generation_config.json, chat_template.jinja. */
const ASKED_ONCE = ['404 /models/stories260K/generation_config.json', '404 /models/stories260K/chat_template.jinja'];

let work: string;
let browser: Awaited<ReturnType<typeof launch>>;

/** Serve `dir` (and the shipped models under /models/), open it, return what the page reported. */
async function runPage(
  routes: Record<string, string>,
  path = '',
  pages: Record<string, string> | ((origin: string) => Record<string, string>) = {},
  expectedErrors: string[] = [],
): Promise<Record<string, unknown>> {
  const served: Record<string, string> = {};
  const server = await staticServer({ ...routes, '/models/': WEIGHTS }, served);
  Object.assign(served, typeof pages === 'function' ? pages(server.url.replace(/\/$/, '')) : pages);
  try {
    const { page, errors } = await openPage(browser.context, server.url + path);
    await page.waitForSelector('body[data-done="true"]', { timeout: 60_000 });
    const out = JSON.parse((await page.textContent('#out')) ?? '{}') as Record<string, unknown>;
    await page.close();
    assert.deepEqual(errors, expectedErrors);
    return out;
  } finally {
    await server.close();
  }
}

function checkRun(out: Record<string, unknown>, threads: number): void {
  assert.equal(out.ok, true, String(out.error));
  assert.ok(WANT.startsWith(out.text as string) && (out.text as string).length > 150, `greedy text: ${JSON.stringify(out.text)}`);
  if (threads > 1) {
    assert.equal(out.build, 'simd-mt');
    assert.equal(out.threads, threads);
    assert.ok((out.parallel as number) > 0, 'kernels ran split over the threads');
  }
}

describe('browser: bundlers, import map, prebuilt bundle', { timeout: 240_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'spechub-bundlers-'));
    // an app next to an installed spechub (node_modules/spechub → this checkout)
    cpSync(APP, join(work, 'app'), { recursive: true });
    mkdirSync(join(work, 'app', 'node_modules'));
    symlinkSync(ROOT, join(work, 'app', 'node_modules', 'spechub'), 'dir');
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('esbuild bundles the app, its worker and the kernel worker with no warning; it runs with 2 threads', async () => {
    const out = join(work, 'esbuild-out');
    const result = await esbuild({
      absWorkingDir: join(work, 'app'),
      entryPoints: { main: './main.js', worker: './worker.js', 'browser-kernel-worker': 'spechub/worker' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outdir: out,
      define: { SPECHUB_WASM_BASE: '"/wasm/"' },
      logLevel: 'silent',
    });
    assert.deepEqual([...result.errors, ...result.warnings].map((m) => m.text), []);
    cpSync(join(APP, 'index.html'), join(out, 'index.html'));
    mkdirSync(join(out, 'wasm'));
    for (const f of readdirSync(join(ROOT, 'build')).filter((f) => f.endsWith('.wasm'))) cpSync(join(ROOT, 'build', f), join(out, 'wasm', f));
    checkRun(await runPage({ '/': out }, '', {}, ASKED_ONCE), 2);
  });

  test('Vite builds the app with no warning (it finds the kernel worker and the .wasm files itself); it runs with 2 threads', async () => {
    const warnings: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    logger.error = (msg) => void warnings.push(`error: ${msg}`);
    const out = join(work, 'vite-out');
    await viteBuild({
      root: join(work, 'app'),
      configFile: false,
      logLevel: 'warn',
      customLogger: logger,
      define: { SPECHUB_WASM_BASE: 'undefined' },
      worker: { format: 'es' },
      build: { outDir: out, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    });
    assert.deepEqual(warnings, []);
    const assets = readdirSync(join(out, 'assets'));
    assert.ok(!assets.some((f) => /highs/i.test(f)), `no HiGHS in the build: ${assets.join(', ')}`);
    checkRun(await runPage({ '/': out }, '', {}, ASKED_ONCE), 2);
  });

  test('an unbundled page with the README\'s import map; the README\'s worker example on the prebuilt dist/browser/spechub.js', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(readme);
    assert.ok(map, 'the README documents an import map');
    const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">${map[1]}</script>
<pre id="out">running</pre>
<script type="module">
import { Generator, createBrowserRuntime, httpModelSource, loadHfModel } from 'spechub/core';
const out = document.getElementById('out');
try {
  const rt = await createBrowserRuntime();
  const model = await loadHfModel(rt, httpModelSource(location.origin + '/models/stories260K/'));
  const r = await new Generator(model, { sampling: { temperature: 0 } }).generate({ maxTokens: 60 });
  out.textContent = JSON.stringify({ ok: true, text: r.text, build: rt.build });
} catch (e) { out.textContent = JSON.stringify({ ok: false, error: String(e && e.stack || e) }); }
document.body.dataset.done = 'true';
</script>`;
    // the README's paths: the package and its dependencies under /node_modules/
    const routes = { '/node_modules/spechub/': ROOT, '/node_modules/': join(ROOT, 'node_modules') };
    checkRun(await runPage(routes, 'page.html', { '/page.html': page }, ASKED_ONCE), 1);

    // the README's worker example, as written, with the prebuilt bundle and this server's models
    const example = /```js\n(\/\/ in a module Web Worker[\s\S]*?)```/.exec(readme);
    assert.ok(example, 'the README has the worker example');
    assert.ok(example[1]!.includes("from 'spechub/browser'") && example[1]!.includes('https://example.org/models/'));
    const worker = `${example[1]!.replace("from 'spechub/browser'", "from '/node_modules/spechub/dist/browser/spechub.js'")}
postMessage({ done: true, build: rt.build, threads: executor.threads ?? 1 });`;
    const bundled = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><pre id="out">running</pre>
<script type="module">
const r = { ok: true, text: '', steps: 0, finals: {}, progress: 0 };
const w = new Worker('/readme-worker.js', { type: 'module' });
w.onmessage = ({ data }) => {
  if ('piece' in data) r.text += data.piece;
  else if ('final' in data) { r.steps++; r.finals[data.final] = (r.finals[data.final] ?? 0) + 1; }
  else if ('bytes' in data) r.progress = data.bytes / data.total;
  else if (data.done) { Object.assign(r, data); document.getElementById('out').textContent = JSON.stringify(r); document.body.dataset.done = 'true'; }
};
w.onerror = (ev) => { document.getElementById('out').textContent = JSON.stringify({ ok: false, error: ev.message }); document.body.dataset.done = 'true'; };
</script>`;
    const out = await runPage(routes, 'bundled.html', (origin) => ({ '/bundled.html': bundled, '/readme-worker.js': worker.replaceAll('https://example.org', origin) }), [
      ...ASKED_ONCE, '404 /models/stories281K-draft/generation_config.json', '404 /models/stories281K-draft/chat_template.jinja',
    ]);
    // the same generation in Node (threads are bit-identical to one thread)
    const rt = createNodeRuntime({ build: 'simd' });
    const target = await loadModelFromPath(rt, join(WEIGHTS, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS, 'stories281K-draft'), { maxBatch: 64 });
    const ref = await new Generator(target, { drafter: modelDrafter(target, draft), method: 'spechub', tree: [2, 2, 2] }).generate({ prompt: 'Once upon a time', maxTokens: 200, seed: 1 });
    assert.equal(out.ok, true, String(out.error));
    assert.equal(out.text, ref.text);
    assert.equal(out.steps, ref.stats.steps);
    assert.equal(out.progress, 1);
    assert.equal(out.build, 'simd-mt');
    assert.equal(out.threads, 2);
  });
});
