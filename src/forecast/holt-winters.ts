/**
 * Additive Holt-Winters exponential smoothing with two seasonal cycles, in the double-seasonal form of
 * Taylor (2003, "Short-term electricity demand forecasting using double seasonal exponential
 * smoothing", J. Oper. Res. Soc. 54), for an evenly spaced series: a level, an optional damped trend,
 * a daily and a weekly seasonal component, and Taylor's first-order autoregressive adjustment of the
 * forecast by the last one-step error. Pure: no I/O, no clock, no randomness.
 *
 * The model, at time t with daily period m1 and weekly period m2 (in steps; 144 and 1008 for 10-minute
 * data), writing l, b, d, w for level, trend, daily and weekly components:
 *
 *   base one-step prediction  p_t = l_{t-1} + phi*b_{t-1} + d_{t-m1} + w_{t-m2}
 *   base error                r_t = y_t - p_t
 *   adjusted prediction       yhat_t = p_t + lambda * r_{t-1}          (the one fitted)
 *   l_t = l_{t-1} + phi*b_{t-1} + alpha*r_t     (= alpha*(y_t - d_{t-m1} - w_{t-m2}) + (1-alpha)*(l_{t-1} + phi*b_{t-1}))
 *   b_t = beta*(l_t - l_{t-1}) + (1-beta)*phi*b_{t-1}
 *   d_t = delta*(y_t - l_t - w_{t-m2}) + (1-delta)*d_{t-m1}
 *   w_t = omega*(y_t - l_t - d_{t-m1}) + (1-omega)*w_{t-m2}
 *
 * and the forecast k steps after the last observation n-1 is
 *
 *   yhat_{n-1+k} = l_{n-1} + (phi + ... + phi^k)*b_{n-1} + d_{(latest of that daily phase)}
 *                  + w_{(latest of that weekly phase)} + lambda^k * r_{n-1}.
 *
 * Without trend (the default) b is 0 throughout. Without the AR adjustment lambda is 0 and this is
 * Taylor's plain double-seasonal Holt-Winters.
 *
 * Estimation. Initial state from the first `initWeeks` whole weeks -- by default every whole week of
 * the series -- by a median-based decomposition (see `initialState`). On the Helios Venus demand an
 * initialisation from only the first two or four weeks was fragile: when those weeks held the mid-May
 * mass stop, the fit chose a large weekly smoothing to wash it out and day-ahead MASE rose from ~0.47
 * to 0.8-1.3 (bench/forecast.mjs --fit-weeks 16..18 --init-weeks 2 or 4). The smoothing
 * parameters, each bounded in [0, 1], minimise the sum of squared one-step-ahead errors y_t - yhat_t
 * over the whole training series, by a deterministic coordinate search: cycle over the free parameters;
 * for each, evaluate a fixed grid over its range holding the others, then golden-section search
 * between the grid neighbours of the best grid point; stop when a cycle improves the sum of squares by
 * less than 1e-9 of itself, or after `maxCycles` cycles.
 *
 * Prediction intervals are empirical, per horizon: with the estimated parameters the filter is run
 * over the training series once more and, from origins spread evenly over it (every `stride`-th step,
 * at most `maxIntervalOrigins`), the forecasts 1..H steps ahead (H = `intervalHorizon`, default one
 * day) are compared with what followed. The 10/90% and 2.5/97.5% quantiles of those in-sample errors
 * at horizon k, added to the point forecast, give the 80% and 95% intervals at horizon k. Beyond H the
 * horizon-H quantiles are widened by sqrt(k / H). The intervals are as wide as the training errors
 * were, and `update` does not change them.
 */
import { checkFinite, checkHorizon, errorQuantiles, type ErrorQuantiles, type FittedModel, type Forecast, type Forecaster } from './forecaster.js';

export interface HoltWintersParams {
  /** Level smoothing. */
  alpha: number;
  /** Trend smoothing (0 without trend). */
  beta: number;
  /** Trend damping (1 = undamped; irrelevant without trend). */
  phi: number;
  /** Daily seasonal smoothing. */
  delta: number;
  /** Weekly seasonal smoothing. */
  omega: number;
  /** AR(1) coefficient on the last one-step base error (0 without the adjustment). */
  lambda: number;
}

export interface HoltWintersOptions {
  /** Steps per day; default 144 (10-minute data). */
  dailyPeriod?: number;
  /** Steps per week; default 1008. Must exceed the daily period. */
  weeklyPeriod?: number;
  /** 'none' (default): level without slope. 'damped': additive trend damped by phi. */
  trend?: 'none' | 'damped';
  /** Taylor's AR(1) adjustment by the last one-step error; default true. */
  arAdjustment?: boolean;
  /**
   * Whole weeks at the start of the series used to initialise the state (at least 2); default: every
   * whole week of the series (see `initialState`: the medians are then robust to incidents).
   */
  initWeeks?: number;
  /** Parameters held at these values rather than estimated. */
  fixed?: Partial<HoltWintersParams>;
  /** Horizons (steps) for which interval quantiles are measured in sample; default the daily period. */
  intervalHorizon?: number;
  /** Most forecast origins used for the interval quantiles; default 5000. */
  maxIntervalOrigins?: number;
  /** Most coordinate-search cycles; default 8. */
  maxCycles?: number;
}

/** The filter's state after some observations: everything a forecast needs. */
export interface HoltWintersState {
  level: number;
  trend: number;
  /** daily[j]: the latest daily component of phase j (time index t with t mod m1 = j). */
  daily: Float64Array;
  /** weekly[j]: the latest weekly component of phase j (t mod m2 = j). */
  weekly: Float64Array;
  /** Base one-step error r of the last observation (0 before any). */
  lastError: number;
  /** Observations seen; the time index of the next one. */
  t: number;
}

type ParamName = keyof HoltWintersParams;

const GRID_01 = [0, 0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1];
const GRID_PHI = [0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1];
const GOLDEN = (Math.sqrt(5) - 1) / 2;

export class HoltWinters implements Forecaster {
  readonly method = 'holt-winters';
  readonly dailyPeriod: number;
  readonly weeklyPeriod: number;
  readonly trend: 'none' | 'damped';
  readonly arAdjustment: boolean;
  readonly initWeeks: number;
  readonly fixed: Partial<HoltWintersParams>;
  readonly intervalHorizon: number;
  readonly maxIntervalOrigins: number;
  readonly maxCycles: number;

  constructor(options: HoltWintersOptions = {}) {
    this.dailyPeriod = positiveInteger(options.dailyPeriod ?? 144, 'dailyPeriod');
    this.weeklyPeriod = positiveInteger(options.weeklyPeriod ?? 1008, 'weeklyPeriod');
    if (this.weeklyPeriod <= this.dailyPeriod) {
      throw new RangeError(`weeklyPeriod (${this.weeklyPeriod}) must exceed dailyPeriod (${this.dailyPeriod})`);
    }
    this.trend = options.trend ?? 'none';
    if (this.trend !== 'none' && this.trend !== 'damped') throw new RangeError(`trend must be 'none' or 'damped', got ${String(this.trend)}`);
    this.arAdjustment = options.arAdjustment ?? true;
    this.initWeeks = options.initWeeks === undefined ? Number.POSITIVE_INFINITY : positiveInteger(options.initWeeks, 'initWeeks');
    if (this.initWeeks < 2) throw new RangeError(`initWeeks must be at least 2, got ${this.initWeeks}`);
    this.intervalHorizon = positiveInteger(options.intervalHorizon ?? this.dailyPeriod, 'intervalHorizon');
    this.maxIntervalOrigins = positiveInteger(options.maxIntervalOrigins ?? 5000, 'maxIntervalOrigins');
    this.maxCycles = positiveInteger(options.maxCycles ?? 8, 'maxCycles');
    this.fixed = { ...(options.fixed ?? {}) };
    for (const [name, value] of Object.entries(this.fixed)) {
      if (!(name in DEFAULT_START)) throw new RangeError(`unknown Holt-Winters parameter "${name}"`);
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${String(value)}`);
    }
  }

  fit(series: readonly number[]): HoltWintersModel {
    checkFinite(series, 'series');
    const n = series.length;
    const minimum = 2 * this.weeklyPeriod;
    if (n < minimum) {
      throw new RangeError(
        `Holt-Winters needs at least two weekly periods (${minimum} observations of ${this.weeklyPeriod} per week) to initialise and fit, got ${n}`,
      );
    }
    const y = Float64Array.from(series);
    const init = initialState(y, this.dailyPeriod, this.weeklyPeriod, this.initWeeks, this.trend === 'damped');

    // Which parameters are searched; the rest are fixed by the options or by the model's shape.
    const params: HoltWintersParams = { ...DEFAULT_START };
    if (this.trend === 'none') Object.assign(params, { beta: 0, phi: 1 });
    if (!this.arAdjustment) params.lambda = 0;
    Object.assign(params, this.fixed);
    const free: ParamName[] = (['alpha', 'delta', 'omega', 'lambda', 'beta', 'phi'] as const).filter((name) => {
      if (name in this.fixed) return false;
      if ((name === 'beta' || name === 'phi') && this.trend === 'none') return false;
      if (name === 'lambda' && !this.arAdjustment) return false;
      return true;
    });

    let evaluations = 0;
    const objective = (p: HoltWintersParams): number => {
      evaluations++;
      const sse = filter(y, cloneState(init), p, this.dailyPeriod, this.weeklyPeriod);
      return Number.isFinite(sse) ? sse : Number.POSITIVE_INFINITY;
    };
    let best = objective(params);
    let cycles = 0;
    for (; cycles < this.maxCycles && free.length > 0; ) {
      cycles++;
      const before = best;
      for (const name of free) best = searchCoordinate(params, name, best, objective);
      if (!(before - best > 1e-9 * before)) break;
    }

    const state = cloneState(init);
    const sse = filter(y, state, params, this.dailyPeriod, this.weeklyPeriod);
    const quantiles = horizonQuantiles(y, init, params, this.dailyPeriod, this.weeklyPeriod, this.intervalHorizon, this.maxIntervalOrigins);
    return new HoltWintersModel(Object.freeze({ ...params }), this.dailyPeriod, this.weeklyPeriod, state, quantiles, {
      sse,
      rmse1: Math.sqrt(sse / n),
      evaluations,
      cycles,
      initWeeks: Math.min(this.initWeeks, Math.floor(n / this.weeklyPeriod)),
    });
  }
}

/** How the fit went, for reports. */
export interface HoltWintersFitInfo {
  /** Sum of squared one-step-ahead errors over the training series at the chosen parameters. */
  sse: number;
  /** Root mean squared one-step-ahead error. */
  rmse1: number;
  /** Objective evaluations (filter passes) the search used. */
  evaluations: number;
  cycles: number;
  /** Whole weeks the initial state was estimated from. */
  initWeeks: number;
}

export class HoltWintersModel implements FittedModel {
  readonly method = 'holt-winters';

  /** @internal Built by HoltWinters.fit and update. */
  constructor(
    readonly params: Readonly<HoltWintersParams>,
    readonly dailyPeriod: number,
    readonly weeklyPeriod: number,
    private readonly state: HoltWintersState,
    /** Error quantiles at horizons 1..H (index k-1). */
    private readonly quantiles: readonly ErrorQuantiles[],
    readonly info: Readonly<HoltWintersFitInfo>,
  ) {}

  get observations(): number {
    return this.state.t;
  }

  /** A copy of the filter state after the last observation. */
  get finalState(): HoltWintersState {
    return cloneState(this.state);
  }

  forecast(h: number): Forecast {
    checkHorizon(h);
    const mean = pointForecast(this.state, this.params, this.dailyPeriod, this.weeklyPeriod, h);
    const out: Forecast = { mean, lower80: [], upper80: [], lower95: [], upper95: [] };
    const horizons = this.quantiles.length;
    for (let k = 1; k <= h; k++) {
      const q = this.quantiles[Math.min(k, horizons) - 1]!;
      const widen = k > horizons ? Math.sqrt(k / horizons) : 1;
      const m = mean[k - 1]!;
      out.lower80.push(m + q.q10 * widen);
      out.upper80.push(m + q.q90 * widen);
      out.lower95.push(m + q.q025 * widen);
      out.upper95.push(m + q.q975 * widen);
    }
    return out;
  }

  update(values: readonly number[]): HoltWintersModel {
    checkFinite(values, 'values');
    const state = cloneState(this.state);
    filter(Float64Array.from(values), state, this.params, this.dailyPeriod, this.weeklyPeriod);
    return new HoltWintersModel(this.params, this.dailyPeriod, this.weeklyPeriod, state, this.quantiles, this.info);
  }
}

const DEFAULT_START: HoltWintersParams = { alpha: 0.1, beta: 0.01, phi: 0.98, delta: 0.1, omega: 0.1, lambda: 0.5 };

/**
 * Initial state from the first K = min(initWeeks, floor(n / m2)) whole weeks, by a robust classical
 * decomposition (medians, so that an incident in those weeks -- a day when the cluster stopped --
 * does not become part of the seasonal pattern):
 * - x_t = y_t minus the centred moving average over one week (a 2 x m2 average for even m2), for
 *   the steps where that average exists (all but the first and last half week of the K weeks);
 * - daily component of phase j: median of x_t over the steps of phase j (t mod m1 = j);
 * - weekly component of phase j: median of x_t - daily_(t mod m1) over the steps with t mod m2 = j;
 *   then, when m2 is a multiple of m1, each daily phase's mean over the weekdays is moved from the
 *   weekly into the daily component (the weekly component holds only what differs between
 *   weekdays), and both are centred to sum to zero;
 * - level: mean of y_t - daily - weekly over the first day (the level where the filter starts);
 *   with a trend, the slope of the moving average between its first and last step, and the level is
 *   stepped back by half a day plus one step to sit just before t = 0.
 * With K = 2 each weekly phase has a single sample (the median is that value); more weeks make the
 * weekly pattern steadier and robust to a bad week.
 */
export function initialState(y: Float64Array, m1: number, m2: number, initWeeks: number, withTrend: boolean): HoltWintersState {
  const weeks = Math.min(initWeeks, Math.floor(y.length / m2));
  if (weeks < 2) throw new RangeError(`initialisation needs at least two whole weeks (${2 * m2} steps), got ${y.length}`);
  const span = weeks * m2;
  const prefix = new Float64Array(span + 1);
  for (let t = 0; t < span; t++) prefix[t + 1] = prefix[t]! + y[t]!;
  const even = m2 % 2 === 0;
  const half = even ? m2 / 2 : (m2 - 1) / 2;
  const first = half;
  const last = span - 1 - half;
  const movingAverage = (t: number): number =>
    even ? (prefix[t + half]! - prefix[t - half + 1]! + 0.5 * (y[t - half]! + y[t + half]!)) / m2 : (prefix[t + half + 1]! - prefix[t - half]!) / m2;
  const x = new Float64Array(span);
  for (let t = first; t <= last; t++) x[t] = y[t]! - movingAverage(t);

  const daily = new Float64Array(m1);
  const phaseValues: number[][] = Array.from({ length: m1 }, () => []);
  for (let t = first; t <= last; t++) phaseValues[t % m1]!.push(x[t]!);
  for (let j = 0; j < m1; j++) daily[j] = median(phaseValues[j]!);

  const weekly = new Float64Array(m2);
  const weekValues: number[][] = Array.from({ length: m2 }, () => []);
  for (let t = first; t <= last; t++) weekValues[t % m2]!.push(x[t]! - daily[t % m1]!);
  for (let j = 0; j < m2; j++) weekly[j] = median(weekValues[j]!);

  if (m2 % m1 === 0) {
    const days = m2 / m1;
    for (let p = 0; p < m1; p++) {
      let s = 0;
      for (let k = 0; k < days; k++) s += weekly[p + k * m1]!;
      const shift = s / days;
      for (let k = 0; k < days; k++) weekly[p + k * m1] = weekly[p + k * m1]! - shift;
      daily[p] = daily[p]! + shift;
    }
  }
  centreInPlace(daily);
  centreInPlace(weekly);

  let level = 0;
  for (let t = 0; t < m1; t++) level += y[t]! - daily[t]! - weekly[t]!;
  level /= m1;
  const slope = withTrend ? (movingAverage(last) - movingAverage(first)) / Math.max(1, last - first) : 0;
  return { level: level - slope * ((m1 - 1) / 2 + 1), trend: slope, daily, weekly, lastError: 0, t: 0 };
}

/** Median of a non-empty array (sorted in place). */
function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

function centreInPlace(a: Float64Array): void {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  const mean = s / a.length;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! - mean;
}

function cloneState(s: HoltWintersState): HoltWintersState {
  return { level: s.level, trend: s.trend, daily: s.daily.slice(), weekly: s.weekly.slice(), lastError: s.lastError, t: s.t };
}

/**
 * Runs the filter over `y` from `state` (which it advances) and returns the sum of squared adjusted
 * one-step errors. The hot loop of the fit: plain locals and counters instead of `%`.
 */
function filter(y: Float64Array, state: HoltWintersState, p: HoltWintersParams, m1: number, m2: number): number {
  const { alpha, beta, phi, delta, omega, lambda } = p;
  const D = state.daily;
  const W = state.weekly;
  let l = state.level;
  let b = state.trend;
  let rPrev = state.lastError;
  let di = state.t % m1;
  let wi = state.t % m2;
  let sse = 0;
  for (let i = 0; i < y.length; i++) {
    const yt = y[i]!;
    const d = D[di]!;
    const w = W[wi]!;
    const lb = l + phi * b;
    const r = yt - (lb + d + w);
    const e = r - lambda * rPrev;
    sse += e * e;
    const lNew = lb + alpha * r;
    b = beta * (lNew - l) + (1 - beta) * phi * b;
    D[di] = delta * (yt - lNew - w) + (1 - delta) * d;
    W[wi] = omega * (yt - lNew - d) + (1 - omega) * w;
    l = lNew;
    rPrev = r;
    if (++di === m1) di = 0;
    if (++wi === m2) wi = 0;
  }
  state.level = l;
  state.trend = b;
  state.lastError = rPrev;
  state.t += y.length;
  return sse;
}

/** Point forecasts 1..h steps after the state's last observation. */
function pointForecast(s: HoltWintersState, p: HoltWintersParams, m1: number, m2: number, h: number): number[] {
  const out: number[] = new Array<number>(h);
  let phiPow = 1;
  let phiSum = 0;
  let lamPow = 1;
  let di = s.t % m1;
  let wi = s.t % m2;
  for (let k = 0; k < h; k++) {
    phiPow *= p.phi;
    phiSum += phiPow;
    lamPow *= p.lambda;
    out[k] = s.level + phiSum * s.trend + s.daily[di]! + s.weekly[wi]! + lamPow * s.lastError;
    if (++di === m1) di = 0;
    if (++wi === m2) wi = 0;
  }
  return out;
}

/**
 * In-sample error quantiles at horizons 1..H: the filter runs over `y` again and, after every
 * `stride`-th observation, forecasts up to H steps and records actual - forecast where the series
 * has the actual.
 */
function horizonQuantiles(
  y: Float64Array,
  init: HoltWintersState,
  p: HoltWintersParams,
  m1: number,
  m2: number,
  horizon: number,
  maxOrigins: number,
): ErrorQuantiles[] {
  const n = y.length;
  const stride = Math.max(1, Math.ceil((n - 1) / maxOrigins));
  const capacity = Math.ceil(n / stride);
  const errors: Float64Array[] = Array.from({ length: horizon }, () => new Float64Array(capacity));
  const counts = new Int32Array(horizon);
  const state = cloneState(init);
  for (let start = 0; start < n - 1; start += stride) {
    filter(y.subarray(start, start + stride), state, p, m1, m2);
    const origin = state.t; // observations seen
    const reach = Math.min(horizon, n - origin);
    if (reach <= 0) break;
    const f = pointForecast(state, p, m1, m2, reach);
    for (let k = 0; k < reach; k++) errors[k]![counts[k]!++] = y[origin + k]! - f[k]!;
  }
  const out: ErrorQuantiles[] = [];
  for (let k = 0; k < horizon; k++) {
    // A horizon longer than the series allows gets the last measured horizon's quantiles.
    if (counts[k]! === 0) {
      out.push(out[k - 1] ?? { q025: 0, q10: 0, q90: 0, q975: 0 });
      continue;
    }
    out.push(errorQuantiles(errors[k]!.subarray(0, counts[k]!)));
  }
  return out;
}

/**
 * One coordinate of the search: grid over the parameter's range, then golden-section refinement
 * between the best grid point's neighbours. Leaves `params[name]` at the best value found (never worse
 * than the incoming one) and returns the objective there.
 */
function searchCoordinate(
  params: HoltWintersParams,
  name: ParamName,
  incumbent: number,
  objective: (p: HoltWintersParams) => number,
): number {
  const grid = name === 'phi' ? GRID_PHI : GRID_01;
  const original = params[name];
  let bestValue = original;
  let best = incumbent;
  let bestIndex = -1;
  for (let i = 0; i < grid.length; i++) {
    params[name] = grid[i]!;
    const v = objective(params);
    if (v < best) {
      best = v;
      bestValue = grid[i]!;
      bestIndex = i;
    }
  }
  // Refine around the best grid point; when the incumbent beat the whole grid, around the incumbent's
  // grid cell.
  let centre = bestIndex;
  if (centre < 0) {
    centre = 0;
    for (let i = 0; i < grid.length; i++) if (Math.abs(grid[i]! - original) < Math.abs(grid[centre]! - original)) centre = i;
  }
  let lo = grid[Math.max(0, centre - 1)]!;
  let hi = grid[Math.min(grid.length - 1, centre + 1)]!;
  let x1 = hi - GOLDEN * (hi - lo);
  let x2 = lo + GOLDEN * (hi - lo);
  params[name] = x1;
  let f1 = objective(params);
  params[name] = x2;
  let f2 = objective(params);
  for (let iter = 0; iter < 40 && hi - lo > 1e-5; iter++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - GOLDEN * (hi - lo);
      params[name] = x1;
      f1 = objective(params);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + GOLDEN * (hi - lo);
      params[name] = x2;
      f2 = objective(params);
    }
  }
  if (f1 < best) {
    best = f1;
    bestValue = x1;
  }
  if (f2 < best) {
    best = f2;
    bestValue = x2;
  }
  params[name] = bestValue;
  return best;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
