#!/usr/bin/env node
// The README's JavaScript examples, run verbatim from a consumer project: `npm pack` (of the built
// package, without running `prepare` again), a fresh project in a temporary folder that installs
// the tarball, and `node` on each example there. A ```js block without an import continues the one
// before it (the README shows some examples in two steps). Examples for the browser (they import
// 'spechub/browser') are run by test/browser/bundlers.test.ts instead.
//
//   node scripts/readme-examples.mjs        after `npm run build`; prints each example's result
//
// test/readme-examples.test.ts runs it in `npm test`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The README's ```js examples: { line, code, browser }, continuations joined to their start. */
export function readmeExamples(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')) {
  const out = [];
  const re = /^```js\n([\s\S]*?)^```$/gm;
  for (const m of readme.matchAll(re)) {
    const line = readme.slice(0, m.index).split('\n').length;
    const code = m[1];
    if (!/^import /m.test(code) && out.length > 0) {
      out[out.length - 1].code += `\n${code}`;
      continue;
    }
    out.push({ line, code, browser: code.includes("from 'spechub/browser'") });
  }
  return out;
}

/**
 * Pack the package, install the tarball in a new project and run every Node example there.
 * Returns per example its README line, exit status, stdout and stderr; the folder is removed.
 */
export function runReadmeExamples({ timeoutMs = 120_000 } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'spechub-readme-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
    const packed = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...quiet], { cwd: ROOT, encoding: 'utf8' });
    const tarball = join(work, JSON.parse(packed)[0].filename);
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readme-consumer', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--prefer-offline', ...quiet, tarball], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return readmeExamples().filter((e) => !e.browser).map((e, i) => {
      const file = join(app, `example-${i + 1}.mjs`);
      writeFileSync(file, e.code);
      const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: timeoutMs });
      return { line: e.line, status: r.status, stdout: r.stdout, stderr: r.stderr };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let failed = 0;
  for (const r of runReadmeExamples()) {
    console.log(`README.md:${r.line}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    if (r.status !== 0) failed++;
  }
  process.exit(failed === 0 ? 0 : 1);
}
