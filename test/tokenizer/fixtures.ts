/** Shared loading for the tokenizer tests (fixtures and shipped tokenizers; nothing outside the repo). */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '../../src/tokenizer.js';
import { FIXTURES, WEIGHTS, readBytes } from '../convert/test-utils.js';
import { Llama2cOracle, readLlama2cTokenizerRaw } from './llama2c-oracle.js';

export const readText = (path: string): string => readFileSync(path, 'utf8');

/** tokenizer.json + tokenizer_config.json of a shipped model folder, parsed. */
export function shippedJson(folder: string): { tokenizer: any; config: any } {
  return {
    tokenizer: JSON.parse(readText(`${WEIGHTS}${folder}/tokenizer.json`)),
    config: JSON.parse(readText(`${WEIGHTS}${folder}/tokenizer_config.json`)),
  };
}

let cached512: Tokenizer | null = null;
/** tok512 as converted by spechub (weights/stories260K). */
export function tok512(): Tokenizer {
  if (cached512 === null) {
    const j = shippedJson('stories260K');
    cached512 = Tokenizer.fromJson(j.tokenizer, j.config);
  }
  return cached512;
}

let tok656: Tokenizer | null = null;
/** The TinyStories-656K tokenizer as published. */
export function tok656K(): Tokenizer {
  if (tok656 === null) {
    const j = shippedJson('tinystories-656K');
    tok656 = Tokenizer.fromJson(j.tokenizer, j.config);
  }
  return tok656;
}

let oracle: Llama2cOracle | null = null;
/** llama2.c's encode() over the original tok512.bin. */
export function llama2cOracle(): Llama2cOracle {
  if (oracle === null) {
    const raw = readLlama2cTokenizerRaw(readBytes(`${FIXTURES}llama2c/tok512.bin`), 512);
    oracle = new Llama2cOracle(raw.pieces, raw.scores);
  }
  return oracle;
}

/** The TinyStories fixture split into stories (separator removed), lines, and sentences. */
export function tinyStories(): { stories: string[]; lines: string[]; sentences: string[] } {
  const text = readText(`${FIXTURES}tinystories-sample.txt`);
  const stories = text
    .split('<|endoftext|>')
    .map((s) => s.replace(/^\n/, ''))
    .filter((s) => s.length > 0);
  const lines = stories.flatMap((s) => s.split('\n')).filter((l) => l.length > 0);
  const sentences = lines.flatMap((l) => l.split(/(?<=[.!?]) /));
  return { stories, lines, sentences };
}

/** Adversarial strings (no U+2581 and no NUL: see the tests for those two). */
export const ADVERSARIAL: readonly string[] = [
  '',
  ' ',
  '  ',
  '      ',
  ' '.repeat(50),
  '   leading spaces',
  'trailing spaces   ',
  'a  b   c    d',
  '\n',
  '\n\n\n',
  'line one\nline two\n',
  '\r\n',
  '\t',
  'tab\tseparated\tvalues',
  'Once upon a time',
  'Once upon a time,',
  'emoji 😀🎉 and a family 👩‍👩‍👧 and a flag 🇫🇷',
  '😀',
  '日本語のテキスト',
  'Ünïcödé naïve café',
  'e\u0301 combining',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral',
  'مرحبا بالعالم',
  'zero\u200bwidth\u200djoiner',
  '\u00a0nbsp\u00a0',
  '\u200a hair space',
  'â€™ mojibake €™',
  'ñ$`+*&\\%<>|[]~',
  '<unk> <0x41> <0xZZ>',
  '\uFFFD replacement',
  '\uD800 lone high surrogate',
  'lone low \uDC00',
  '“curly quotes” — em dash – en dash ’',
  '1234567890 3.14159',
  '!!!???...,,,;;;:::',
  'a'.repeat(300),
  'the '.repeat(100),
  'x y '.repeat(80),
  'Ｆｕｌｌｗｉｄｔｈ',
  '\u0007 bell \u001b escape',
  '\uFEFF byte order mark',
];
