// Clean shutdown: a Node process that generated text on a threaded executor exits by itself, both
// after close() and when the user forgets close() (workers are unref()'d once started), whether the
// workers are still spinning or already parked. The child prints its greedy tokens, which must equal
// the serial executor's. A child still alive after HANG_MS is killed and the test fails: that is a
// hang detector, not a timing assertion (a normal run takes well under a second).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime } from '../../src/node.js';
import { SerialExecutor } from '../../src/model/executor.js';
import { argmax, stories260KRef } from '../model/helpers.js';
import { modelOn } from './helpers.js';

const CHILD = fileURLToPath(new URL('./child-generate.js', import.meta.url));
const HANG_MS = 30_000;
const COUNT = 24;

function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

async function serialTokens(): Promise<number[]> {
  const w = stories260KRef();
  const rt = createNodeRuntime({ build: 'simd-mt' });
  const m = await modelOn(rt, w, new SerialExecutor(rt), { maxBatch: 4, capacity: 64 });
  const out: number[] = [];
  let tok = 1;
  for (let pos = 0; pos < COUNT; pos++) {
    m.tokens[0] = tok;
    m.positions[0] = pos;
    m.forward(1);
    m.cache.commit(1);
    tok = argmax(m.logits, 0, w.config.vocabSize);
    out.push(tok);
  }
  return out;
}

describe('threads/shutdown: a generating process exits by itself', { timeout: 60_000 }, () => {
  for (const [mode, threads] of [['close', 2], ['forget', 2], ['forget-idle', 3]] as const) {
    test(`${mode} with ${threads} threads`, async () => {
      const [r, want] = await Promise.all([runChild([mode, String(threads), String(COUNT)]), serialTokens()]);
      assert.equal(r.killed, false, `child still running after ${HANG_MS} ms (hang); stderr: ${r.stderr}`);
      assert.equal(r.signal, null);
      assert.equal(r.code, 0, `exit code ${r.code}; stderr: ${r.stderr}`);
      const result = JSON.parse(r.stdout.trim()) as { build: string; threads: number; tokens: number[] };
      assert.equal(result.build, 'simd-mt');
      assert.equal(result.threads, threads);
      assert.deepEqual(result.tokens, want);
    });
  }
});
