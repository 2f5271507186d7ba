// The core must run in browsers: no Node-only module outside the Node entry points (src/node.ts,
// src/cli.ts, src/node/**). Checked on the compiled output, through the whole import graph of the
// browser-safe entries (dist/src/index.js, formats.js, advanced.js), including what they import
// from node_modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../src/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// static imports/exports at the start of a line, and dynamic import('…') calls
const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function resolveBare(spec: string): string | null {
  // the browser build of a package: its "browser" / "module" / exports.browser entry
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  const dir = join(ROOT, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const exp = pkg.exports?.['.'] ?? pkg.exports;
  const entry = (typeof exp === 'object' && (exp.browser?.import ?? exp.browser ?? exp.import ?? exp.default)) || pkg.browser || pkg.module || pkg.main;
  return typeof entry === 'string' ? join(dir, entry) : null;
}

/** Bare specifiers (packages) the core imports, by the file that imports them. */
const bareImports = new Map<string, string>();

test('core: the import graph of dist/src/index.js (and formats.js, advanced.js) uses no node: module, Buffer or process', () => {
  const seen = new Set<string>();
  const todo = [join(DIST, 'index.js'), join(DIST, 'formats.js'), join(DIST, 'advanced.js')];
  const problems: string[] = [];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    if (/\bBuffer\.|\bprocess\.(env|argv|exit|stdout|stderr)\b/.test(src.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) problems.push(`${file}: uses Buffer or process`);
    for (const m of src.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:') || ['fs', 'path', 'os', 'url', 'worker_threads', 'child_process'].includes(spec)) {
        problems.push(`${file}: imports ${spec}`);
        continue;
      }
      if (!spec.startsWith('.')) bareImports.set(spec, file);
      const next = spec.startsWith('.') ? resolve(dirname(file), spec) : resolveBare(spec);
      if (next && existsSync(next)) todo.push(next);
    }
  }
  assert.ok(seen.size > 40, `walked ${seen.size} files`);
  assert.ok(![...seen].some((f) => f.includes(`${join('dist', 'src', 'node')}`) || f.endsWith('cli.js')), 'the core reaches a Node entry point');
  assert.deepEqual(problems, []);
});

test('core: every package the core imports is in the README\'s import map (an unbundled page resolves all of them)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<script type="importmap">([\s\S]*?)<\/script>/.exec(readme);
  assert.ok(m, 'the README documents an import map');
  const imports = (JSON.parse(m[1]!) as { imports: Record<string, string> }).imports;
  assert.ok(bareImports.size >= 2, [...bareImports.keys()].join(', '));
  for (const [spec, file] of bareImports) {
    assert.ok(Object.hasOwn(imports, spec), `${file} imports ${spec}, which the README's import map does not map`);
    // the mapped file is the package's browser entry, as node_modules/ lays it out
    const resolved = resolveBare(spec);
    assert.equal(imports[spec], `/node_modules/${resolved!.slice(join(ROOT, 'node_modules').length + 1).split(sep).join('/')}`, spec);
  }
  assert.equal(imports['spechub/core'], '/node_modules/spechub/dist/src/index.js');
});
