// Builds bench/data/tinystories-prompts.jsonl from the TinyStories sample (CDLA-Sharing-1.0):
// the first N complete stories, each cut to its first 1200 characters (enough for 128-token
// prompts with any shipped tokenizer). Usage: node scripts/make-prompts.mjs <tinystories_sample.txt> [N=200]
import { readFileSync, writeFileSync } from 'node:fs';

const [src, nArg] = process.argv.slice(2);
if (!src) {
  console.error('usage: node scripts/make-prompts.mjs <tinystories_sample.txt> [N=200]');
  process.exit(2);
}
const n = Number(nArg ?? 200);
const text = readFileSync(src, 'utf8');
const stories = text.split('<|endoftext|>').slice(0, -1).map((s) => s.trim()).filter((s) => s.length > 0);
const out = stories.slice(0, n).map((s, i) => JSON.stringify({ id: i, text: s.slice(0, 1200) })).join('\n') + '\n';
writeFileSync('bench/data/tinystories-prompts.jsonl', out);
console.log(`wrote ${Math.min(n, stories.length)} prompts (${out.length} bytes)`);
