/**
 * Incremental UTF-8 decoder, byte at a time, with the WHATWG Encoding Standard's error handling
 * (each maximal invalid subpart becomes one U+FFFD), so feeding bytes one by one gives exactly what
 * `new TextDecoder().decode(allBytes)` gives. It holds its state in four numbers: pushing a byte
 * allocates nothing except the returned string (and single ASCII characters are interned by JS
 * engines).
 */

const REPLACEMENT = '\uFFFD';

/** Byte-at-a-time UTF-8 decoder (WHATWG error handling, no BOM stripping); see the module comment. */
export class Utf8ByteDecoder {
  private cp = 0;
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** true while a multi-byte sequence is incomplete. */
  get pending(): boolean {
    return this.needed !== 0;
  }

  /** Feed one byte (0..255); returns the text completed by it ('' while a character is incomplete). */
  push(byte: number): string {
    if (this.needed === 0) return this.start(byte);
    if (byte < this.lower || byte > this.upper) {
      // the pending sequence is invalid: one U+FFFD for it, then the byte starts afresh
      this.reset();
      const next = this.start(byte);
      return next === '' ? REPLACEMENT : REPLACEMENT + next;
    }
    this.lower = 0x80;
    this.upper = 0xbf;
    this.cp = (this.cp << 6) | (byte & 0x3f);
    if (++this.seen !== this.needed) return '';
    const cp = this.cp;
    this.reset();
    return String.fromCodePoint(cp);
  }

  /** End of the byte run: an incomplete sequence becomes one U+FFFD. */
  end(): string {
    if (this.needed === 0) return '';
    this.reset();
    return REPLACEMENT;
  }

  /** Forget any pending bytes. */
  reset(): void {
    this.cp = 0;
    this.needed = 0;
    this.seen = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  private start(byte: number): string {
    if (byte <= 0x7f) return String.fromCharCode(byte);
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.needed = 1;
      this.cp = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      if (byte === 0xe0) this.lower = 0xa0;
      if (byte === 0xed) this.upper = 0x9f;
      this.needed = 2;
      this.cp = byte & 0x0f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      if (byte === 0xf0) this.lower = 0x90;
      if (byte === 0xf4) this.upper = 0x8f;
      this.needed = 3;
      this.cp = byte & 0x07;
    } else {
      return REPLACEMENT;
    }
    return '';
  }
}
