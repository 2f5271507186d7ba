// Regenerates the converted shipped weights from the llama2.c originals in test/fixtures/llama2c:
//   weights/stories260K/       ← stories260K.bin + tok512.bin
//   weights/stories281K-draft/ ← stories281K.bin + tok512.bin
// Usage: npx tsc -p tsconfig.json && node scripts/convert-shipped-weights.mjs
// (weights/tinystories-656K is copied as published, not converted.) LICENSE/README files are kept.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = new URL('../dist/src/node/convert.js', import.meta.url);
if (!existsSync(compiled)) {
  console.error('convert-shipped-weights: dist/ is missing; run `npx tsc -p tsconfig.json` first');
  process.exit(1);
}
const { convertLlama2cFiles } = await import(compiled.href);
const fixtures = `${root}test/fixtures/llama2c/`;
for (const [bin, out] of [
  ['stories260K.bin', 'stories260K'],
  ['stories281K.bin', 'stories281K-draft'],
]) {
  await convertLlama2cFiles(fixtures + bin, fixtures + 'tok512.bin', `${root}weights/${out}`);
}
