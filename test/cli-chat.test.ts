// `spechub chat` and the chat/stdin parts of `spechub generate`, as users meet them: spawned as
// processes with piped stdin, and `spechub chat` in a pseudo-terminal (script(1) from util-linux)
// with Ctrl-C during a reply, /reset, and Ctrl-C twice at the prompt to quit. stories260K stands in
// for a chat model with a small Q/A template (test/fixtures/chat-templates/stories-qa.jinja).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../src/node.js';
import { Generator } from '../src/engine/generate.js';
import { ChatTemplate } from '../src/chat/template.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QA = join(ROOT, 'test/fixtures/chat-templates/stories-qa.jinja');
const SYSTEM = 'Lily and Tom were friends.';

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const rt = createNodeRuntime();
const stories = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const template = new ChatTemplate(readFileSync(QA, 'utf8'), { specialTokens: { bos_token: '<s>', eos_token: '</s>' } });

describe('spechub chat with piped stdin', () => {
  test('one message per line, /reset, /exit; replies equal the library\'s session; stats show the cache at work', async () => {
    const r = run(['chat', '--chat-template-file', QA, '--system', SYSTEM, '--temperature', '0', '--max-tokens', '24'],
      'Where did they go?\nWhat did Lily see?\n/reset\nWhat did Lily see?\n/exit\nnever read\n');
    assert.equal(r.code, 0, r.err);
    // the same conversation through the library (greedy: seed-free; speculative greedy = plain greedy)
    const gen = new Generator(stories, { chatTemplate: template, sampling: { temperature: 0 } });
    const session = gen.chat({ system: SYSTEM });
    const a = await session.send('Where did they go?', { maxTokens: 24 });
    const b = await session.send('What did Lily see?', { maxTokens: 24 });
    session.reset();
    const c = await session.send('What did Lily see?', { maxTokens: 24 });
    assert.equal(r.out, `${a.text}\n${b.text}\n${c.text}\n`);
    assert.notEqual(b.text, c.text, 'the reset changed the conversation');
    const turns = r.err.split('\n').filter((l) => /^\[turn \d\] \d+ tokens/.test(l));
    assert.equal(turns.length, 3, r.err);
    // turn 2 reuses turn 1 (system + question + reply); turn 3 after /reset only the preloaded system message
    const reused = turns.map((l) => Number(/(\d+) from cache/.exec(l)?.[1] ?? 0));
    assert.ok(reused[1]! >= a.stats.promptTokens + a.ids.length - 1, turns[1]);
    assert.equal(reused[2], reused[0], 'after /reset only the system message comes from the cache');
    assert.match(r.err, /\(conversation reset\)/);
    assert.match(r.err, /spechub with .*stories281K-draft/);
  });

  test('--help; a model without a chat template is a typed error naming the fallbacks; unknown commands are reported', () => {
    const h = run(['chat', '--help']);
    assert.equal(h.code, 0);
    for (const flag of ['--system', '--chat-template', '--chat-template-file', '/reset', '/exit', 'Ctrl-C', '--stop', '--draft']) assert.ok(h.out.includes(flag), flag);
    const none = run(['chat'], 'hello\n');
    assert.equal(none.code, 1);
    assert.match(none.err, /ChatTemplateError: .*has no chat template.*--chat-template chatml\|llama3/);
    const builtin = run(['chat', '--chat-template', 'zephyr', '--max-tokens', '5', '--quiet', '--seed', '1'], '/nope\nhi\n');
    assert.equal(builtin.code, 0, builtin.err);
    assert.match(builtin.err, /unknown command \/nope/);
    assert.equal(builtin.out.split('\n').length, 2, 'one reply line');
    const both = run(['chat', '--chat-template', 'zephyr', '--chat-template-file', QA]);
    assert.equal(both.code, 2);
    assert.match(both.err, /expected one of them, got both/);
  });
});

describe('spechub generate: prompt from stdin or a file, --chat, --stop', () => {
  test('a piped prompt = --prompt = --prompt-file (one trailing newline dropped); --stop ends the text before the stop string', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-prompt-'));
    try {
      const args = ['generate', '--temperature', '0', '--max-tokens', '40', '--draft', 'none'];
      const direct = run([...args, '--prompt', 'Lily saw a big dog']);
      assert.equal(direct.code, 0, direct.err);
      assert.equal(run(args, 'Lily saw a big dog\n').out, direct.out);
      writeFileSync(join(dir, 'p.txt'), 'Lily saw a big dog\n');
      assert.equal(run([...args, '--prompt-file', join(dir, 'p.txt')]).out, direct.out);
      const cut = direct.out.indexOf('.');
      assert.ok(cut > 0);
      const stopped = run([...args, '--prompt', 'Lily saw a big dog', '--stop', '.']);
      assert.equal(stopped.out, direct.out.slice(0, cut) + '\n');
      assert.match(stopped.err, /stop: stop "\."/);
      const missing = run([...args, '--prompt-file', join(dir, 'none.txt')]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /--prompt-file .*none\.txt: no such file/);
      assert.equal(run([...args, '--prompt', 'a', '--prompt-file', join(dir, 'p.txt')]).code, 2);
      assert.equal(run([...args, '--system', 'x']).code, 2, '--system needs --chat');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('generation_config.json supplies the sampling defaults and max_new_tokens; the stats line says so; flags win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-genconfig-'));
    try {
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(WEIGHTS_DIR, 'stories260K', f), join(dir, f));
      writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ do_sample: false, temperature: 0.6, max_new_tokens: 12, repetition_penalty: 1.1 }));
      const r = run(['generate', '--model', dir, '--prompt', 'Lily saw a big dog', '--draft', 'none']);
      assert.equal(r.code, 0, r.err);
      const greedy = run(['generate', '--prompt', 'Lily saw a big dog', '--draft', 'none', '--temperature', '0', '--max-tokens', '12']);
      assert.equal(r.out, greedy.out);
      assert.match(r.err, /12 tokens in .*from generation_config\.json: do_sample=false max_new_tokens=12 repetition_penalty=1\.1 \(not applied\)/);
      const flags = run(['generate', '--model', dir, '--prompt', 'Lily', '--draft', 'none', '--temperature', '1', '--max-tokens', '5', '--seed', '3']);
      assert.match(flags.err, /5 tokens in .*from generation_config\.json: max_new_tokens=12 repetition_penalty=1\.1 \(not applied\)/);
      assert.doesNotMatch(flags.err, /do_sample/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--chat wraps the prompt as one user message (with --system) in the template', async () => {
    const r = run(['generate', '--chat', '--chat-template-file', QA, '--system', SYSTEM, '--prompt', 'Where did they go?', '--temperature', '0', '--max-tokens', '30', '--json', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out);
    const want = await new Generator(stories, { chatTemplate: template, sampling: { temperature: 0 } }).generate({
      messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Where did they go?' }],
      maxTokens: 30,
    });
    assert.deepEqual(o.ids, Array.from(want.ids));
    assert.equal(o.stats.promptTokens, want.stats.promptTokens);
  });
});

describe('spechub chat in a pseudo-terminal', () => {
  let dir = '';
  before(() => {
    // stories260K with a 4096-position context, so that a reply that ignores EOS runs long enough to be interrupted
    dir = mkdtempSync(join(tmpdir(), 'spechub-chat-pty-'));
    for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(WEIGHTS_DIR, 'stories260K', f), join(dir, f));
    const config = JSON.parse(readFileSync(join(WEIGHTS_DIR, 'stories260K', 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 4096 }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('Ctrl-C stops a reply (the chat goes on and reuses it), /reset starts over, Ctrl-C twice at the prompt quits', async () => {
    const which = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' });
    assert.equal(which.status, 0, 'this test needs script(1) from util-linux (Debian: bsdutils) to give spechub chat a terminal');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, CLI, 'chat', '--model', dir, '--chat-template-file', QA, '--system', SYSTEM, '--ignore-eos', '--max-tokens', '4000', '--draft', 'none', '--threads', '1', '--temperature', '0']
      .map(quote)
      .join(' ');
    const p = spawn('script', ['-q', '-f', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
    const wait = async (re: RegExp, from: number, what: string) => {
      for (let i = 0; i < 600; i++) {
        if (re.test(out.slice(from))) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.fail(`waited 15 s for ${what}; terminal so far: ${JSON.stringify(out.slice(-2000))}`);
    };
    const PROMPT = /> (\x1b\[\d+G)?$/;
    try {
      await wait(PROMPT, 0, 'the first prompt');
      const turn = async (message: string, n: number) => {
        const mark = out.length;
        p.stdin.write(`${message}\r`);
        // some of the reply has streamed: interrupt it
        await wait(new RegExp(`${message.replace(/[?]/g, '\\?')}\\r\\r\\n.{40}`, 's'), mark, `the reply to ${message}`);
        p.stdin.write('\x03');
        await wait(new RegExp(`\\[turn ${n}\\] [^\\n]*stop: aborted`), mark, `turn ${n} stopped by Ctrl-C`);
        await wait(PROMPT, mark, 'the prompt after the reply');
        const stats = new RegExp(`\\[turn ${n}\\] (\\d+) tokens[^\\n]*prompt (\\d+) tokens: (\\d+) from cache`).exec(out.slice(mark))!;
        return { generated: Number(stats[1]), prompt: Number(stats[2]), cached: Number(stats[3]) };
      };
      const t1 = await turn('Where did they go?', 1);
      assert.ok(t1.generated < 4000, 'the reply was cut short');
      const t2 = await turn('What did Lily see?', 2);
      // the interrupted reply is part of the conversation and came from the cache: everything up to where the
      // re-rendered text first tokenizes differently from the sampled tokens (where Ctrl-C cut a word, say) is
      // reused; the exact count depends on when the interrupt lands, so only 'past the first turn's prompt' is fixed
      assert.ok(t2.cached > t1.prompt && t2.cached <= t1.prompt + t1.generated, JSON.stringify({ t1, t2 }));
      let mark = out.length;
      p.stdin.write('/reset\r');
      await wait(/\(conversation reset\)/, mark, '/reset');
      await wait(PROMPT, mark, 'the prompt after /reset');
      const t3 = await turn('What did Lily see?', 3);
      assert.equal(t3.cached, t1.cached, 'after /reset only the system message is cached');
      assert.ok(t3.prompt < t2.prompt);
      mark = out.length;
      p.stdin.write('\x03');
      await wait(/Ctrl-C again or \/exit to quit/, mark, 'the quit hint');
      p.stdin.write('\x03');
      assert.equal(await exited, 0);
    } finally {
      p.kill('SIGKILL');
    }
  });
});
