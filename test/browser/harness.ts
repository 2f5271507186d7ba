// Real Chromium for the browser tests: Debian's /usr/bin/chromium (`.ci/run` installs it) driven by
// playwright-core, each context with a fresh --user-data-dir; the demo through the real
// `npm run demo`; a small static server for pages built by bundlers. Screenshots go to
// test-output/browser/.
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = join(ROOT, 'test-output', 'browser');
export const GREEDY_200 = join(ROOT, 'test', 'fixtures', 'llama2c-stories260K-greedy-200.txt');

/** The flags every test browser runs with (the user-data-dir is added per context). */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** A Chromium context over a fresh profile; close() also deletes the profile. */
export async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get update && apt-get install -y chromium; .ci/run does it)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'spechub-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 1000 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page whose uncaught exceptions, console errors and failed responses (status >= 400, with their
 * URL: "404 /models/x/generation_config.json") are collected; tests assert what they expect there.
 */
export async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // a failed load is reported below with its URL
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  context.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** `npm run demo` on a free port, with one stdout line per request. */
export interface Demo {
  url: string;
  /** Request lines the server printed so far ("GET /models/stories260K/config.json 206 0-649"). */
  requests: string[];
  stop(): Promise<void>;
}

export async function startDemo(extra: string[] = []): Promise<Demo> {
  const child: ChildProcess = spawn('npm', ['run', '--silent', 'demo', '--', '--port', '0', '--log-requests', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() ends npm and the server under it
  });
  const requests: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const url = await new Promise<string>((resolvePromise, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`npm run demo did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d) => {
      buf += String(d);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^spechub demo: (http:\/\/\S+\/)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolvePromise(m[1]!);
        } else if (/^(GET|HEAD) /.test(line)) requests.push(line);
      }
    });
    child.on('exit', (code) => reject(new Error(`npm run demo exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    requests,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        child.on('exit', () => resolveStop());
        process.kill(-child.pid!, 'SIGTERM');
      }),
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.map': 'application/json',
};

/**
 * A static server on 127.0.0.1 with COOP/COEP and Range support: `routes` maps URL prefixes to
 * folders ("/" → a built page, "/models/" → weights/), `pages` maps paths to contents (typed by extension).
 */
export async function staticServer(routes: Record<string, string>, pages: Record<string, string> = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers: Record<string, string> = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (pages[path] !== undefined) return res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'text/html' }).end(pages[path]);
    const prefix = Object.keys(routes).filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) return res.writeHead(404, headers).end();
    const base = resolve(routes[prefix]!);
    const file = resolve(base, `./${path.slice(prefix.length) || 'index.html'}`);
    if (!(file === base || file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404, headers).end();
    const size = statSync(file).size;
    headers['Content-Type'] = TYPES[extname(file)] ?? 'application/octet-stream';
    headers['Accept-Ranges'] = 'bytes';
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const a = Number(m[1]);
      const b = Math.min(m[2] ? Number(m[2]) : size - 1, size - 1);
      if (a >= size) return res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` }).end();
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${a}-${b}/${size}`, 'Content-Length': String(b - a + 1) });
      return createReadStream(file, { start: a, end: b }).pipe(res);
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function outputPath(name: string): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return join(OUTPUT_DIR, name);
}
