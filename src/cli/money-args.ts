import { formatMoney, parseAmount } from '../market/money.js';
import type { MoneyValue } from './api-client.js';
import { UsageError } from './io.js';

/** Money flags shared by submit, quote and the billing commands: decimal text → exact integer micro-units. */

/** `--currency`: an ISO 4217 code; lower case is accepted and upper-cased. */
export function parseCurrency(raw: string | undefined): string {
  const code = (raw ?? 'CNY').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) throw new UsageError(`--currency must be an ISO 4217 code such as CNY (got "${raw}")`);
  return code;
}

/**
 * A decimal amount such as `3.5` → micro-units (3500000), exact (no floats). `min` is in micro-units:
 * 1 (the default) means "more than zero", 0 allows zero.
 */
export function parseMicrosFlag(flag: string, raw: string, options: { min?: number } = {}): number {
  const min = options.min ?? 1;
  const micros = parseAmount(raw);
  if (micros === undefined) throw new UsageError(`${flag} must be an amount like 3.5 or 100 (at most 6 decimals; got "${raw}")`);
  if (micros < min) throw new UsageError(`${flag} must be ${min === 0 ? 'zero or more' : 'more than zero'} (got "${raw}")`);
  return micros;
}

/** A decimal amount with its currency → `{amountMicros, currency}` as the API takes money. */
export function parseMoneyFlag(flag: string, raw: string, currency: string, options: { min?: number } = {}): MoneyValue {
  return { amountMicros: parseMicrosFlag(flag, raw, options), currency };
}

/** Collects UsageErrors of several parsers so the user fixes every problem in one go. */
export function collect<T>(problems: string[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError) problems.push(err.message);
    else throw err;
    return undefined;
  }
}

/** `--max-price` with `--currency`: a spot bid per hour for the whole shape; only with --tier spot. */
export function parseBid(problems: string[], flags: { maxPrice?: string; currency?: string; tier?: string }): MoneyValue | undefined {
  if (flags.maxPrice === undefined) {
    if (flags.currency !== undefined) collect(problems, () => parseCurrency(flags.currency));
    return undefined;
  }
  if (flags.tier !== 'spot') problems.push('--max-price is a spot bid: add --tier spot, or drop --max-price (on-demand and reserved pay the quoted price)');
  const currency = collect(problems, () => parseCurrency(flags.currency));
  if (currency === undefined) return undefined;
  return collect(problems, () => parseMoneyFlag('--max-price', flags.maxPrice!, currency));
}

/** `CNY 3.50`, or `-` for none. */
export function moneyText(m: MoneyValue | null | undefined): string {
  return m ? formatMoney(m) : '-';
}
