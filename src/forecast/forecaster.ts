/**
 * The one interface every demand forecaster implements, so that consumers (the energy parking policy
 * sizing a warm reserve from the upper bound, the benches comparing methods) do not care which
 * method is behind it.
 *
 * A series is a plain array of evenly spaced observations, oldest first (for the Helios demand: busy
 * GPUs every 10 minutes). Time stamps are the caller's business: step k of a forecast is the k-th
 * step after the last observation the model has seen.
 */

/** Point forecast and prediction intervals for steps 1..h after the last observation. */
export interface Forecast {
  /** Point forecast (the conditional mean for Holt-Winters, the value one season ago for seasonal naive). */
  mean: number[];
  /** Central 80% interval: the 10% and 90% quantiles. */
  lower80: number[];
  upper80: number[];
  /** Central 95% interval: the 2.5% and 97.5% quantiles. */
  lower95: number[];
  upper95: number[];
}

export interface FittedModel {
  /** The method, for reports ("holt-winters", "seasonal-naive"). */
  readonly method: string;
  /** Number of observations the model has seen (fit plus updates). */
  readonly observations: number;
  /** Forecasts for the `h` steps after the last observation; `h` is a positive integer. */
  forecast(h: number): Forecast;
  /**
   * The same model (same parameters, same interval widths) after also seeing `values`, which follow
   * the last observation. Cheap (no re-estimation): for rolling forecasts as new data arrives. The
   * receiver is not changed.
   */
  update(values: readonly number[]): FittedModel;
}

export interface Forecaster {
  readonly method: string;
  /** Estimates the model on `series` (oldest first). Throws RangeError when the series is unusable. */
  fit(series: readonly number[]): FittedModel;
}

/** Throws a RangeError unless `h` is a positive integer. */
export function checkHorizon(h: number): void {
  if (!Number.isInteger(h) || h < 1) throw new RangeError(`forecast horizon must be a positive integer, got ${h}`);
}

/** Throws a RangeError naming the first value that is not a finite number. */
export function checkFinite(values: readonly number[], what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${what}[${i}] must be a finite number, got ${String(v)}`);
  }
}

/**
 * The q-quantile (0 <= q <= 1) of values already sorted ascending, by linear interpolation between
 * order statistics (Hyndman & Fan type 7, the default of R and numpy). NaN for an empty array.
 */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + frac * (sorted[hi]! - sorted[lo]!);
}

/** The four error quantiles an interval needs: 2.5%, 10%, 90%, 97.5%. */
export interface ErrorQuantiles {
  q025: number;
  q10: number;
  q90: number;
  q975: number;
}

/** Error quantiles of a sample (sorted in place; it must not be empty). */
export function errorQuantiles(errors: Float64Array): ErrorQuantiles {
  errors.sort();
  return {
    q025: sortedQuantile(errors, 0.025),
    q10: sortedQuantile(errors, 0.1),
    q90: sortedQuantile(errors, 0.9),
    q975: sortedQuantile(errors, 0.975),
  };
}

/**
 * A forecast with every number clamped into [min, max], e.g. busy GPUs into [0, capacity]: the models
 * are linear and know nothing of the bounds. Returns a new object.
 */
export function clampForecast(f: Forecast, min: number, max: number): Forecast {
  if (!(min <= max)) throw new RangeError(`clamp bounds must satisfy min <= max, got [${min}, ${max}]`);
  const c = (xs: number[]) => xs.map((x) => (x < min ? min : x > max ? max : x));
  return { mean: c(f.mean), lower80: c(f.lower80), upper80: c(f.upper80), lower95: c(f.lower95), upper95: c(f.upper95) };
}
