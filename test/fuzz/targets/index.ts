/**
 * The fuzz targets, by name: adding one is one module in this folder exporting `target` (a
 * FuzzTarget) and one entry here. Workers import only the module of the target they run.
 */
export const TARGET_MODULES: Readonly<Record<string, string>> = {
  safetensors: './safetensors.js',
  gguf: './gguf.js',
  config: './config.js',
  tokenizer: './tokenizer.js',
  verify: './verify.js',
};

/** The model-file targets (npm test runs their slice in fuzz.test.ts; the verifier slice runs in test/fuzz/verify). */
export const FILE_TARGETS: readonly string[] = ['safetensors', 'gguf', 'config', 'tokenizer'];

/** Target names in report order. */
export const TARGET_NAMES: readonly string[] = Object.keys(TARGET_MODULES);

/** The URL of target `name`'s module (resolved next to this file in dist/test/fuzz/targets/). */
export function targetModuleUrl(name: string): URL {
  const rel = TARGET_MODULES[name];
  if (rel === undefined) throw new Error(`fuzz: unknown target "${name}" (expected one of ${TARGET_NAMES.join(', ')})`);
  return new URL(rel, import.meta.url);
}
