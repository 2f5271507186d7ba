/**
 * Test oracle: Hugging Face `tokenizers` (Rust) BPE semantics for SentencePiece-style
 * tokenizer.json files, written naively and independently of src/ and of tokenizers.js:
 * Prepend "▁" (non-empty input only) + Replace " " → "▁"; split into code points; characters
 * outside the vocabulary become <0xXX> byte tokens (byte_fallback) or <unk>; then repeatedly merge
 * the adjacent pair with the lowest merge rank (leftmost among equal ranks); consecutive <unk> fuse
 * when fuse_unk. Added tokens are not handled: callers pass text without them.
 */
export interface TokenizerJsonModel {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[]; unk_token: string | null; byte_fallback?: boolean; fuse_unk?: boolean };
}

export class HfBpeRef {
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();

  constructor(private readonly json: TokenizerJsonModel) {
    this.vocab = new Map(Object.entries(json.model.vocab));
    json.model.merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
      const key = a + '\u0000' + b;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
  }

  /** Normalize as the Prepend + Replace normalizer does. */
  static normalize(text: string): string {
    return text.length === 0 ? '' : '\u2581' + text.replaceAll(' ', '\u2581');
  }

  /** BPE over an already-normalized string. */
  encodeNormalized(normalized: string): number[] {
    const m = this.json.model;
    const unk = m.unk_token === null ? undefined : this.vocab.get(m.unk_token);
    let syms: string[] = [];
    for (const ch of normalized) {
      if (this.vocab.has(ch)) {
        syms.push(ch);
        continue;
      }
      if (m.byte_fallback) {
        const bytes = Array.from(new TextEncoder().encode(ch), (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
        if (bytes.every((t) => this.vocab.has(t))) {
          syms.push(...bytes);
          continue;
        }
      }
      if (unk === undefined) continue;
      if (m.fuse_unk && syms.length > 0 && syms[syms.length - 1] === m.unk_token) continue;
      syms.push(m.unk_token!);
    }
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(syms[i] + '\u0000' + syms[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      syms = [...syms.slice(0, best), syms[best]! + syms[best + 1]!, ...syms.slice(best + 2)];
    }
    return syms.map((s) => this.vocab.get(s)!);
  }

  encode(text: string): number[] {
    return this.encodeNormalized(HfBpeRef.normalize(text));
  }
}
