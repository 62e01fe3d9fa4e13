import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

/**
 * The scenario on one node of 4 H100: a reserved tenant, an on-demand tenant and two spot
 * bidders. The reservation lends its unused quota to spot work; a higher bid outbids a running spot
 * job (notice, requeue); the reserved tenant's job takes its quota back from spot work within the
 * grace period; invoices match the leases to the micro-unit and the ledger balances.
 */
describe.each(dialects)('selling tiers on %s', (dialect) => {
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

  it('reserved, on-demand and two spot bidders share a node as sold', async () => {
    const reserved = await addTenant(h, 'res');
    const onDemand = await addTenant(h, 'ond');
    const spotA = await addTenant(h, 'spota');
    const spotB = await addTenant(h, 'spotb');
    const grace = (await h.control.market.center()).spot_grace_ms;
    expect(grace).toBe(30_000);

    const r = await h.control.market.buyReservation(reserved.p, { model: 'H100', gpus: 2, hours: 24 });
    expect(r.reservation.lendingLimitMilli).toBe(2000);
    const prices = await h.control.market.listPrices();
    const h100 = prices.models.find((m) => m.model === 'H100')!;
    const spotFloor = h100.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;

    // On-demand takes the two unreserved GPUs.
    const od = (await h.control.jobs.submit(onDemand.p, { command: ['train'], gpus: 2, tier: 'on-demand' })).job;
    await h.control.scheduling.run();
    // Spot A borrows the reservation's unused (lent) quota at the floor.
    const bidA = Math.ceil(spotFloor * 1.1);
    const a = (await h.control.jobs.submit(spotA.p, { command: ['sweep'], gpus: 2, tier: 'spot', maxPricePerHour: { amountMicros: bidA * 2, currency: 'CNY' } })).job;
    await h.control.scheduling.run();
    expect((await h.control.jobs.get(spotA.p, a.id)).state).toBe('scheduled');
    expect((await h.control.jobs.get(spotA.p, a.id)).pricePerHour!.amountMicros).toBe(spotFloor * 2);
    expect((await agent.beat()).started.sort()).toEqual([od.id, a.id].sort());
    h.clock.advance(600_000);
    await agent.beat();
    await h.control.metering.pass();

    // Spot B outbids A: A gets a notice it can read, then SIGTERM; it is requeued, B runs at the clearing price.
    const bidB = spotFloor * 2;
    const b = (await h.control.jobs.submit(spotB.p, { command: ['render'], gpus: 2, tier: 'spot', maxPricePerHour: { amountMicros: bidB * 2, currency: 'CNY' } })).job;
    expect((await h.control.scheduling.run()).preempted).toBe(1);
    const aNotice = await h.control.jobs.get(spotA.p, a.id);
    expect(aNotice.preemptReason).toMatch(/outbid/);
    const { stops } = await agent.beat();
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ jobId: a.id, graceMs: grace, notice: { kind: 'preemption', requeue: true } });
    h.clock.advance(4_000);
    expect(await agent.exit(a.id, { cause: 'stopped' })).toBe('queued');
    const aRequeued = await h.control.jobs.get(spotA.p, a.id);
    expect(aRequeued).toMatchObject({ state: 'queued', preemptions: 1 });
    await h.control.scheduling.run();
    const bPlaced = await h.control.jobs.get(spotB.p, b.id);
    expect(bPlaced.state).toBe('scheduled');
    // Uniform price: the highest losing bid (A's) sets it.
    expect(bPlaced.pricePerHour!.amountMicros).toBe(bidA * 2);
    expect((await h.control.jobs.get(spotA.p, a.id)).stateReason).toMatch(/pending/);
    await agent.beat();
    h.clock.advance(600_000);
    await agent.beat();
    await h.control.metering.pass();

    // The reserved tenant wants its quota: B is told to leave and the reserved job starts within the grace period.
    const submittedAt = h.clock.now();
    const rj = (await h.control.jobs.submit(reserved.p, { command: ['serve'], gpus: 2, tier: 'reserved' })).job;
    expect((await h.control.scheduling.run()).preempted).toBe(1);
    expect((await h.control.jobs.get(reserved.p, rj.id)).stateReason).toMatch(/waiting for 1 spot job/);
    const bStop = (await agent.beat()).stops.find((s) => s.jobId === b.id)!;
    expect(bStop.notice).toMatchObject({ kind: 'preemption', requeue: true });
    expect(bStop.notice!.reason).toMatch(/reserved work/);
    h.clock.advance(7_000);
    await agent.exit(b.id, { cause: 'stopped' });
    await h.control.scheduling.run();
    await agent.beat();
    const rRunning = await h.control.jobs.get(reserved.p, rj.id);
    expect(rRunning.state).toBe('running');
    expect(rRunning.startedAt! - submittedAt).toBeLessThanOrEqual(grace);
    expect(rRunning.reservationId).toBe(r.reservation.id);
    // On-demand was never touched.
    expect((await h.control.jobs.get(onDemand.p, od.id)).preemptions).toBe(0);

    h.clock.advance(1_800_000);
    await agent.beat();
    await h.control.metering.pass();
    for (const id of [od.id, rj.id]) await agent.exit(id, { exitCode: 0 });

    // Money: every lease charged for exactly its span, invoices equal to the leases, ledger balanced.
    const db = h.ts.store.db;
    const leases = await db.selectFrom('leases').selectAll().execute();
    expect(leases.length).toBeGreaterThanOrEqual(4);
    for (const l of leases) {
      expect(l.end_at).not.toBeNull();
      expect(l.charged_until).toBe(l.end_at);
    }
    const period = new Date(h.clock.now()).toISOString().slice(0, 7);
    for (const t of [reserved, onDemand, spotA, spotB]) {
      const invoice = await h.control.billing.invoice(t.p, t.id, period);
      const mine = leases.filter((l) => l.tenant_id === t.id);
      expect(invoice.lines.map((l) => l.leaseId).sort()).toEqual(mine.map((l) => l.id).sort());
      for (const line of invoice.lines) {
        const lease = mine.find((l) => l.id === line.leaseId)!;
        expect(line.amount.amountMicros).toBe(lease.charged_micros);
        expect(line.seconds * 1000).toBe(lease.end_at! - lease.start_at);
      }
      expect(invoice.usageSubtotal.amountMicros).toBe(mine.reduce((s, l) => s + l.charged_micros, 0));
    }
    const reservedInvoice = await h.control.billing.invoice(reserved.p, reserved.id, period);
    expect(reservedInvoice.reservations).toHaveLength(1);
    expect(reservedInvoice.usageSubtotal.amountMicros).toBe(0);
    expect(reservedInvoice.total.amountMicros).toBe(r.reservation.total.amountMicros);
    const tb = await h.control.billing.trialBalance(h.operator);
    expect(tb.balanced).toBe(true);
    const spotRevenue = tb.accounts.find((x) => x.account === 'revenue:spot')!.balanceMicros;
    const spotCharged = leases.filter((l) => l.tier === 'spot').reduce((s, l) => s + l.charged_micros, 0);
    expect(-spotRevenue).toBe(spotCharged);
    expect(tb.accounts.find((x) => x.account === 'revenue:reserved')!.balanceMicros).toBeLessThan(0);
  });
});
