// The public API (issue 12 item 4): docs/api.md is what the package entries export (regenerated
// here from the sources by scripts/api-listing.mjs, so it cannot go stale), every exported name has
// a doc comment, the entries re-export no internal module wholesale, and the user-level entry stays
// small.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Row {
  name: string;
  kind: string;
  value: boolean;
  doc: string;
}
interface Listing {
  ENTRIES: { id: string; file: string; extends?: string }[];
  readEntries(): Map<string, Row[]>;
  apiListing(all: Map<string, Row[]>): string;
  undocumented(all: Map<string, Row[]>): string[];
}

const listing = (await import(pathToFileURL(join(ROOT, 'scripts', 'api-listing.mjs')).href)) as Listing;
const all = listing.readEntries();
const names = (id: string, values = false) => new Set(all.get(id)!.filter((r) => !values || r.value).map((r) => r.name));

describe('public API', () => {
  it('docs/api.md is what the entries export (regenerate: node scripts/api-listing.mjs)', () => {
    const file = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    assert.equal(file, listing.apiListing(all));
  });

  it('every exported name has a doc comment', () => {
    assert.deepEqual(listing.undocumented(all), []);
  });

  it('the entries are package.json "exports", and re-export whole only another entry', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const targets = JSON.stringify(pkg.exports);
    for (const e of listing.ENTRIES) {
      assert.ok(targets.includes(`"./dist/${e.file.replace(/\.ts$/, '.d.ts')}"`), `${e.file} is an entry's types in package.json`);
      const text = readFileSync(join(ROOT, e.file), 'utf8');
      const stars = [...text.matchAll(/^export \* from '([^']+)'/gm)].map((m) => m[1]);
      const base = listing.ENTRIES.find((x) => x.id === e.extends);
      const rel = base ? posix.relative(posix.dirname(e.file), base.file).replace(/\.ts$/, '.js') : '';
      assert.deepEqual(stars, base ? [rel.startsWith('.') ? rel : `./${rel}`] : [], `${e.file}: export * only of its base entry`);
    }
  });

  it('the tiers: core is small and holds no engine internals; Node adds only Node-only names', () => {
    const core = names('core', true);
    assert.ok(core.size <= 60, `spechub/core has ${core.size} value exports: put engine parts in spechub/advanced, formats in spechub/formats`);
    for (const n of ['Generator', 'ChatSession', 'createVerifier', 'loadHfModel', 'loadGgufModel', 'createRng', 'Tokenizer', 'SpechubError', 'modelDrafter']) assert.ok(core.has(n), n);
    for (const n of ['LlamaModel', 'KvCache', 'Stepper', 'NodeVerifier', 'TreeTraversal', 'SerialExecutor', 'packLinear', 'SafetensorsFile', 'GgufFile', 'writeGguf']) {
      assert.ok(!core.has(n), `${n} is not user-level`);
    }
    for (const n of ['SafetensorsFile', 'ShardedSafetensors', 'GgufFile', 'writeSafetensors', 'writeGguf', 'convertLlama2c', 'tokenizerGgufMetadata', 'ROLE_TABLE', 'quantizeGgml']) assert.ok(names('formats').has(n), n);
    for (const n of ['LlamaModel', 'LlamaContext', 'KvCache', 'Stepper', 'NodeVerifier', 'TreeTraversal', 'ThreadedExecutor', 'packLinear', 'planModelMemory', 'DraftTree']) {
      assert.ok(names('advanced', true).has(n), n);
    }
    // no name is a value of two tiers (the Node entries extend theirs)
    const tiers = ['core', 'formats', 'advanced', 'lp'].map((id) => [id, names(id, true)] as const);
    for (const [a, x] of tiers) for (const [b, y] of tiers) if (a < b) assert.deepEqual([...x].filter((n) => y.has(n)), [], `values in both ${a} and ${b}`);
    const nodeAdds = [...names('node', true)].filter((n) => !core.has(n)).sort();
    assert.deepEqual(nodeAdds, ['WEIGHTS_DIR', 'convertLlama2cFiles', 'createNodeExecutor', 'createNodeRuntime', 'fileByteSource', 'fsModelSource', 'loadModelFromPath', 'loadTokenizerFromPath']);
  });
});
