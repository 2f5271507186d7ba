/**
 * BPE merges derived from a SentencePiece vocabulary's scores: what a SentencePiece BPE model
 * (a .model file, a llama2.c tokenizer.bin, a GGUF "llama" vocabulary without merges) needs to run
 * as a Hugging Face BPE tokenizer. Used by the tokenizer (src/tokenizer/spec.ts) and by the
 * converter to tokenizer.json (src/convert/sentencepiece-bpe.ts).
 */

/**
 * BPE merges of a SentencePiece vocabulary, exactly as transformers' `generate_merges` builds them:
 * for every piece, every split into two pieces of the vocabulary (left, right), ordered within the
 * piece by (id(left), id(right)); then all of them stably sorted by (piece score, length of left,
 * length of right), descending. Lengths count code points.
 */
export function sentencePieceMerges(pieces: readonly string[], scores: ArrayLike<number>): [string, string][] {
  const vocab = new Map<string, number>();
  pieces.forEach((p, id) => vocab.set(p, id));
  // candidates as parallel arrays: the piece whose score ranks them, the two halves, their lengths
  let cap = 1 << 16;
  let owner = new Int32Array(cap);
  let left = new Int32Array(cap);
  let right = new Int32Array(cap);
  let lens = new Int32Array(cap); // lenL << 16 | lenR
  let count = 0;
  const local: number[] = []; // (idL, idR, lenL) triples of one piece
  for (let id = 0; id < pieces.length; id++) {
    const p = pieces[id]!;
    if (p.length < 2) continue;
    local.length = 0;
    let cps = 0;
    for (let k = 0; k < p.length - 1; ) {
      const c = p.charCodeAt(k);
      k += c >= 0xd800 && c <= 0xdbff && k + 1 < p.length ? 2 : 1;
      cps++;
      if (k >= p.length) break;
      const idL = vocab.get(p.slice(0, k));
      if (idL === undefined) continue;
      const idR = vocab.get(p.slice(k));
      if (idR !== undefined) local.push(idL, idR, cps);
    }
    if (local.length === 0) continue;
    const total = countCodePoints(p);
    // within a piece, by (id(left), id(right)): insertion sort of the few triples
    for (let i = 3; i < local.length; i += 3) {
      for (let j = i; j > 0 && (local[j - 3]! > local[j]! || (local[j - 3] === local[j] && local[j - 2]! > local[j + 1]!)); j -= 3) {
        for (let k = 0; k < 3; k++) {
          const t = local[j - 3 + k]!;
          local[j - 3 + k] = local[j + k]!;
          local[j + k] = t;
        }
      }
    }
    for (let i = 0; i < local.length; i += 3) {
      if (count === cap) {
        cap *= 2;
        const grow = (a: Int32Array) => {
          const g = new Int32Array(cap);
          g.set(a);
          return g;
        };
        owner = grow(owner);
        left = grow(left);
        right = grow(right);
        lens = grow(lens);
      }
      owner[count] = id;
      left[count] = local[i]!;
      right[count] = local[i + 1]!;
      lens[count] = (local[i + 2]! << 16) | (total - local[i + 2]!);
      count++;
    }
  }
  // stable sort by (piece score, length of left, length of right), descending
  const score = new Float64Array(count);
  for (let i = 0; i < count; i++) score[i] = scores[owner[i]!]!;
  const idx = new Int32Array(count);
  for (let i = 0; i < count; i++) idx[i] = i;
  idx.sort((a, b) => score[b]! - score[a]! || lens[b]! - lens[a]! || a - b);
  const out = new Array<[string, string]>(count);
  for (let i = 0; i < count; i++) out[i] = [pieces[left[idx[i]!]!]!, pieces[right[idx[i]!]!]!];
  return out;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (!(c >= 0xdc00 && c <= 0xdfff && k > 0 && s.charCodeAt(k - 1) >= 0xd800 && s.charCodeAt(k - 1) <= 0xdbff)) n++;
  }
  return n;
}
