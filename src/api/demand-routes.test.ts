import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import type { DemandReportBody } from './routes/demand-routes.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';

const dialects = await testDialects();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Saturday 28 November 2026, 12:30 UTC. */
const NOW = Date.UTC(2026, 10, 28, 12, 30);

describe.each(dialects)('GET /v1/reports/demand on %s', (dialect) => {
  let h: Harness;
  let app: App;
  beforeEach(async () => {
    h = await createHarness(dialect, { start: NOW });
    app = await buildApp({ control: h.control, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await h.dispose();
  });
  const get = (query: string, key = h.seed.operatorKey!) => app.inject({ method: 'GET', url: `/v1/reports/demand?${query}`, headers: { authorization: `Bearer ${key}` } });

  /**
   * `days` days of allocations written straight into the table, ending now: one GPU held all the
   * time, and on weekdays 3 or 4 more from 09:00 to 18:00 UTC (a daily and a weekly pattern).
   */
  async function seedHistory(days: number) {
    const db = h.control.store.db;
    await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)));
    const devices = (await h.control.inventory.getNode('node-a')).devices;
    const { job: template } = await h.control.jobs.submit(h.demo, { command: ['x'], gpus: 1 });
    // Settle the scheduling pass the submission kicks off (it places the template now, which the report ignores).
    await h.control.scheduling.run();
    const row = await db.selectFrom('jobs').selectAll().where('id', '=', template.id).executeTakeFirstOrThrow();
    const first = Math.floor(NOW / DAY) * DAY - days * DAY;
    const nodeId = (await db.selectFrom('devices').select('node_id').where('id', '=', devices[0]!.id).executeTakeFirstOrThrow()).node_id;
    const alloc = (jobId: string, d: number, from: number, to: number | null) => ({
      id: `alc_${jobId}_${d}`,
      job_id: jobId,
      node_id: nodeId,
      device_id: devices[d]!.id,
      device_index: d,
      model: 'H100',
      gpu_milli: 1000,
      created_at: from,
      released_at: to,
    });
    const jobs = [];
    const allocations = [];
    jobs.push({ ...row, id: 'job_hist_base', idempotency_key: null, state: 'running' });
    allocations.push(alloc('job_hist_base', 0, first, null));
    for (let i = 0; i < days; i++) {
      const day = first + i * DAY;
      const weekday = new Date(day).getUTCDay();
      if (weekday === 0 || weekday === 6) continue;
      const id = `job_hist_${i}`;
      jobs.push({ ...row, id, idempotency_key: null, state: 'succeeded' });
      for (let d = 1; d <= 3 + (i % 2); d++) allocations.push(alloc(id, d, day + 9 * HOUR, day + 18 * HOUR));
    }
    await db.insertInto('jobs').values(jobs).execute();
    await db.insertInto('allocations').values(allocations).execute();
    return { first, peak: (day: number) => 1 + 3 + (((day - first) / DAY) % 2) };
  }

  it('is for operators only, and says there is no history before the first allocation', async () => {
    expect((await get('', h.seed.demoKey!)).statusCode).toBe(403);
    const res = await get('days=2');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as DemandReportBody;
    expect(body.historyStart).toBeNull();
    expect(body.unavailable?.reason).toBe('no-history');
    expect(body.forecast).toBeNull();
    expect(body.actual.at).toHaveLength(2 * 24 + 1);
    expect(body.actual.at.at(-1)).toBe(Math.floor(NOW / HOUR) * HOUR);
    expect(body.actual.busyGpus.every((v) => v === null)).toBe(true);
    expect((await get('days=0')).statusCode).toBe(422);
    expect((await get('horizon=49')).statusCode).toBe(422);
  });

  it('shows the demand but no forecast with less than 15 days of history, and says so', async () => {
    const { first } = await seedHistory(10);
    const body = (await get('days=14')).json() as DemandReportBody;
    expect(body.historyStart).toBe(first);
    expect(body.historyDays).toBe(10.5);
    expect(body.forecast).toBeNull();
    expect(body.backtest).toBeNull();
    expect(body.unavailable).toMatchObject({ reason: 'history-too-short' });
    expect(body.unavailable!.message).toMatch(/needs 15 days .* there are 10\.5 days/);
    // Null before the history, then the demand hour by hour.
    const at = (t: number) => body.actual.busyGpus[body.actual.at.indexOf(t)];
    expect(at(first - HOUR)).toBeNull();
    const friday = Date.UTC(2026, 10, 27);
    expect(at(friday + 3 * HOUR)).toBe(1);
    expect(at(friday + 12 * HOUR)).toBeGreaterThanOrEqual(4);
    expect(at(Date.UTC(2026, 10, 28, 12))).toBe(1); // the hour in progress
  });

  it('forecasts the next 48 h with Holt-Winters and the seasonal-naive baseline, and backtests the last day, with three weeks of history', async () => {
    const { peak } = await seedHistory(21);
    const res = await get('days=7&horizon=48');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as DemandReportBody;
    expect(body.unavailable).toBeNull();
    expect(body.capacityGpus).toBe(8);
    expect(body.actual.at).toHaveLength(7 * 24 + 1);
    const f = body.forecast!;
    expect(f.at).toHaveLength(48);
    expect(f.at[0]).toBe(Math.floor(NOW / HOUR) * HOUR);
    expect(f.fittedHours).toBe(21 * 24 + 12);
    // Nested bands around the mean. On this piecewise-constant history many in-sample errors are exactly
    // zero, so a band may touch the mean; allow the 0.001 the numbers are rounded to, on either side.
    const eps = 0.002;
    for (const band of [f.holtWinters, f.seasonalNaive])
      for (let k = 0; k < 48; k++) {
        expect(band.lower95[k]!).toBeLessThanOrEqual(band.lower80[k]! + eps);
        expect(band.lower80[k]!).toBeLessThanOrEqual(band.mean[k]! + eps);
        expect(band.mean[k]!).toBeLessThanOrEqual(band.upper80[k]! + eps);
        expect(band.upper80[k]!).toBeLessThanOrEqual(band.upper95[k]! + eps);
        expect(band.lower95[k]!).toBeGreaterThanOrEqual(0);
        expect(band.upper95[k]!).toBeLessThanOrEqual(8);
      }
    const hourOf = (t: number) => f.at.indexOf(t);
    const saturday3pm = hourOf(Date.UTC(2026, 10, 28, 15));
    const monday10am = hourOf(Date.UTC(2026, 10, 30, 10));
    // A quiet weekend afternoon, a busy Monday morning.
    expect(f.holtWinters.mean[saturday3pm]!).toBeCloseTo(1, 0);
    expect(f.holtWinters.mean[monday10am]!).toBeGreaterThan(3.5);
    expect(f.holtWinters.mean[monday10am]!).toBeLessThan(5.5);
    // The baseline is the same hour a week before.
    expect(f.seasonalNaive.mean[saturday3pm]).toBe(1);
    expect(f.seasonalNaive.mean[monday10am]).toBe(peak(Date.UTC(2026, 10, 23)));

    const b = body.backtest!;
    expect(b.at).toHaveLength(24);
    expect(b.at.at(-1)).toBe(Math.floor(NOW / HOUR) * HOUR - HOUR);
    expect(b.actual.slice(0, 6).every((x) => x >= 4)).toBe(true); // Friday 12:00-18:00
    expect(b.maeHoltWinters).toBeLessThan(1);
    expect(b.coverage80).toBeGreaterThanOrEqual(0);
    expect(b.coverage95).toBeLessThanOrEqual(1);
  });
});
