// createBrowserRuntime / createBrowserExecutor and the page conditions they depend on, under Node
// with browser globals put in place: the build follows threads and relaxed, the .wasm comes from
// wasmBaseUrl (streaming compile when served as application/wasm), and a page that is not
// cross-origin isolated gets a WasmFeatureError that says so — also from ThreadedExecutor.create
// when SharedArrayBuffer does not exist at all (never a raw ReferenceError).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createNodeRuntime } from '../../src/node.js';
import { BUILD_DIR } from '../../src/node/advanced.js';
import { createBrowserRuntime, defaultBrowserThreads, threadsUnavailableReason } from '../../src/wasm/browser.js';
import { createBrowserExecutor } from '../../src/exec/browser.js';
import { ThreadedExecutor, browserWorkerHost } from '../../src/exec/threads.js';
import { SerialExecutor } from '../../src/exec/executor.js';
import { WasmFeatureError } from '../../src/errors.js';

const g = globalThis as Record<string, unknown>;
const saved = { fetch: g.fetch, crossOriginIsolated: g.crossOriginIsolated, SharedArrayBuffer: g.SharedArrayBuffer };
afterEach(() => {
  g.fetch = saved.fetch;
  if (saved.crossOriginIsolated === undefined) delete g.crossOriginIsolated;
  else g.crossOriginIsolated = saved.crossOriginIsolated;
  g.SharedArrayBuffer = saved.SharedArrayBuffer;
});

/** fetch() over build/ at https://cdn.example/spechub/; records the URLs asked for. */
function serveBuild(type = 'application/wasm'): string[] {
  const asked: string[] = [];
  g.fetch = async (url: URL | string) => {
    const href = String(url instanceof URL ? url.href : url);
    asked.push(href);
    const m = /^https:\/\/cdn\.example\/spechub\/(spechub\.[a-z-]+\.wasm)$/.exec(href);
    if (!m) return new Response('not found', { status: 404 });
    return new Response(readFileSync(BUILD_DIR + m[1]), { headers: { 'content-type': type } });
  };
  return asked;
}

describe('wasm/browser: runtimes and executors for pages', () => {
  test('the build follows threads and relaxed; the .wasm comes from wasmBaseUrl', async () => {
    const asked = serveBuild();
    const one = await createBrowserRuntime({ wasmBaseUrl: 'https://cdn.example/spechub' });
    assert.equal(one.build, 'simd');
    const two = await createBrowserRuntime({ threads: 2, wasmBaseUrl: 'https://cdn.example/spechub/' });
    assert.equal(two.build, 'simd-mt');
    assert.ok(two.memory.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(asked, ['https://cdn.example/spechub/spechub.simd.wasm', 'https://cdn.example/spechub/spechub.simd-mt.wasm']);
    // a server without the wasm content type: compiled from the bytes instead of streaming
    serveBuild('application/octet-stream');
    assert.equal((await createBrowserRuntime({ build: 'simd', wasmBaseUrl: 'https://cdn.example/spechub/' })).build, 'simd');
    await assert.rejects(createBrowserRuntime({ wasmBaseUrl: 'https://cdn.example/elsewhere/' }), (e: unknown) => {
      assert.ok(e instanceof WasmFeatureError);
      assert.equal(e.message, 'https://cdn.example/elsewhere/spechub.simd.wasm: expected HTTP 200 for the WebAssembly module, got 404');
      return true;
    });
    await assert.rejects(createBrowserRuntime({ threads: 0 }), /createBrowserRuntime: expected threads to be an integer in \[1, 256\] or 'auto', got 0/);
    assert.ok((await createBrowserExecutor(one)) instanceof SerialExecutor);
  });

  test('a page that is not cross-origin isolated: the reason, one thread for "auto", a WasmFeatureError for more', async () => {
    assert.equal(threadsUnavailableReason(), null); // Node has shared memory
    g.crossOriginIsolated = false;
    const why = threadsUnavailableReason();
    assert.match(why ?? '', /^the page is not cross-origin isolated, so it has no SharedArrayBuffer: serve it with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" to use threads$/);
    assert.equal(defaultBrowserThreads(), 1);
    serveBuild();
    assert.equal((await createBrowserRuntime({ threads: 'auto', wasmBaseUrl: 'https://cdn.example/spechub/' })).build, 'simd');
    await assert.rejects(createBrowserRuntime({ threads: 2, wasmBaseUrl: 'https://cdn.example/spechub/' }), (e: unknown) => {
      assert.ok(e instanceof WasmFeatureError);
      assert.equal(e.message, `createBrowserRuntime: 2 threads need shared memory, but ${why}; use threads: 1 or 'auto'`);
      return true;
    });
    await assert.rejects(createBrowserRuntime({ build: 'relaxed-mt', wasmBaseUrl: 'https://cdn.example/spechub/' }), /build "relaxed-mt" needs shared memory, but the page is not cross-origin isolated/);
    await assert.rejects(createBrowserExecutor(createNodeRuntime({ threads: 2 }), { threads: 2 }), (e: unknown) => e instanceof WasmFeatureError && /createBrowserExecutor: 2 threads need shared memory/.test(e.message));
  });

  test('no SharedArrayBuffer at all: ThreadedExecutor.create says why instead of a ReferenceError', async () => {
    const rt = createNodeRuntime({ threads: 2 });
    delete g.SharedArrayBuffer;
    await assert.rejects(ThreadedExecutor.create(rt, { threads: 2, host: browserWorkerHost(() => assert.fail('no worker may start')) }), (e: unknown) => {
      assert.ok(e instanceof WasmFeatureError, String(e));
      assert.match(e.message, /^ThreadedExecutor: SharedArrayBuffer is not defined; browsers define it only on cross-origin-isolated pages/);
      return true;
    });
  });
});
