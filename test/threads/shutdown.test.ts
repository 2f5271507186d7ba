// Clean shutdown: a Node process that generated text on a threaded executor (the shipped stories260K
// through loadModelFromPath and Generator) exits by itself, both after close() and when the user
// forgets close() (workers are unref()'d once started), whether the workers are still spinning or
// already parked. Its sampled text equals the serial executor's (same seed: the logits are
// bit-identical, so every sampled token is). A child still alive after HANG_MS is killed and the test
// fails: a hang detector, not a timing assertion (a normal run takes well under a second).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child-generate.js', import.meta.url));
const HANG_MS = 30_000;
const COUNT = 40;

interface ChildResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; killed: boolean }
interface Generated { build: string; threads: number; ids: number[]; text: string }

function runChild(args: string[]): Promise<ChildResult> {
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

function parse(r: ChildResult): Generated {
  assert.equal(r.killed, false, `child still running after ${HANG_MS} ms (hang); stderr: ${r.stderr}`);
  assert.equal(r.signal, null);
  assert.equal(r.code, 0, `exit code ${r.code}; stderr: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Generated;
}

describe('threads/shutdown: a generating process exits by itself', { timeout: 120_000 }, () => {
  let serial: Promise<Generated>;

  test('reference: the same generation on one thread (plain simd build, which computes as simd-mt does)', async () => {
    serial = runChild(['close', '1', String(COUNT)]).then(parse);
    const s = await serial;
    assert.equal(s.build, 'simd');
    assert.equal(s.threads, 1);
    assert.equal(s.ids.length, COUNT);
  });

  for (const [mode, threads] of [['close', 2], ['forget', 2], ['forget-idle', 3]] as const) {
    test(`${mode} with ${threads} threads`, async () => {
      const r = parse(await runChild([mode, String(threads), String(COUNT)]));
      const want = await serial;
      assert.equal(r.build, 'simd-mt');
      assert.equal(r.threads, threads);
      assert.deepEqual(r.ids, want.ids);
      assert.equal(r.text, want.text);
    });
  }
});
