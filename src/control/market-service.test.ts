import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chargeMicros } from '../market/money.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

describe.each(dialects)('prices and leases on %s', (dialect) => {
  let h: Harness;
  let agent: ScriptedAgent;
  beforeEach(async () => {
    // 2026-11-28 06:00 UTC = 14:00 in Asia/Shanghai, the demo center's zone.
    h = await createHarness(dialect, { start: Date.UTC(2026, 10, 28, 6) });
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(4)));
    agent = new ScriptedAgent(h, nodeId);
  });
  afterEach(async () => {
    await h.dispose();
  });

  const h100 = async () => (await h.control.market.listPrices()).models.find((m) => m.model === 'H100')!;
  const price = async (tier: string) => (await h100()).prices.find((p) => p.tier === tier)!;

  it('shows the floor and margin beside every price, from the catalog power and the center tariff', async () => {
    const m = await h100();
    // The catalog H100 idles at 69.9 W (the docs' worked example rounds it to 70 W: ¥15.013967).
    expect(m.floor.amountMicros).toBeGreaterThan(15_000_000);
    expect(m.floor.amountMicros).toBeLessThan(15_020_000);
    expect(m.list.amountMicros).toBe(19_600_000);
    const margin = (price: number, floor: number) => Math.round(((price - floor) * 1000) / price);
    for (const p of m.prices) {
      expect(p.marginPermille).toBe(margin(p.pricePerGpuHour.amountMicros, p.floorPerGpuHour.amountMicros));
      expect(p.marginOverCostPermille).toBe(margin(p.pricePerGpuHour.amountMicros, m.floor.amountMicros));
    }
    // Spot sells hours that would otherwise be idle: its floor is the cost floor × 0.65 by default.
    expect((await price('spot')).pricePerGpuHour.amountMicros).toBe(Math.round((m.floor.amountMicros * 650) / 1000));
    // Reserved: 30% off list, but never below the cost of a GPU-hour sold every hour.
    expect((await price('reserved')).pricePerGpuHour.amountMicros).toBe(Math.max((await price('reserved')).floorPerGpuHour.amountMicros, 13_720_000));
  });

  it('a new price applies to new leases only, never to time already used', async () => {
    const t = await addTenant(h, 'buyer');
    const a = (await h.control.jobs.submit(t.p, { command: ['a'], gpus: 1 })).job;
    await h.control.scheduling.run();
    await agent.beat();
    h.clock.advance(1_800_000);
    await agent.beat();
    await h.control.market.setModelPrice(h.operator, 'H100', { listMicros: 30_000_000 });
    const b = (await h.control.jobs.submit(t.p, { command: ['b'], gpus: 1 })).job;
    await h.control.scheduling.run();
    await agent.beat();
    h.clock.advance(1_800_000);
    await agent.beat();
    await h.control.metering.pass();
    const la = (await h.control.jobs.get(t.p, a.id)).cost;
    const lb = (await h.control.jobs.get(t.p, b.id)).cost;
    expect(la.leases).toHaveLength(1);
    expect(la.leases[0]!.pricePerGpuHour.amountMicros).toBe(19_600_000);
    expect(la.charged.amountMicros).toBe(chargeMicros(19_600_000, 1000, 3_600_000));
    expect(lb.leases[0]!.pricePerGpuHour.amountMicros).toBe(30_000_000);
    expect(lb.charged.amountMicros).toBe(chargeMicros(30_000_000, 1000, 1_800_000));
  });

  it('time-of-use prices by the center\'s local hour and quotes the off-peak start as an alternative', async () => {
    await h.control.market.updateSettings(h.operator, { pricingPolicy: 'time-of-use' });
    const t = await addTenant(h, 'nightowl');
    const q = await h.control.market.quote(t.p, { gpus: 1, model: 'H100', hours: 2 });
    expect(q.pricePerGpuHour.amountMicros).toBe(19_600_000);
    const offPeak = q.alternatives.find((x) => x.why.includes('off-peak'));
    expect(offPeak).toBeDefined();
    // 23:00 Shanghai = 15:00 UTC, at 70% of list, but never below the cost floor.
    const nightPrice = Math.max((await h100()).floor.amountMicros, 13_720_000);
    expect(offPeak!.estimatedStartAt).toBe(Date.UTC(2026, 10, 28, 15));
    expect(offPeak!.pricePerHour.amountMicros).toBe(nightPrice);
    h.clock.set(Date.UTC(2026, 10, 28, 18)); // 02:00 in Shanghai
    const night = (await h.control.jobs.submit(t.p, { command: ['n'], gpus: 1 })).job;
    await h.control.scheduling.run();
    expect((await h.control.jobs.get(t.p, night.id)).pricePerHour!.amountMicros).toBe(nightPrice);
  });

  it('utilization pricing charges more as the model fills up, within floor and cap', async () => {
    await h.control.market.updateSettings(h.operator, { pricingPolicy: 'utilization', pricingParams: { idleMultiplierPermille: 800, fullMultiplierPermille: 1400, capPermille: 1500 } });
    const t = await addTenant(h, 'crowd');
    const idle = (await price('on-demand')).pricePerGpuHour.amountMicros;
    for (let i = 0; i < 3; i++) await h.control.jobs.submit(t.p, { command: ['x'], gpus: 1 });
    await h.control.scheduling.run();
    const busy = (await price('on-demand')).pricePerGpuHour.amountMicros;
    expect(idle).toBe(Math.max((await h100()).floor.amountMicros, 15_680_000));
    expect(busy).toBeGreaterThan(idle);
    await expect(h.control.market.updateSettings(h.operator, { pricingPolicy: 'utilization', pricingParams: { capPermille: -1 } })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('a running spot lease follows the clearing price from the moment it moves', async () => {
    const floor = (await price('spot')).pricePerGpuHour.amountMicros;
    const [a, b, c] = [await addTenant(h, 'a'), await addTenant(h, 'b'), await addTenant(h, 'c')];
    const bid = (t: typeof a, gpus: number, perGpuHour: number) =>
      h.control.jobs.submit(t.p, { command: ['s'], gpus, tier: 'spot', maxPricePerHour: { amountMicros: perGpuHour * gpus, currency: 'CNY' } });
    const ja = (await bid(a, 1, 2 * floor)).job;
    await h.control.scheduling.run();
    await agent.beat();
    expect((await h.control.jobs.get(a.p, ja.id)).pricePerHour!.amountMicros).toBe(floor);
    h.clock.advance(600_000);
    await agent.beat();
    await bid(b, 3, Math.round(1.5 * floor));
    await bid(c, 1, Math.round(1.2 * floor));
    const movedAt = h.clock.now();
    await h.control.scheduling.run();
    await agent.beat();
    h.clock.advance(600_000);
    await agent.beat();
    await h.control.metering.pass();
    const leases = (await h.control.jobs.get(a.p, ja.id)).cost.leases;
    expect(leases.map((l) => [l.pricePerGpuHour.amountMicros, l.startAt, l.endAt])).toEqual([
      [floor, leases[0]!.startAt, movedAt],
      [Math.round(1.2 * floor), movedAt, null],
    ]);
    expect(leases[0]!.charged.amountMicros).toBe(chargeMicros(floor, 1000, movedAt - leases[0]!.startAt));
    expect(leases[1]!.charged.amountMicros).toBe(chargeMicros(Math.round(1.2 * floor), 1000, 600_000));
  });
});
