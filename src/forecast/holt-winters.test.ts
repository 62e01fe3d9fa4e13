import { describe, expect, it } from 'vitest';
import { createRandom, type Random } from '../domain/random.js';
import { coverage, mae } from './accuracy.js';
import type { FittedModel, Forecast } from './forecaster.js';
import { HoltWinters, initialState } from './holt-winters.js';
import { SeasonalNaive } from './seasonal-naive.js';

// Hourly synthetic data keeps the tests fast: daily period 24, weekly 168.
const DAY = 24;
const WEEK = 168;

/** Standard normal by Box-Muller from the seeded generator. */
function normal(rng: Random): number {
  const u = 1 - rng.float(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/** The known pattern: a daily sine, lower weekends, a slow level drift. */
function pattern(t: number, drift: number): number {
  const hour = t % DAY;
  const weekday = Math.floor((t % WEEK) / DAY);
  const daily = 100 * Math.sin((2 * Math.PI * hour) / DAY) + 30 * Math.cos((4 * Math.PI * hour) / DAY);
  const weekly = weekday >= 5 ? -80 : 16 * (weekday - 2);
  return 500 + drift + daily + weekly;
}

/** `weeks` weeks of pattern + Gaussian noise (sd `noise`) + a random-walk level (step sd `walk`). */
function synthetic(seed: number, weeks: number, noise: number, walk: number): { y: number[]; signal: number[] } {
  const rng = createRandom(seed);
  const y: number[] = [];
  const signal: number[] = [];
  let drift = 0;
  for (let t = 0; t < weeks * WEEK; t++) {
    drift += walk * normal(rng);
    const s = pattern(t, drift);
    signal.push(s);
    y.push(s + noise * normal(rng));
  }
  return { y, signal };
}

/** Rolling forecasts: `h` steps ahead from each origin, then the model sees those `h` actuals. */
function rolling(model: FittedModel, actual: readonly number[], h: number): Forecast {
  const out: Forecast = { mean: [], lower80: [], upper80: [], lower95: [], upper95: [] };
  let m = model;
  for (let start = 0; start < actual.length; start += h) {
    const f = m.forecast(Math.min(h, actual.length - start));
    out.mean.push(...f.mean);
    out.lower80.push(...f.lower80);
    out.upper80.push(...f.upper80);
    out.lower95.push(...f.lower95);
    out.upper95.push(...f.upper95);
    m = m.update(actual.slice(start, start + h));
  }
  return out;
}

const hourly = { dailyPeriod: DAY, weeklyPeriod: WEEK };

describe('HoltWinters on a synthetic daily + weekly series', () => {
  const { y, signal } = synthetic(7, 12, 8, 1.5);
  const trainWeeks = 9;
  const train = y.slice(0, trainWeeks * WEEK);
  const test = y.slice(trainWeeks * WEEK);
  const testSignal = signal.slice(trainWeeks * WEEK);
  const hw = new HoltWinters(hourly).fit(train);
  const sn = new SeasonalNaive({ period: WEEK }).fit(train);

  it('recovers the pattern: day-ahead errors near the noise floor, well below seasonal naive', () => {
    const f = rolling(hw, test, DAY);
    const g = rolling(sn, test, DAY);
    const hwMae = mae(test, f.mean);
    const snMae = mae(test, g.mean);
    // Noise sd 8 alone gives MAE 8 * sqrt(2/pi) = 6.4; the level walk adds a little at day-ahead.
    expect(hwMae).toBeLessThan(10);
    expect(hwMae).toBeLessThan(0.6 * snMae);
    // Against the noise-free signal, the forecast is close to the truth.
    expect(mae(testSignal, f.mean)).toBeLessThan(7);
  });

  it('chooses parameters in [0, 1] and reports the fit', () => {
    for (const value of Object.values(hw.params)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    expect(hw.params.beta).toBe(0); // no trend by default
    expect(hw.info.rmse1).toBeGreaterThan(6);
    expect(hw.info.rmse1).toBeLessThan(12);
    expect(hw.info.initWeeks).toBe(trainWeeks); // every whole week by default
    expect(hw.observations).toBe(train.length);
  });

  it('has intervals that cover about 80% and 95% of held-out points', () => {
    const f = rolling(hw, test, DAY);
    const c80 = coverage(test, f.lower80, f.upper80);
    const c95 = coverage(test, f.lower95, f.upper95);
    expect(c80).toBeGreaterThan(0.72);
    expect(c80).toBeLessThan(0.88);
    expect(c95).toBeGreaterThan(0.9);
    expect(c95).toBeLessThanOrEqual(0.99);
    for (let k = 0; k < f.mean.length; k++) {
      expect(f.lower95[k]!).toBeLessThanOrEqual(f.lower80[k]!);
      expect(f.lower80[k]!).toBeLessThanOrEqual(f.upper80[k]!);
      expect(f.upper80[k]!).toBeLessThanOrEqual(f.upper95[k]!);
    }
  });

  it('widens intervals beyond the measured horizon by sqrt(k / H)', () => {
    const f = hw.forecast(4 * DAY);
    const width = (k: number) => f.upper95[k - 1]! - f.lower95[k - 1]!;
    expect(width(4 * DAY) / width(DAY)).toBeCloseTo(2, 9);
    expect(width(2 * DAY) / width(DAY)).toBeCloseTo(Math.SQRT2, 9);
  });

  it('is deterministic', () => {
    const again = new HoltWinters(hourly).fit(train);
    expect(again.params).toEqual(hw.params);
    expect(again.forecast(DAY)).toEqual(hw.forecast(DAY));
  });

  it('update(values) continues the filter: same point forecast as fitting the longer series with the same parameters', () => {
    const fixed = { ...hw.params };
    // The same initial state too: the default initialises from every whole week, so pin the weeks.
    const whole = new HoltWinters({ ...hourly, fixed, initWeeks: trainWeeks }).fit(y.slice(0, (trainWeeks + 1) * WEEK));
    const stepped = hw.update(y.slice(trainWeeks * WEEK, (trainWeeks + 1) * WEEK));
    expect(whole.info.evaluations).toBe(1); // nothing left to search
    expect(stepped.observations).toBe(whole.observations);
    const a = stepped.forecast(DAY).mean;
    const b = whole.forecast(DAY).mean;
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 8));
    // The receiver is unchanged.
    expect(hw.observations).toBe(train.length);
  });
});

describe('HoltWinters edge cases', () => {
  it('forecasts an exactly periodic series almost exactly', () => {
    const y = Array.from({ length: 4 * WEEK }, (_, t) => pattern(t, 0));
    const model = new HoltWinters(hourly).fit(y);
    const f = model.forecast(WEEK);
    const truth = Array.from({ length: WEEK }, (_, k) => pattern(4 * WEEK + k, 0));
    expect(mae(truth, f.mean)).toBeLessThan(1e-6);
  });

  it('follows a trend with trend: damped', () => {
    const y = Array.from({ length: 6 * WEEK }, (_, t) => pattern(t, 0.5 * t));
    const model = new HoltWinters({ ...hourly, trend: 'damped' }).fit(y);
    const truth = Array.from({ length: DAY }, (_, k) => pattern(6 * WEEK + k, 0.5 * (6 * WEEK + k)));
    expect(mae(truth, model.forecast(DAY).mean)).toBeLessThan(2);
    expect(model.params.beta).toBeGreaterThan(0);
  });

  it('rejects a series shorter than two weeks, with the numbers', () => {
    expect(() => new HoltWinters(hourly).fit(new Array(2 * WEEK - 1).fill(1))).toThrow(RangeError);
    expect(() => new HoltWinters().fit(new Array(2000).fill(1))).toThrow(/at least two weekly periods \(2016 observations of 1008 per week\).*got 2000/);
    expect(() => new HoltWinters(hourly).fit(new Array(2 * WEEK).fill(1))).not.toThrow();
  });

  it('rejects non-finite values, bad options and bad horizons', () => {
    const y = new Array(2 * WEEK).fill(1);
    y[17] = Number.NaN;
    expect(() => new HoltWinters(hourly).fit(y)).toThrow(/series\[17\] must be a finite number/);
    expect(() => new HoltWinters({ dailyPeriod: 24, weeklyPeriod: 24 })).toThrow(RangeError);
    expect(() => new HoltWinters({ dailyPeriod: 0 })).toThrow(RangeError);
    expect(() => new HoltWinters({ initWeeks: 1 })).toThrow(/initWeeks must be at least 2/);
    expect(() => new HoltWinters({ fixed: { alpha: 1.5 } })).toThrow(/alpha must be in \[0, 1\]/);
    expect(() => new HoltWinters({ fixed: { gamma: 0.1 } as never })).toThrow(/unknown Holt-Winters parameter "gamma"/);
    const model = new HoltWinters(hourly).fit(new Array(2 * WEEK).fill(1));
    expect(() => model.forecast(0)).toThrow(RangeError);
    expect(() => model.forecast(1.5)).toThrow(RangeError);
    expect(() => model.update([1, Number.POSITIVE_INFINITY])).toThrow(/values\[1\]/);
  });

  it('initialises level, daily and weekly components from the first weeks', () => {
    // Two weeks of level 10, daily +/-1 alternating hours, weekday 0 higher by 7 * 6 / 7 after centring.
    const y = Float64Array.from({ length: 2 * WEEK }, (_, t) => 10 + (t % 2 === 0 ? 1 : -1) + (t % WEEK < DAY ? 7 : 0));
    const s = initialState(y, DAY, WEEK, 2, false);
    expect(s.level).toBeCloseTo(11, 9); // mean: 10 + 7/7
    expect(s.daily[0]).toBeCloseTo(1, 9);
    expect(s.daily[1]).toBeCloseTo(-1, 9);
    expect(s.weekly[0]).toBeCloseTo(6, 9);
    expect(s.weekly[DAY]).toBeCloseTo(-1, 9);
    expect(s.trend).toBe(0);
  });

  it('keeps an incident in the initialisation weeks out of the seasonal pattern', () => {
    // Eight weeks of the exact pattern, but the cluster stopped for all of day 3 of week 1.
    const y = Float64Array.from({ length: 8 * WEEK }, (_, t) => (t >= WEEK + 3 * DAY && t < WEEK + 4 * DAY ? 0 : pattern(t, 0)));
    const s = initialState(y, DAY, WEEK, 8, false);
    const truth = Float64Array.from({ length: WEEK }, (_, t) => pattern(t, 0));
    // The weekly + daily components rebuild the pattern around its mean, the stopped day included.
    const mean = truth.reduce((a, b) => a + b, 0) / WEEK;
    for (let j = 0; j < WEEK; j++) expect(s.daily[j % DAY]! + s.weekly[j]!).toBeCloseTo(truth[j]! - mean, 6);
    expect(s.level).toBeCloseTo(mean, 6);
    // With means over only the first two weeks the stop would have pulled that weekday down by ~250.
    const twoWeeks = initialState(y, DAY, WEEK, 2, false);
    expect(twoWeeks.daily[5]! + twoWeeks.weekly[3 * DAY + 5]!).toBeLessThan(truth[3 * DAY + 5]! - mean - 100);
  });
});
