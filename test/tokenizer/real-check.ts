/**
 * The check behind test/tokenizer/real.test.ts, run in child processes (real-check-worker.ts) so
 * that the seven tokenizers use both cores. For one real tokenizer: its tokenizer.json becomes a
 * tiny random-weight GGUF through spechub's writer (tokenizerGgufMetadata + writeGguf); llama.cpp
 * loads it and tokenizes every corpus case with and without parse_special; spechub's tokenizer from
 * the tokenizer.json and spechub's tokenizer from the GGUF metadata must give the same ids.
 * decode(encode(x)) = x on the corpus, streaming equals decode, and every token's attributes and
 * end-of-generation flag equal llama.cpp's. Findings are collected, not asserted: the test asserts.
 */
import { Tokenizer } from '../../src/tokenizer.js';
import { ATTR } from '../../src/tokenizer/llama-vocab.js';
import { sha256Hex } from '../../src/tokenizer/sha256.js';
import { bytesSource } from '../../src/io/source.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { ggufTokenizerData } from '../../src/weights/gguf-llama.js';
import { tokenizerGgufMetadata } from '../../src/weights/gguf-writer.js';
import type { Token } from 'node-llama-cpp';
import { tokenizerCorpus, type RealTokenizer } from './corpus.js';
import { llamaCppAttributeBits, tinyLlamaGguf, withLlamaCppModel } from './llama-cpp.js';

/** convert_hf_to_gguf.py's text for recognising a pre-tokenizer (get_vocab_base_pre: chktxt). */
export const CHKTXT =
  "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";
/**
 * sha256 of str(tokenizer.encode(CHKTXT)) as llama.cpp's converter lists them (computed there with
 * Hugging Face's Rust tokenizers) for the models whose tokenizers these families share.
 */
export const CHKHSH: Readonly<Record<string, string>> = {
  '855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249': 'smollm', // HuggingFaceTB/SmolLM-135M
  '0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5': 'llama-bpe', // meta-llama/Meta-Llama-3-8B
  'e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea': 'qwen2', // Qwen/Qwen1.5-7B
};

const ATTR_MASK = ATTR.UNKNOWN | ATTR.UNUSED | ATTR.NORMAL | ATTR.CONTROL | ATTR.USER_DEFINED | ATTR.BYTE | ATTR.LSTRIP | ATTR.RSTRIP;

function show(ids: ArrayLike<number>): string {
  return Array.from(ids).slice(0, 24).join(',') + (ids.length > 24 ? `,… (${ids.length})` : '');
}

/**
 * The text decode(encode(x)) gives, by the documented exceptions (src/tokenizer.ts): in
 * SentencePiece vocabularies "▁" decodes as a space; in byte-level vocabularies, the text of an
 * added token whose piece llama.cpp's converter renamed is dropped (SmolLM2's "�").
 */
function roundTripper(tok: Tokenizer): (x: string) => string {
  if (tok.info.kind === 'sentencepiece') return (x) => x.replaceAll('\u2581', ' ');
  const dropped: string[] = [];
  for (let id = 0; id < tok.vocabSize; id++) if (tok.pieces[id] !== tok.tokens[id] && tok.isSpecial(id)) dropped.push(tok.tokens[id]!);
  return (x) => dropped.reduce((s, d) => s.replaceAll(d, ''), x);
}

/** What one tokenizer's check found (plain data: it crosses a process boundary as JSON). */
export interface RealReport {
  readonly name: string;
  readonly cases: number;
  /** The GGUF tokenizer has the same tokens, special flags, fingerprint, kind, pre and space prefix. */
  readonly sameTokenizer: boolean;
  readonly kind: string;
  readonly pre: string | null;
  /** Differences from llama.cpp: ids, attributes, end of generation, special ids. */
  readonly failures: string[];
  /** Cases where parse_special produced a special token. */
  readonly parsedSpecials: number;
  /** decode(encode(x)) ≠ x (beyond the documented exceptions) or streaming ≠ decode. */
  readonly roundTripFailures: string[];
  /** Cases where plain text became a special token (SmolLM2's "�"). */
  readonly specialFromText: number;
  /** sha256 of the ids of CHKTXT (byte-level vocabularies). */
  readonly chkhsh: string | null;
}

/** Run the whole check for one real tokenizer. */
export async function checkRealTokenizer(real: RealTokenizer): Promise<RealReport> {
  const tj = JSON.parse(real.tokenizerJson()) as object;
  const cfg = JSON.parse(real.tokenizerConfigJson()) as object;
  const tok = Tokenizer.fromJson(tj, cfg);
  const meta = tokenizerGgufMetadata(tj, cfg, { name: real.ggufName });
  const gguf = tinyLlamaGguf(meta, tok.vocabSize);
  const file = await GgufFile.open(bytesSource(`${real.name}.gguf`, gguf));
  const fromGguf = Tokenizer.fromGguf(ggufTokenizerData(file), file.name);
  const sameTokenizer =
    fromGguf.equals(tok) &&
    fromGguf.fingerprint() === tok.fingerprint() &&
    JSON.stringify([fromGguf.info.kind, fromGguf.info.pre, fromGguf.info.addSpacePrefix]) === JSON.stringify([tok.info.kind, tok.info.pre, tok.info.addSpacePrefix]);

  const { cases } = tokenizerCorpus();
  const failures: string[] = [];
  const plain: Int32Array[] = []; // the ids of every case, parseSpecial false, no BOS
  let parsedSpecials = 0;
  await withLlamaCppModel(gguf, (model) => {
    // special ids, BOS default, attributes and end of generation, id by id
    const ours = [tok.bosId, tok.eosId, tok.addBos];
    const theirs = [model.tokens.bos, model.tokens.eos, model.tokens.shouldPrependBosToken];
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) failures.push(`bos, eos, add_bos: llama.cpp ${JSON.stringify(theirs)}, spechub ${JSON.stringify(ours)}`);
    // llama.cpp picks its EOT among several candidates by hash-table order (see llama-vocab.ts)
    const eot = model.tokens.eot;
    if (eot !== tok.eotId && !(eot !== null && tok.eotId !== null && model.isEogToken(eot) && tok.eogIds.includes(eot) && tok.eogIds.includes(tok.eotId))) {
      failures.push(`eot: llama.cpp ${eot}, spechub ${tok.eotId}`);
    }
    for (let id = 0; id < tok.vocabSize; id++) {
      const want = llamaCppAttributeBits(model, id);
      if ((tok.attrs[id]! & ATTR_MASK) !== want || (fromGguf.attrs[id]! & ATTR_MASK) !== want) {
        failures.push(`attributes of ${id} ${JSON.stringify(tok.tokens[id])}: llama.cpp ${want}, spechub ${tok.attrs[id]}/${fromGguf.attrs[id]}`);
      }
      if (model.isEogToken(id as Token) !== tok.eogIds.includes(id)) failures.push(`end of generation ${id} ${JSON.stringify(tok.tokens[id])}: llama.cpp ${model.isEogToken(id as Token)}`);
      if (failures.length > 10) break;
    }
    for (const [i, c] of cases.entries()) {
      for (const parseSpecial of [false, true]) {
        const want = model.tokenize(c.text, parseSpecial);
        const got = tok.encode(c.text, { parseSpecial, bos: false });
        const viaGguf = fromGguf.encode(c.text, { parseSpecial, bos: false });
        if (want.join() !== got.join() || got.join() !== viaGguf.join()) {
          failures.push(`${c.where} parseSpecial=${parseSpecial} ${JSON.stringify(c.text.slice(0, 60))}\n  llama.cpp ${show(want)}\n  json      ${show(got)}\n  gguf      ${show(viaGguf)}`);
        }
        if (parseSpecial && got.some((id) => tok.isSpecial(id))) parsedSpecials++;
        else if (!parseSpecial) plain[i] = got;
      }
      if (failures.length > 10) break;
    }
  });

  // decode(encode(x)) = x (the documented exception aside), streaming = decode
  const rt: string[] = [];
  const roundTrip = roundTripper(tok);
  let specialFromText = 0;
  for (const [i, c] of cases.entries()) {
    const body = plain[i]!;
    const ids = tok.addBos ? Int32Array.of(tok.bosId!, ...body) : body;
    const want = roundTrip(c.text);
    const text = tok.decode(ids);
    if (body.some((id) => tok.isSpecial(id))) {
      // a special token whose text plain text can spell (SmolLM2's "�"): llama.cpp gives it too,
      // and decode leaves it out unless asked to keep special tokens
      specialFromText++;
      for (const id of body) if (tok.isSpecial(id) && !c.text.includes(tok.tokens[id]!)) rt.push(`${c.where}: special ${id} from text without its string`);
      if (tok.decode(body, { skipSpecial: false }) !== want) rt.push(`${c.where}: ${JSON.stringify(c.text.slice(0, 60))} (skipSpecial: false)`);
    } else if (text !== want) {
      rt.push(`${c.where}: ${JSON.stringify(c.text.slice(0, 60))} → ${JSON.stringify(text.slice(0, 60))}`);
    }
    const d = tok.streamDecoder();
    let streamed = '';
    for (const id of ids) streamed += d.push(id);
    streamed += d.flush();
    if (streamed !== text) rt.push(`${c.where}: streaming ${JSON.stringify(streamed.slice(0, 60))} ≠ decode ${JSON.stringify(text.slice(0, 60))}`);
  }

  // the pre-tokenizer name spechub writes is the one llama.cpp's converter finds by hashing
  const chkhsh = tok.info.kind === 'byte-level' ? sha256Hex(new TextEncoder().encode(`[${Array.from(tok.encode(CHKTXT)).join(', ')}]`)) : null;
  return { name: real.name, cases: cases.length, sameTokenizer, kind: tok.info.kind, pre: tok.info.pre, failures, parsedSpecials, roundTripFailures: rt, specialFromText, chkhsh };
}
