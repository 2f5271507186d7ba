// Generation in a module Web Worker with 2 kernel threads (the page is cross-origin isolated). The
// kernels are split at every size (minLinearWork: 0) so the threads really run. esbuild builds
// define SPECHUB_WASM_BASE (where the .wasm files were copied); Vite finds them itself.
/* global SPECHUB_WASM_BASE */
import { Generator, createBrowserExecutor, createBrowserRuntime, httpModelSource, loadHfModel } from 'spechub';

try {
  const wasmBaseUrl = typeof SPECHUB_WASM_BASE === 'string' ? new URL(SPECHUB_WASM_BASE, location.href) : undefined;
  const rt = await createBrowserRuntime({ threads: 2, ...(wasmBaseUrl ? { wasmBaseUrl } : {}) });
  const executor = await createBrowserExecutor(rt, { threads: 2, minLinearWork: 0, minAttentionWork: 0 });
  const model = await loadHfModel(rt, httpModelSource(new URL('/models/stories260K/', location.href).href), { maxBatch: 8, executor });
  const result = await new Generator(model, { sampling: { temperature: 0 } }).generate({ maxTokens: 60 });
  postMessage({ ok: true, text: result.text, build: rt.build, threads: executor.threads ?? 1, parallel: executor.stats?.parallel ?? 0 });
  await executor.close();
} catch (e) {
  postMessage({ ok: false, error: String((e && e.stack) || e) });
}
