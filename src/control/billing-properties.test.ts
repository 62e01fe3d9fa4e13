import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { chargeMicros } from '../market/money.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

/**
 * Money invariants under random sequences of submit / schedule / run / meter / preempt (outbidding)
 * / cancel / finish / refund / top-up, seeded so a failure replays: every ledger transaction sums to
 * zero and the trial balance stays balanced after every step; every lease is charged exactly once
 * for exactly its span; and charged time equals the time the agent saw each job run.
 */
describe.each(dialects)('billing invariants on %s', (dialect) => {
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

  const seeds = dialect === 'sqlite' ? [1, 2, 3, 4, 5] : [6, 7];
  it.each(seeds)('seed %i', async (seed) => {
    const random = createRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[random.int(xs.length)]!;
    const tenants = [await addTenant(h, 'alpha'), await addTenant(h, 'beta', { paymentMode: 'prepaid', topUpMicros: 5_000_000_000 }), await addTenant(h, 'gamma')];
    const floor = (await h.control.market.listPrices()).models.find((m) => m.model === 'H100')!.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;
    /** What the agent saw: per job, the spans it ran. */
    const ran = new Map<string, number>();
    const db = h.ts.store.db;

    const checkBalanced = async (step: string) => {
      const tb = await h.control.billing.trialBalance(h.operator);
      expect(tb.balanced, `unbalanced after ${step}`).toBe(true);
      const tx = await db
        .selectFrom('ledger_postings')
        .select(['transaction_id', (eb) => eb.fn.sum<number>('amount_micros').as('s')])
        .groupBy('transaction_id')
        .execute();
      for (const t of tx) expect(Number(t.s), `transaction ${t.transaction_id} after ${step}`).toBe(0);
    };
    const beat = async () => {
      await agent.beat();
      // Stop orders are obeyed after a random part of their grace.
      for (const stop of agent.stops.splice(0)) {
        if (!agent.running.has(stop.jobId)) continue;
        h.clock.advance(random.int(Math.max(1, Math.min(stop.graceMs, 20_000))));
        await exit(stop.jobId, true);
      }
    };
    const exit = async (id: string, stopped: boolean) => {
      const from = agent.running.get(id)!;
      await agent.exit(id, stopped ? { cause: 'stopped' } : { exitCode: random.int(2) });
      ran.set(id, (ran.get(id) ?? 0) + (h.clock.now() - from));
    };

    for (let step = 0; step < 150; step++) {
      const op = random.int(9);
      const t = pick(tenants);
      if (op <= 1) {
        const spot = random.int(2) === 0;
        const shape: { gpus?: number; gpuMilli?: number } = random.int(3) === 0 ? { gpus: 1 + random.int(2) } : { gpuMilli: 100 * (1 + random.int(9)) };
        const milli = shape.gpus !== undefined ? shape.gpus * 1000 : shape.gpuMilli!;
        const bid = Math.ceil((floor * (1000 + random.int(2000))) / 1000);
        await h.control.jobs.submit(t.p, { command: ['work'], ...shape, ...(spot ? { tier: 'spot', maxPricePerHour: { amountMicros: Math.ceil((bid * milli) / 1000) + 1, currency: 'CNY' } } : {}) });
      } else if (op === 2) await h.control.scheduling.run();
      else if (op === 3) await beat();
      else if (op === 4) {
        h.clock.advance(1000 + random.int(120_000));
        await agent.beat();
      } else if (op === 5) await h.control.metering.pass();
      else if (op === 6 && agent.running.size > 0) await exit(pick([...agent.running.keys()]), false);
      else if (op === 7) {
        const live = await db.selectFrom('jobs').select('id').where('state', 'in', ['queued', 'scheduled', 'running']).execute();
        if (live.length > 0) {
          await h.control.jobs.cancel(h.operator, pick(live).id, 'property test');
        }
      } else if (op === 8) {
        const charged = await db.selectFrom('leases').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('charged_micros'), eb.lit(0)).as('c')).where('tenant_id', '=', t.id).executeTakeFirstOrThrow();
        if (Number(charged.c) > 10) {
          try {
            await h.control.billing.refund(h.operator, t.id, { amount: { amountMicros: 1 + random.int(Math.min(Number(charged.c), 1_000_000)), currency: 'CNY' }, reason: 'goodwill' });
          } catch (err) {
            // Refunding more than is left to refund is refused and changes nothing.
            expect((err as { code?: string }).code).toBe('validation_failed');
          }
        }
        if (random.int(3) === 0) await h.control.billing.topUp(h.operator, t.id, { amount: { amountMicros: 1_000_000 * (1 + random.int(100)), currency: 'CNY' } });
      }
      await checkBalanced(`step ${step} (op ${op})`);
    }
    // Wind down: run every stop, finish everything, meter.
    for (let i = 0; i < 3; i++) {
      await h.control.scheduling.run();
      await beat();
    }
    for (const id of [...agent.running.keys()]) await exit(id, false);
    await h.control.metering.pass();
    await checkBalanced('wind-down');

    const leases = await db.selectFrom('leases').selectAll().execute();
    const usage = await db.selectFrom('usage').selectAll().orderBy('start_at').execute();
    const leased = new Map<string, number>();
    for (const l of leases) {
      expect(l.end_at, `lease ${l.id} left open`).not.toBeNull();
      expect(l.charged_until).toBe(l.end_at);
      // Charged in many passes, it adds up to the one-shot charge for its whole span.
      expect(l.charged_micros).toBe(chargeMicros(l.price_micros, l.gpu_milli, l.end_at! - l.start_at));
      const spans = usage.filter((u) => u.lease_id === l.id);
      let at = l.start_at;
      for (const s of spans) {
        expect(s.start_at, `gap or overlap in lease ${l.id}`).toBe(at);
        at = s.end_at;
      }
      if (l.end_at! > l.start_at) expect(at).toBe(l.end_at);
      expect(spans.reduce((sum, s) => sum + s.charge_micros, 0)).toBe(l.charged_micros);
      leased.set(l.job_id, (leased.get(l.job_id) ?? 0) + (l.end_at! - l.start_at));
    }
    // Charged seconds = the seconds the agent saw each job run (no second skipped, none twice).
    for (const [job, ms] of ran) expect(leased.get(job) ?? 0, `job ${job}`).toBe(ms);
    for (const [job, ms] of leased) expect(ran.get(job) ?? 0, `job ${job}`).toBe(ms);
    const tb = await h.control.billing.trialBalance(h.operator);
    const revenue = tb.accounts.filter((a) => a.account.startsWith('revenue:') && a.account !== 'revenue:reserved').reduce((s, a) => s - a.balanceMicros, 0);
    expect(revenue).toBe(leases.reduce((s, l) => s + l.charged_micros, 0));
    expect(ran.size).toBeGreaterThan(0);
    const kinds = await db.selectFrom('events').select(['type', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('type').execute();
    const seen = Object.fromEntries(kinds.map((k) => [k.type, Number(k.n)]));
    if (process.env.UNIDLE_SHOW_PROPERTY_STATS) console.log(seed, seen, leases.length);
  });
});
