// Build selection: the pure table (every request × every feature set, and the typed errors naming
// what is missing), and what createNodeRuntime picks on this Node (which sets Node 20's relaxed-SIMD
// flag itself).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBuild, type WasmFeatures } from '../../src/wasm/select.js';
import { createNodeRuntime } from '../../src/node.js';
import { selectNodeBuild } from '../../src/node/advanced.js';
import { detectFeatures } from '../../src/wasm/runtime.js';
import { InvalidArgumentError, WasmFeatureError } from '../../src/errors.js';

const ALL: WasmFeatures = { simd: true, relaxedSimd: true, threads: true };

describe('threads/select: selectBuild', () => {
  test('threads pick -mt, relaxed picks relaxed; the default is plain SIMD on one thread', () => {
    assert.equal(selectBuild({}, ALL), 'simd');
    assert.equal(selectBuild({ threads: 1 }, ALL), 'simd');
    assert.equal(selectBuild({ threads: 2 }, ALL), 'simd-mt');
    assert.equal(selectBuild({ threads: 8, relaxed: false }, ALL), 'simd-mt');
    assert.equal(selectBuild({ relaxed: true }, ALL), 'relaxed');
    assert.equal(selectBuild({ relaxed: 'auto' }, ALL), 'relaxed');
    assert.equal(selectBuild({ threads: 2, relaxed: true }, ALL), 'relaxed-mt');
    assert.equal(selectBuild({ threads: 3, relaxed: 'auto' }, ALL), 'relaxed-mt');
  });

  test("'auto' falls back to plain SIMD where relaxed SIMD is absent; true refuses", () => {
    const noRelaxed = { ...ALL, relaxedSimd: false };
    assert.equal(selectBuild({ relaxed: 'auto' }, noRelaxed), 'simd');
    assert.equal(selectBuild({ threads: 2, relaxed: 'auto' }, noRelaxed), 'simd-mt');
    assert.throws(() => selectBuild({ relaxed: true }, noRelaxed), (e: unknown) => e instanceof WasmFeatureError && /relaxed SIMD was required/.test(e.message));
  });

  test('threads without shared memory, or no SIMD at all, are typed errors naming what is missing', () => {
    assert.throws(() => selectBuild({ threads: 2 }, { ...ALL, threads: false }), (e: unknown) => e instanceof WasmFeatureError && /2 threads need a shared WebAssembly.Memory/.test(e.message));
    assert.equal(selectBuild({ threads: 1 }, { ...ALL, threads: false }), 'simd');
    assert.throws(() => selectBuild({}, { ...ALL, simd: false }), (e: unknown) => e instanceof WasmFeatureError && /no WebAssembly SIMD/.test(e.message));
  });
});

describe('threads/select: on this Node', () => {
  test('createNodeRuntime follows threads and relaxed, and the runtime reports its build', () => {
    const cases = [
      [{}, 'simd'],
      [{ threads: 2 }, 'simd-mt'],
      [{ relaxed: true }, 'relaxed'],
      [{ threads: 2, relaxed: true }, 'relaxed-mt'],
      [{ threads: 4, relaxed: 'auto' }, 'relaxed-mt'], // Node 20 needs a V8 flag: set by the Node entry itself
    ] as const;
    for (const [opts, build] of cases) {
      const rt = createNodeRuntime(opts);
      assert.equal(rt.build, build, JSON.stringify(opts));
      assert.equal(rt.k.build_threads(), build.endsWith('-mt') ? 1 : 0);
      assert.equal(rt.k.build_relaxed(), build.startsWith('relaxed') ? 1 : 0);
      assert.equal(rt.memory.buffer instanceof SharedArrayBuffer, build.endsWith('-mt'));
    }
    assert.equal(detectFeatures().relaxedSimd, true);
    assert.equal(selectNodeBuild({ build: 'relaxed-mt', threads: 1 }), 'relaxed-mt', 'an explicit build wins');
  });

  test('bad options are InvalidArgumentErrors', () => {
    assert.throws(() => createNodeRuntime({ threads: 0 }), InvalidArgumentError);
    assert.throws(() => createNodeRuntime({ threads: 1.5 }), InvalidArgumentError);
    assert.throws(() => createNodeRuntime({ relaxed: 'yes' as unknown as boolean }), InvalidArgumentError);
  });
});
