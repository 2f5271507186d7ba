// Manual browser check of the core (not part of npm test: it needs a Chromium):
// serves the repo on 127.0.0.1, opens a page that imports dist/src/index.js (the browser-safe
// core), fetches the .wasm, loads stories260K over HTTP Range requests, and generates greedily
// (plain and speculative); prints what the page reports.
//   node scripts/browser-smoke.mjs [/usr/bin/chromium]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html', '.txt': 'text/plain' };
const PAGE = `<!doctype html><meta charset="utf-8"><title>spechub smoke</title>
<script type="importmap">{"imports":{"@assemblyscript/loader":"/node_modules/@assemblyscript/loader/index.js","@huggingface/tokenizers":"/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs"}}</script>
<pre id="out">running</pre>
<script type="module">
const out = document.getElementById('out');
try {
  const s = await import('/dist/src/index.js');
  const bytes = await (await fetch('/build/spechub.simd.wasm')).arrayBuffer();
  const rt = await s.Runtime.create(bytes, { build: 'simd' });
  const target = await s.loadHfModel(rt, s.httpModelSource(location.origin + '/weights/stories260K/'), { maxBatch: 64 });
  const draft = await s.loadHfModel(rt, s.httpModelSource(location.origin + '/weights/stories281K-draft/'), { maxBatch: 64 });
  const want = await (await fetch('/test/fixtures/llama2c-stories260K-greedy-200.txt')).text();
  const plain = await new s.Generator(target, { sampling: { temperature: 0 } }).generate({ maxTokens: 200 });
  const spec = await new s.Generator(target, { drafter: s.modelDrafter(target, draft), method: 'spechub', tree: [2, 2, 2, 2], sampling: { temperature: 0 } }).generate({ maxTokens: 200 });
  const sampled = await new s.Generator(target, { drafter: s.modelDrafter(target, draft), sampling: { temperature: 1 } }).generate({ prompt: 'Once upon a time', maxTokens: 60, seed: 1 });
  out.textContent = JSON.stringify({ ok: plain.text === want && spec.text === want, plainMatchesLlama2c: plain.text === want, speculativeMatches: spec.text === want,
    tokensPerStep: spec.stats.tokensPerStep, sample: sampled.text, userAgent: navigator.userAgent });
} catch (e) { out.textContent = JSON.stringify({ ok: false, error: String(e && e.stack || e) }); }
</script>`;

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/' || url.pathname === '/index.html') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = normalize(join(ROOT, decodeURIComponent(url.pathname)));
    if (!file.startsWith(ROOT)) return res.writeHead(403).end();
    const info = await stat(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': info.size, 'content-type': type, 'accept-ranges': 'bytes' }).end();
    const data = await readFile(file);
    if (range) {
      const a = Number(range[1]);
      const b = Math.min(Number(range[2]), info.size - 1);
      return res.writeHead(206, { 'content-type': type, 'content-range': `bytes ${a}-${b}/${info.size}`, 'content-length': b - a + 1 }).end(data.subarray(a, b + 1));
    }
    res.writeHead(200, { 'content-type': type, 'content-length': info.size }).end(data);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
const chromium = process.argv[2] ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=/tmp/spechub-chromium-${process.pid}`, '--virtual-time-budget=60000', '--dump-dom', url];
const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'ignore'] });
let dom = '';
child.stdout.on('data', (d) => (dom += d));
const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
child.on('exit', () => {
  clearTimeout(timer);
  server.close();
  const m = /<pre id="out">([\s\S]*?)<\/pre>/.exec(dom);
  const text = m ? m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>') : dom;
  console.log(text);
  let ok = false;
  try { ok = JSON.parse(text).ok === true; } catch {}
  process.exit(ok ? 0 : 1);
});
