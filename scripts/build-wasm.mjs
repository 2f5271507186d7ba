// Compiles assembly/ into every WASM build the runtime can choose from (see asconfig.json targets).
// Usage: node scripts/build-wasm.mjs [target ...]   (default: all targets)
import asc from 'assemblyscript/asc';
import { readFileSync, mkdirSync } from 'node:fs';

const config = JSON.parse(readFileSync(new URL('../asconfig.json', import.meta.url), 'utf8'));
const targets = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(config.targets);
mkdirSync(new URL('../build/', import.meta.url), { recursive: true });
for (const target of targets) {
  const t0 = performance.now();
  const { error, stderr } = await asc.main(['assembly/index.ts', '--config', 'asconfig.json', '--target', target], {
    stdout: process.stdout,
    stderr: process.stderr,
  });
  if (error) {
    console.error(`asbuild: target ${target} failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`asbuild: ${target} (${(performance.now() - t0).toFixed(0)} ms)`);
}
