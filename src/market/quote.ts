import { chargeMicros } from './money.js';
import type { Tier } from './pricing-policy.js';

/**
 * Quotes, the pure part: given for each (model, tier) the price a lease would get at a start time
 * and the earliest start the scheduler can promise, pick the asked-for option and the alternatives
 * worth showing (cheaper or sooner), with totals for the duration.
 */
export interface QuoteOption {
  model: string;
  tier: Tier;
  /** Price per GPU-hour of a lease starting at `at`. */
  priceAt(at: number): number;
  floorMicros: number;
  /** Earliest start the cluster allows now, or null when it cannot say (e.g. a bid below the spot price). */
  earliestStartAt: number | null;
  /** Why it might not start when hoped (shown beside the option). */
  note?: string;
}

export interface QuotedOption {
  model: string;
  tier: Tier;
  pricePerGpuHourMicros: number;
  pricePerHourMicros: number;
  floorPerGpuHourMicros: number;
  estimatedStartAt: number | null;
  estimatedTotalMicros: number;
  note?: string;
}

export interface Alternative extends QuotedOption {
  why: Array<'cheaper' | 'sooner' | 'off-peak'>;
}

export function quoteOption(option: QuoteOption, milli: number, durationMs: number, now: number): QuotedOption {
  const start = option.earliestStartAt ?? now;
  const price = option.priceAt(Math.max(now, start));
  return {
    model: option.model,
    tier: option.tier,
    pricePerGpuHourMicros: price,
    pricePerHourMicros: chargeMicros(price, milli, 3_600_000),
    floorPerGpuHourMicros: option.floorMicros,
    estimatedStartAt: option.earliestStartAt,
    estimatedTotalMicros: chargeMicros(price, milli, durationMs),
    ...(option.note ? { note: option.note } : {}),
  };
}

/**
 * The options other than `main` that beat it on price or start (and, for a time-of-day price, the
 * cheapest start within the next day), best first, at most `limit`.
 */
export function alternatives(main: QuotedOption, options: readonly QuoteOption[], milli: number, durationMs: number, now: number, limit = 6): Alternative[] {
  const out: Alternative[] = [];
  for (const option of options) {
    const q = quoteOption(option, milli, durationMs, now);
    const same = option.model === main.model && option.tier === main.tier;
    if (!same) {
      const why: Alternative['why'] = [];
      if (q.estimatedTotalMicros < main.estimatedTotalMicros) why.push('cheaper');
      if (q.estimatedStartAt !== null && (main.estimatedStartAt === null || q.estimatedStartAt < main.estimatedStartAt)) why.push('sooner');
      if (why.length > 0) out.push({ ...q, why });
    }
    // A later start at a lower time-of-day price (leases keep their starting price).
    if (option.tier === 'on-demand' && option.earliestStartAt !== null) {
      const base = Math.max(now, option.earliestStartAt);
      let best: { at: number; price: number } | undefined;
      for (let h = 1; h <= 24; h++) {
        const at = (Math.floor(base / 3_600_000) + h) * 3_600_000;
        const price = option.priceAt(at);
        if (price < q.pricePerGpuHourMicros && (!best || price < best.price)) best = { at, price };
      }
      if (best && chargeMicros(best.price, milli, durationMs) < main.estimatedTotalMicros) {
        out.push({
          model: option.model,
          tier: option.tier,
          pricePerGpuHourMicros: best.price,
          pricePerHourMicros: chargeMicros(best.price, milli, 3_600_000),
          floorPerGpuHourMicros: option.floorMicros,
          estimatedStartAt: best.at,
          estimatedTotalMicros: chargeMicros(best.price, milli, durationMs),
          why: ['cheaper', 'off-peak'],
        });
      }
    }
  }
  return out.sort((a, b) => a.estimatedTotalMicros - b.estimatedTotalMicros || (a.estimatedStartAt ?? Infinity) - (b.estimatedStartAt ?? Infinity)).slice(0, limit);
}
