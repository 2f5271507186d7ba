#!/usr/bin/env node
// `npm run demo`: serves the demo page (dist/demo-page/, bundled by `npm run build`), the .wasm builds
// (build/) and the shipped models (weights/ as /models/) on 127.0.0.1, with the headers that make
// the page cross-origin isolated (COOP/COEP), so kernel threads can share memory.
//
//   npm run demo [-- --port 8080] [--host 127.0.0.1] [--no-isolation] [--log-requests]
//
// --no-isolation serves without COOP/COEP (the page then runs one thread and says why).
// --log-requests prints one line per request ("GET /models/stories260K/config.json 206").
// Models: /models/index.json lists every folder of weights/ that has a config.json, with its files
// and their sizes (a manifest: the page asks for no file that is not there). Files are served with
// Range support (206, clamped ends, 416), ETag + Cache-Control: no-cache (a revisit revalidates
// with a 304 instead of downloading).
import { createServer } from 'node:http';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE_DIR = join(ROOT, 'dist', 'demo-page');
const BUILD_DIR = join(ROOT, 'build');
const WEIGHTS_DIR = join(ROOT, 'weights');

const USAGE = 'usage: npm run demo [-- --port N] [--host H] [--no-isolation] [--log-requests]';

function parseArgs(argv) {
  const o = { port: 8080, host: '127.0.0.1', isolation: true, logRequests: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a}: expected a value`);
      return v;
    };
    if (a === '--port') {
      const v = value();
      o.port = Number(v);
      if (!/^\d+$/.test(v) || o.port > 65535) fail(`--port: expected an integer in 0..65535, got "${v}"`);
    } else if (a === '--host') o.host = value();
    else if (a === '--no-isolation') o.isolation = false;
    else if (a === '--log-requests') o.logRequests = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown option ${a}`);
  }
  return o;
}

function fail(message) {
  console.error(`spechub demo: ${message}\n${USAGE}`);
  process.exit(2);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/** Every folder of weights/ with a config.json: name, files (name → bytes), vocabulary size. */
function catalog() {
  const models = [];
  for (const name of readdirSync(WEIGHTS_DIR).sort()) {
    const dir = join(WEIGHTS_DIR, name);
    if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'config.json'))) continue;
    const files = {};
    for (const f of readdirSync(dir).sort()) {
      const st = statSync(join(dir, f));
      if (st.isFile()) files[f] = st.size;
    }
    let config = {};
    try {
      config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    } catch {
      // listed anyway: loading it will report the problem
    }
    const weightBytes = Object.entries(files).filter(([f]) => f.endsWith('.safetensors')).reduce((a, [, b]) => a + b, 0);
    models.push({
      name,
      url: `/models/${encodeURIComponent(name)}/`,
      files,
      vocabSize: config.vocab_size ?? null,
      layers: config.num_hidden_layers ?? null,
      dim: config.hidden_size ?? null,
      weightBytes,
    });
  }
  return { models };
}

/** The file a URL path names, or null (outside the served folders, or not a file). */
function fileFor(pathname) {
  let parts;
  try {
    parts = decodeURIComponent(pathname).split('/').filter((p) => p !== '');
  } catch {
    return null;
  }
  if (parts.some((p) => p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) return null;
  let base;
  if (parts[0] === 'build') (base = BUILD_DIR), parts.shift();
  else if (parts[0] === 'models') (base = WEIGHTS_DIR), parts.shift();
  else base = PAGE_DIR;
  if (base === PAGE_DIR && parts.length === 0) parts = ['index.html'];
  const file = resolve(base, ...parts);
  if (!file.startsWith(base + sep)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

function start(o) {
  if (!existsSync(join(PAGE_DIR, 'index.html'))) {
    console.error('spechub demo: dist/demo-page/index.html is missing; run `npm run build` (npm install does it) first');
    process.exit(1);
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = {};
    if (o.isolation) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    headers['X-Content-Type-Options'] = 'nosniff';
    const done = (status, body = '', extra = {}) => {
      if (o.logRequests) console.log(`${req.method} ${url.pathname} ${status}`);
      res.writeHead(status, { ...headers, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'method not allowed', { Allow: 'GET, HEAD' });
    if (url.pathname === '/models/index.json') {
      return done(200, JSON.stringify(catalog(), null, 1), { 'Content-Type': TYPES['.json'], 'Cache-Control': 'no-cache' });
    }
    const file = fileFor(url.pathname);
    if (file === null) return done(404, 'not found', { 'Content-Type': TYPES['.txt'] });
    const st = statSync(file);
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    Object.assign(headers, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'Cache-Control': 'no-cache',
    });
    if (req.headers['if-none-match'] === etag) return done(304);
    const size = st.size;
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      let a;
      let b;
      if (m !== null && m[1] !== '') {
        a = Number(m[1]);
        b = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      } else if (m !== null && m[2] !== '') {
        a = Math.max(0, size - Number(m[2]));
        b = size - 1;
      }
      if (a === undefined || a >= size || b < a) return done(416, '', { 'Content-Range': `bytes */${size}` });
      if (o.logRequests) console.log(`${req.method} ${url.pathname} 206 ${a}-${b}`);
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${a}-${b}/${size}`, 'Content-Length': String(b - a + 1) });
      if (req.method === 'HEAD') return res.end();
      return createReadStream(file, { start: a, end: b }).pipe(res);
    }
    if (o.logRequests) console.log(`${req.method} ${url.pathname} 200`);
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  server.on('error', (e) => {
    console.error(`spechub demo: cannot listen on ${o.host}:${o.port} (${e.message})`);
    process.exit(1);
  });
  server.listen(o.port, o.host, () => {
    const { port } = server.address();
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    console.log(`spechub demo: http://${host}:${port}/ (${o.isolation ? 'cross-origin isolated: threads available' : 'no COOP/COEP: one thread'})`);
  });
  const stop = () => {
    server.closeAllConnections(); // browsers keep connections alive; close() alone would wait for them
    server.close(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

start(parseArgs(process.argv.slice(2)));
