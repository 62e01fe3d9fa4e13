import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();
const MIN = 60_000;

describe.each(dialects)('GET /v1/reports/idle-allocations on %s', (dialect) => {
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

  const get = (key: string | undefined, query = '') =>
    app.inject({ method: 'GET', url: `/v1/reports/idle-allocations${query}`, headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('lists idle jobs with their idle GPU-hours to operators and to their own tenant', async () => {
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2)));
    const agent = new ScriptedAgent(h, nodeId);
    const { job } = await h.control.jobs.submit(h.demo, { command: ['x'], gpus: 1 });
    await h.control.scheduling.run();
    await agent.beat();
    const t0 = h.clock.now();
    const device = (await h.ts.store.db.selectFrom('allocations').select('device_index').where('job_id', '=', job.id).executeTakeFirstOrThrow()).device_index;
    const samples = Array.from({ length: 6 * 45 }, (_, k) => ({ deviceIndex: device, at: t0 + k * 10_000, utilizationPct: 0, memoryUsedMib: 0, powerMilliwatts: 70_000, energyMillijoules: null, temperatureC: 30, smClockMhz: 210, pstate: 'P8' }));
    h.clock.set(t0 + 45 * MIN);
    await h.control.telemetry.ingest(h.agent, { nodeId, samples });
    await agent.beat();
    await h.control.metering.pass();
    expect((await h.control.idle.check()).flagged).toBe(1);

    const res = await get(h.seed.operatorKey!);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ thresholdPct: 5, idleForMs: 30 * MIN, reclaimSpot: false, totalIdleGpuHours: 0.5 });
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ jobId: job.id, tenantId: h.seed.tenantId, model: 'H100', gpuMilli: 1000, idleGpuHours: 0.5, idleMs: 30 * MIN, leavingSince: null });
    expect(body.items[0].devices).toEqual([{ deviceId: expect.any(String), index: device, gpuMilli: 1000 }]);
    expect(body.items[0].idleCost[0].amountMicros).toBeGreaterThan(0);

    // The demo tenant sees its own job; asking for another tenant is refused.
    expect((await get(h.seed.demoKey!)).json().items.map((i: { jobId: string }) => i.jobId)).toEqual([job.id]);
    expect((await get(h.seed.demoKey!, '?tenantId=ten_someone_else')).statusCode).toBe(403);
    expect((await get(undefined)).statusCode).toBe(401);
    // In the OpenAPI document.
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/v1/reports/idle-allocations']).toBeDefined();
  });
});
