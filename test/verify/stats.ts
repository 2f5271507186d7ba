/**
 * Goodness-of-fit tests for the seeded statistical tests (docs/verifiers.md §11.1 Oracle C): Pearson
 * chi-square with bins merged to expected counts >= 5, and its p-value from the regularised
 * upper incomplete gamma function (Numerical Recipes' series / continued fraction).
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 digits). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = Γ(a, x) / Γ(a), the regularised upper incomplete gamma function. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    // P by the series, Q = 1 - P
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  // Q by Lentz's continued fraction
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

/** P(χ²_df > x). */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** Two-sided normal p-value of z: P(|Z| > |z|) = P(χ²_1 > z²). */
export function normalTwoSided(z: number): number {
  return chiSquareSurvival(z * z, 1);
}

/** Result of a chi-square goodness-of-fit test. */
export interface ChiSquare {
  stat: number;
  df: number;
  pValue: number;
  /** Observations in cells whose expected probability is 0 (must be 0 for a correct sampler). */
  impossible: number;
}

/**
 * Pearson chi-square of `counts` (n draws) against probabilities `probs`. Cells with probability
 * 0 are reported in `impossible`; the others are sorted by expected count and the smallest are
 * merged until every merged cell expects >= 5.
 */
export function chiSquareTest(counts: ArrayLike<number>, probs: ArrayLike<number>, n: number): ChiSquare {
  let impossible = 0;
  const cells: [number, number][] = [];
  for (let i = 0; i < probs.length; i++) {
    if (probs[i]! > 0) cells.push([probs[i]! * n, counts[i]!]);
    else impossible += counts[i]!;
  }
  cells.sort((a, b) => b[0] - a[0]);
  const merged: [number, number][] = [];
  let accE = 0;
  let accO = 0;
  for (let i = cells.length - 1; i >= 0; i--) {
    accE += cells[i]![0];
    accO += cells[i]![1];
    if (accE >= 5) {
      merged.push([accE, accO]);
      accE = 0;
      accO = 0;
    }
  }
  if (accE > 0) {
    if (merged.length > 0) {
      const last = merged[merged.length - 1]!;
      last[0] += accE;
      last[1] += accO;
    } else merged.push([accE, accO]);
  }
  let stat = 0;
  for (const [e, o] of merged) stat += ((o - e) * (o - e)) / e;
  const df = Math.max(1, merged.length - 1);
  return { stat, df, pValue: merged.length > 1 ? chiSquareSurvival(stat, df) : 1, impossible };
}
