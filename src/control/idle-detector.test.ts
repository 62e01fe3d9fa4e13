import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';
import { IdleDetector } from './idle-detector.js';
import type { Principal } from './principal.js';
import type { TelemetryReading } from './telemetry-service.js';

const dialects = await testDialects();
const MIN = 60_000;
const STEP = 10_000;

describe.each(dialects)('allocated-but-idle detection on %s', (dialect) => {
  let h: Harness;
  let tenant: { id: string; p: Principal };

  beforeEach(async () => {
    h = await createHarness(dialect);
    tenant = await addTenant(h, 'acme');
  });
  afterEach(async () => {
    await h.dispose();
  });

  async function node(name: string, gpus: number): Promise<ScriptedAgent> {
    const { nodeId } = await h.control.agents.register(h.agent, registration(name, simulatedDevices(gpus)));
    return new ScriptedAgent(h, nodeId);
  }

  /** Submits, places and starts jobs; returns their ids in order. */
  async function run(agent: ScriptedAgent, p: Principal, shapes: Array<{ gpus?: number; gpuMilli?: number; tier?: string }>): Promise<string[]> {
    const ids: string[] = [];
    for (const s of shapes) ids.push((await h.control.jobs.submit(p, { command: ['train'], ...s })).job.id);
    await h.control.scheduling.run();
    const { started } = await agent.beat();
    expect(started.sort()).toEqual([...ids].sort());
    return ids;
  }

  async function devicesOf(jobId: string): Promise<number[]> {
    return (await h.ts.store.db.selectFrom('allocations').select('device_index').where('job_id', '=', jobId).where('released_at', 'is', null).execute()).map((a) => a.device_index);
  }

  /** Samples every 10 s in [from, to) for the given devices; the agent beats every minute along the way. */
  async function feed(agent: ScriptedAgent, devices: number[], from: number, to: number, util: (index: number, at: number) => number | null): Promise<void> {
    const samples: TelemetryReading[] = [];
    for (let at = from; at < to; at += STEP) {
      for (const deviceIndex of devices) {
        samples.push({ deviceIndex, at, utilizationPct: util(deviceIndex, at), memoryUsedMib: 1024, powerMilliwatts: 80_000, energyMillijoules: null, temperatureC: 35, smClockMhz: 1980, pstate: 'P0' });
      }
    }
    if (h.clock.now() < to) h.clock.set(to);
    for (let i = 0; i < samples.length; i += 5000) await h.control.telemetry.ingest(h.agent, { nodeId: agent.nodeId, samples: samples.slice(i, i + 5000) });
    await agent.beat();
  }

  const events = async (jobId: string, type: string) =>
    (await h.ts.store.db.selectFrom('events').selectAll().where('subject_id', '=', jobId).where('type', '=', type).orderBy('id').execute());

  it('flags a job that held its GPU at 0% for 30 min once, telling its tenant how to stop paying; the operator sees the waste', async () => {
    const agent = await node('node-a', 4);
    const [job] = await run(agent, tenant.p, [{ gpus: 2 }]);
    const devices = await devicesOf(job!);
    const t0 = h.clock.now();

    // 20 minutes in: it has not held its GPUs long enough to be judged.
    await feed(agent, devices, t0, t0 + 20 * MIN, () => 0);
    expect(await h.control.idle.check()).toEqual({ flagged: 0, cleared: 0, reclaimed: 0 });

    await feed(agent, devices, t0 + 20 * MIN, t0 + 31 * MIN, () => 0);
    expect(await h.control.idle.check()).toEqual({ flagged: 1, cleared: 0, reclaimed: 0 });
    const [idle, ...more] = await events(job!, 'job.idle');
    expect(more).toHaveLength(0);
    expect(idle!.tenant_id).toBe(tenant.id);
    expect(idle!.message).toBe(
      `job ${job} has held 2 GPUs of H100 at ≤5% utilization for 30 min; it keeps being charged for them; cancel it (unidle cancel ${job}) if it is stuck, or let it finish if it is waiting on purpose`,
    );
    const row = await h.ts.store.db.selectFrom('jobs').select(['idle_since', 'idle_flagged_at', 'preempt_requested_at']).where('id', '=', job!).executeTakeFirstOrThrow();
    expect(row).toEqual({ idle_since: t0 + MIN, idle_flagged_at: t0 + 31 * MIN, preempt_requested_at: null });
    // The tenant reads it in its own event stream.
    expect((await h.control.events.list(tenant.p, { type: 'job.idle' })).items.map((e) => e.subjectId)).toEqual([job]);

    // Still idle a minute later, and an hour later: one episode, one flag.
    await feed(agent, devices, t0 + 31 * MIN, t0 + 32 * MIN, () => 1);
    expect((await h.control.idle.check()).flagged).toBe(0);
    await feed(agent, devices, t0 + 32 * MIN, t0 + 61 * MIN, () => 0);
    await h.control.metering.pass();
    expect((await h.control.idle.check()).flagged).toBe(0);
    expect(await events(job!, 'job.idle')).toHaveLength(1);

    // The operator's view: 2 GPUs idle for an hour = 2 GPU-hours, and what they cost.
    const report = await h.control.idle.list(h.operator);
    expect(report).toMatchObject({ thresholdPct: 5, idleForMs: 30 * MIN, reclaimSpot: false, totalIdleGpuHours: 2 });
    expect(report.items).toHaveLength(1);
    const item = report.items[0]!;
    expect(item).toMatchObject({ jobId: job, tenantId: tenant.id, tenantName: 'acme', tier: 'on-demand', model: 'H100', gpuMilli: 2000, idleSince: t0 + MIN, flaggedAt: t0 + 31 * MIN, idleMs: 60 * MIN, idleGpuHours: 2, leavingSince: null });
    expect(item.devices.map((d) => d.index).sort()).toEqual([...devices].sort());
    const lease = await h.ts.store.db.selectFrom('leases').selectAll().where('job_id', '=', job!).executeTakeFirstOrThrow();
    expect(lease.charged_until).toBe(t0 + 61 * MIN);
    // price per GPU-hour × 2 GPUs × the hour since idle_since (the lease is metered to now).
    const expected = (lease.price_micros * 2 * (lease.charged_until - (t0 + MIN))) / 3_600_000;
    expect(item.idleCost).toHaveLength(1);
    expect(item.idleCost[0]!.currency).toBe('CNY');
    expect(Math.abs(item.idleCost[0]!.amountMicros - expected)).toBeLessThanOrEqual(2);
    expect(item.idleCost[0]!.amountMicros).toBeGreaterThan(0);

    // The gauge on /metrics.
    const gauge = (await h.control.metrics.collect(h.operator)).find((f) => f.name === 'unidle_jobs_allocated_idle');
    expect(gauge?.samples).toEqual([{ labels: {}, value: 1 }]);
  });

  it('does not flag a job at 60% utilization', async () => {
    const agent = await node('node-a', 4);
    const [job] = await run(agent, tenant.p, [{ gpus: 1 }]);
    const t0 = h.clock.now();
    await feed(agent, await devicesOf(job!), t0, t0 + 40 * MIN, () => 60);
    expect(await h.control.idle.check()).toEqual({ flagged: 0, cleared: 0, reclaimed: 0 });
    expect(await events(job!, 'job.idle')).toHaveLength(0);
    expect((await h.control.idle.list(h.operator)).items).toHaveLength(0);
  });

  it('does not flag a multi-GPU job while any of its devices works', async () => {
    const agent = await node('node-a', 4);
    const [job] = await run(agent, tenant.p, [{ gpus: 2 }]);
    const [busy, idle] = await devicesOf(job!);
    const t0 = h.clock.now();
    await feed(agent, [busy!, idle!], t0, t0 + 40 * MIN, (i) => (i === busy ? 90 : 0));
    expect((await h.control.idle.check()).flagged).toBe(0);
  });

  it('judges a shared device by its own utilization: a job sharing it with a busy job is not flagged; both are when it idles', async () => {
    const agent = await node('node-a', 1);
    const other = await addTenant(h, 'busy-co');
    const [quiet] = await run(agent, tenant.p, [{ gpuMilli: 500 }]);
    const [busy] = await run(agent, other.p, [{ gpuMilli: 500 }]);
    expect(await devicesOf(quiet!)).toEqual([0]);
    expect(await devicesOf(busy!)).toEqual([0]);
    const t0 = h.clock.now();
    // The device works (for the other job): nvidia-smi cannot say for whom, so neither is flagged.
    await feed(agent, [0], t0, t0 + 40 * MIN, () => 70);
    expect((await h.control.idle.check()).flagged).toBe(0);
    // When the whole device idles for 30 min, both are.
    await feed(agent, [0], t0 + 40 * MIN, t0 + 71 * MIN, () => 0);
    expect((await h.control.idle.check()).flagged).toBe(2);
    const message = (await events(quiet!, 'job.idle'))[0]!.message;
    expect(message).toContain('has held 0.5 GPUs of H100');
  });

  it('does not flag on too few samples, samples that do not reach back to the start of the window, or telemetry that stopped', async () => {
    const agent = await node('node-a', 3);
    const [sparse, late, stopped] = await run(agent, tenant.p, [{ gpus: 1 }, { gpus: 1 }, { gpus: 1 }]);
    const [sparseDev] = await devicesOf(sparse!);
    const [lateDev] = await devicesOf(late!);
    const [stoppedDev] = await devicesOf(stopped!);
    const t0 = h.clock.now();
    const now = t0 + 40 * MIN;
    h.clock.set(now);
    // Two readings only in the window.
    const samples: TelemetryReading[] = [now - 25 * MIN, now - 5 * MIN].map((at) => ({ deviceIndex: sparseDev!, at, utilizationPct: 0, memoryUsedMib: 0, powerMilliwatts: 70_000, energyMillijoules: null, temperatureC: 30, smClockMhz: 210, pstate: 'P8' }));
    await h.control.telemetry.ingest(h.agent, { nodeId: agent.nodeId, samples });
    // Telemetry that began 10 minutes ago.
    await feed(agent, [lateDev!], now - 10 * MIN, now, () => 0);
    // Telemetry with utilization until 10 minutes ago, then readings without it (nvidia-smi [N/A]).
    await feed(agent, [stoppedDev!], now - 35 * MIN, now - 10 * MIN, () => 0);
    await feed(agent, [stoppedDev!], now - 10 * MIN, now, () => null);
    expect(h.clock.now()).toBe(now);
    expect(await h.control.idle.check()).toEqual({ flagged: 0, cleared: 0, reclaimed: 0 });
    // With the whole window covered, the same devices are flagged.
    await feed(agent, [sparseDev!, lateDev!, stoppedDev!], now - 30 * MIN, now + MIN, () => 0);
    expect((await h.control.idle.check()).flagged).toBe(3);
  });

  it('clears the flag when the job works again, and a new idle spell is a new episode', async () => {
    const agent = await node('node-a', 4);
    const [job] = await run(agent, tenant.p, [{ gpus: 1 }]);
    const devices = await devicesOf(job!);
    const t0 = h.clock.now();
    await feed(agent, devices, t0, t0 + 31 * MIN, () => 0);
    expect((await h.control.idle.check()).flagged).toBe(1);

    await feed(agent, devices, t0 + 31 * MIN, t0 + 33 * MIN, () => 85);
    expect(await h.control.idle.check()).toEqual({ flagged: 0, cleared: 1, reclaimed: 0 });
    const [again] = await events(job!, 'job.active-again');
    expect(again!.message).toContain('using its GPUs again (up to 85% utilization)');
    expect(again!.tenant_id).toBe(tenant.id);
    expect((await h.ts.store.db.selectFrom('jobs').select(['idle_since', 'idle_flagged_at']).where('id', '=', job!).executeTakeFirstOrThrow())).toEqual({ idle_since: null, idle_flagged_at: t0 + 31 * MIN });
    expect((await h.control.idle.list(h.operator)).items).toHaveLength(0);
    expect((await h.control.idle.check()).cleared).toBe(0);

    // Idle again for 30 minutes: flagged again, once.
    await feed(agent, devices, t0 + 33 * MIN, t0 + 64 * MIN, () => 0);
    expect((await h.control.idle.check()).flagged).toBe(1);
    expect((await h.control.idle.check()).flagged).toBe(0);
    expect(await events(job!, 'job.idle')).toHaveLength(2);
  });

  it('with reclaimSpot, tells an idle spot job to leave and leaves on-demand work alone', async () => {
    const agent = await node('node-a', 4);
    const [spot, onDemand] = await run(agent, tenant.p, [{ gpus: 1, tier: 'spot' }, { gpus: 1, tier: 'on-demand' }]);
    const devices = [...(await devicesOf(spot!)), ...(await devicesOf(onDemand!))];
    const t0 = h.clock.now();
    await feed(agent, devices, t0, t0 + 31 * MIN, () => 0);
    const reclaiming = new IdleDetector(h.ts.store.db, h.clock, { reclaimSpot: true });
    expect(await reclaiming.check()).toEqual({ flagged: 2, cleared: 0, reclaimed: 1 });

    const spotRow = await h.control.jobs.get(tenant.p, spot!);
    expect(spotRow.preemptReason).toMatch(/^idle: held 1 GPU of H100 at ≤5% utilization for 30 min/);
    expect((await events(spot!, 'job.idle'))[0]!.message).toContain('this center reclaims idle spot work, so it has been told to leave (it will be requeued)');
    expect(await events(spot!, 'job.preempt-notice')).toHaveLength(1);
    const odRow = await h.control.jobs.get(tenant.p, onDemand!);
    expect(odRow.preemptReason ?? null).toBeNull();
    expect(await events(onDemand!, 'job.preempt-notice')).toHaveLength(0);

    const grace = (await h.control.market.center()).spot_grace_ms;
    const { stops } = await agent.beat();
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ jobId: spot, graceMs: grace, notice: { kind: 'preemption', requeue: true } });
    // Asked once: the next check does not ask again.
    expect((await reclaiming.check()).reclaimed).toBe(0);
    // The operator sees it leaving.
    expect((await h.control.idle.list(h.operator)).items.find((i) => i.jobId === spot)?.leavingSince).toBe(t0 + 31 * MIN);

    // Requeued and started again: the old flag belongs to the old run.
    h.clock.advance(5_000);
    expect(await agent.exit(spot!, { cause: 'stopped' })).toBe('queued');
    await h.control.scheduling.run();
    await agent.beat();
    expect((await h.control.jobs.get(tenant.p, spot!)).state).toBe('running');
    expect((await h.control.idle.list(h.operator)).items.map((i) => i.jobId)).toEqual([onDemand]);
  });

  it('shows tenants their own idle jobs only; agents see none', async () => {
    const agent = await node('node-a', 4);
    const other = await addTenant(h, 'other');
    const [mine] = await run(agent, tenant.p, [{ gpus: 1 }]);
    const [theirs] = await run(agent, other.p, [{ gpus: 1 }]);
    const t0 = h.clock.now();
    await feed(agent, [...(await devicesOf(mine!)), ...(await devicesOf(theirs!))], t0, t0 + 31 * MIN, () => 0);
    expect((await h.control.idle.check()).flagged).toBe(2);

    expect((await h.control.idle.list(h.operator)).items.map((i) => i.jobId).sort()).toEqual([mine, theirs].sort());
    expect((await h.control.idle.list(h.operator, { tenantId: other.id })).items.map((i) => i.jobId)).toEqual([theirs]);
    expect((await h.control.idle.list(tenant.p)).items.map((i) => i.jobId)).toEqual([mine]);
    expect((await h.control.idle.list(other.p)).items.map((i) => i.jobId)).toEqual([theirs]);
    await expect(h.control.idle.list(tenant.p, { tenantId: other.id })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(h.control.idle.list(h.agent)).rejects.toMatchObject({ code: 'forbidden' });
    // Events too: each tenant hears about its own job.
    expect((await h.control.events.list(other.p, { type: 'job.idle' })).items.map((e) => e.subjectId)).toEqual([theirs]);
  });
});
