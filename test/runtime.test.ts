import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../src/node.js';
import { enableRelaxedSimd } from '../src/node/advanced.js';
import { CapacityError, WasmFeatureError } from '../src/errors.js';

test('runtime: the simd build instantiates over an imported memory and reports itself', () => {
  const rt = createNodeRuntime({ build: 'simd' });
  assert.equal(rt.k.build_relaxed(), 0);
  assert.equal(rt.k.build_threads(), 0);
  assert.ok(rt.arena.base >= 65536 && rt.arena.base % 65536 === 0);
});

test('runtime: arena regions are aligned, disjoint, and growth bumps the epoch', () => {
  const rt = createNodeRuntime();
  const a = rt.arena.alloc('a', 100);
  const b = rt.arena.alloc('b', 10, 16);
  assert.equal(a.ptr % 64, 0);
  assert.ok(b.ptr >= a.ptr + a.bytes);
  const e0 = rt.arena.epoch;
  const big = rt.arena.alloc('big', 8 * 1024 * 1024);
  assert.equal(rt.arena.epoch, e0 + 1);
  assert.ok(rt.memory.buffer.byteLength >= big.ptr + big.bytes);
  assert.throws(() => rt.arena.alloc('huge', 2 ** 33), CapacityError);
});

test('runtime: the -mt builds use a shared memory', () => {
  const rt = createNodeRuntime({ build: 'simd-mt' });
  assert.ok(rt.memory.buffer instanceof SharedArrayBuffer);
  assert.equal(rt.k.build_threads(), 1);
});

test('runtime: relaxed builds load once the V8 flag is set by the Node entry', () => {
  assert.equal(enableRelaxedSimd(), true);
  const rt = createNodeRuntime({ build: 'relaxed' });
  assert.equal(rt.k.build_relaxed(), 1);
});

test('runtime: a build that does not match its name is refused', async () => {
  const { Runtime } = await import('../src/wasm/runtime.js');
  const { readWasm } = await import('../src/node/advanced.js');
  assert.throws(() => Runtime.createSync(readWasm('simd'), { build: 'relaxed' }), WasmFeatureError);
});
