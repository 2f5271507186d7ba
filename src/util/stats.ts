/**
 * Summary statistics of measurements (the auto-tuner's timings, the benchmarks' samples). Base
 * layer: imports nothing, so every layer, bench and test may use it.
 */

/**
 * The median of `xs`: the middle value, or the mean of the two middle values when the count is
 * even; NaN when `xs` is empty. `xs` is not reordered.
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
