import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import { invoiceHtml } from '../api/invoice-html.js';
import { findGpuModel } from '../domain/gpu-catalog.js';
import { guangdongTouTariff } from '../energy/tariff.js';
import { SimulatedTelemetrySource } from '../energy/telemetry/simulated.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';
import { EnergyService, type JobEnergyUse } from './energy-service.js';
import type { TelemetryReading } from './telemetry-service.js';

const dialects = await testDialects();
const MIN = 60_000;
const SAMPLE_MS = 10_000;
const MJ_PER_KWH = 3_600_000_000;
/** 10:50 UTC = 18:50 in Shanghai: job A crosses 19:00, the end of Guangdong's evening peak. */
const T0 = Date.UTC(2026, 10, 28, 10, 50, 0);

/** cost and CO₂ from first principles, in BigInt: energy × PUE × price (or intensity), rounded once. */
function expectedCostMicros(energyMj: number, pueMilli: number, priceMicrosPerKwh: number): number {
  const num = BigInt(energyMj) * BigInt(pueMilli) * BigInt(priceMicrosPerKwh);
  const den = BigInt(MJ_PER_KWH) * 1000n;
  return Number((num + den / 2n) / den);
}

describe.each(dialects)('energy per job on %s', (dialect) => {
  let h: Harness;
  let agentA: ScriptedAgent;
  let nodeA: string;
  let nodeB: string;
  let deviceA: string;
  let tenant: Awaited<ReturnType<typeof addTenant>>;
  let energy: EnergyService;
  const times = { aStart: 0, bStart: 0, aEnd: 0, bEnd: 0 };
  let jobA: string;
  let jobB: string;
  let jobD: string;
  let samples: TelemetryReading[];

  beforeEach(async () => {
    h = await createHarness(dialect, { start: T0 });
    energy = new EnergyService(h.ts.store.db, h.clock);
    nodeA = (await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(1, 'H200', 143_771)))).nodeId;
    agentA = new ScriptedAgent(h, nodeA);
    deviceA = (await h.ts.store.db.selectFrom('devices').select('id').where('node_id', '=', nodeA).executeTakeFirstOrThrow()).id;
    tenant = await addTenant(h, 'acme');

    // Job A takes half the H200 at T0; B the other half 10 minutes later; A ends at 30 min, B at 40.
    jobA = (await h.control.jobs.submit(tenant.p, { command: ['train'], gpuMilli: 500, models: ['H200'] })).job.id;
    await h.control.scheduling.run();
    expect((await agentA.beat()).started).toEqual([jobA]);
    times.aStart = h.clock.now();
    h.clock.advance(10 * MIN);
    jobB = (await h.control.jobs.submit(tenant.p, { command: ['eval'], gpuMilli: 500, models: ['H200'] })).job.id;
    await h.control.scheduling.run();
    expect((await agentA.beat()).started).toEqual([jobB]);
    times.bStart = h.clock.now();

    // Job D runs on a second node that sends no telemetry (node A is full).
    nodeB = (await h.control.agents.register(h.agent, registration('node-b', simulatedDevices(1, 'H200', 143_771)))).nodeId;
    const agentB = new ScriptedAgent(h, nodeB);
    jobD = (await h.control.jobs.submit(tenant.p, { command: ['dark'], gpus: 1, models: ['H200'] })).job.id;
    await h.control.scheduling.run();
    expect((await agentB.beat()).started).toEqual([jobD]);
    h.clock.advance(10 * MIN);
    await agentB.beat();
    await agentB.exit(jobD);

    h.clock.advance(10 * MIN);
    await agentA.beat();
    await agentA.exit(jobA);
    times.aEnd = h.clock.now();
    h.clock.advance(10 * MIN);
    await agentA.beat();
    await agentA.exit(jobB);
    times.bEnd = h.clock.now();
    h.clock.advance(5 * MIN);

    // The simulated source's readings every 10 s from 2 minutes before A to 5 minutes after B: its
    // utilisation (and so power) follows the shares held, its energy counter integrates the power.
    const source = new SimulatedTelemetrySource({
      devices: [{ model: 'H200', index: 0, uuid: 'GPU-test-H200-0' }],
      allocatedMilli: (_d, now) => (now >= times.aStart && now < times.aEnd ? 500 : 0) + (now >= times.bStart && now < times.bEnd ? 500 : 0),
      seed: 7,
      initialEnergyMillijoules: 1_000_000_000,
    });
    samples = [];
    for (let at = T0 - 2 * MIN; at <= h.clock.now(); at += SAMPLE_MS) samples.push(...source.sampleSync(at));
    expect(await h.control.telemetry.ingest(h.agent, { nodeId: nodeA, samples })).toEqual({ accepted: samples.length, duplicates: 0 });
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('splits the shared H200 so that the jobs and the unallocated part add up to the measured energy', async () => {
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const measured = last.energyMillijoules! - first.energyMillijoules!;
    const device = await energy.deviceEnergy(deviceA, first.at, last.at);
    expect(device.source).toBe('raw');
    expect(device.measuredMj).toBe(measured); // by the energy counter, exactly
    expect(device.unmeasuredMs).toBe(0);

    const a = await energy.jobEnergy(jobA);
    const b = await energy.jobEnergy(jobB);
    // The check (within 1 %); each job is attributed over its own spans, so only rounding differs.
    const sum = a.energyMj + b.energyMj + device.unallocatedMj;
    expect(Math.abs(sum - measured)).toBeLessThanOrEqual(measured * 0.01);
    expect(Math.abs(sum - measured)).toBeLessThanOrEqual(4);
    // The per-job calls agree with the whole-device attribution.
    const onDevice = new Map(device.jobs.map((j) => [j.jobId, j]));
    expect(Math.abs(onDevice.get(jobA)!.energyMj - a.energyMj)).toBeLessThanOrEqual(2);
    expect(Math.abs(onDevice.get(jobB)!.energyMj - b.energyMj)).toBeLessThanOrEqual(2);

    // Idle by held share: each held half the H200 for 30 minutes.
    const idleMw = findGpuModel('H200')!.idleMilliwatts;
    const halfIdle30 = (idleMw * 30 * MIN) / 1000 / 2;
    expect(Math.abs(a.idleMj - halfIdle30)).toBeLessThanOrEqual(1);
    expect(Math.abs(b.idleMj - halfIdle30)).toBeLessThanOrEqual(1);
    expect(a.energyMj).toBe(a.dynamicMj + a.idleMj);
    // The unallocated part: all idle before A and after B, half of it while one job ran alone.
    const unheldMs = times.aStart - first.at + (last.at - times.bEnd) + (times.bStart - times.aStart) / 2 + (times.bEnd - times.aEnd) / 2;
    expect(Math.abs(device.unallocatedIdleMj - (idleMw * unheldMs) / 1000)).toBeLessThanOrEqual(1);
    // A and B each ran 10 minutes alone at ~50 % and 20 minutes together at ~100 %: close to equal.
    expect(a.dynamicMj / b.dynamicMj).toBeGreaterThan(0.97);
    expect(a.dynamicMj / b.dynamicMj).toBeLessThan(1.03);
    for (const e of [a, b]) expect(e).toMatchObject({ source: 'raw', measuredShare: 1, nodeIdleMj: 0 });
  });

  it('shows kWh, cost at tariff × PUE and CO₂ at 530.6 g/kWh on the job detail', async () => {
    const center = await h.control.market.center();
    expect(center).toMatchObject({ pue_milli: 1300, tariff_micros_per_kwh: 650_000, currency: 'CNY' });
    h.control.jobs.useEnergy(energy);
    const detail = await h.control.jobs.get(tenant.p, jobA);
    const e = detail.energy!;
    const direct = await energy.jobEnergy(jobA);
    expect(e).toEqual((({ jobId: _j, ...rest }: JobEnergyUse) => rest)(direct));
    expect(e.energyMj).toBeGreaterThan(0);
    expect(e.kWh).toBeCloseTo(e.energyMj / MJ_PER_KWH, 6);
    expect(e.cost).toEqual({ amountMicros: expectedCostMicros(e.energyMj, 1300, 650_000), currency: 'CNY' });
    expect(e.cost.amountMicros / 1e6).toBeCloseTo(e.kWh * 1.3 * 0.65, 5);
    expect(e).toMatchObject({ pueMilli: 1300, tariff: 'flat', carbonIntensityGPerKwh: 530.6 });
    expect(e.co2Grams).toBe(expectedCostMicros(e.energyMj, 1300, 530_600) / 1000);
    expect(e.co2Grams).toBeCloseTo(e.kWh * 1.3 * 530.6, 2);
    // About 30 minutes at about half of a ~390 W draw plus idle: on the order of 0.1 kWh.
    expect(e.kWh).toBeGreaterThan(0.05);
    expect(e.kWh).toBeLessThan(0.25);

    // Without telemetry: source 'none', zeros, nothing measured.
    const dark = (await h.control.jobs.get(tenant.p, jobD)).energy!;
    expect(dark).toMatchObject({ source: 'none', energyMj: 0, kWh: 0, co2Grams: 0, cost: { amountMicros: 0, currency: 'CNY' }, measuredShare: 0 });
  });

  it('sums the jobs of the month on the invoice, with per-job lines', async () => {
    h.control.billing.useEnergy(energy);
    const [a, b, d] = await Promise.all([jobA, jobB, jobD].map((j) => energy.jobEnergy(j)));
    const invoice = await h.control.billing.invoice(tenant.p, tenant.id, '2026-11');
    const e = invoice.energy;
    expect(e.included).toBe(false);
    expect(e.energyMj).toBe(a!.energyMj + b!.energyMj + d!.energyMj);
    expect(e.kWh).toBeCloseTo(e.energyMj / MJ_PER_KWH, 6);
    expect(e.cost).toEqual({ amountMicros: expectedCostMicros(e.energyMj, 1300, 650_000), currency: 'CNY' });
    expect(e.co2Grams).toBe(expectedCostMicros(e.energyMj, 1300, 530_600) / 1000);
    expect(e.jobs!.map((j) => [j.jobId, j.source, j.energyMj])).toEqual([
      [jobA, 'raw', a!.energyMj],
      [jobB, 'raw', b!.energyMj],
      [jobD, 'none', 0],
    ]);
    // D's GPU time (a whole H200 for 10 minutes) was not measured: A and B's 60 of 70 GPU-minutes were.
    expect(e.measuredShare).toBeCloseTo(60 / 70, 6);
    expect(e.note).toMatch(/included in the GPU-hour price/);
    expect(e.note).toMatch(/85\.7% of the GPU time/);
    const html = invoiceHtml(invoice);
    expect(html).toContain('Energy (for information, not charged)');
    expect(html).toContain(e.kWh.toFixed(6));

    // Another month has none.
    expect((await h.control.billing.invoice(tenant.p, tenant.id, '2026-10')).energy).toMatchObject({ energyMj: 0, jobs: [] });
  });

  it('falls back to one-minute rollups once raw samples are gone, and prices time-of-use bands', async () => {
    const raw = await energy.jobEnergy(jobA);
    h.clock.advance(5 * MIN);
    await h.control.telemetry.rollup();
    h.clock.advance(25 * 60 * MIN);
    expect((await h.control.telemetry.rollup()).rawDeleted).toBe(samples.length);
    // A fresh service: the first one keeps the finished job's figure (final once samples stop arriving).
    expect((await energy.jobEnergy(jobA)).source).toBe(raw.source);
    const rolled = await new EnergyService(h.ts.store.db, h.clock).jobEnergy(jobA);
    expect(rolled.source).toBe('1m');
    expect(rolled.measuredShare).toBe(1);
    expect(Math.abs(rolled.energyMj - raw.energyMj)).toBeLessThanOrEqual(raw.energyMj * 0.001);
    expect(Math.abs(rolled.idleMj - raw.idleMj)).toBeLessThanOrEqual(1);

    // Guangdong's time of use: A ran 18:50–19:20 Shanghai time, its first 10 minutes at the peak price.
    const tou = new EnergyService(h.ts.store.db, h.clock, { tariff: guangdongTouTariff(650_000) });
    const priced = await tou.jobEnergy(jobA);
    expect(priced.tariff).toBe('guangdong-2021-tou');
    // Split at 19:00 and rounded per part: the same energy to the millijoule or two.
    expect(Math.abs(priced.energyMj - rolled.energyMj)).toBeLessThanOrEqual(2);
    expect(priced.cost.amountMicros).toBeGreaterThan(expectedCostMicros(priced.energyMj, 1300, 650_000));
    expect(priced.cost.amountMicros).toBeLessThan(expectedCostMicros(priced.energyMj, 1300, 1_105_000));
  });

  it('serves the energy through the HTTP API (job detail and invoice, JSON and HTML)', async () => {
    h.control.jobs.useEnergy(energy);
    h.control.billing.useEnergy(energy);
    const app = await buildApp({ control: h.control, version: 'test' });
    try {
      const key = (await h.control.keys.create(h.operator, { memberId: (await h.control.tenants.addMember(h.operator, tenant.id, { name: 'reader', role: 'member' })).id })).key;
      const get = (url: string, accept = 'application/json') => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}`, accept } });
      const direct = await energy.jobEnergy(jobA);
      const job = await get(`/v1/jobs/${jobA}`);
      expect(job.statusCode, job.body).toBe(200);
      expect(job.json().energy).toEqual((({ jobId: _j, ...rest }: JobEnergyUse) => rest)(direct));
      const inv = await get(`/v1/tenants/${tenant.id}/invoices/2026-11`);
      expect(inv.statusCode, inv.body).toBe(200);
      expect(inv.json().energy).toMatchObject({ included: false, energyMj: (await energy.tenantEnergy(tenant.id, Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1))).energyMj });
      expect(inv.json().energy.jobs).toHaveLength(3);
      const page = await get(`/v1/tenants/${tenant.id}/invoices/2026-11?format=html`, 'text/html');
      expect(page.body).toContain('Energy (for information, not charged)');
    } finally {
      await app.close();
    }
  });

  it("adds the node's non-GPU idle power by held GPU share when the operator sets one", async () => {
    const plain = await energy.jobEnergy(jobA);
    const withNode = await new EnergyService(h.ts.store.db, h.clock, { nodeIdleMilliwatts: 400_000 }).jobEnergy(jobA);
    // Node A has one GPU; A held half of it for 30 minutes: half of 400 W × 30 min.
    expect(withNode.nodeIdleMj).toBe((400_000 * 30 * MIN) / 1000 / 2);
    expect(withNode.idleMj).toBe(plain.idleMj + withNode.nodeIdleMj);
    expect(withNode.energyMj).toBe(plain.energyMj + withNode.nodeIdleMj);
    expect(withNode.dynamicMj).toBe(plain.dynamicMj);
  });
});
