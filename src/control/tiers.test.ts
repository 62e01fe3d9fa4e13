import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

describe.each(dialects)('tiers share capacity as sold on %s', (dialect) => {
  let h: Harness;
  let agent: ScriptedAgent;
  beforeEach(async () => {
    h = await createHarness(dialect);
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(4)));
    agent = new ScriptedAgent(h, nodeId);
  });
  afterEach(async () => {
    await h.dispose();
  });

  const state = async (id: string) => (await h.control.jobs.get(h.operator, id));

  it('unused reserved capacity is held for its owner: on-demand never borrows it, spot only up to the lending limit', async () => {
    const owner = await addTenant(h, 'owner');
    const other = await addTenant(h, 'other');
    await h.control.market.buyReservation(owner.p, { model: 'H100', gpus: 3, hours: 24, lendingLimitMilli: 1000 });
    const od1 = (await h.control.jobs.submit(other.p, { command: ['x'], gpus: 1 })).job;
    const od2 = (await h.control.jobs.submit(other.p, { command: ['x'], gpus: 1 })).job;
    await h.control.scheduling.run();
    expect((await state(od1.id)).state).toBe('scheduled');
    expect((await state(od2.id)).stateReason).toMatch(/reserved by other tenants/);
    const floor = (await h.control.market.listPrices()).models[0]!.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;
    const spot = () => h.control.jobs.submit(other.p, { command: ['s'], gpus: 1, tier: 'spot', maxPricePerHour: { amountMicros: floor * 2, currency: 'CNY' } });
    const s1 = (await spot()).job;
    const s2 = (await spot()).job;
    await h.control.scheduling.run();
    // One GPU of the three reserved is lent; the other two wait for the owner.
    expect((await state(s1.id)).state).toBe('scheduled');
    expect((await state(s2.id)).state).toBe('queued');
    // The owner's reserved job gets its quota at once from the two held GPUs, without preempting.
    const r = (await h.control.jobs.submit(owner.p, { command: ['r'], gpus: 2, tier: 'reserved' })).job;
    const cycle = await h.control.scheduling.run();
    expect(cycle.preempted).toBe(0);
    expect((await state(r.id)).state).toBe('scheduled');
    // Its third GPU is lent to s1: asking for it preempts s1.
    const r2 = (await h.control.jobs.submit(owner.p, { command: ['r'], gpus: 1, tier: 'reserved' })).job;
    expect((await h.control.scheduling.run()).preempted).toBe(1);
    expect((await state(s1.id)).preemptRequestedAt).not.toBeNull();
    expect((await state(r2.id)).stateReason).toMatch(/waiting for 1 spot job/);
    // Beyond the quota, a reserved job waits and says why.
    const r3 = (await h.control.jobs.submit(owner.p, { command: ['r'], gpus: 1, tier: 'reserved' })).job;
    await h.control.scheduling.run();
    expect((await state(r3.id)).stateReason).toMatch(/reservation quota full/);
  });

  it('on-demand work that needs spot capacity and must leave a reservation its quota frees enough at once, without a preemption loop', async () => {
    const owner = await addTenant(h, 'owner');
    const other = await addTenant(h, 'other');
    // node-a (4 GPUs) is full of on-demand work before the two 8-GPU nodes arrive.
    await h.control.jobs.submit(other.p, { command: ['fill'], gpus: 4 });
    await h.control.scheduling.run();
    const b = new ScriptedAgent(h, (await h.control.agents.register(h.agent, registration('node-b', simulatedDevices(8)))).nodeId);
    const c = new ScriptedAgent(h, (await h.control.agents.register(h.agent, registration('node-c', simulatedDevices(8)))).nodeId);
    const agents = [agent, b, c];
    const beatAll = async () => {
      for (const a of agents) await a.beat();
    };
    await h.control.market.buyReservation(owner.p, { model: 'H100', gpus: 1, hours: 24 });
    const floor = (await h.control.market.listPrices()).models[0]!.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;
    for (let i = 0; i < 2; i++) await h.control.jobs.submit(other.p, { command: ['s'], gpus: 8, tier: 'spot', maxPricePerHour: { amountMicros: floor * 8, currency: 'CNY' } });
    await h.control.scheduling.run();
    await beatAll();
    const od = (await h.control.jobs.submit(other.p, { command: ['od'], gpus: 8 })).job;
    for (let round = 0; round < 8; round++) {
      await h.control.scheduling.run();
      await beatAll();
      h.clock.advance(5_000);
      for (const a of agents) for (const stop of a.stops.splice(0)) if (a.running.has(stop.jobId)) await a.exit(stop.jobId, { cause: 'stopped' });
    }
    expect((await state(od.id)).state).toBe('running');
    const notices = await h.ts.store.db.selectFrom('events').select('subject_id').where('type', '=', 'job.preempt-notice').execute();
    // Both spot jobs had to go (one node for the job, one GPU left free for the reservation), once each.
    expect(notices).toHaveLength(2);
    expect(new Set(notices.map((n) => n.subject_id)).size).toBe(2);
  });

  it('contended on-demand capacity goes first to the tenant with the smaller weighted dominant share', async () => {
    const heavy = await addTenant(h, 'heavy');
    const light = await addTenant(h, 'light');
    // heavy has used the whole node for an hour.
    const hogs = [];
    for (let i = 0; i < 4; i++) hogs.push((await h.control.jobs.submit(heavy.p, { command: ['h'], gpus: 1 })).job);
    await h.control.scheduling.run();
    await agent.beat();
    h.clock.advance(3_600_000);
    await agent.beat();
    await h.control.metering.pass();
    // Both queue work; heavy first. Two GPUs free up.
    const heavyNext = [(await h.control.jobs.submit(heavy.p, { command: ['h'], gpus: 1 })).job, (await h.control.jobs.submit(heavy.p, { command: ['h'], gpus: 1 })).job];
    const lightNext = [(await h.control.jobs.submit(light.p, { command: ['l'], gpus: 1 })).job, (await h.control.jobs.submit(light.p, { command: ['l'], gpus: 1 })).job];
    await h.control.scheduling.run();
    await agent.exit(hogs[0]!.id);
    await agent.exit(hogs[1]!.id);
    await h.control.scheduling.run();
    // Interleaved by share: light (no usage) gets the first GPU, heavy the second.
    expect((await state(lightNext[0]!.id)).state).toBe('scheduled');
    expect((await state(heavyNext[0]!.id)).state).toBe('scheduled');
    expect((await state(lightNext[1]!.id)).state).toBe('queued');
    expect((await state(heavyNext[1]!.id)).state).toBe('queued');
    // After another hour light has used a GPU-hour too; a weight of 100 now puts heavy first.
    await agent.beat();
    h.clock.advance(3_600_000);
    await agent.beat();
    await h.control.metering.pass();
    await h.control.billing.updateTenantBilling(h.operator, heavy.id, { fairShareWeightMilli: 100_000 });
    await agent.exit(hogs[2]!.id);
    await h.control.scheduling.run();
    expect((await state(heavyNext[1]!.id)).state).toBe('scheduled');
    expect((await state(lightNext[1]!.id)).state).toBe('queued');
  });

  it('quotes other models, tiers and start times when they are cheaper or sooner', async () => {
    await h.control.agents.register(h.agent, registration('node-b', simulatedDevices(2, 'A100-80GB', 81_920)));
    const t = await addTenant(h, 'shopper');
    const q = await h.control.market.quote(t.p, { gpus: 1, model: 'H100', hours: 2 });
    expect(q.estimatedStartAt).toBe(h.clock.now());
    expect(q.estimatedTotal.amountMicros).toBe(2 * q.pricePerHour.amountMicros);
    const alt = (model: string, tier: string) => q.alternatives.find((a) => a.model === model && a.tier === tier);
    expect(alt('A100-80GB', 'on-demand')?.why).toContain('cheaper');
    expect(alt('H100', 'spot')?.why).toContain('cheaper');
    // Fill the H100s with on-demand work: the H100 quote now starts when that work may end, the A100 is sooner.
    for (let i = 0; i < 4; i++) await h.control.jobs.submit(t.p, { command: ['x'], gpus: 1, models: ['H100'], maxDurationMs: 3_600_000 });
    await h.control.scheduling.run();
    const busy = await h.control.market.quote(t.p, { gpus: 1, model: 'H100', hours: 2 });
    expect(busy.estimatedStartAt).toBe(h.clock.now() + 3_600_000);
    expect(busy.notes.join(' ')).toMatch(/max durations/);
    expect(busy.alternatives.find((a) => a.model === 'A100-80GB' && a.tier === 'on-demand')?.why).toEqual(expect.arrayContaining(['sooner']));
  });
});
