import { invalidMany, type FieldProblem } from '../domain/errors.js';
import { DEFAULT_CURRENCY, scaleMicros } from '../market/money.js';
import { apportion, divRound, MILLI, MJ_PER_KWH, requireInt, requirePueMilli, toSafeNumber } from './units.js';

/**
 * Electricity tariffs: what a kWh costs the center at a given moment.
 *
 * A time-of-use tariff assigns every local hour of the day (0–23) to a band — critical peak, peak,
 * flat, valley, deep valley: the 尖峰 / 高峰 / 平段 / 低谷 / 深谷 periods of Chinese provincial
 * 分时电价 — and each band has a price in micro-units per kWh. Windows are given as
 * `{band, startHour, endHour}` over local hours `[startHour, endHour)`; a window with endHour ≤
 * startHour wraps midnight (`23 → 7` is 23:00–07:00); `0 → 24` is the whole day. Hours that no window
 * covers are flat. A flat tariff is the special case with no windows.
 *
 * Local time is UTC + `utcOffsetMinutes` (China: +480, no daylight saving; `utcOffsetMinutes` in
 * src/domain/timezone.ts gives it for a zone). One offset is used for a whole interval.
 *
 * Cost = energy (mJ) × PUE × price, computed exactly in BigInt and rounded **once** per call, half
 * away from zero, to a whole micro-unit (the rounding of src/market/money.ts). Energy that spans
 * several bands is split over them by duration in fine fixed point (see `energyCostOfIntervals`), so
 * an interval crossing a window boundary costs what its parts cost, up to that single rounding.
 */

export type TariffBand = 'critical' | 'peak' | 'flat' | 'valley' | 'deep-valley';
export const TARIFF_BANDS: readonly TariffBand[] = ['critical', 'peak', 'flat', 'valley', 'deep-valley'];

export interface TariffWindow {
  band: TariffBand;
  /** First local hour of the window, 0–23. */
  startHour: number;
  /** Local hour the window ends at (exclusive), 1–24; at or before startHour it wraps midnight. */
  endHour: number;
}

export interface TariffInput {
  name?: string;
  /** ISO 4217 code; default CNY. */
  currency?: string;
  /** Price of each band used, micro-units per kWh (¥0.65/kWh = 650000). `flat` is needed when any hour is uncovered. */
  pricesMicrosPerKwh: Partial<Record<TariffBand, number>>;
  windows?: readonly TariffWindow[];
}

/** A validated tariff: the band and price of every local hour. Build with `defineTariff` or `flatTariff`. */
export interface Tariff {
  readonly name: string;
  readonly currency: string;
  readonly pricesMicrosPerKwh: Readonly<Partial<Record<TariffBand, number>>>;
  readonly windows: readonly TariffWindow[];
  /** Band of local hour h (index 0–23). */
  readonly hourBands: readonly TariffBand[];
  /** Price of local hour h, micro-units per kWh. */
  readonly hourPrices: readonly number[];
}

const HOURS = 24;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
const MAX_PRICE = 1e10; // ¥10,000 per kWh: anything above is a typo

/**
 * Checks a tariff (from a config file or the API, so plain JSON is accepted) and returns it with every
 * hour resolved. Reports every problem at once, each naming its field (prefixed with `prefix`, e.g.
 * `tariff.`), as a `validation_failed` UnidleError: unknown bands, hours out of range, overlapping
 * windows, bands without a price, uncovered hours without a flat price.
 */
export function defineTariff(input: unknown, prefix = ''): Tariff {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field: `${prefix}${field}`, message });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidMany([{ field: prefix.replace(/\.$/, '') || 'tariff', message: 'must be an object with pricesMicrosPerKwh and optional windows' }]);
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['name', 'currency', 'pricesMicrosPerKwh', 'windows'].includes(key)) bad(key, 'is not a tariff field (known: name, currency, pricesMicrosPerKwh, windows)');
  }
  const name = o.name === undefined ? 'tariff' : o.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 128) bad('name', 'must be a non-empty string of at most 128 characters');
  const currency = o.currency === undefined ? DEFAULT_CURRENCY : o.currency;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) bad('currency', `must be an ISO 4217 code like CNY, got ${JSON.stringify(currency)}`);

  const prices: Partial<Record<TariffBand, number>> = {};
  const rawPrices = o.pricesMicrosPerKwh;
  if (typeof rawPrices !== 'object' || rawPrices === null || Array.isArray(rawPrices)) {
    bad('pricesMicrosPerKwh', `must be an object of band → micro-units per kWh, bands: ${TARIFF_BANDS.join(', ')}`);
  } else {
    for (const [band, price] of Object.entries(rawPrices)) {
      if (!TARIFF_BANDS.includes(band as TariffBand)) {
        bad(`pricesMicrosPerKwh.${band}`, `is not a band (known: ${TARIFF_BANDS.join(', ')})`);
      } else if (typeof price !== 'number' || !Number.isSafeInteger(price) || price < 0 || price > MAX_PRICE) {
        bad(`pricesMicrosPerKwh.${band}`, `must be a whole number of micro-units per kWh from 0 to ${MAX_PRICE} (¥0.65/kWh = 650000), got ${JSON.stringify(price)}`);
      } else {
        prices[band as TariffBand] = price;
      }
    }
  }

  const rawWindows = o.windows === undefined ? [] : o.windows;
  const windows: TariffWindow[] = [];
  const owner: (number | undefined)[] = new Array<number | undefined>(HOURS).fill(undefined);
  if (!Array.isArray(rawWindows)) {
    bad('windows', 'must be a list of {band, startHour, endHour}');
  } else {
    rawWindows.forEach((w: unknown, i) => {
      const field = `windows[${i}]`;
      if (typeof w !== 'object' || w === null || Array.isArray(w)) {
        bad(field, 'must be an object {band, startHour, endHour}');
        return;
      }
      const win = w as Record<string, unknown>;
      let ok = true;
      for (const key of Object.keys(win)) {
        if (!['band', 'startHour', 'endHour'].includes(key)) {
          bad(`${field}.${key}`, 'is not a window field (known: band, startHour, endHour)');
          ok = false;
        }
      }
      if (!TARIFF_BANDS.includes(win.band as TariffBand)) {
        bad(`${field}.band`, `must be one of ${TARIFF_BANDS.join(', ')}, got ${JSON.stringify(win.band)}`);
        ok = false;
      } else if (rawPrices !== null && typeof rawPrices === 'object' && !(win.band as string in rawPrices)) {
        bad(`${field}.band`, `"${String(win.band)}" has no price in pricesMicrosPerKwh`);
        ok = false;
      }
      const start = win.startHour;
      const end = win.endHour;
      if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start > 23) {
        bad(`${field}.startHour`, `must be a whole local hour from 0 to 23, got ${JSON.stringify(start)}`);
        ok = false;
      }
      if (typeof end !== 'number' || !Number.isInteger(end) || end < 0 || end > 24) {
        bad(`${field}.endHour`, `must be a whole local hour from 0 to 24 (exclusive end), got ${JSON.stringify(end)}`);
        ok = false;
      } else if (end === start) {
        bad(`${field}.endHour`, 'must differ from startHour (for the whole day use startHour 0, endHour 24)');
        ok = false;
      }
      if (!ok) return;
      const window: TariffWindow = { band: win.band as TariffBand, startHour: start as number, endHour: end as number };
      windows.push(window);
      for (const h of hoursOf(window)) {
        const other = owner[h];
        if (other !== undefined) {
          bad(`${field}`, `overlaps windows[${other}] at ${String(h).padStart(2, '0')}:00 (each local hour belongs to one band)`);
          return;
        }
        owner[h] = i;
      }
    });
  }

  const hourBands: TariffBand[] = owner.map((i) => (i === undefined ? 'flat' : (rawWindows as TariffWindow[])[i]!.band));
  if (problems.length === 0 && owner.some((i) => i === undefined) && prices.flat === undefined) {
    const uncovered = owner.flatMap((i, h) => (i === undefined ? [h] : []));
    bad('pricesMicrosPerKwh.flat', `is needed: local hours ${uncovered.join(', ')} are in no window and so are flat`);
  }
  if (problems.length > 0) throw invalidMany(problems);

  return Object.freeze({
    name: (name as string).trim(),
    currency: currency as string,
    pricesMicrosPerKwh: Object.freeze({ ...prices }),
    windows: Object.freeze(windows.map((w) => Object.freeze({ ...w }))),
    hourBands: Object.freeze(hourBands),
    hourPrices: Object.freeze(hourBands.map((b) => prices[b]!)),
  });
}

/** The local hours a window covers, in order. */
function hoursOf(w: TariffWindow): number[] {
  const hours: number[] = [];
  const length = w.endHour > w.startHour ? w.endHour - w.startHour : w.endHour + HOURS - w.startHour;
  for (let k = 0; k < length; k++) hours.push((w.startHour + k) % HOURS);
  return hours;
}

/** One price all day: `flatTariff(650_000)` is ¥0.65/kWh. */
export function flatTariff(priceMicrosPerKwh: number, currency = DEFAULT_CURRENCY, name = 'flat'): Tariff {
  return defineTariff({ name, currency, pricesMicrosPerKwh: { flat: priceMicrosPerKwh } });
}

function checkOffset(utcOffsetMinutes: number): number {
  return requireInt('utcOffsetMinutes', utcOffsetMinutes, -720, 840);
}

/** China Standard Time, UTC+8 (no daylight saving). */
export const CHINA_UTC_OFFSET_MINUTES = 480;

/** The local hour (0–23) of `at` at `utcOffsetMinutes`. */
export function localHour(at: number, utcOffsetMinutes: number): number {
  const local = at + checkOffset(utcOffsetMinutes) * 60_000;
  return Math.floor((((local % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR);
}

/** The band and price in force at `at`. */
export function tariffAt(tariff: Tariff, at: number, utcOffsetMinutes: number): { band: TariffBand; priceMicrosPerKwh: number } {
  requireInt('at', at, 0);
  const h = localHour(at, utcOffsetMinutes);
  return { band: tariff.hourBands[h]!, priceMicrosPerKwh: tariff.hourPrices[h]! };
}

/** Exact cost numerator: mJ × pueMilli × price; divide by COST_DENOMINATOR for micro-units. */
const COST_DENOMINATOR = BigInt(MJ_PER_KWH) * BigInt(MILLI);

/**
 * What `mj` of device energy costs at the price in force at `at`: mJ × PUE × price per kWh, rounded
 * half away from zero to a whole micro-unit. (1 kWh at PUE 1.3 and ¥0.65/kWh: 845,000 micros.)
 */
export function energyCostMicros(mj: number, pueMilli: number, tariff: Tariff, at: number, utcOffsetMinutes: number): number {
  requireInt('energy (mJ)', mj, 0);
  requirePueMilli(pueMilli);
  const { priceMicrosPerKwh } = tariffAt(tariff, at, utcOffsetMinutes);
  return toSafeNumber(divRound(BigInt(mj) * BigInt(pueMilli) * BigInt(priceMicrosPerKwh), COST_DENOMINATOR), 'cost');
}

/** A stretch of time inside one band. */
export interface TariffSegment {
  fromMs: number;
  toMs: number;
  band: TariffBand;
  priceMicrosPerKwh: number;
}

/**
 * `[fromMs, toMs)` cut where the band changes (at local hour boundaries), adjacent hours of the same
 * band merged. A zero-length interval gives one empty segment carrying the band in force at `fromMs`.
 */
export function tariffSegments(tariff: Tariff, fromMs: number, toMs: number, utcOffsetMinutes: number): TariffSegment[] {
  requireInt('fromMs', fromMs, 0);
  requireInt('toMs', toMs, 0);
  if (toMs < fromMs) throw new RangeError(`the interval ends before it starts (${fromMs} → ${toMs} ms)`);
  const offsetMs = checkOffset(utcOffsetMinutes) * 60_000;
  const first = tariffAt(tariff, fromMs, utcOffsetMinutes);
  if (toMs === fromMs) return [{ fromMs, toMs, ...first }];
  const segments: TariffSegment[] = [];
  let start = fromMs;
  let current = first;
  // The next local hour boundary after `t`, in UTC ms.
  const nextBoundary = (t: number) => Math.floor((t + offsetMs) / MS_PER_HOUR) * MS_PER_HOUR + MS_PER_HOUR - offsetMs;
  for (let t = nextBoundary(fromMs); t < toMs; t += MS_PER_HOUR) {
    const next = tariffAt(tariff, t, utcOffsetMinutes);
    if (next.band !== current.band || next.priceMicrosPerKwh !== current.priceMicrosPerKwh) {
      segments.push({ fromMs: start, toMs: t, ...current });
      start = t;
      current = next;
    }
  }
  segments.push({ fromMs: start, toMs, ...current });
  return segments;
}

/** Energy and cost in one band. */
export interface BandCost {
  band: TariffBand;
  priceMicrosPerKwh: number;
  energyMj: number;
  costMicros: number;
}

export interface EnergyCost {
  /** Σ byBand.energyMj: the energy given, exactly. */
  energyMj: number;
  /** Σ byBand.costMicros, rounded once. */
  costMicros: number;
  currency: string;
  pueMilli: number;
  /** The bands the intervals touched, in TARIFF_BANDS order; energies and costs add up to the totals exactly. */
  byBand: BandCost[];
}

/** One interval's energy, spread evenly over `[fromMs, toMs)` (a zero-length interval is priced at `fromMs`). */
export interface EnergyInterval {
  fromMs: number;
  toMs: number;
  energyMj: number;
}

/** Fixed-point resolution for the energy in each segment: 10⁻⁹ mJ. */
const SCALE = 1_000_000_000n;

/**
 * The cost of a series of intervals' energies (e.g. a job's attributed energy per metering interval),
 * each spread evenly over its interval and so split across the tariff windows it crosses.
 *
 * Rounding rule: each interval's energy is split over its segments in proportion to their durations
 * in fixed point (10⁻⁹ mJ, largest remainder), so nothing is lost; the cost is Σ energy × PUE × price
 * computed exactly and rounded once, half away from zero, to a whole micro-unit. Per-band energies
 * (whole mJ) and costs (whole micros) are then apportioned from the totals by largest remainder so the
 * breakdown adds up to the totals exactly.
 */
export function energyCostOfIntervals(intervals: readonly EnergyInterval[], pueMilli: number, tariff: Tariff, utcOffsetMinutes: number): EnergyCost {
  requirePueMilli(pueMilli);
  const bandEnergy = new Map<TariffBand, bigint>(); // fixed point
  let totalMj = 0n;
  intervals.forEach((iv, i) => {
    const mj = requireInt(`intervals[${i}].energyMj`, iv.energyMj, 0);
    totalMj += BigInt(mj);
    const segments = tariffSegments(tariff, iv.fromMs, iv.toMs, utcOffsetMinutes);
    const weights = iv.toMs === iv.fromMs ? [1n] : segments.map((s) => BigInt(s.toMs - s.fromMs));
    const parts = apportion(BigInt(mj) * SCALE, weights);
    segments.forEach((s, k) => bandEnergy.set(s.band, (bandEnergy.get(s.band) ?? 0n) + parts[k]!));
  });
  const bands = TARIFF_BANDS.filter((b) => bandEnergy.has(b));
  const prices = bands.map((b) => BigInt(tariff.pricesMicrosPerKwh[b]!));
  const exactCosts = bands.map((b, k) => bandEnergy.get(b)! * prices[k]! * BigInt(pueMilli)); // in units of 1/(SCALE × COST_DENOMINATOR) micros
  const exactTotal = exactCosts.reduce((s, c) => s + c, 0n);
  const costMicros = divRound(exactTotal, SCALE * COST_DENOMINATOR);
  const energyParts = totalMj === 0n ? bands.map(() => 0n) : apportion(totalMj, bands.map((b) => bandEnergy.get(b)!));
  const costParts = exactTotal === 0n ? bands.map(() => 0n) : apportion(costMicros, exactCosts);
  return {
    energyMj: toSafeNumber(totalMj, 'energy'),
    costMicros: toSafeNumber(costMicros, 'cost'),
    currency: tariff.currency,
    pueMilli,
    byBand: bands.map((band, k) => ({
      band,
      priceMicrosPerKwh: Number(prices[k]!),
      energyMj: Number(energyParts[k]!),
      costMicros: Number(costParts[k]!),
    })),
  };
}

/** The cost of `mj` drawn evenly over `[fromMs, toMs)`, split across the tariff windows it crosses. */
export function energyCostOverInterval(mj: number, pueMilli: number, tariff: Tariff, fromMs: number, toMs: number, utcOffsetMinutes: number): EnergyCost {
  return energyCostOfIntervals([{ fromMs, toMs, energyMj: mj }], pueMilli, tariff, utcOffsetMinutes);
}

// ---------------------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------------------

/**
 * Guangdong's industrial and commercial time-of-use structure from October 2021: 广东省发展改革委
 * 《关于进一步完善我省峰谷分时电价政策有关问题的通知》 (announced 6 September 2021; document number
 * 粤发改价格〔2021〕331号 as commonly cited — the hours and ratios below are from the announcement),
 * issued under the NDRC's national notice on improving time-of-use pricing (发改价格〔2021〕1093号, July
 * 2021, which asks for a peak–valley ratio of at least 3 : 1, or 4 : 1 where the load's peak–valley gap
 * exceeds 40 %, and a critical peak at least 20 % above peak). One schedule for the whole province:
 *
 * - peak 10:00–12:00 and 14:00–19:00; valley 00:00–08:00; flat the rest (08–10, 12–14, 19–24);
 * - prices peak : flat : valley = 1.7 : 1 : 0.38 (before: 1.65 : 1 : 0.5);
 * - critical peak 11:00–12:00 and 15:00–17:00 at peak + 25 %, in July, August and September and on other
 *   days forecast at 35 °C or more in Guangzhou (`summer: true` gives that day's schedule).
 *
 * Simplified: in the notice the ratios apply to the energy part of the price (market price plus
 * transmission charges, not the government funds); here the whole given flat price is multiplied, and
 * the flat price itself depends on voltage level and the center's contract, so it is an input (default
 * ¥0.65/kWh, the center default in src/store/schema.ts). Local time is UTC+8.
 */
export function guangdongTouTariff(flatMicrosPerKwh = 650_000, options: { summer?: boolean } = {}): Tariff {
  requireInt('flatMicrosPerKwh', flatMicrosPerKwh, 0, MAX_PRICE);
  const peak = scaleMicros(flatMicrosPerKwh, 1700, 1000);
  const valley = scaleMicros(flatMicrosPerKwh, 380, 1000);
  const windows: TariffWindow[] = [{ band: 'valley', startHour: 0, endHour: 8 }];
  const prices: Partial<Record<TariffBand, number>> = { peak, flat: flatMicrosPerKwh, valley };
  if (options.summer) {
    prices.critical = scaleMicros(peak, 1250, 1000);
    windows.push(
      { band: 'peak', startHour: 10, endHour: 11 },
      { band: 'critical', startHour: 11, endHour: 12 },
      { band: 'peak', startHour: 14, endHour: 15 },
      { band: 'critical', startHour: 15, endHour: 17 },
      { band: 'peak', startHour: 17, endHour: 19 },
    );
  } else {
    windows.push({ band: 'peak', startHour: 10, endHour: 12 }, { band: 'peak', startHour: 14, endHour: 19 });
  }
  return defineTariff({ name: options.summer ? 'guangdong-2021-tou-summer' : 'guangdong-2021-tou', currency: 'CNY', pricesMicrosPerKwh: prices, windows });
}

/** Guangdong's 2021 time-of-use schedule at a ¥0.65/kWh flat price: peak ¥1.105, valley ¥0.247 (see `guangdongTouTariff`). */
export const GUANGDONG_TOU_2021: Tariff = guangdongTouTariff();
