import { invalid } from '../domain/errors.js';

/**
 * Money is an integer number of micro-units of a currency (1 CNY = 1,000,000 micros), with the
 * currency beside it (DESIGN.md §3). Never a float: charges are computed in BigInt and rounded once.
 */
export interface Money {
  amountMicros: number;
  currency: string;
}

export const DEFAULT_CURRENCY = 'CNY';
export const MICROS_PER_UNIT = 1_000_000;
const MS_PER_HOUR = 3_600_000n;
const MILLI_PER_GPU = 1000n;

export function money(amountMicros: number, currency = DEFAULT_CURRENCY): Money {
  if (!Number.isSafeInteger(amountMicros)) throw new RangeError(`money must be a whole number of micro-units, got ${amountMicros}`);
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`currency must be an ISO 4217 code like CNY, got "${currency}"`);
  return { amountMicros, currency };
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw invalid('currency', `cannot add ${b.currency} to ${a.currency}; use one currency per account`);
  return money(a.amountMicros + b.amountMicros, a.currency);
}

/** a / b rounded half away from zero, in BigInt (b > 0). */
function divideRounded(a: bigint, b: bigint): bigint {
  const half = b / 2n;
  return a >= 0n ? (a + half) / b : -((-a + half) / b);
}

/**
 * What `milliGpu` of a GPU costs for `elapsedMs` at `pricePerGpuHourMicros`, rounded to the nearest
 * micro-unit. Computed exactly (BigInt) and rounded once.
 */
export function chargeMicros(pricePerGpuHourMicros: number, milliGpu: number, elapsedMs: number): number {
  for (const [name, v] of [['price', pricePerGpuHourMicros], ['milliGpu', milliGpu], ['elapsedMs', elapsedMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative whole number, got ${v}`);
  }
  return Number(divideRounded(BigInt(pricePerGpuHourMicros) * BigInt(milliGpu) * BigInt(elapsedMs), MILLI_PER_GPU * MS_PER_HOUR));
}

/**
 * The charge for a lease's time from `fromMs` to `toMs` (both measured from the lease's start), as
 * the difference of cumulative charges. Charging a lease in any number of metering passes therefore
 * adds up to exactly the one-shot charge for its whole span: rounding never drifts and never double-counts.
 */
export function chargeBetween(pricePerGpuHourMicros: number, milliGpu: number, fromMs: number, toMs: number): number {
  if (toMs < fromMs) throw new RangeError(`a charge cannot run backwards (${fromMs} → ${toMs} ms)`);
  return chargeMicros(pricePerGpuHourMicros, milliGpu, toMs) - chargeMicros(pricePerGpuHourMicros, milliGpu, fromMs);
}

/** `amount × numerator / denominator`, rounded half away from zero (discounts, multipliers, PUE). */
export function scaleMicros(amountMicros: number, numerator: number, denominator: number): number {
  if (denominator <= 0) throw new RangeError('denominator must be positive');
  return Number(divideRounded(BigInt(amountMicros) * BigInt(numerator), BigInt(denominator)));
}

/** Parses a decimal amount such as `12.5` or `0.000001` into micro-units exactly (no floats). */
export function parseAmount(text: string): number | undefined {
  const m = /^\s*(-)?(\d+)(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!m) return undefined;
  const micros = BigInt(m[2]!) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0') || '0');
  const value = Number(m[1] ? -micros : micros);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** `CNY 12.50`, keeping up to six decimals when they are not zero (`CNY 0.000125`). */
export function formatMoney(m: Money): string {
  const sign = m.amountMicros < 0 ? '-' : '';
  const abs = Math.abs(m.amountMicros);
  const units = Math.floor(abs / MICROS_PER_UNIT);
  let fraction = String(abs % MICROS_PER_UNIT).padStart(6, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${m.currency} ${sign}${units.toLocaleString('en-US')}.${fraction}`;
}
