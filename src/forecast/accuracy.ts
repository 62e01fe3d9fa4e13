/**
 * Forecast accuracy measures. Errors are actual - forecast.
 *
 * MASE follows Hyndman & Koehler (2006, "Another look at measures of forecast accuracy"): the mean
 * absolute error of the forecast divided by the in-sample mean absolute error of the seasonal-naive
 * method on the training series, i.e. by (1 / (n - m)) * sum_{t=m}^{n-1} |y_t - y_{t-m}|. A value
 * below 1 means the forecast did better, on average, than the one-season-back forecast did in sample;
 * two methods scored on the same training series share the scale, so their MASEs compare as their
 * MAEs do.
 */

function checkPair(actual: readonly number[], forecast: readonly number[]): void {
  if (actual.length !== forecast.length) {
    throw new RangeError(`actual and forecast must have the same length, got ${actual.length} and ${forecast.length}`);
  }
  if (actual.length === 0) throw new RangeError('accuracy needs at least one forecast to score');
}

/** Mean absolute error. */
export function mae(actual: readonly number[], forecast: readonly number[]): number {
  checkPair(actual, forecast);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i]! - forecast[i]!);
  return sum / actual.length;
}

/** Root mean squared error. */
export function rmse(actual: readonly number[], forecast: readonly number[]): number {
  checkPair(actual, forecast);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = actual[i]! - forecast[i]!;
    sum += e * e;
  }
  return Math.sqrt(sum / actual.length);
}

/**
 * The MASE scale: in-sample MAE of the seasonal-naive forecast with season `period` on `training`.
 * Throws when the training series is not longer than one season, or is exactly periodic (scale 0:
 * every scaled error would be infinite).
 */
export function seasonalNaiveScale(training: readonly number[], period: number): number {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be a positive integer, got ${period}`);
  if (training.length <= period) {
    throw new RangeError(`the MASE scale needs a training series longer than one season (${period}), got ${training.length}`);
  }
  let sum = 0;
  for (let t = period; t < training.length; t++) sum += Math.abs(training[t]! - training[t - period]!);
  const scale = sum / (training.length - period);
  if (scale === 0) throw new RangeError(`the training series repeats exactly every ${period} steps: the MASE scale is 0`);
  return scale;
}

/** Mean absolute scaled error of `forecast` against `actual`, scaled on `training` (default season 1008). */
export function mase(actual: readonly number[], forecast: readonly number[], training: readonly number[], period = 1008): number {
  return mae(actual, forecast) / seasonalNaiveScale(training, period);
}

/** Share of `actual` values inside [lower, upper] (bounds included), 0..1. */
export function coverage(actual: readonly number[], lower: readonly number[], upper: readonly number[]): number {
  checkPair(actual, lower);
  checkPair(actual, upper);
  let inside = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i]! >= lower[i]! && actual[i]! <= upper[i]!) inside++;
  return inside / actual.length;
}
