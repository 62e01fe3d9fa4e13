/**
 * Energy units and exact integer arithmetic shared by the energy modules (DESIGN.md §3: power in
 * integer mW, energy in integer mJ, time in ms, money in integer micro-units). People see kWh.
 *
 * Splitting an integer amount into integer parts that add up exactly is done in one place,
 * `apportion`, by the largest-remainder (Hamilton) method in BigInt, so no float ever decides a
 * millijoule or a micro-unit.
 */

/** Millijoules in one kilowatt-hour: 1 kWh = 3.6 MJ = 3.6e9 mJ. */
export const MJ_PER_KWH = 3_600_000_000;
/** Per-mille denominator of PUE (`pueMilli` 1300 = PUE 1.3) and of milli-GPU shares. */
export const MILLI = 1000;

/** `a / b` rounded half away from zero (b > 0), exactly, in BigInt. */
export function divRound(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError('divisor must be positive');
  const half = b / 2n;
  return a >= 0n ? (a + half) / b : -((-a + half) / b);
}

/**
 * Splits `total` (≥ 0) into parts proportional to `weights` (each ≥ 0) that are whole numbers and add
 * up to `total` exactly: each part gets the floor of its exact share, and the units left over go one
 * each to the largest fractional remainders; equal remainders go to the earlier index, so the result
 * depends only on the order of `weights` (callers sort their keys first).
 * With all weights 0 only a total of 0 can be split.
 */
export function apportion(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError(`cannot apportion a negative total (${total})`);
  let sum = 0n;
  for (const w of weights) {
    if (w < 0n) throw new RangeError(`apportion weights must be non-negative, got ${w}`);
    sum += w;
  }
  if (sum === 0n) {
    if (total !== 0n) throw new RangeError(`cannot apportion ${total} over weights that are all zero`);
    return weights.map(() => 0n);
  }
  const parts: bigint[] = [];
  const remainders: { index: number; rem: bigint }[] = [];
  let given = 0n;
  weights.forEach((w, index) => {
    const exact = total * w;
    const q = exact / sum;
    parts.push(q);
    given += q;
    remainders.push({ index, rem: exact % sum });
  });
  let left = total - given; // < weights.length
  if (left > 0n) {
    remainders.sort((a, b) => (a.rem === b.rem ? a.index - b.index : a.rem > b.rem ? -1 : 1));
    for (const r of remainders) {
      if (left === 0n) break;
      parts[r.index]! += 1n;
      left -= 1n;
    }
  }
  return parts;
}

/** Converts a BigInt result back to a number, refusing anything beyond 2^53. */
export function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${what} is too large to represent exactly (${value})`);
  }
  return Number(value);
}

/** Throws a RangeError unless `value` is a safe integer ≥ `min` (and ≤ `max` when given). */
export function requireInt(name: string, value: unknown, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`${name} must be a whole number ${range}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  }
  return value;
}

/** PUE bounds as the center's market settings accept them (docs/pricing.md: `pueMilli` 1000–5000). */
export const MIN_PUE_MILLI = 1000;
export const MAX_PUE_MILLI = 5000;

export function requirePueMilli(pueMilli: unknown): number {
  return requireInt('pueMilli', pueMilli, MIN_PUE_MILLI, MAX_PUE_MILLI);
}

/** mJ → kWh for people, e.g. `1.234567 kWh` (six decimals, the nearest; 1 µkWh = 3.6 J). */
export function formatKwh(mj: number): string {
  requireInt('energy (mJ)', mj, 0);
  const microKwh = divRound(BigInt(mj) * 1_000_000n, BigInt(MJ_PER_KWH));
  const whole = microKwh / 1_000_000n;
  const fraction = (microKwh % 1_000_000n).toString().padStart(6, '0');
  return `${whole.toLocaleString('en-US')}.${fraction} kWh`;
}
