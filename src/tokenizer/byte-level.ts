/**
 * GPT-2's byte ↔ unicode map, used by byte-level BPE vocabularies (GPT-2, SmolLM2, Llama-3.x,
 * Qwen2.5/Qwen3, Phi-4): every byte 0..255 is written as one printable character, so a piece such
 * as "Ġthe" means the bytes " the" (Ġ = U+0120 stands for 0x20). The printable ASCII and Latin-1
 * bytes ("!".."~", "¡".."¬", "®".."ÿ") stand for themselves; the other 68 bytes map, in byte order,
 * to U+0100, U+0101, … . Browser-safe.
 */

/** byte → its character (as GPT-2's bytes_to_unicode). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  return out;
})();

/** character code → byte, or -1 for characters outside the map. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (t[c.charCodeAt(0)] = b));
  return t;
})();

/** The byte a character stands for, or -1 when it is not one of the 256 map characters. */
export function byteOfChar(code: number): number {
  return code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code]! : -1;
}

/**
 * The bytes a byte-level piece stands for, or null when a character of it is outside the map
 * (added tokens such as "<|im_start|>" are plain text; Hugging Face's ByteLevel decoder then keeps
 * the piece's own UTF-8 bytes, and so do callers of this function).
 */
export function byteLevelPieceBytes(piece: string): Uint8Array | null {
  const out = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const b = byteOfChar(piece.charCodeAt(i));
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/** Text → its byte-level piece form (UTF-8 bytes, each written as its map character). */
export function byteLevelEncode(text: string): string {
  let s = '';
  for (const b of new TextEncoder().encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}
