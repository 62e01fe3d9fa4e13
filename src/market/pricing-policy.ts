import { scaleMicros } from './money.js';

export type Tier = 'on-demand' | 'spot' | 'reserved';

/** What a pricing policy may look at when it prices one GPU-hour of a model for a new lease. */
export interface PriceContext {
  model: string;
  tier: Tier;
  /** The operator's list price for the model, per GPU-hour, micro-units. */
  listMicros: number;
  /** The model's cost floor per GPU-hour (cost-floor.ts), micro-units. */
  floorMicros: number;
  /** Share of the model's capacity allocated now, per mille. */
  utilizationPermille: number;
  /** When the lease starts (epoch ms), and the center's offset from UTC, for time-of-day rules. */
  at: number;
  utcOffsetMinutes: number;
}

/**
 * How a center prices a GPU-hour. Policies return a price for NEW leases only: a lease keeps the
 * price it started with, so a change never reaches back into time already used.
 */
export interface PricingPolicy {
  readonly name: string;
  readonly description: string;
  pricePerGpuHour(context: PriceContext): number;
}

/** The list price, whatever happens. */
export function fixedPricing(): PricingPolicy {
  return { name: 'fixed', description: 'the list price', pricePerGpuHour: (c) => c.listMicros };
}

export interface UtilizationPricingOptions {
  /** Multiplier of the list price at 0% and 100% utilisation, per mille (600 = 0.6×). Linear between. */
  idleMultiplierPermille: number;
  fullMultiplierPermille: number;
  /** Upper bound, per mille of the list price. The lower bound is the cost floor. */
  capPermille: number;
}

/**
 * The list price scaled by how busy the model is: cheap while GPUs sit idle (to fill them), dearer
 * when few are left; never below the cost floor, never above the cap.
 */
export function utilizationPricing(options: UtilizationPricingOptions = { idleMultiplierPermille: 600, fullMultiplierPermille: 1400, capPermille: 1500 }): PricingPolicy {
  return {
    name: 'utilization',
    description: `list × ${options.idleMultiplierPermille / 1000}–${options.fullMultiplierPermille / 1000} by utilisation, between the floor and ${options.capPermille / 1000}× list`,
    pricePerGpuHour(c) {
      const u = Math.min(1000, Math.max(0, c.utilizationPermille));
      const multiplier = options.idleMultiplierPermille * 1000 + (options.fullMultiplierPermille - options.idleMultiplierPermille) * u;
      const price = scaleMicros(c.listMicros, multiplier, 1_000_000);
      const cap = scaleMicros(c.listMicros, options.capPermille, 1000);
      return Math.max(c.floorMicros, Math.min(cap, price));
    },
  };
}

export interface TimeOfUseWindow {
  /** Local hour the window starts, 0–23, and how many hours it lasts (it may wrap past midnight). */
  startHour: number;
  hours: number;
  /** Price in this window, per mille of the list price (700 = 30% off). */
  multiplierPermille: number;
}

/**
 * Off-peak discounts (and, if wanted, peak surcharges) by the center's local time of day, to fill
 * the night valley. Never below the cost floor. The default: 30% off from 23:00 to 07:00.
 */
export function timeOfUsePricing(windows: readonly TimeOfUseWindow[] = [{ startHour: 23, hours: 8, multiplierPermille: 700 }]): PricingPolicy {
  for (const w of windows) {
    if (!Number.isInteger(w.startHour) || w.startHour < 0 || w.startHour > 23) throw new RangeError(`startHour must be 0–23, got ${w.startHour}`);
    if (!Number.isInteger(w.hours) || w.hours < 1 || w.hours > 24) throw new RangeError(`hours must be 1–24, got ${w.hours}`);
  }
  return {
    name: 'time-of-use',
    description: windows.map((w) => `${w.multiplierPermille / 10}% of list from ${w.startHour}:00 for ${w.hours} h`).join('; '),
    pricePerGpuHour(c) {
      const localHour = Math.floor((((c.at + c.utcOffsetMinutes * 60_000) % 86_400_000) + 86_400_000) % 86_400_000 / 3_600_000);
      const window = windows.find((w) => (localHour - w.startHour + 24) % 24 < w.hours);
      const price = window ? scaleMicros(c.listMicros, window.multiplierPermille, 1000) : c.listMicros;
      return Math.max(c.floorMicros, price);
    },
  };
}

export const PRICING_POLICY_NAMES = ['fixed', 'utilization', 'time-of-use'] as const;
export type PricingPolicyName = (typeof PRICING_POLICY_NAMES)[number];

/**
 * A policy by name with its options (the center's `pricing_params` JSON). Unknown options and
 * out-of-range values are refused with a message naming them.
 */
export function createPricingPolicy(name: string, params: Record<string, unknown> = {}): PricingPolicy {
  const known = (keys: string[]) => {
    for (const k of Object.keys(params)) if (!keys.includes(k)) throw new RangeError(`unknown option "${k}" for the ${name} pricing policy; options are ${keys.join(', ') || 'none'}`);
  };
  const permille = (key: string, fallback: number, min: number, max: number): number => {
    const v = params[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`${key} must be a whole number from ${min} to ${max} (per mille of the list price)`);
    return v;
  };
  switch (name) {
    case 'fixed':
      known([]);
      return fixedPricing();
    case 'utilization':
      known(['idleMultiplierPermille', 'fullMultiplierPermille', 'capPermille']);
      return utilizationPricing({
        idleMultiplierPermille: permille('idleMultiplierPermille', 600, 1, 10_000),
        fullMultiplierPermille: permille('fullMultiplierPermille', 1400, 1, 10_000),
        capPermille: permille('capPermille', 1500, 1, 10_000),
      });
    case 'time-of-use': {
      known(['windows']);
      if (params.windows === undefined) return timeOfUsePricing();
      if (!Array.isArray(params.windows) || params.windows.length === 0) throw new RangeError('windows must be a non-empty list of {startHour, hours, multiplierPermille}');
      return timeOfUsePricing(
        params.windows.map((w: unknown, i: number) => {
          const o = (w ?? {}) as Record<string, unknown>;
          const m = o.multiplierPermille;
          if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 10_000) throw new RangeError(`windows[${i}].multiplierPermille must be a whole number from 1 to 10000`);
          return { startHour: o.startHour as number, hours: o.hours as number, multiplierPermille: m };
        }),
      );
    }
    default:
      throw new RangeError(`unknown pricing policy "${name}"; choose one of ${PRICING_POLICY_NAMES.join(', ')}`);
  }
}
