import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bestFitPolicy } from '../scheduler/policies/best-fit.js';
import { chargeMicros } from '../market/money.js';
import type { StoreHandle } from '../store/database.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';
import { InventoryService } from './inventory-service.js';
import { MarketService } from './market-service.js';
import { SchedulingCycle } from './scheduling-cycle.js';

const dialects = await testDialects();

/**
 * 50 clients race for the last GPU, through several processes' worth of connections: exactly the
 * capacity is sold (one job placed, one reservation sold), and only work that ran is charged.
 */
describe.each(dialects)('racing for the last GPU with money on %s', (dialect) => {
  let h: Harness;
  let agent: ScriptedAgent;
  const extra: StoreHandle[] = [];

  beforeEach(async () => {
    h = await createHarness(dialect);
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2)));
    agent = new ScriptedAgent(h, nodeId);
  });
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
    await h.dispose();
  });

  const processes = (n: number) =>
    Array.from({ length: n }, () => {
      const store = dialect === 'postgres' ? h.ts.reopen(5) : h.ts.store;
      if (store !== h.ts.store) extra.push(store);
      const inventory = new InventoryService(store.db, h.clock);
      const market = new MarketService(store.db, h.clock, inventory, store.dialect);
      return { market, cycle: new SchedulingCycle(store.db, h.clock, bestFitPolicy(), market) };
    });

  it('sells the last GPU once, as a job and as a reservation, and charges only what ran', async () => {
    const tenants = await Promise.all(Array.from({ length: 10 }, (_, i) => addTenant(h, `racer-${i}`)));
    // One GPU is busy with running on-demand work; exactly one is left.
    const first = (await h.control.jobs.submit(tenants[0]!.p, { command: ['busy'], gpus: 1 })).job;
    await h.control.scheduling.run();
    await agent.beat();

    const procs = processes(4);
    const submissions = Array.from({ length: 50 }, (_, i) => h.control.jobs.submit(tenants[i % 10]!.p, { command: ['race'], gpus: 1 }, `race-${i}`));
    const cycles: Promise<unknown>[] = [];
    for (let round = 0; round < 5; round++) for (const p of procs) cycles.push(p.cycle.run());
    await Promise.all([...submissions, ...cycles]);
    await Promise.all(procs.map((p) => p.cycle.run()));
    const db = h.ts.store.db;
    const scheduled = await db.selectFrom('jobs').select('id').where('state', '=', 'scheduled').execute();
    expect(scheduled).toHaveLength(1);
    const devices = await db.selectFrom('devices').select('allocated_milli').execute();
    expect(devices.every((d) => d.allocated_milli === 1000)).toBe(true);

    // The winner runs for 10 minutes; the 49 losers wait and are cancelled: none of them is charged.
    await agent.beat();
    h.clock.advance(600_000);
    await agent.beat();
    await h.control.metering.pass();
    const winner = scheduled[0]!.id;
    await agent.exit(winner);
    for (const j of await db.selectFrom('jobs').select('id').where('state', '=', 'queued').execute()) await h.control.jobs.cancel(h.operator, j.id);
    const leases = await db.selectFrom('leases').selectAll().execute();
    expect(leases.map((l) => l.job_id).sort()).toEqual([first.id, winner].sort());
    expect(leases.find((l) => l.job_id === winner)!.end_at).not.toBeNull();
    const won = leases.find((l) => l.job_id === winner)!;
    expect(won.charged_micros).toBe(chargeMicros(won.price_micros, 1000, 600_000));
    const charged = await db.selectFrom('usage').select('job_id').distinct().execute();
    expect(charged.map((u) => u.job_id).sort()).toEqual([first.id, winner].sort());

    // Now the reservable capacity: with the on-demand work done, one GPU's worth is left once 1 of 2
    // is reserved; 50 buyers race for it.
    await agent.exit(first.id);
    await h.control.market.buyReservation(tenants[0]!.p, { model: 'H100', gpus: 1, hours: 24 });
    const buyers = Array.from({ length: 50 }, (_, i) => procs[i % procs.length]!.market.buyReservation(tenants[i % 10]!.p, { model: 'H100', gpus: 1, hours: 24 }));
    const results = await Promise.allSettled(buyers);
    const sold = results.filter((r) => r.status === 'fulfilled');
    expect(sold).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('capacity_sold_out');
    const reservations = await db.selectFrom('reservations').selectAll().execute();
    expect(reservations.reduce((s, r) => s + r.gpu_milli, 0)).toBe(2000);
    const purchases = await db.selectFrom('ledger_transactions').select('id').where('kind', '=', 'reservation').execute();
    expect(purchases).toHaveLength(2);
    expect((await h.control.billing.trialBalance(h.operator)).balanced).toBe(true);
  });
});
