/**
 * Seasonal-naive forecast: every future step gets the value observed one season before it (the most
 * recent observation with the same phase). With the weekly season of 10-minute data (1,008 steps) the
 * forecast for next Tuesday 14:00 is last Tuesday 14:00. It is the baseline Holt-Winters must beat,
 * and the scale of MASE (see accuracy.ts).
 *
 * Prediction intervals are empirical: the error of a forecast k steps ahead is
 * y[s] - y[s - c*m] with c = ceil(k / m) (the forecast reaches back c seasons), so its quantiles are
 * the quantiles of the lag-(c*m) differences of the fitted series, taken over every s the series
 * allows. Where the series is too short for some lag (fewer than `MIN_SAMPLES` differences), the
 * lag-m quantiles are widened by sqrt(c), the random-walk-in-seasons rule.
 */
import { checkFinite, checkHorizon, errorQuantiles, type ErrorQuantiles, type FittedModel, type Forecast, type Forecaster } from './forecaster.js';

export interface SeasonalNaiveOptions {
  /** Season length in steps; default 1008 (one week of 10-minute steps). */
  period?: number;
}

/** Fewest lag differences from which interval quantiles are taken directly. */
const MIN_SAMPLES = 30;

export class SeasonalNaive implements Forecaster {
  readonly method = 'seasonal-naive';
  readonly period: number;

  constructor(options: SeasonalNaiveOptions = {}) {
    const period = options.period ?? 1008;
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`seasonal-naive period must be a positive integer, got ${period}`);
    this.period = period;
  }

  fit(series: readonly number[]): SeasonalNaiveModel {
    checkFinite(series, 'series');
    if (series.length <= this.period) {
      throw new RangeError(
        `seasonal-naive needs more than one season (${this.period} steps) of data to forecast and size its intervals, got ${series.length}`,
      );
    }
    const history = Array.from(series);
    return new SeasonalNaiveModel(this.period, history, new QuantileCache(history, this.period));
  }
}

/** Error quantiles per number of seasons looked back, computed from the fit-time series on demand. */
class QuantileCache {
  private readonly byLag = new Map<number, ErrorQuantiles>();

  constructor(
    private readonly series: readonly number[],
    private readonly period: number,
  ) {}

  /** Quantiles of forecast errors for a forecast reaching back `seasons` seasons. */
  get(seasons: number): ErrorQuantiles {
    const cached = this.byLag.get(seasons);
    if (cached !== undefined) return cached;
    const lag = seasons * this.period;
    const n = this.series.length;
    let q: ErrorQuantiles;
    if (n - lag >= MIN_SAMPLES || seasons === 1) {
      const diffs = new Float64Array(n - lag);
      for (let s = lag; s < n; s++) diffs[s - lag] = this.series[s]! - this.series[s - lag]!;
      q = errorQuantiles(diffs);
    } else {
      const one = this.get(1);
      const widen = Math.sqrt(seasons);
      q = { q025: one.q025 * widen, q10: one.q10 * widen, q90: one.q90 * widen, q975: one.q975 * widen };
    }
    this.byLag.set(seasons, q);
    return q;
  }
}

export class SeasonalNaiveModel implements FittedModel {
  readonly method = 'seasonal-naive';

  /** @internal Built by SeasonalNaive.fit and update. */
  constructor(
    readonly period: number,
    private readonly history: readonly number[],
    private readonly quantiles: QuantileCache,
  ) {}

  get observations(): number {
    return this.history.length;
  }

  forecast(h: number): Forecast {
    checkHorizon(h);
    const m = this.period;
    const n = this.history.length;
    const out: Forecast = { mean: [], lower80: [], upper80: [], lower95: [], upper95: [] };
    for (let k = 1; k <= h; k++) {
      const seasons = Math.ceil(k / m);
      const mean = this.history[n + k - 1 - seasons * m]!;
      const q = this.quantiles.get(seasons);
      out.mean.push(mean);
      out.lower80.push(mean + q.q10);
      out.upper80.push(mean + q.q90);
      out.lower95.push(mean + q.q025);
      out.upper95.push(mean + q.q975);
    }
    return out;
  }

  update(values: readonly number[]): SeasonalNaiveModel {
    checkFinite(values, 'values');
    return new SeasonalNaiveModel(this.period, [...this.history, ...values], this.quantiles);
  }
}
