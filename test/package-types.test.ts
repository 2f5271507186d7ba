// The package's types as its users' TypeScript sees them, through package.json "exports":
// a browser project (moduleResolution "bundler", DOM, no @types/node) gets the core's types for
// 'spechub', 'spechub/core' and 'spechub/browser', and the browser-safe 'spechub/formats' and
// 'spechub/advanced' — they type-check without Node's types, and Node-only functions
// (createNodeRuntime, loadModelFromPath, readWasm, …) are not there; a Node project (moduleResolution
// "nodenext") gets the Node entries with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function diagnostics(dir: string, files: string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram(files.map((f) => join(dir, f)), { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, ...options });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(dir.length + 1)}: ` : '';
    return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

test('package types: a browser project sees the core without Node; a Node project sees the Node entry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spechub-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'spechub'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
    writeFileSync(
      join(dir, 'web.ts'),
      `import { Generator, createBrowserRuntime, httpModelSource, loadHfModel, type StepEvent } from 'spechub';
import * as core from 'spechub/core';
import * as browser from 'spechub/browser';
import { GgufFile, writeSafetensors } from 'spechub/formats';
import { LlamaModel, Stepper, SerialExecutor } from 'spechub/advanced';
export const tiers = [GgufFile, writeSafetensors, LlamaModel, Stepper, SerialExecutor];
const rt = await createBrowserRuntime({ threads: 'auto' });
const m = await loadHfModel(rt, httpModelSource('https://example.org/m/', { onProgress: (a: number, b: number) => void [a, b] }));
await new Generator(m).generate({ onStep: (e: StepEvent) => void e.final });
export const same: typeof core.Generator = browser.Generator;
`,
    );
    writeFileSync(
      join(dir, 'node-only.ts'),
      `import { createNodeRuntime } from 'spechub';
import { loadModelFromPath } from 'spechub/core';
import { readWasm } from 'spechub/advanced';
export { createNodeRuntime, loadModelFromPath, readWasm };
`,
    );
    writeFileSync(
      join(dir, 'server.ts'),
      `import { createNodeRuntime, loadModelFromPath } from 'spechub';
import { readWasm, LlamaModel } from 'spechub/advanced';
import { GgufFile } from 'spechub/formats';
export const rt = createNodeRuntime();
export { loadModelFromPath, readWasm, LlamaModel, GgufFile };
`,
    );
    const web: ts.CompilerOptions = {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      skipLibCheck: false, // spechub's .d.ts files are checked too: no Buffer, no NodeJS.*, no node: imports
      skipDefaultLibCheck: true, // (not TypeScript's own lib.*.d.ts)
    };
    const libProblems = (d: string[]) => d.filter((x) => x.includes('node_modules/spechub/'));
    const webDiag = diagnostics(dir, ['web.ts', 'node-only.ts'], web);
    assert.deepEqual(libProblems(webDiag), [], 'the core\'s declarations need nothing from Node');
    assert.deepEqual(webDiag.filter((x) => x.startsWith('web.ts')), []);
    const nodeOnly = webDiag.filter((x) => x.startsWith('node-only.ts'));
    assert.equal(nodeOnly.length, 3, nodeOnly.join('\n'));
    assert.match(nodeOnly[0]!, /TS2305 Module '"spechub"' has no exported member 'createNodeRuntime'/);
    assert.match(nodeOnly[1]!, /TS2305 .* has no exported member 'loadModelFromPath'/);
    assert.match(nodeOnly[2]!, /TS2305 Module '"spechub\/advanced"' has no exported member 'readWasm'/);
    const nodeDiag = diagnostics(dir, ['server.ts'], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
    });
    assert.deepEqual(nodeDiag, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
