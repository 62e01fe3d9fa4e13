import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import type { GpuTimelineBody } from './routes/timeline-routes.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';

const dialects = await testDialects();
const MIN = 60_000;

describe.each(dialects)('GET /v1/reports/gpu-timeline on %s', (dialect) => {
  let h: Harness;
  let app: App;
  beforeEach(async () => {
    h = await createHarness(dialect);
    app = await buildApp({ control: h.control, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await h.dispose();
  });
  const get = (key: string, query: string) => app.inject({ method: 'GET', url: `/v1/reports/gpu-timeline?${query}`, headers: { authorization: `Bearer ${key}` } });

  it('buckets allocation, utilization and power per device and in total, for operators only', async () => {
    const t0 = h.clock.now();
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2)));
    await h.control.jobs.submit(h.demo, { command: ['x'], gpuMilli: 500 });
    await h.control.scheduling.run();
    // Device 0 at 40 % and 200 W, device 1 at 0 % and 100 W, every 10 s for 10 minutes.
    const samples = [];
    for (let s = 0; s < 60; s++)
      for (const [d, u, p] of [[0, 40, 200_000], [1, 0, 100_000]] as const)
        samples.push({ deviceIndex: d, at: t0 + s * 10_000, utilizationPct: u, memoryUsedMib: 0, powerMilliwatts: p, energyMillijoules: null, temperatureC: 30, smClockMhz: 210, pstate: 'P0' });
    h.clock.set(t0 + 10 * MIN);
    await h.control.telemetry.ingest(h.agent, { nodeId, samples });

    const query = `from=${t0}&to=${t0 + 10 * MIN}&buckets=5`;
    expect((await get(h.seed.demoKey!, query)).statusCode).toBe(403);
    const res = await get(h.seed.operatorKey!, query);
    expect(res.statusCode, res.body).toBe(200);
    const totals = res.json() as GpuTimelineBody;
    expect(totals.bucketMs).toBe(2 * MIN);
    expect(totals.source).toBe('1m');
    expect(totals.devices).toBeUndefined();
    expect(totals.series.capacityGpus).toEqual([2, 2, 2, 2, 2]);
    expect(totals.series.allocatedGpus).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(totals.series.busyGpus).toEqual([0.4, 0.4, 0.4, 0.4, 0.4]);
    expect(totals.series.powerKw).toEqual([0.3, 0.3, 0.3, 0.3, 0.3]);
    expect(totals.series.idleGpuHours[0]).toBeCloseTo((1.5 * 2) / 60, 3);
    expect(totals.series.energyKwh[0]).toBeCloseTo((0.3 * 2) / 60, 4);

    const matrix = (await get(h.seed.operatorKey!, `${query}&devices=true`)).json() as GpuTimelineBody;
    expect(matrix.devices!.map((d) => `${d.nodeName}#${d.index}`)).toEqual(['node-a#0', 'node-a#1']);
    expect(matrix.allocatedMilli!.map((row) => row[0])).toEqual(expect.arrayContaining([500, 0]));
    expect(matrix.utilizationPct).toEqual([[40, 40, 40, 40, 40], [0, 0, 0, 0, 0]]);
    // The per-device sums and the per-bucket totals agree.
    expect(matrix.series).toEqual(totals.series);

    // Once minutes are rolled up they are read from the rollup (the rest still from raw samples),
    // with the same figures.
    expect((await h.control.telemetry.rollup()).minuteRows).toBeGreaterThan(0);
    const mark = await h.ts.store.db.selectFrom('telemetry_rollups').select('done_until').where('level', '=', '1m').executeTakeFirstOrThrow();
    expect(Number(mark.done_until)).toBeGreaterThan(t0);
    expect(Number(mark.done_until)).toBeLessThan(t0 + 10 * MIN);
    const rolled = (await get(h.seed.operatorKey!, query)).json() as GpuTimelineBody;
    expect(rolled.series).toEqual(totals.series);
    const rolledMatrix = (await get(h.seed.operatorKey!, `${query}&devices=true`)).json() as GpuTimelineBody;
    expect(rolledMatrix.utilizationPct).toEqual(matrix.utilizationPct);
    expect(rolledMatrix.series).toEqual(totals.series);

    // Buckets under a minute read the raw samples.
    const fine = (await get(h.seed.operatorKey!, `from=${t0}&to=${t0 + 10 * MIN}&buckets=20&devices=true`)).json() as GpuTimelineBody;
    expect(fine.source).toBe('raw');
    expect(fine.bucketMs).toBe(30_000);
    expect(fine.utilizationPct![0]).toEqual(new Array(20).fill(40));
  });

  it('refuses an empty range', async () => {
    const res = await get(h.seed.operatorKey!, `from=${h.clock.now()}&to=${h.clock.now() - 1}`);
    expect(res.statusCode).toBe(422);
  });
});
