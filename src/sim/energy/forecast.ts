/**
 * The replay's demand forecast: Holt-Winters (src/forecast, daily + weekly seasonality) on the busy
 * GPUs the replay observes itself (per 10-minute bucket; nothing is read from the future). No forecast for the first `fitAfterSteps` buckets (two weeks by default: Holt-Winters needs
 * two whole weeks to start); then a fit on what was seen, refit every `refitEverySteps` on the most
 * recent `maxFitSteps`, and cheap `update`s in between. The upper bound is the largest upper 95% (or 80%)
 * over the requested steps.
 */
import { HoltWinters } from '../../forecast/holt-winters.js';
import type { FittedModel } from '../../forecast/forecaster.js';
import type { DemandForecastProvider } from './replay.js';

export interface HoltWintersProviderOptions {
  fitAfterSteps?: number;
  refitEverySteps?: number;
  maxFitSteps?: number;
  /** Forecasts are clamped to [0, capacity]. */
  capacityGpus: number;
  /** Which upper bound: the 95% interval's (default) or the 80% interval's. */
  level?: 80 | 95;
}

export function holtWintersDemandForecast(options: HoltWintersProviderOptions): DemandForecastProvider & { fits: number } {
  const fitAfter = options.fitAfterSteps ?? 2 * 1008;
  const refitEvery = options.refitEverySteps ?? 4 * 1008;
  const maxFit = options.maxFitSteps ?? 4 * 1008;
  const seen: number[] = [];
  let model: FittedModel | undefined;
  let fittedAt = 0;
  const cache = new Map<number, number>();
  const provider = {
    fits: 0,
    observe(v: number) {
      seen.push(v);
      cache.clear();
      if (seen.length >= fitAfter && (model === undefined || seen.length - fittedAt >= refitEvery)) {
        const window = seen.slice(Math.max(0, seen.length - maxFit));
        const whole = window.length - (window.length % 1008);
        model = new HoltWinters({ maxCycles: 3, maxIntervalOrigins: 1000 }).fit(window.slice(window.length - whole));
        fittedAt = seen.length;
        provider.fits++;
      } else if (model) {
        model = model.update([v]);
      }
    },
    upperOver(steps: number) {
      if (!model) return undefined;
      const hit = cache.get(steps);
      if (hit !== undefined) return hit;
      const f = model.forecast(steps);
      let m = 0;
      for (const u of options.level === 80 ? f.upper80 : f.upper95) if (u > m) m = u;
      m = Math.min(Math.max(0, m), options.capacityGpus);
      cache.set(steps, m);
      return m;
    },
  };
  return provider;
}
