/**
 * Test oracle: llama2.c's own `encode()` (run.c), transcribed independently of src/: a dummy-prefix
 * space token, UTF-8 character lookup with byte fallback (+3), then repeatedly merge the adjacent
 * pair whose concatenation is in the vocabulary with the highest score (strictly greater than
 * -1e10; the leftmost on ties). Works on bytes, like the C code; only the pair scan is cached.
 */

/** llama2.c tokenizer.bin → pieces as raw bytes, scores. */
export function readLlama2cTokenizerRaw(bytes: Uint8Array, vocabSize: number): { pieces: Uint8Array[]; scores: Float32Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    scores[i] = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    off += 8;
    pieces.push(bytes.slice(off, off + len));
    off += len;
  }
  return { pieces, scores };
}

const bin = (b: ArrayLike<number>): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

export class Llama2cOracle {
  private readonly vocab: string[];
  private readonly lookup = new Map<string, number>();
  private readonly scores: Float32Array;

  constructor(pieces: Uint8Array[], scores: Float32Array) {
    this.vocab = pieces.map(bin);
    // str_lookup is a bsearch over unique strings; keep the first id of a string like a stable sort would
    this.vocab.forEach((s, id) => {
      if (!this.lookup.has(s)) this.lookup.set(s, id);
    });
    this.scores = scores;
  }

  encode(text: string, bos: boolean, eos: boolean): number[] {
    const bytes = new TextEncoder().encode(text);
    const tokens: number[] = [];
    if (bos) tokens.push(1);
    if (bytes.length > 0) {
      const dummy = this.lookup.get(' ');
      if (dummy === undefined) throw new Error('oracle: no " " piece');
      tokens.push(dummy);
    }
    let buf: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if ((c & 0xc0) !== 0x80) buf = [];
      buf.push(c);
      const next = i + 1 < bytes.length ? bytes[i + 1]! : 0;
      if ((next & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.lookup.get(bin(buf));
      if (id !== undefined) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3);
      buf = [];
    }
    // merge loop; pairId[i] caches str_lookup(vocab[t[i]] + vocab[t[i+1]])
    const pairOf = (i: number) => this.lookup.get(this.vocab[tokens[i]!]! + this.vocab[tokens[i + 1]!]!) ?? -1;
    const pairId: number[] = [];
    for (let i = 0; i + 1 < tokens.length; i++) pairId.push(pairOf(i));
    const floor = Math.fround(-1e10);
    for (;;) {
      let bestScore = floor;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < pairId.length; i++) {
        const id = pairId[i]!;
        if (id !== -1 && this.scores[id]! > bestScore) {
          bestScore = this.scores[id]!;
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens[bestIdx] = bestId;
      tokens.splice(bestIdx + 1, 1);
      pairId.splice(bestIdx, 1);
      if (bestIdx > 0) pairId[bestIdx - 1] = pairOf(bestIdx - 1);
      if (bestIdx < pairId.length) pairId[bestIdx] = pairOf(bestIdx);
    }
    if (eos) tokens.push(2);
    return tokens;
  }
}
