import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulateSpec } from '../agent/gpu-discovery.js';
import { seedDemo } from '../control/demo-seed.js';
import { resolveConfig } from '../server/config.js';
import { startServer, type RunningServer } from '../server/server.js';
import type { Invoice, Job, JobDetail, MarketReport, PriceList, Quote, Reservation, TenantBilling, TrialBalance } from './api-client.js';
import { runCli } from './test-io.js';

/**
 * The selling and billing commands end to end against a real server on SQLite, with one registered
 * (agent-less) node of 8 H100 so there is capacity to price and reserve.
 */
describe('unidle market and billing commands against a running server', () => {
  let dir: string;
  let server: RunningServer;
  let demo: NodeJS.ProcessEnv;
  let operator: NodeJS.ProcessEnv;
  let demoTenantId: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'unidle-cli-market-'));
    server = await startServer(resolveConfig({ port: '0', dataDir: join(dir, 'data') }, {}), { logger: pino({ level: 'silent' }) });
    const seed = await seedDemo(server.control, {});
    demoTenantId = seed.tenantId;
    const base = { UNIDLE_SERVER: server.url, XDG_CONFIG_HOME: join(dir, 'config') };
    demo = { ...base, UNIDLE_API_KEY: seed.demoKey! };
    operator = { ...base, UNIDLE_API_KEY: seed.operatorKey! };
    const agent = await server.control.keys.authenticate(seed.agentToken);
    await server.control.agents.register(agent, {
      nodeName: 'market-node',
      hostname: 'market-node',
      agentVersion: 'test',
      cpuMilli: 16_000,
      memoryMib: 65_536,
      devices: parseSimulateSpec('8xH100', 'market-node'),
      runningJobIds: [],
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('quote: price, estimated start, total and alternatives; bad hours exit 2', async () => {
    const run = await runCli(['quote', '--gpu-milli', '500', '--model', 'H100', '--tier', 'spot', '--hours', '2', '--json'], demo);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const q = run.json<Quote>();
    expect(q).toMatchObject({ model: 'H100', tier: 'spot', gpuMilli: 500, hours: 2 });
    expect(Number.isSafeInteger(q.pricePerHour.amountMicros)).toBe(true);
    expect(q.pricePerHour.amountMicros).toBeGreaterThan(0);
    expect(q).toHaveProperty('estimatedStartAt');
    expect(q.estimatedTotal.amountMicros).toBeGreaterThan(0);
    expect(Array.isArray(q.alternatives)).toBe(true);

    const human = await runCli(['quote', '--gpus', '1', '--model', 'H100', '--hours', '0.5'], demo);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Price:\s+CNY [\d,]+\.\d+\/h/);
    expect(human.stdout).toMatch(/Estimated start:\s+now/);
    expect(human.stdout).toContain('Estimated total:');
    expect(human.stdout).toContain('Alternatives:');

    const bad = await runCli(['quote', '--gpu-milli', '500', '--model', 'H100', '--hours', '-1'], demo);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--hours must be a positive number of hours');
    // a bid below the spot floor is the server's to reject: still exit 2
    const low = await runCli(['quote', '--gpu-milli', '500', '--tier', 'spot', '--max-price', '0.000001', '--hours', '1'], demo);
    expect(low.code).toBe(2);
    expect(low.stderr).toContain('spot floor');
  });

  it('prices: list, set a model (operator), change the policy', async () => {
    const list = await runCli(['prices', '--json'], demo);
    expect(list.code).toBe(0);
    const h100 = list.json<PriceList>().models.find((m) => m.model === 'H100')!;
    expect(h100.prices.map((p) => p.tier)).toEqual(['on-demand', 'spot', 'reserved']);
    expect(h100.costs).toBeUndefined(); // operators only
    const human = await runCli(['prices'], demo);
    expect(human.stdout).toMatch(/^policy: fixed/m);
    expect(human.stdout).toContain('capacity: 8 H100');
    expect(human.stdout).toMatch(/MODEL\s+TIER\s+PRICE\/GPU-H\s+FLOOR\/GPU-H\s+MARGIN/);

    const set = await runCli(['prices', 'set', 'H100', '--list', '19.6', '--utilization', '62.5', '--json'], operator);
    expect(set.code).toBe(0);
    const row = set.json<PriceList>().models.find((m) => m.model === 'H100')!;
    expect(row.list.amountMicros).toBe(19_600_000);
    expect(row.costs?.expectedUtilizationPermille).toBe(625);
    expect((await runCli(['prices', 'set', 'H100', '--list', '19.6'], demo)).code).toBe(1); // operators only
    expect((await runCli(['prices', 'set', 'H100'], operator)).code).toBe(2);

    const policy = await runCli(['prices', 'policy', 'utilization'], operator);
    expect(policy.code).toBe(0);
    expect(policy.stdout).toContain('pricing policy: utilization');
    expect((await runCli(['prices', 'policy', 'fixed', '--json'], operator)).json<PriceList>().policy.name).toBe('fixed');
    expect((await runCli(['prices', 'policy', 'auction'], operator)).code).toBe(2);
  });

  it('balance, budget, billing mode, top-up and refund', async () => {
    const own = await runCli(['balance', '--json'], demo);
    expect(own.code).toBe(0);
    const before = own.json<TenantBilling>();
    expect(before.tenantId).toBe(demoTenantId);
    expect((await runCli(['balance'], demo)).stdout).toMatch(/Balance:\s+CNY/);
    const noTenant = await runCli(['balance'], operator);
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toContain('--tenant');

    const topUp = await runCli(['top-up', '--tenant', 'demo', '--amount', '100.25', '--reference', 'wire 1', '--json'], operator);
    expect(topUp.code).toBe(0);
    expect(topUp.json<TenantBilling>().balance.amountMicros - before.balance.amountMicros).toBe(100_250_000);
    const replay = await runCli(['top-up', '--tenant', 'demo', '--amount', '1', '--idempotency-key', 'wire-2'], operator);
    expect(replay.stdout).toContain('topped up CNY 1.00');
    const again = (await runCli(['top-up', '--tenant', 'demo', '--amount', '1', '--idempotency-key', 'wire-2', '--json'], operator)).json<TenantBilling>();
    expect(again.balance.amountMicros - before.balance.amountMicros).toBe(101_250_000); // the retry posted nothing

    const budget = await runCli(['budget', '--limit', '500', '--json'], demo);
    expect(budget.code).toBe(0);
    expect(budget.json<TenantBilling>().budgetLimit).toEqual({ amountMicros: 500_000_000, currency: 'CNY' });
    expect((await runCli(['budget', '--tenant', 'demo', '--none'], operator)).stdout).toContain('no budget');
    expect((await runCli(['budget'], demo)).code).toBe(2);

    expect((await runCli(['billing-mode', '--tenant', 'demo', 'prepaid', '--json'], operator)).json<TenantBilling>().paymentMode).toBe('prepaid');
    expect((await runCli(['billing-mode', '--tenant', 'demo', 'postpaid'], operator)).stdout).toContain('postpaid');
    expect((await runCli(['billing-mode', '--tenant', 'demo', 'later'], operator)).code).toBe(2);

    // nothing has been charged yet, so there is nothing to give back: the server says so (exit 2)
    const refund = await runCli(['refund', '--tenant', 'demo', '--amount', '1.5', '--reason', 'goodwill'], operator);
    expect(refund.code).toBe(2);
    expect(refund.stderr).toContain('can be refunded');
  });

  it('reserve (idempotent), reservations, invoice (JSON, text, HTML)', async () => {
    const argv = ['reserve', '--model', 'H100', '--gpus', '1', '--hours', '24', '--idempotency-key', 'rsv-cli-1', '--json'];
    const first = await runCli(argv, demo);
    expect(first.code).toBe(0);
    const r = first.json<Reservation>();
    expect(r).toMatchObject({ model: 'H100', gpuMilli: 1000, lendingLimitMilli: 1000, status: 'active' });
    expect(r.endAt - r.startAt).toBe(24 * 3_600_000);
    expect((await runCli(argv, demo)).json<Reservation>().id).toBe(r.id);
    expect((await runCli(['reservations', '--json'], demo)).json<{ items: Reservation[] }>().items.map((x) => x.id)).toEqual([r.id]);
    expect((await runCli(['reservations'], operator)).stdout).toContain(r.id);

    const period = new Date().toISOString().slice(0, 7);
    const invoice = await runCli(['invoice', period, '--json'], demo);
    expect(invoice.code).toBe(0);
    const inv = invoice.json<Invoice>();
    expect(inv.reservations.map((x) => x.reservationId)).toContain(r.id);
    expect(inv.reservationSubtotal.amountMicros).toBe(r.total.amountMicros);
    const text = await runCli(['invoice', period, '--tenant', 'demo'], operator);
    expect(text.stdout).toContain('Reservations:');
    expect(text.stdout).toMatch(/Total:\s+CNY/);
    const file = join(dir, 'invoice.html');
    const html = await runCli(['invoice', period, '--html', file], demo);
    expect(html.code).toBe(0);
    expect(await readFile(file, 'utf8')).toMatch(/<html/i);
    expect((await runCli(['invoice', '2026-13'], demo)).code).toBe(2);
  });

  it('report and trial balance (operator)', async () => {
    const report = await runCli(['report', '--json'], operator);
    expect(report.code).toBe(0);
    expect(report.json<MarketReport>().models.map((m) => m.model)).toContain('H100');
    const human = await runCli(['report'], operator);
    expect(human.stdout).toMatch(/MODEL\s+CAPACITY GPU-H/);
    expect(human.stdout).toMatch(/^TOTAL/m);
    expect((await runCli(['report', '--from', 'yesterday'], operator)).code).toBe(2);

    const tb = await runCli(['trial-balance', '--json'], operator);
    expect(tb.code).toBe(0);
    expect(tb.json<TrialBalance>().balanced).toBe(true);
    const text = await runCli(['trial-balance'], operator);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^balanced/);
    expect((await runCli(['trial-balance'], demo)).code).toBe(1); // operators only
  });

  it('submit a spot bid with --max-price and --no-requeue; job shows price and cost', async () => {
    const run = await runCli(['submit', '--json', '--gpu-milli', '250', '--model', 'H100', '--tier', 'spot', '--max-price', '12.5', '--no-requeue', '--', 'true'], demo);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const job = run.json<Job>();
    expect(job).toMatchObject({ tier: 'spot', maxPricePerHour: { amountMicros: 12_500_000, currency: 'CNY' }, requeueOnPreemption: false });
    const detail = await runCli(['job', job.id], demo);
    expect(detail.code).toBe(0);
    expect(detail.stdout).toMatch(/Tier:\s+spot, bid up to CNY 12\.50\/h, not requeued when preempted/);
    expect(detail.stdout).toMatch(/Price:\s+/);
    expect(detail.stdout).toMatch(/Cost so far: CNY/);
    expect((await runCli(['job', job.id, '--json'], demo)).json<JobDetail>().cost.charged.currency).toBe('CNY');
    await runCli(['cancel', job.id], demo);

    const onDemandBid = await runCli(['submit', '--gpus', '1', '--max-price', '3.5', '--', 'true'], demo);
    expect(onDemandBid.code).toBe(2);
    expect(onDemandBid.stderr).toContain('--tier spot');
  });
});
