/**
 * The real tokenizers of the models spechub runs, proven against llama.cpp on the committed corpus
 * (the check itself is in real-check.ts): each tokenizer.json becomes a tiny random-weight GGUF
 * through spechub's writer; llama.cpp loads it and tokenizes every corpus case; spechub's tokenizer
 * from the tokenizer.json and from the GGUF metadata must give llama.cpp's ids, decode must invert
 * encode, and every token's attributes must be llama.cpp's. The seven checks run in two child
 * processes, so a two-core machine does them in about half the time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REAL_TOKENIZERS, tokenizerCorpus, type CorpusCase } from './corpus.js';
import { CHKHSH, type RealReport } from './real-check.js';

const WORKER = fileURLToPath(new URL('./real-check-worker.js', import.meta.url));
/** Two groups of about equal work (Gemma-3's 262k vocabulary is the largest). */
const GROUPS = [
  ['Gemma-3', 'SmolLM2', 'TinyLlama'],
  ['Qwen3', 'Llama-3.1', 'Llama-2', 'Phi-3'],
];

function runGroup(names: string[]): Promise<Map<string, RealReport>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const reports = new Map<string, RealReport>();
      for (const line of out.split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as RealReport;
        reports.set(r.name, r);
      }
      if (code !== 0 || reports.size !== names.length) reject(new Error(`real-check-worker ${names.join(' ')} exited with ${code}: ${err.slice(-2000)}`));
      else resolve(reports);
    });
  });
}

const reports = new Map<string, Promise<RealReport>>();
for (const group of GROUPS) {
  const all = runGroup(group);
  all.catch(() => {}); // reported by each tokenizer's test below
  for (const name of group) reports.set(name, all.then((m) => m.get(name)!));
}

test('real tokenizers: every one is checked', () => {
  assert.deepEqual([...reports.keys()].sort(), REAL_TOKENIZERS.map((r) => r.name).sort());
});

for (const real of REAL_TOKENIZERS) {
  test(`${real.name}: token ids equal llama.cpp's on every corpus case, from tokenizer.json and from GGUF; decode inverts encode`, async () => {
    const r = await reports.get(real.name)!;
    assert.ok(r.sameTokenizer, 'the GGUF tokenizer has the same tokens, special flags, kind, pre-tokenizer and space prefix');
    assert.ok(r.cases >= tokenizerCorpus().lines.length, `${r.cases} cases`);
    assert.deepEqual(r.failures, [], `${r.failures.length} differences from llama.cpp, first:\n${r.failures.slice(0, 5).join('\n')}`);
    assert.ok(r.parsedSpecials >= 10, `special tokens were parsed in ${r.parsedSpecials} cases`);
    assert.deepEqual(r.roundTripFailures, [], `${r.roundTripFailures.length} round-trip failures, first:\n${r.roundTripFailures.slice(0, 5).join('\n')}`);
    assert.ok(r.specialFromText <= 4, `${r.specialFromText} cases where plain text became a special token`);
    // the pre-tokenizer name spechub writes is the one llama.cpp's converter finds by hashing
    if (r.kind === 'byte-level') assert.equal(CHKHSH[r.chkhsh!], r.pre, `chkhsh ${r.chkhsh}`);
  });
}

test('corpus: every line is valid text and the sets the README lists are there', () => {
  const { lines } = tokenizerCorpus();
  const has = (re: RegExp) => lines.filter((c: CorpusCase) => re.test(c.text)).length;
  assert.ok(lines.length >= 2000);
  for (const c of lines) assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(c.text), c.where);
  assert.ok(has(/\t/) >= 30, 'tabs');
  assert.ok(has(/ {4,}/) >= 20, 'runs of spaces');
  assert.ok(has(/\d{5,}/) >= 20, 'digit runs');
  assert.ok(has(/\p{Script=Han}/u) >= 60, 'CJK');
  assert.ok(has(/\p{Script=Arabic}/u) >= 15, 'Arabic');
  assert.ok(has(/\p{Script=Devanagari}/u) >= 12, 'Devanagari');
  assert.ok(has(/\u200d/) >= 10, 'ZWJ sequences');
  assert.ok(has(/[\u{1F3FB}-\u{1F3FF}]/u) >= 5, 'skin tones');
  assert.ok(has(/\p{M}/u) >= 100, 'combining marks');
  assert.ok(lines.filter((c) => c.text !== c.text.normalize('NFC')).length >= 10, 'text that NFC changes');
  assert.ok(has(/<\|im_start\|>|<s>|<\|begin_of_text\|>|<start_of_turn>|<\|user\|>/) >= 40, 'special-token strings');
  assert.ok(has(/^\s+\S/) >= 10 && has(/\S\s+$/) >= 10 && has(/^\s*$/) >= 20, 'leading, trailing and empty-ish');
});
