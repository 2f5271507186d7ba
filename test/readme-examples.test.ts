// The README's Node examples run verbatim from a consumer project: the package as `npm pack` makes
// it, installed in a new project (scripts/readme-examples.mjs). This checks the examples, the
// "files" of package.json (the tarball has every module and .wasm they need) and the "exports".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Example {
  line: number;
  code: string;
  browser: boolean;
}
interface Run {
  line: number;
  status: number | null;
  stdout: string;
  stderr: string;
}
const script = (await import(pathToFileURL(join(ROOT, 'scripts', 'readme-examples.mjs')).href)) as {
  readmeExamples(): Example[];
  runReadmeExamples(): Run[];
};

test('README: every Node example runs as written in a project that installed the packed package', () => {
  const examples = script.readmeExamples();
  assert.ok(examples.filter((e) => !e.browser).length >= 3 && examples.some((e) => e.browser), `${examples.length} examples`);
  const runs = script.runReadmeExamples();
  for (const r of runs) assert.equal(r.status, 0, `README.md:${r.line}:\n${r.stderr}`);
  // the library example streams a story and prints its statistics and stop reason
  assert.match(runs[0]!.stdout, /max_tokens|eos/);
});
