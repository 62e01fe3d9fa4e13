import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();
const yuan = (n: number) => ({ amountMicros: n * 1_000_000, currency: 'CNY' });

describe.each(dialects)('budgets and prepaid balances on %s', (dialect) => {
  let h: Harness;
  let agent: ScriptedAgent;
  beforeEach(async () => {
    h = await createHarness(dialect);
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(4)));
    agent = new ScriptedAgent(h, nodeId);
    await h.control.market.updateSettings(h.operator, { balanceWarningMs: 3_600_000, onDemandStopAfterMs: 600_000 });
  });
  afterEach(async () => {
    await h.dispose();
  });

  const events = async (tenantId: string, type: string) =>
    (await h.ts.store.db.selectFrom('events').select(['type', 'message']).where('tenant_id', '=', tenantId).where('type', '=', type).execute()).map((e) => e.message);

  it('a monthly hard limit refuses work whose worst case does not fit, saying what to do', async () => {
    const t = await addTenant(h, 'capped', { budgetMicros: 50_000_000 });
    // One H100 for 24 h (the default max duration) costs far more than ¥50.
    await expect(h.control.jobs.submit(t.p, { command: ['x'], gpus: 1 })).rejects.toMatchObject({ code: 'budget_exceeded', status: 402, message: expect.stringMatching(/raise the budget|shorter maxDurationMs/) });
    // One hour of half a GPU fits.
    const ok = await h.control.jobs.submit(t.p, { command: ['x'], gpuMilli: 500, maxDurationMs: 3_600_000 });
    expect(ok.created).toBe(true);
    expect(await h.ts.store.db.selectFrom('jobs').select('id').where('tenant_id', '=', t.id).execute()).toHaveLength(1);
    // It runs half an hour; then an admin lowers the budget below what is already spent.
    await h.control.scheduling.run();
    await agent.beat();
    for (let i = 0; i < 3; i++) {
      h.clock.advance(600_000);
      await agent.beat();
      await h.control.metering.pass();
    }
    const spent = (await h.control.billing.tenantBilling(t.p, t.id)).spentThisMonth.amountMicros;
    expect(spent).toBeGreaterThan(1_000_000);
    await h.control.billing.updateTenantBilling(t.p, t.id, { budgetLimit: yuan(1) });
    await expect(h.control.billing.updateTenantBilling(t.p, t.id, { budgetLimit: yuan(100) })).rejects.toMatchObject({ code: 'validation_failed' });
    await h.control.metering.pass();
    expect(await events(t.id, 'billing.exhausted')).toHaveLength(1);
    await expect(h.control.jobs.submit(t.p, { command: ['x'], gpuMilli: 100, maxDurationMs: 60_000 })).rejects.toMatchObject({ code: 'budget_exceeded' });
  });

  it('a prepaid balance warns, then stops spot work at zero and on-demand work after the grace', async () => {
    const t = await addTenant(h, 'prepaid', { paymentMode: 'prepaid', topUpMicros: 20_000_000 });
    const floor = (await h.control.market.listPrices()).models.find((m) => m.model === 'H100')!.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;
    const spot = (await h.control.jobs.submit(t.p, { command: ['s'], gpus: 1, tier: 'spot', maxPricePerHour: { amountMicros: floor, currency: 'CNY' }, maxDurationMs: 3_600_000 })).job;
    const od = (await h.control.jobs.submit(t.p, { command: ['o'], gpus: 1, maxDurationMs: 3_600_000 })).job;
    await h.control.scheduling.run();
    await agent.beat();
    expect(agent.running.size).toBe(2);
    // ¥20 at about ¥35/h lasts ~35 min: under the 1 h warning horizon at once.
    h.clock.advance(60_000);
    await agent.beat();
    await h.control.metering.pass();
    expect(await events(t.id, 'billing.balance-low')).toHaveLength(1);
    expect((await events(t.id, 'billing.balance-low'))[0]).toMatch(/top up/);
    // Run until the money is gone.
    for (let i = 0; i < 10 && (await h.control.billing.tenantBilling(h.operator, t.id)).balance.amountMicros > 0; i++) {
      h.clock.advance(600_000);
      await agent.beat();
      await h.control.metering.pass();
    }
    expect(await events(t.id, 'billing.exhausted')).toHaveLength(1);
    expect(await events(t.id, 'billing.balance-low')).toHaveLength(1);
    const stops = (await agent.beat()).stops;
    expect(stops.map((s) => s.jobId)).toEqual([spot.id]);
    expect(stops[0]!.notice).toMatchObject({ kind: 'budget' });
    h.clock.advance(5_000);
    expect(await agent.exit(spot.id, { cause: 'stopped' })).toBe('queued');
    // On-demand keeps running through the grace, then it is told to stop too.
    await h.control.metering.pass();
    expect((await agent.beat()).stops).toHaveLength(0);
    h.clock.advance(600_000);
    await agent.beat();
    await h.control.metering.pass();
    const later = (await agent.beat()).stops;
    expect(later.map((s) => s.jobId)).toEqual([od.id]);
    await agent.exit(od.id, { cause: 'stopped' });
    // Nothing of theirs is placed until money comes in; then it is.
    await h.control.scheduling.run();
    expect((await h.control.jobs.get(t.p, spot.id)).stateReason).toMatch(/prepaid balance or monthly budget/);
    await h.control.billing.topUp(h.operator, t.id, { amount: yuan(500) });
    await h.control.metering.pass();
    expect(await events(t.id, 'billing.resumed')).toHaveLength(1);
    await h.control.scheduling.run();
    expect((await h.control.jobs.get(t.p, od.id)).state).toBe('scheduled');
    expect((await h.control.billing.trialBalance(h.operator)).balanced).toBe(true);
    // The balance went below zero only by what ran between passes, and it is owed, not lost.
    const ledger = await h.control.billing.tenantBilling(h.operator, t.id);
    expect(ledger.balance.amountMicros).toBeLessThan(500_000_000);
  });
});
