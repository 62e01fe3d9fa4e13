import { describe, expect, it } from 'vitest';
import { coverage, mae, mase, rmse, seasonalNaiveScale } from './accuracy.js';
import { clampForecast, sortedQuantile, type Forecaster } from './forecaster.js';
import { HoltWinters } from './holt-winters.js';
import { SeasonalNaive } from './seasonal-naive.js';

describe('SeasonalNaive', () => {
  it('forecasts the value one season back, two seasons back beyond one season', () => {
    const y = [1, 2, 3, 4, 5, 6, 7]; // period 3: last season is 5, 6, 7
    const model = new SeasonalNaive({ period: 3 }).fit(y);
    expect(model.forecast(7).mean).toEqual([5, 6, 7, 5, 6, 7, 5]);
    expect(model.update([8]).forecast(3).mean).toEqual([6, 7, 8]);
    expect(model.observations).toBe(7);
  });

  it('takes intervals from the lag differences of the fitted series', () => {
    // Lag-4 differences: 1, -1, 2, -2, 1, -1, 2, -2 (repeated), then quantiles of those.
    const base = [10, 20, 30, 40];
    const y = [...base];
    const steps = [1, -1, 2, -2];
    for (let s = 0; s < 40; s++) y.push(y[y.length - 4]! + steps[s % 4]!);
    const model = new SeasonalNaive({ period: 4 }).fit(y);
    const diffs = y.slice(4).map((v, i) => v - y[i]!).sort((a, b) => a - b);
    const f = model.forecast(1);
    expect(f.upper80[0]! - f.mean[0]!).toBeCloseTo(sortedQuantile(diffs, 0.9), 12);
    expect(f.lower95[0]! - f.mean[0]!).toBeCloseTo(sortedQuantile(diffs, 0.025), 12);
  });

  it('needs more than one season and a valid period', () => {
    expect(() => new SeasonalNaive({ period: 3 }).fit([1, 2, 3])).toThrow(/more than one season/);
    expect(() => new SeasonalNaive({ period: 0 })).toThrow(RangeError);
    expect(() => new SeasonalNaive({ period: 2 }).fit([1, 2, Number.NaN])).toThrow(RangeError);
    expect(new SeasonalNaive().period).toBe(1008);
  });

  it('and Holt-Winters share the Forecaster interface', () => {
    const methods: Forecaster[] = [new SeasonalNaive({ period: 168 }), new HoltWinters({ dailyPeriod: 24, weeklyPeriod: 168 })];
    const y = Array.from({ length: 3 * 168 }, (_, t) => 50 + 10 * Math.sin((2 * Math.PI * t) / 24) + (t % 7));
    for (const method of methods) {
      const f = method.fit(y).forecast(5);
      expect(Object.keys(f).sort()).toEqual(['lower80', 'lower95', 'mean', 'upper80', 'upper95']);
      expect(f.upper95).toHaveLength(5);
    }
  });
});

describe('accuracy', () => {
  it('computes MAE, RMSE and coverage', () => {
    expect(mae([1, 2, 3], [2, 2, 1])).toBeCloseTo(1, 12);
    expect(rmse([1, 2, 3], [2, 2, 1])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(coverage([1, 5, 3], [0, 0, 3], [2, 4, 3])).toBeCloseTo(2 / 3, 12);
    expect(() => mae([1], [1, 2])).toThrow(/same length/);
    expect(() => mae([], [])).toThrow(RangeError);
  });

  it('MASE of the in-sample seasonal-naive forecast on its own scale is exactly 1', () => {
    const y = Array.from({ length: 60 }, (_, t) => ((t * 7919) % 13) + (t % 5));
    const m = 5;
    const inSampleForecast = y.slice(0, y.length - m);
    expect(mase(y.slice(m), inSampleForecast, y, m)).toBeCloseTo(1, 12);
  });

  it('MASE of seasonal naive is 1 on a periodic series with a trend, and the scale of a purely periodic one is refused', () => {
    const m = 6;
    const periodic = (t: number) => [3, 9, 4, 1, 7, 2][t % m]!;
    const y = Array.from({ length: 5 * m }, (_, t) => periodic(t) + 0.5 * t);
    const actual = Array.from({ length: m }, (_, k) => periodic(5 * m + k) + 0.5 * (5 * m + k));
    const f = new SeasonalNaive({ period: m }).fit(y).forecast(m);
    expect(mase(actual, f.mean, y, m)).toBeCloseTo(1, 12);
    expect(seasonalNaiveScale(y, m)).toBeCloseTo(3, 12);
    const flat = Array.from({ length: 5 * m }, (_, t) => periodic(t));
    expect(() => seasonalNaiveScale(flat, m)).toThrow(/repeats exactly every 6 steps/);
    expect(() => seasonalNaiveScale([1, 2], 2)).toThrow(/longer than one season/);
  });

  it('clamps forecasts into bounds', () => {
    const f = clampForecast({ mean: [5, -1], lower80: [-3, -2], upper80: [12, 0], lower95: [-9, -5], upper95: [20, 1] }, 0, 10);
    expect(f).toEqual({ mean: [5, 0], lower80: [0, 0], upper80: [10, 0], lower95: [0, 0], upper95: [10, 1] });
    expect(() => clampForecast(f, 2, 1)).toThrow(RangeError);
  });
});
