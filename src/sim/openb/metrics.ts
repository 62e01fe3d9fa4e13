/**
 * The openb experiment's published metric (shared/notes/openb-policies.md §7): GPU allocation, in
 * percent of capacity, at a given arrived workload X% of capacity.
 *
 * The published numbers come from the authors' pandas analysis, so this reproduces its arithmetic,
 * roundings included, rather than computing the "natural" quantity: per arrival j it rounds the
 * arrived share to a whole percent and the allocated share to 2 decimals, then averages the allocated
 * values of all arrivals whose arrived share rounds to X. The rounding details only ever move a value
 * by 0.01, but matching them makes a re-run comparable digit for digit.
 */

/** Cumulative milli-GPU after each arrival j (placed or failed), as a run records them. */
export interface AllocationCurve {
  /** A_j: GPU demand of arrivals 0..j (integers). */
  readonly arrivedMilli: Float64Array;
  /** U_j: GPU demand of the pods placed among arrivals 0..j (integers). */
  readonly allocatedMilli: Float64Array;
}

/**
 * Allocation % at arrived X%, the published way: the mean of u_j over the arrivals j with a_j = X,
 * where a_j = A_j / totalGpus / 10 rounded half-even to an integer and u_j = U_j / totalGpus / 10
 * rounded half-even to 2 decimals. If no arrival has a_j = X, the arrivals with X-1 <= a_j <= X+1;
 * null if none either. The mean is rounded to 2 decimals as numpy rounds.
 */
export function allocationPctWindowed(curve: AllocationCurve, totalGpus: number, x: number): number | null {
  return allocationPctWindowedColumns(curve, totalGpus, [x])[0]!;
}

/** `allocationPctWindowed` for many columns X at once (the per-arrival percentages computed once). */
export function allocationPctWindowedColumns(curve: AllocationCurve, totalGpus: number, columns: readonly number[]): Array<number | null> {
  checkCurve(curve, totalGpus);
  const count = curve.arrivedMilli.length;
  const arrivedPct = new Float64Array(count);
  const allocatedPct = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    // Divided by the GPU count and then by 10, in that order, as the analysis does: (A/T)/10 and
    // A/(10T) can differ in the last bit, which can decide a tie.
    arrivedPct[j] = roundHalfEven(curve.arrivedMilli[j]! / totalGpus / 10);
    allocatedPct[j] = roundHalfEvenTo2Decimals(curve.allocatedMilli[j]! / totalGpus / 10);
  }
  return columns.map((x) => {
    let selected = select(arrivedPct, allocatedPct, (a) => a === x);
    if (selected.length === 0) selected = select(arrivedPct, allocatedPct, (a) => a >= x - 1 && a <= x + 1);
    if (selected.length === 0) return null;
    return roundLikeNumpyTo2Decimals(pairwiseSum(selected) / selected.length);
  });
}

/**
 * Allocation % at the first arrival whose arrived demand reaches X% of capacity (the "natural"
 * reading, kept for comparison: the notes measure it within 0.01 of the windowed mean). The crossing
 * is found exactly, on the integer milli values: 100 * A_j >= X * totalGpus * 1000. A curve that
 * stops just short of X (its last arrived share rounds to X, as inflation to 130% usually does) is
 * read at its last point; otherwise null. Rounded half-even to 2 decimals.
 */
export function allocationPctAtCrossing(curve: AllocationCurve, totalGpus: number, x: number): number | null {
  checkCurve(curve, totalGpus);
  if (!Number.isFinite(x)) throw new RangeError(`column must be a finite number, got ${x}`);
  const count = curve.arrivedMilli.length;
  if (count === 0) return null;
  // Exact while the products stay below 2^53, i.e. for any cluster below ~90 billion GPUs.
  const threshold = x * totalGpus * 1000;
  let at = -1;
  for (let j = 0; j < count; j++) {
    if (100 * curve.arrivedMilli[j]! >= threshold) {
      at = j;
      break;
    }
  }
  if (at < 0) {
    const last = count - 1;
    if (roundHalfEven(curve.arrivedMilli[last]! / totalGpus / 10) !== x) return null;
    at = last;
  }
  return roundHalfEvenTo2Decimals(curve.allocatedMilli[at]! / totalGpus / 10);
}

// ---------------------------------------------------------------------------------------------------
// Roundings. Two different 2-decimal roundings are in play, because the analysis used two:
// Python's built-in round(x, 2) on each arrival (correctly rounded: it looks at the exact binary
// value of x) and numpy's round on the mean (it first computes x * 100 in floating point, which can
// itself round onto or off a tie). Example: 2.675 is stored as 2.67499999999999982236431605997..., so
// Python gives 2.67, but 2.675 * 100 evaluates to exactly 267.5, so numpy gives 2.68 (half-even of 267.5
// being 268). Math.round(x * 100) / 100 is neither: it rounds ties up, and on the inexact product.

/**
 * Nearest integer, ties to even, judged on the double's exact value (Python's round(x) and
 * numpy.rint agree on this). For |v| < 2^52, where `v - floor(v)` is exact.
 */
export function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const fraction = v - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Python's round(v, 2): the decimal with 2 places nearest to the exact value of `v`, ties (which
 * exist: 0.125 is exact in binary) to even, returned as the nearest double. Instead of Math.round on
 * the rounded product v * 100, it uses the exact product p + e (Dekker's error-free product) to place
 * v * 100 relative to the midpoint between two integers. For |v| < 2^44.
 */
export function roundHalfEvenTo2Decimals(v: number): number {
  const product = v * 100;
  const error = twoProductError(v, 100, product); // v * 100 === product + error, exactly
  let n = Math.floor(product);
  // `product - n` is exact; subtracting 0.5 from it is exact when it is >= 0.25 (Sterbenz), and when
  // it is smaller the result is near -0.5, far from zero compared to |error| < ulp(product). The
  // floating-point sum of two doubles has the sign of their exact sum, so `side` tells exactly
  // whether v * 100 lies above, on or below n + 0.5.
  const side = product - n - 0.5 + error;
  if (side > 0 || (side === 0 && n % 2 !== 0)) n += 1;
  return n / 100;
}

/** numpy.round(v, 2): rint(v * 100) / 100, the product rounded to a double first. */
export function roundLikeNumpyTo2Decimals(v: number): number {
  return roundHalfEven(v * 100) / 100;
}

/**
 * numpy's sum of a float64 array (pairwise summation: below 8 values a plain loop; up to 128, eight
 * interleaved accumulators combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) and the remainder added
 * in order; above, the two halves (split at a multiple of 8) summed recursively). Float addition is
 * not associative, so a plain loop can differ in the last bit, enough to flip a rounding tie.
 */
export function pairwiseSum(values: Float64Array, start = 0, end = values.length): number {
  const n = end - start;
  if (n < 8) {
    let sum = 0;
    for (let i = start; i < end; i++) sum += values[i]!;
    return sum;
  }
  if (n <= 128) {
    const r = values.slice(start, start + 8);
    const unrolledEnd = start + n - (n % 8);
    let i = start + 8;
    for (; i < unrolledEnd; i += 8) for (let k = 0; k < 8; k++) r[k]! += values[i + k]!;
    let sum = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < end; i++) sum += values[i]!;
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, start + half) + pairwiseSum(values, start + half, end);
}

// ---------------------------------------------------------------------------------------------------

function select(arrivedPct: Float64Array, allocatedPct: Float64Array, keep: (arrived: number) => boolean): Float64Array {
  const chosen: number[] = [];
  for (let j = 0; j < arrivedPct.length; j++) if (keep(arrivedPct[j]!)) chosen.push(allocatedPct[j]!);
  return Float64Array.from(chosen);
}

function checkCurve(curve: AllocationCurve, totalGpus: number): void {
  if (!Number.isSafeInteger(totalGpus) || totalGpus < 1) throw new RangeError(`totalGpus must be a positive integer, got ${totalGpus}`);
  if (curve.arrivedMilli.length !== curve.allocatedMilli.length) {
    throw new RangeError(`curve has ${curve.arrivedMilli.length} arrived but ${curve.allocatedMilli.length} allocated values`);
  }
}

/** Veltkamp split: a = high + low exactly, each with at most 26 significant bits. */
function split(a: number): [number, number] {
  const c = 134_217_729 * a; // 2^27 + 1
  const high = c - (c - a);
  return [high, a - high];
}

/** Dekker's TwoProduct without FMA: the exact rounding error of `product = a * b`. */
function twoProductError(a: number, b: number, product: number): number {
  const [aHigh, aLow] = split(a);
  const [bHigh, bLow] = split(b);
  return aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
}
