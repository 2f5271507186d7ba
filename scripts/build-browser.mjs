#!/usr/bin/env node
// Browser bundles, after tsc (part of `npm run build`), with esbuild:
//
//   dist/browser/spechub.js                 the core (dist/src/index.js) and its dependencies in one
//   dist/browser/browser-kernel-worker.js   ES module: `import … from 'spechub/browser'` works in
//                                           pages and module Web Workers with no bundler and no
//                                           import map (workers have none); the kernel worker sits
//                                           next to it, where createBrowserExecutor looks for it
//   dist/demo-page/                         the demo (`npm run demo`): index.html, style.css, the
//                                           page script and the generation worker, bundled from
//                                           tsc's dist/demo/*.js
//
// Any esbuild warning fails the build: the core must bundle cleanly.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dist = (...p) => join(ROOT, 'dist', ...p);

/**
 * dist/src/wasm/browser.js finds the package's .wasm at ../../../build/ (three folders up from
 * dist/src/wasm/); from dist/browser/ that folder is two up.
 */
const wasmPathFromBundle = {
  name: 'spechub-wasm-path',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/]wasm[\\/]browser\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const fixed = text.replaceAll("'../../../build/", "'../../build/");
      if (fixed === text) throw new Error(`${args.path}: expected the packaged .wasm URLs ('../../../build/…')`);
      return { contents: fixed, loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'silent',
};

async function run(name, options) {
  const t0 = performance.now();
  const result = await build({ ...common, ...options });
  const problems = [...result.errors, ...result.warnings];
  if (problems.length > 0) {
    for (const p of problems) console.error(`build-browser ${name}: ${p.text}${p.location ? ` (${p.location.file}:${p.location.line})` : ''}`);
    process.exit(1);
  }
  console.log(`build-browser: ${name} (${Math.round(performance.now() - t0)} ms)`);
}

await run('dist/browser', {
  entryPoints: { spechub: dist('src', 'index.js'), 'browser-kernel-worker': dist('src', 'exec', 'browser-kernel-worker.js') },
  outdir: dist('browser'),
  plugins: [wasmPathFromBundle],
});

mkdirSync(dist('demo-page'), { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'demo', f), dist('demo-page', f));
await run('dist/demo-page', {
  entryPoints: { app: dist('demo', 'app.js'), worker: dist('demo', 'worker.js'), 'browser-kernel-worker': dist('src', 'exec', 'browser-kernel-worker.js') },
  outdir: dist('demo-page'),
});
