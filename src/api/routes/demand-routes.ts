import { Type, type Static } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { busyGpuSeries, type AllocationInterval } from '../../control/demand-history.js';
import { requireOperator } from '../../control/principal.js';
import { coverage, mae } from '../../forecast/accuracy.js';
import { clampForecast, type Forecast } from '../../forecast/forecaster.js';
import { HoltWinters } from '../../forecast/holt-winters.js';
import { SeasonalNaive } from '../../forecast/seasonal-naive.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Holt-Winters initialises from two whole weeks and needs a day beyond them to estimate anything (as node parking does). */
export const DEMAND_MIN_HISTORY_DAYS = 15;
/** History the models are fitted on, at most (the parking forecast's window). */
const FIT_DAYS = 35;
/** The backtest holds out the last day. */
const BACKTEST_HOURS = 24;
const DAILY = 24;
const WEEKLY = 168;

const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 422: S.Problem };

export const DemandQuery = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: FIT_DAYS, default: 7, description: 'days of actual demand to return (the models always fit on up to 35 days)' })),
    horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: 48, default: 48, description: 'hours to forecast' })),
  },
  { additionalProperties: false },
);

const Series = (description: string) => Type.Array(Type.Number(), { description });
const Band = Type.Object({
  mean: Series('point forecast, GPUs'),
  lower80: Series('80 % interval, lower'),
  upper80: Series('80 % interval, upper'),
  lower95: Series('95 % interval, lower'),
  upper95: Series('95 % interval, upper'),
});

export const DemandReport = Type.Object(
  {
    now: Type.Integer(),
    stepMs: Type.Integer({ description: 'one hour' }),
    capacityGpus: Type.Integer({ description: 'devices registered now; forecasts are clamped to [0, capacity]' }),
    historyStart: S.Nullable(Type.Integer({ description: 'the first allocation ever made, ms since the epoch; null without any' })),
    historyDays: Type.Number({ description: 'days from the first allocation to now' }),
    minHistoryDays: Type.Integer({ description: 'history a forecast needs' }),
    actual: Type.Object({
      at: Type.Array(Type.Integer(), { description: 'start of each hour; the last is the hour in progress' }),
      busyGpus: Type.Array(S.Nullable(Type.Number()), {
        description: 'mean GPUs allocated over the hour (milli-GPU / 1000, time-weighted; the hour in progress over its elapsed part); null before the first allocation',
      }),
    }),
    forecast: S.Nullable(
      Type.Object(
        {
          at: Type.Array(Type.Integer(), { description: 'start of each forecast hour; the first is the hour in progress' }),
          fittedHours: Type.Integer({ description: 'hourly observations the models were fitted on' }),
          holtWinters: Band,
          seasonalNaive: Band,
        },
        { description: "Holt-Winters (daily period 24 h, weekly 168 h, Taylor's AR adjustment) and the seasonal-naive baseline (same hour last week), with empirical 80/95 % intervals" },
      ),
    ),
    backtest: S.Nullable(
      Type.Object(
        {
          at: Type.Array(Type.Integer()),
          actual: Series('what happened in the last 24 complete hours'),
          holtWinters: Band,
          seasonalNaive: Series('the baseline forecast for those hours'),
          maeHoltWinters: Type.Number({ description: 'mean absolute error, GPUs' }),
          maeSeasonalNaive: Type.Number(),
          coverage80: Type.Number({ description: 'share of the hours inside the 80 % interval, 0..1' }),
          coverage95: Type.Number(),
        },
        { description: 'the models fitted without the last 24 complete hours, forecasting them; null until 16 days of history' },
      ),
    ),
    unavailable: S.Nullable(
      Type.Object({
        reason: Type.Union([Type.Literal('no-history'), Type.Literal('history-too-short'), Type.Literal('fit-failed')]),
        message: Type.String(),
      }),
    ),
  },
  { $id: 'DemandReport' },
);
export type DemandReportBody = Static<typeof DemandReport>;

const round = (x: number) => Math.round(x * 1000) / 1000;
const roundBand = (f: Forecast) => ({ mean: f.mean.map(round), lower80: f.lower80.map(round), upper80: f.upper80.map(round), lower95: f.lower95.map(round), upper95: f.upper95.map(round) });

/**
 * Hourly GPU demand (allocated GPUs) over the last days, and when there are 15 days of history a
 * Holt-Winters forecast of the next hours with a seasonal-naive baseline and a backtest on the last day.
 */
export async function demandReport(control: ControlPlane, q: Static<typeof DemandQuery>): Promise<DemandReportBody> {
  const db = control.store.db;
  const now = control.clock.now();
  const days = q.days ?? 7;
  const horizon = q.horizon ?? 48;
  const end = Math.floor(now / HOUR) * HOUR; // start of the hour in progress
  const windowStart = end - Math.max(days, FIT_DAYS) * DAY;

  const [first, capacity] = await Promise.all([
    db.selectFrom('allocations').select((eb) => eb.fn.min<number>('created_at').as('at')).executeTakeFirst(),
    db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const capacityGpus = Number(capacity.n);
  const historyStart = first?.at === null || first?.at === undefined ? null : Number(first.at);
  const historyDays = historyStart === null ? 0 : Math.max(0, Math.floor(((now - historyStart) / DAY) * 10) / 10);

  const rows =
    historyStart === null
      ? []
      : await db
          .selectFrom('allocations')
          .select(['gpu_milli', 'created_at', 'released_at'])
          .where('created_at', '<', now)
          .where((eb) => eb.or([eb('released_at', 'is', null), eb('released_at', '>', windowStart)]))
          .execute();
  const allocations: AllocationInterval[] = rows.map((a) => ({ gpuMilli: Number(a.gpu_milli), createdAt: Number(a.created_at), releasedAt: a.released_at === null ? null : Number(a.released_at) }));

  // Complete hours from the window start, then the hour in progress over its elapsed part.
  const hours = (end - windowStart) / HOUR;
  const complete = busyGpuSeries(allocations, windowStart, HOUR, hours, now);
  const current = now > end ? busyGpuSeries(allocations, end, now - end, 1, now)[0]! : 0;
  const historyHour = historyStart === null ? Number.POSITIVE_INFINITY : Math.floor(historyStart / HOUR) * HOUR;
  const shown = days * 24;
  const actualAt = Array.from({ length: shown + 1 }, (_, i) => end - (shown - i) * HOUR);
  const actualValues = actualAt.map((t, i) => (t < historyHour ? null : round(i === shown ? current : complete[hours - shown + i]!)));

  const body: DemandReportBody = {
    now,
    stepMs: HOUR,
    capacityGpus,
    historyStart,
    historyDays,
    minHistoryDays: DEMAND_MIN_HISTORY_DAYS,
    actual: { at: actualAt, busyGpus: actualValues },
    forecast: null,
    backtest: null,
    unavailable: null,
  };
  if (historyStart === null) {
    body.unavailable = { reason: 'no-history', message: 'no GPU has been allocated yet: demand history starts with the first job placed' };
    return body;
  }
  if (now - historyStart < DEMAND_MIN_HISTORY_DAYS * DAY) {
    body.unavailable = {
      reason: 'history-too-short',
      message: `a forecast needs ${DEMAND_MIN_HISTORY_DAYS} days of demand history (Holt-Winters learns a weekly pattern from two whole weeks); there are ${historyDays} days, since ${new Date(historyStart).toISOString()}`,
    };
    return body;
  }

  // The fitted series: complete hours since the history began, within the last 35 days.
  const fitStart = Math.max(end - FIT_DAYS * DAY, historyHour);
  const series = complete.slice((fitStart - windowStart) / HOUR);
  const clamp = (f: Forecast) => (capacityGpus > 0 ? clampForecast(f, 0, capacityGpus) : f);
  const hw = new HoltWinters({ dailyPeriod: DAILY, weeklyPeriod: WEEKLY, intervalHorizon: DAILY });
  const sn = new SeasonalNaive({ period: WEEKLY });
  try {
    body.forecast = {
      at: Array.from({ length: horizon }, (_, k) => end + k * HOUR),
      fittedHours: series.length,
      holtWinters: roundBand(clamp(hw.fit(series).forecast(horizon))),
      seasonalNaive: roundBand(clamp(sn.fit(series).forecast(horizon))),
    };
  } catch (err) {
    body.unavailable = { reason: 'fit-failed', message: `the forecast could not be fitted: ${(err as Error).message}` };
    return body;
  }
  const training = series.slice(0, series.length - BACKTEST_HOURS);
  if (training.length >= DEMAND_MIN_HISTORY_DAYS * DAILY) {
    const held = series.slice(series.length - BACKTEST_HOURS);
    try {
      const f = clamp(hw.fit(training).forecast(BACKTEST_HOURS));
      const b = clamp(sn.fit(training).forecast(BACKTEST_HOURS));
      body.backtest = {
        at: Array.from({ length: BACKTEST_HOURS }, (_, k) => end - (BACKTEST_HOURS - k) * HOUR),
        actual: held.map(round),
        holtWinters: roundBand(f),
        seasonalNaive: b.mean.map(round),
        maeHoltWinters: round(mae(held, f.mean)),
        maeSeasonalNaive: round(mae(held, b.mean)),
        coverage80: round(coverage(held, f.lower80, f.upper80)),
        coverage95: round(coverage(held, f.lower95, f.upper95)),
      };
    } catch {
      // No backtest; the forecast itself stands.
    }
  }
  return body;
}

/** GET /v1/reports/demand: the console's forecast vs actual demand page (docs/console.md). */
export function registerDemandRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/reports/demand',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Hourly GPU demand, with a Holt-Winters forecast and a seasonal-naive baseline once there are 15 days of history (operators)',
        description:
          'Mean allocated GPUs per hour over the last `days` days (the hour in progress last). With 15 days of allocation history: a Holt-Winters forecast (daily and weekly seasons) of the next `horizon` hours with 80 % and 95 % intervals, the seasonal-naive baseline (the same hour a week before), and a backtest of both on the last 24 complete hours. Otherwise `unavailable` says why.',
        querystring: DemandQuery,
        response: { 200: DemandReport, ...problems },
      },
    },
    async (request) => {
      requireOperator(principalOf(request));
      return demandReport(control, request.query);
    },
  );
}
