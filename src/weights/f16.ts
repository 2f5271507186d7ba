/**
 * IEEE binary16 conversions, exact in both directions (one home for every reader, writer and packer).
 * Browser-safe, no dependencies.
 */

/** Every binary16 value by bit pattern, made on first use (256 KiB): the loaders decode billions of them. */
let F16_VALUES: Float32Array | null = null;

/** IEEE binary16 bit pattern (its low 16 bits) → its value (exact), from a table made on first use. */
export function f16ToF32(h: number): number {
  return (F16_VALUES ?? f16Table())[h & 0xffff]!;
}

function f16Table(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16Value(h);
  F16_VALUES = t;
  return t;
}

/** The value of binary16 bit pattern h by its fields (the table's source). */
function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** f32 bit pattern → binary16 bit pattern, rounding to nearest even; overflow → ±Inf; NaN stays NaN. */
export function f32BitsToF16Bits(x: number): number {
  const s = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  const m = x & 0x7fffff;
  if (e === 0xff) return s | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0);
  const he = e - 112; // binary16 biased exponent
  if (he >= 0x1f) return s | 0x7c00;
  if (he <= 0) {
    if (he < -10) return s; // below half the smallest subnormal: ±0
    const mm = m | 0x800000;
    const shift = 14 - he; // 14..24
    let h = mm >>> shift;
    const rem = mm & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return s | h; // a carry into bit 10 is the smallest normal, correctly
  }
  let h = (he << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // may carry to Inf, correctly
  return s | h;
}
