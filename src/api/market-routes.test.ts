import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type App } from './app.js';
import { chargeMicros, scaleMicros } from '../market/money.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors: { field: string; message: string }[];
}
interface MoneyBody {
  amountMicros: number;
  currency: string;
}
interface PriceRowBody {
  model: string;
  tier: string;
  pricePerGpuHour: MoneyBody;
  floorPerGpuHour: MoneyBody;
  marginPermille: number;
}
interface PriceListBody {
  policy: { name: string; description: string };
  models: Array<{ model: string; costs?: Record<string, number>; prices: PriceRowBody[] }>;
}

/** The invoice page's amount formatting (src/api/invoice-html.ts), to find the total on the page. */
function printed(m: MoneyBody): string {
  const abs = Math.abs(m.amountMicros);
  const units = Math.floor(abs / 1_000_000).toLocaleString('en-US');
  const fraction = String(abs % 1_000_000).padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${m.amountMicros < 0 ? '−' : ''}${units}.${fraction}`;
}

describe.each(dialects)('market and billing HTTP API on %s', (dialect) => {
  let h: Harness;
  let app: App;
  let demoKey: string;
  let opKey: string;
  let tenantId: string;
  let nodeId: string;

  beforeEach(async () => {
    h = await createHarness(dialect);
    nodeId = (await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)))).nodeId;
    app = await buildApp({ control: h.control, version: 'test' });
    demoKey = h.seed.demoKey!;
    opKey = h.seed.operatorKey!;
    tenantId = h.seed.tenantId;
  });
  afterEach(async () => {
    await app.close();
    await h.dispose();
  });

  const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const post = (url: string, key: string, body: unknown, headers: Record<string, string> = {}) => send('POST', url, key, body, headers);
  const put = (url: string, key: string, body: unknown) => send('PUT', url, key, body);
  const patch = (url: string, key: string, body: unknown) => send('PATCH', url, key, body);
  const get = (url: string, key: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}`, ...headers } });

  const count = async (table: 'jobs' | 'reservations' | 'ledger_transactions' | 'ledger_postings' | 'events') =>
    Number((await h.ts.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const writes = async () => ({ jobs: await count('jobs'), reservations: await count('reservations'), ledger: await count('ledger_transactions'), events: await count('events') });

  /** A problem response: status, content type, stable code, and (when given) the field at fault and what the detail says. */
  function expectProblem(res: LightMyRequestResponse, status: number, code: string, want: { field?: string; detail?: RegExp } = {}, label = ''): Problem {
    const body = res.json() as Problem;
    expect(res.statusCode, `${label} ${res.body.slice(0, 300)}`).toBe(status);
    expect(res.headers['content-type'], label).toMatch(/application\/problem\+json/);
    expect(body.code, `${label} ${body.detail}`).toBe(code);
    expect(body.status, label).toBe(status);
    if (want.field !== undefined) expect(body.errors.map((e) => e.field), `${label} ${body.detail}`).toContain(want.field);
    if (want.detail !== undefined) expect(body.detail, label).toMatch(want.detail);
    return body;
  }

  async function h100Prices(key = demoKey): Promise<Record<string, PriceRowBody>> {
    const list = (await get('/v1/prices', key)).json() as PriceListBody;
    const m = list.models.find((x) => x.model === 'H100')!;
    return Object.fromEntries(m.prices.map((p) => [p.tier, p]));
  }

  /** Submits over HTTP and runs the job through the control plane: placed, started, 1 h metered, exited 0. */
  async function runJobToEnd(body: Record<string, unknown> = { command: ['python', 'train.py'], gpuMilli: 500, name: 'invoice-me' }): Promise<{ id: string; startedAt: number; endedAt: number }> {
    const submitted = await post('/v1/jobs', demoKey, body);
    expect(submitted.statusCode, submitted.body).toBe(201);
    const id = (submitted.json() as { id: string }).id;
    expect((await h.control.scheduling.run()).placed).toBe(1);
    const agent = new ScriptedAgent(h, nodeId);
    const startedAt = h.clock.now();
    expect((await agent.beat()).started).toEqual([id]);
    h.clock.advance(1_800_000);
    await agent.beat();
    await h.control.metering.pass();
    h.clock.advance(1_800_000);
    await agent.beat();
    await h.control.metering.pass();
    expect(await agent.exit(id, { exitCode: 0 })).toBe('succeeded');
    return { id, startedAt, endedAt: h.clock.now() };
  }

  describe('quotes', () => {
    it('prices a spot shape with its start, total, floor, margin and alternatives', async () => {
      const res = await post('/v1/quotes', demoKey, { gpuMilli: 500, model: 'H100', tier: 'spot', hours: 2 });
      expect(res.statusCode, res.body).toBe(200);
      const q = res.json() as {
        tier: string;
        model: string;
        pricePerHour: MoneyBody;
        pricePerGpuHour: MoneyBody;
        floorPerHour: MoneyBody;
        estimatedTotal: MoneyBody;
        estimatedStartAt: number | null;
        marginPermille: number;
        priceFixed: boolean;
        alternatives: Array<{ tier: string; why: string[] }>;
        notes: string[];
      };
      expect(q).toMatchObject({ tier: 'spot', model: 'H100', priceFixed: false });
      expect(q.pricePerHour.currency).toBe('CNY');
      expect(q.pricePerHour.amountMicros).toBeGreaterThan(0);
      expect(Number.isInteger(q.pricePerHour.amountMicros)).toBe(true);
      // The cluster is empty: it can start now.
      expect(q.estimatedStartAt).toBe(h.clock.now());
      expect(q.estimatedTotal).toEqual({ amountMicros: chargeMicros(q.pricePerGpuHour.amountMicros, 500, 2 * 3_600_000), currency: 'CNY' });
      expect(Math.abs(q.estimatedTotal.amountMicros - 2 * q.pricePerHour.amountMicros)).toBeLessThanOrEqual(1);
      expect(q.pricePerHour.amountMicros).toBe(chargeMicros(q.pricePerGpuHour.amountMicros, 500, 3_600_000));
      expect(Array.isArray(q.alternatives)).toBe(true);
      for (const a of q.alternatives) expect(a.why.length).toBeGreaterThan(0);
      expect(Number.isInteger(q.marginPermille)).toBe(true);
      expect(q.floorPerHour.currency).toBe('CNY');
      expect(q.floorPerHour.amountMicros).toBeGreaterThan(0);
      expect(q.floorPerHour.amountMicros).toBeLessThanOrEqual(q.pricePerHour.amountMicros);
      // The spot floor shown in the price list, for this half-GPU shape.
      const spot = (await h100Prices()).spot!;
      expect(q.floorPerHour.amountMicros).toBe(scaleMicros(spot.floorPerGpuHour.amountMicros, 500, 1000));
      expect(q.notes.join(' ')).toMatch(/preempt/);
    });

    it('fixes the price of an on-demand quote and keeps reserved/on-demand totals consistent', async () => {
      const res = await post('/v1/quotes', demoKey, { gpus: 2, model: 'H100', tier: 'on-demand', hours: 3 });
      expect(res.statusCode, res.body).toBe(200);
      const q = res.json() as { tier: string; priceFixed: boolean; pricePerGpuHour: MoneyBody; estimatedTotal: MoneyBody; estimatedStartAt: number };
      expect(q).toMatchObject({ tier: 'on-demand', priceFixed: true, estimatedStartAt: h.clock.now() });
      expect(q.pricePerGpuHour.amountMicros).toBe((await h100Prices())['on-demand']!.pricePerGpuHour.amountMicros);
      expect(q.estimatedTotal.amountMicros).toBe(chargeMicros(q.pricePerGpuHour.amountMicros, 2000, 3 * 3_600_000));
      // The default tier is on-demand.
      const dflt = await post('/v1/quotes', demoKey, { gpus: 2, model: 'H100', hours: 3 });
      expect(dflt.json()).toMatchObject({ tier: 'on-demand', priceFixed: true, estimatedTotal: q.estimatedTotal });
    });

    it('refuses bad quote input naming what to fix, and writes nothing', async () => {
      const spotFloor = (await h100Prices()).spot!.floorPerGpuHour.amountMicros;
      const before = await writes();
      const base = { gpuMilli: 500, model: 'H100', tier: 'spot', hours: 2 };
      const cases: Array<[string, unknown, string, RegExp?]> = [
        ['negative hours', { ...base, hours: -1 }, 'hours', /hours/],
        ['zero hours', { ...base, hours: 0 }, 'hours', /hours/],
        ['too many hours', { ...base, hours: 721 }, 'hours'],
        ['hours as a string', { ...base, hours: 'two' }, 'hours'],
        ['missing hours', { gpuMilli: 500, model: 'H100' }, 'hours'],
        ['unknown tier', { ...base, tier: 'gold' }, 'tier', /gold.*on-demand, spot, reserved/],
        ['unknown model', { ...base, model: 'TPU9' }, 'model', /TPU9.*known models/],
        ['unknown model in models', { ...base, model: undefined, models: ['H100', 'TPU9'] }, 'models[1]', /TPU9/],
        ['gpuMilli of 1500', { ...base, gpuMilli: 1500 }, 'gpuMilli', /gpus/],
        ['gpuMilli of 0', { ...base, gpuMilli: 0 }, 'gpuMilli'],
        ['no shape', { model: 'H100', hours: 2 }, 'gpuMilli'],
        ['both shapes', { ...base, gpus: 1 }, 'gpuMilli'],
        ['65 GPUs', { ...base, gpuMilli: undefined, gpus: 65 }, 'gpus'],
        ['unknown field', { ...base, colour: 'blue' }, 'colour'],
        ['bid below the spot floor', { ...base, maxPricePerHour: { amountMicros: 1, currency: 'CNY' } }, 'maxPricePerHour.amountMicros', /floor/],
        [
          'bid just under the floor',
          { ...base, maxPricePerHour: { amountMicros: scaleMicros(spotFloor, 500, 1000) - 1, currency: 'CNY' } },
          'maxPricePerHour.amountMicros',
          /spot floor of CNY \d+\.\d+ per hour/,
        ],
        ['bid of zero', { ...base, maxPricePerHour: { amountMicros: 0, currency: 'CNY' } }, 'maxPricePerHour.amountMicros'],
        ['negative bid', { ...base, maxPricePerHour: { amountMicros: -5, currency: 'CNY' } }, 'maxPricePerHour.amountMicros'],
        ['bid in USD', { ...base, maxPricePerHour: { amountMicros: 100_000_000, currency: 'USD' } }, 'maxPricePerHour.currency', /currency mismatch.*CNY/],
        ['bid with on-demand', { ...base, tier: 'on-demand', maxPricePerHour: { amountMicros: 100_000_000, currency: 'CNY' } }, 'maxPricePerHour', /spot/],
        ['bid with reserved', { ...base, tier: 'reserved', maxPricePerHour: { amountMicros: 100_000_000, currency: 'CNY' } }, 'maxPricePerHour', /spot/],
        ['bid not a money object', { ...base, maxPricePerHour: 5 }, 'maxPricePerHour'],
        ['bid with fractional micros', { ...base, maxPricePerHour: { amountMicros: 1.5, currency: 'CNY' } }, 'maxPricePerHour.amountMicros'],
      ];
      for (const [label, body, field, detail] of cases) {
        const res = await post('/v1/quotes', demoKey, body);
        expectProblem(res, 422, 'validation_failed', { field, ...(detail ? { detail } : {}) }, label);
      }
      // A known model this center does not have: 422, and it says which models are here.
      const absent = await post('/v1/quotes', demoKey, { ...base, model: 'L40S' });
      expectProblem(absent, 422, 'unschedulable', { field: 'model', detail: /H100/ }, 'absent model');
      expect(await writes()).toEqual(before);
    });
  });

  describe('jobs with tiers', () => {
    it('refuses spot bids below the floor or in another currency, unknown tiers and reserved work without a reservation', async () => {
      const spotFloor = (await h100Prices()).spot!.floorPerGpuHour.amountMicros;
      const before = await writes();
      const job = { command: ['python', 'sweep.py'], gpuMilli: 500 };
      const cases: Array<[string, unknown, string, RegExp]> = [
        ['bid below floor', { ...job, tier: 'spot', maxPricePerHour: { amountMicros: 1, currency: 'CNY' } }, 'maxPricePerHour.amountMicros', /below the spot floor/],
        [
          'bid one micro under the shape floor',
          { ...job, tier: 'spot', maxPricePerHour: { amountMicros: scaleMicros(spotFloor, 500, 1000) - 1, currency: 'CNY' } },
          'maxPricePerHour.amountMicros',
          /floor/,
        ],
        ['bid in USD', { ...job, tier: 'spot', maxPricePerHour: { amountMicros: 100_000_000, currency: 'USD' } }, 'maxPricePerHour.currency', /CNY/],
        ['tier gold', { ...job, tier: 'gold' }, 'tier', /gold/],
        ['reserved without reservation', { ...job, tier: 'reserved' }, 'tier', /\/v1\/reservations/],
        ['bid on on-demand', { ...job, tier: 'on-demand', maxPricePerHour: { amountMicros: 100_000_000, currency: 'CNY' } }, 'maxPricePerHour', /spot/],
        ['bid of zero', { ...job, tier: 'spot', maxPricePerHour: { amountMicros: 0, currency: 'CNY' } }, 'maxPricePerHour.amountMicros', /positive/],
        ['requeue not a boolean', { ...job, tier: 'spot', requeueOnPreemption: 'yes' }, 'requeueOnPreemption', /boolean/],
      ];
      for (const [label, body, field, detail] of cases) expectProblem(await post('/v1/jobs', demoKey, body), 422, 'validation_failed', { field, detail }, label);
      expect(await writes()).toEqual(before);
    });

    it('accepts a valid spot job and echoes its bid per hour of the shape', async () => {
      const spotFloor = (await h100Prices()).spot!.floorPerGpuHour.amountMicros;
      // An even bid so the per-GPU-hour bid scales back exactly.
      const bid = 2 * scaleMicros(spotFloor, 500, 1000);
      const res = await post('/v1/jobs', demoKey, { command: ['python', 'sweep.py'], gpuMilli: 500, tier: 'spot', maxPricePerHour: { amountMicros: bid, currency: 'CNY' } });
      expect(res.statusCode, res.body).toBe(201);
      const job = res.json() as { id: string; tier: string; maxPricePerHour: MoneyBody; requeueOnPreemption: boolean; state: string };
      expect(job).toMatchObject({ tier: 'spot', state: 'queued', requeueOnPreemption: true, maxPricePerHour: { amountMicros: bid, currency: 'CNY' } });
      expect((await get(`/v1/jobs/${job.id}`, demoKey)).json()).toMatchObject({ tier: 'spot', maxPricePerHour: { amountMicros: bid, currency: 'CNY' } });
      // Without a bid, spot bids the on-demand price.
      const dflt = await post('/v1/jobs', demoKey, { command: ['true'], gpus: 1, tier: 'spot', requeueOnPreemption: false });
      expect(dflt.statusCode, dflt.body).toBe(201);
      const onDemand = (await h100Prices())['on-demand']!.pricePerGpuHour;
      expect(dflt.json()).toMatchObject({ requeueOnPreemption: false, maxPricePerHour: onDemand });
      expect(await count('jobs')).toBe(2);
    });
  });

  describe('reservations', () => {
    it('sells once per Idempotency-Key, refuses more than the capacity, lists it and runs reserved jobs', async () => {
      const first = await post('/v1/reservations', demoKey, { model: 'H100', gpus: 2, hours: 24 }, { 'idempotency-key': 'rsv-1' });
      expect(first.statusCode, first.body).toBe(201);
      const r = first.json() as { id: string; tenantId: string; model: string; gpuMilli: number; status: string; total: MoneyBody; pricePerGpuHour: MoneyBody; startAt: number; endAt: number };
      expect(r).toMatchObject({ tenantId, model: 'H100', gpuMilli: 2000, status: 'active', startAt: h.clock.now(), endAt: h.clock.now() + 24 * 3_600_000 });
      expect(first.headers.location).toBe(`/v1/reservations/${r.id}`);
      const reserved = (await h100Prices())['reserved']!.pricePerGpuHour;
      expect(r.pricePerGpuHour).toEqual(reserved);
      expect(r.total).toEqual({ amountMicros: chargeMicros(reserved.amountMicros, 2000, 24 * 3_600_000), currency: 'CNY' });

      const again = await post('/v1/reservations', demoKey, { model: 'H100', gpus: 2, hours: 24 }, { 'idempotency-key': 'rsv-1' });
      expect(again.statusCode, again.body).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect((again.json() as { id: string }).id).toBe(r.id);
      expect(await count('reservations')).toBe(1);

      // 2 of 8 GPUs are reserved: 7 more is too many.
      const ledgerBefore = await count('ledger_transactions');
      const tooMany = await post('/v1/reservations', demoKey, { model: 'H100', gpus: 7, hours: 24 });
      expectProblem(tooMany, 409, 'capacity_sold_out', { field: 'gpus', detail: /only 6000 milli-GPU of H100.*reserve less/ });
      const wayTooMany = await post('/v1/reservations', demoKey, { model: 'H100', gpus: 9, hours: 24 });
      expectProblem(wayTooMany, 409, 'capacity_sold_out', { field: 'gpus' });
      expect(await count('reservations')).toBe(1);
      expect(await count('ledger_transactions')).toBe(ledgerBefore);

      const list = await get('/v1/reservations', demoKey);
      expect(list.statusCode).toBe(200);
      const items = (list.json() as { items: Array<{ id: string; tenantId: string }> }).items;
      expect(items.map((x) => x.id)).toEqual([r.id]);
      expect(items.every((x) => x.tenantId === tenantId)).toBe(true);
      expect((await get(`/v1/reservations/${r.id}`, demoKey)).json()).toMatchObject({ id: r.id, usedMilli: 0 });
      // Operators see all of them; another tenant sees none of them.
      expect(((await get('/v1/reservations', opKey)).json() as { items: unknown[] }).items).toHaveLength(1);
      expect(((await get(`/v1/reservations?tenantId=${tenantId}`, opKey)).json() as { items: unknown[] }).items).toHaveLength(1);
      expect((await get(`/v1/reservations?tenantId=${tenantId}`, h.seed.agentToken)).statusCode).toBe(403);

      const job = await post('/v1/jobs', demoKey, { command: ['serve'], gpus: 1, tier: 'reserved' });
      expect(job.statusCode, job.body).toBe(201);
      expect(job.json()).toMatchObject({ tier: 'reserved', maxPricePerHour: null });
      await h.control.scheduling.run();
      const placed = (await get(`/v1/jobs/${(job.json() as { id: string }).id}`, demoKey)).json() as { state: string; reservationId: string };
      expect(placed).toMatchObject({ state: 'scheduled', reservationId: r.id });
      expect((await get(`/v1/reservations/${r.id}`, demoKey)).json()).toMatchObject({ usedMilli: 1000 });
    });

    it('refuses bad reservation input and keeps reservations to their tenant', async () => {
      const before = await writes();
      const cases: Array<[string, unknown, number, string, string]> = [
        ['zero hours', { model: 'H100', gpus: 1, hours: 0 }, 422, 'validation_failed', 'hours'],
        ['negative hours', { model: 'H100', gpus: 1, hours: -3 }, 422, 'validation_failed', 'hours'],
        ['shorter than the minimum term', { model: 'H100', gpus: 1, hours: 23 }, 422, 'validation_failed', 'hours'],
        ['unknown model', { model: 'TPU9', gpus: 1, hours: 1 }, 422, 'validation_failed', 'model'],
        ['no quota', { model: 'H100', hours: 24 }, 422, 'validation_failed', 'gpus'],
        ['zero gpus', { model: 'H100', gpus: 0, hours: 24 }, 422, 'validation_failed', 'gpus'],
        ['lending above quota', { model: 'H100', gpus: 1, hours: 24, lendingLimitMilli: 2000 }, 422, 'validation_failed', 'lendingLimitMilli'],
        ['start in the past', { model: 'H100', gpus: 1, hours: 24, startAt: h.clock.now() - 3_600_000 }, 422, 'validation_failed', 'startAt'],
        ['absent model', { model: 'L40S', gpus: 1, hours: 24 }, 409, 'capacity_sold_out', 'gpus'],
      ];
      for (const [label, body, status, code, field] of cases) expectProblem(await post('/v1/reservations', demoKey, body), status, code, { field }, label);
      expectProblem(await post('/v1/reservations', opKey, { model: 'H100', gpus: 1, hours: 24 }), 422, 'validation_failed', { field: 'tenant' }, 'operator buys');
      expect(await writes()).toEqual(before);

      const r = (await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 })).json() as { id: string };
      const rival = await addTenant(h, 'rival');
      expect((await h.control.market.listReservations(rival.p)).map((x) => x.id)).toEqual([]);
      await expect(h.control.market.getReservation(rival.p, r.id)).rejects.toMatchObject({ code: 'not_found' });
      expect((await get(`/v1/reservations?tenantId=${rival.id}`, demoKey)).statusCode).toBe(403);
    });
  });

  describe('prices and market settings', () => {
    it('shows tenants prices, floors and margins but not costs; operators see costs', async () => {
      const asTenant = await get('/v1/prices', demoKey);
      expect(asTenant.statusCode).toBe(200);
      const list = asTenant.json() as PriceListBody & { currency: string };
      expect(list.currency).toBe('CNY');
      expect(list.policy.name).toBe('fixed');
      const h100 = list.models.find((m) => m.model === 'H100')!;
      expect(h100).toBeDefined();
      expect(h100.prices.map((p) => p.tier)).toEqual(['on-demand', 'spot', 'reserved']);
      for (const p of h100.prices) {
        expect(p.pricePerGpuHour.currency).toBe('CNY');
        expect(p.pricePerGpuHour.amountMicros).toBeGreaterThan(0);
        expect(p.floorPerGpuHour.amountMicros).toBeGreaterThan(0);
        expect(Number.isInteger(p.marginPermille)).toBe(true);
      }
      for (const m of list.models) expect(m).not.toHaveProperty('costs');
      expect(asTenant.body).not.toMatch(/purchasePriceMicros/);

      const asOperator = (await get('/v1/prices', opKey)).json() as PriceListBody;
      const opH100 = asOperator.models.find((m) => m.model === 'H100')!;
      expect(opH100.costs).toMatchObject({ purchasePriceMicros: expect.any(Number), depreciationMonths: expect.any(Number), overheadMicrosPerGpuHour: expect.any(Number), expectedUtilizationPermille: expect.any(Number) });
    });

    it('lets only operators set a list price, and applies it under the fixed policy', async () => {
      const events = await count('events');
      expectProblem(await put('/v1/prices/H100', demoKey, { listMicros: 30_000_000 }), 403, 'forbidden');
      expect(await count('events')).toBe(events);
      const res = await put('/v1/prices/H100', opKey, { listMicros: 30_000_000 });
      expect(res.statusCode, res.body).toBe(200);
      const list = res.json() as PriceListBody;
      expect(list.policy.name).toBe('fixed');
      const h100 = list.models.find((m) => m.model === 'H100')!;
      expect(h100.prices.find((p) => p.tier === 'on-demand')!.pricePerGpuHour).toEqual({ amountMicros: 30_000_000, currency: 'CNY' });
      expect((await h100Prices())['on-demand']!.pricePerGpuHour.amountMicros).toBe(30_000_000);
      const q = (await post('/v1/quotes', demoKey, { gpus: 1, model: 'H100', hours: 1 })).json() as { pricePerHour: MoneyBody };
      expect(q.pricePerHour.amountMicros).toBe(30_000_000);

      expectProblem(await put('/v1/prices/TPU9', opKey, { listMicros: 30_000_000 }), 422, 'validation_failed', { field: 'model', detail: /TPU9/ });
      expectProblem(await put('/v1/prices/H100', opKey, { listMicros: 0 }), 422, 'validation_failed', { field: 'listMicros' });
      expectProblem(await put('/v1/prices/H100', opKey, { listMicros: -1 }), 422, 'validation_failed', { field: 'listMicros' });
      expectProblem(await put('/v1/prices/H100', opKey, { depreciationMonths: 0 }), 422, 'validation_failed', { field: 'depreciationMonths' });
      expectProblem(await put('/v1/prices/H100', opKey, { expectedUtilizationPermille: 1001 }), 422, 'validation_failed', { field: 'expectedUtilizationPermille' });
      expectProblem(await put('/v1/prices/H100', opKey, { listMicros: '30' }), 422, 'validation_failed', { field: 'listMicros' });
      expect((await h100Prices())['on-demand']!.pricePerGpuHour.amountMicros).toBe(30_000_000);
    });

    it('validates the pricing policy and echoes the one chosen', async () => {
      expectProblem(await patch('/v1/market/settings', opKey, { pricingPolicy: 'bogus' }), 422, 'validation_failed', { field: 'pricingPolicy', detail: /bogus.*fixed, utilization, time-of-use/ });
      expectProblem(await patch('/v1/market/settings', demoKey, { pricingPolicy: 'time-of-use' }), 403, 'forbidden');
      expectProblem(await patch('/v1/market/settings', opKey, { pricingPolicy: 'time-of-use', pricingParams: { windows: 'night' } }), 422, 'validation_failed', { field: 'pricingParams', detail: /windows/ });
      expectProblem(await patch('/v1/market/settings', opKey, { pricingPolicy: 'fixed', pricingParams: { x: 1 } }), 422, 'validation_failed', { field: 'pricingParams', detail: /unknown option "x"/ });
      expectProblem(await patch('/v1/market/settings', opKey, { pueMilli: 10 }), 422, 'validation_failed', { field: 'pueMilli' });
      expectProblem(await patch('/v1/market/settings', opKey, { currency: 'yuan' }), 422, 'validation_failed', { field: 'currency' });
      expectProblem(await patch('/v1/market/settings', opKey, { spotFloorPermille: 'high' }), 422, 'validation_failed', { field: 'spotFloorPermille' });
      expect((await get('/v1/prices', demoKey)).json()).toMatchObject({ policy: { name: 'fixed' } });

      const res = await patch('/v1/market/settings', opKey, { pricingPolicy: 'time-of-use' });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as PriceListBody).policy.name).toBe('time-of-use');
      expect((await get('/v1/prices', demoKey)).json()).toMatchObject({ policy: { name: 'time-of-use' } });
    });
  });

  describe('billing', () => {
    it('shows the trial balance to operators only', async () => {
      const tb = await get('/v1/ledger/trial-balance', opKey);
      expect(tb.statusCode).toBe(200);
      expect(tb.json()).toMatchObject({ balanced: true, transactions: expect.any(Number), postings: expect.any(Number), totals: expect.any(Array), accounts: expect.any(Array) });
      expectProblem(await get('/v1/ledger/trial-balance', demoKey), 403, 'forbidden');
    });

    it('records top-ups from operators in the center currency only', async () => {
      const url = `/v1/tenants/${tenantId}/top-ups`;
      const ledger = await count('ledger_transactions');
      expectProblem(await post(url, demoKey, { amount: { amountMicros: 100_000_000, currency: 'CNY' } }), 403, 'forbidden');
      expectProblem(await post(url, opKey, { amount: { amountMicros: 100_000_000, currency: 'USD' } }), 422, 'validation_failed', { field: 'amount.currency', detail: /currency mismatch.*CNY/ });
      expectProblem(await post(url, opKey, { amount: { amountMicros: -100, currency: 'CNY' } }), 422, 'validation_failed', { field: 'amount.amountMicros', detail: /positive/ });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 0, currency: 'CNY' } }), 422, 'validation_failed', { field: 'amount.amountMicros' });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1.5, currency: 'CNY' } }), 422, 'validation_failed', { field: 'amount.amountMicros' });
      expectProblem(await post(url, opKey, { amount: 100 }), 422, 'validation_failed', { field: 'amount' });
      expectProblem(await post(url, opKey, {}), 422, 'validation_failed', { field: 'amount' });
      expectProblem(await post('/v1/tenants/ten_01ARZ3NDEKTSV4RRFFQ69G5FAV/top-ups', opKey, { amount: { amountMicros: 1, currency: 'CNY' } }), 404, 'not_found');
      expect(await count('ledger_transactions')).toBe(ledger);

      const ok = await post(url, opKey, { amount: { amountMicros: 100_000_000, currency: 'CNY' }, reference: 'wire 42' }, { 'idempotency-key': 'wire-42' });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ tenantId, balance: { amountMicros: 100_000_000, currency: 'CNY' } });
      // A retried top-up with the same key posts nothing new.
      const retry = await post(url, opKey, { amount: { amountMicros: 100_000_000, currency: 'CNY' }, reference: 'wire 42' }, { 'idempotency-key': 'wire-42' });
      expect(retry.json()).toMatchObject({ balance: { amountMicros: 100_000_000 } });
      expect((await get(`/v1/tenants/${tenantId}/billing`, demoKey)).json()).toMatchObject({ balance: { amountMicros: 100_000_000, currency: 'CNY' } });
      expect((await get('/v1/ledger/trial-balance', opKey)).json()).toMatchObject({ balanced: true });
    });

    it('refuses a job over the monthly budget, saying how to fix it', async () => {
      const url = `/v1/tenants/${tenantId}/billing`;
      expectProblem(await patch(url, opKey, { budgetLimit: { amountMicros: 1, currency: 'USD' } }), 422, 'validation_failed', { field: 'budgetLimit.currency', detail: /CNY/ });
      expectProblem(await patch(url, opKey, { budgetLimit: { amountMicros: -1, currency: 'CNY' } }), 422, 'validation_failed', { field: 'budgetLimit.amountMicros' });
      expectProblem(await patch(url, opKey, { paymentMode: 'credit-card' }), 422, 'validation_failed', { field: 'paymentMode', detail: /prepaid or postpaid/ });
      const set = await patch(url, opKey, { budgetLimit: { amountMicros: 1, currency: 'CNY' } });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json()).toMatchObject({ budgetLimit: { amountMicros: 1, currency: 'CNY' }, paymentMode: 'postpaid' });
      // A tenant admin can lower it but not raise it.
      expectProblem(await patch(url, demoKey, { budgetLimit: { amountMicros: 1_000_000_000, currency: 'CNY' } }), 422, 'validation_failed', { field: 'budgetLimit', detail: /operator/ });

      const before = await writes();
      const res = await post('/v1/jobs', demoKey, { command: ['python', 'train.py'], gpus: 1 });
      const problem = expectProblem(res, 402, 'budget_exceeded', { field: 'budget', detail: /raise the budget/ });
      expect(problem.detail).toMatch(/ask for less/);
      expect(problem.detail).toMatch(/budget of CNY 0\.00/);
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 }), 402, 'budget_exceeded', { detail: /raise the budget/ });
      expect(await writes()).toEqual(before);

      // Raised again by an operator: it goes through.
      expect((await patch(url, opKey, { budgetLimit: null })).json()).toMatchObject({ budgetLimit: null });
      expect((await post('/v1/jobs', demoKey, { command: ['python', 'train.py'], gpus: 1 })).statusCode).toBe(201);
    });

    it('refuses prepaid work with no money until a top-up', async () => {
      const url = `/v1/tenants/${tenantId}/billing`;
      expectProblem(await patch(url, demoKey, { paymentMode: 'prepaid' }), 422, 'validation_failed', { field: 'paymentMode', detail: /operator/ });
      const set = await patch(url, opKey, { paymentMode: 'prepaid' });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json()).toMatchObject({ paymentMode: 'prepaid', balance: { amountMicros: 0, currency: 'CNY' } });

      const before = await writes();
      expectProblem(await post('/v1/jobs', demoKey, { command: ['python', 'train.py'], gpuMilli: 250 }), 402, 'payment_required', { field: 'balance', detail: /top up/ });
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 }), 402, 'payment_required', { detail: /top up/ });
      expect(await writes()).toEqual(before);

      await post(`/v1/tenants/${tenantId}/top-ups`, opKey, { amount: { amountMicros: 50_000_000, currency: 'CNY' } });
      expect((await post('/v1/jobs', demoKey, { command: ['python', 'train.py'], gpuMilli: 250 })).statusCode).toBe(201);
    });

    it('never refunds more than was charged', async () => {
      const url = `/v1/tenants/${tenantId}/refunds`;
      const ledger = await count('ledger_transactions');
      expectProblem(await post(url, demoKey, { amount: { amountMicros: 1, currency: 'CNY' }, reason: 'sorry' }), 403, 'forbidden');
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1, currency: 'CNY' }, reason: 'sorry' }), 422, 'validation_failed', { field: 'amount.amountMicros', detail: /at most 0 micro-units/ });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1, currency: 'CNY' }, reason: '' }), 422, 'validation_failed', { field: 'reason' });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1, currency: 'CNY' } }), 422, 'validation_failed', { field: 'reason' });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1, currency: 'USD' }, reason: 'sorry' }), 422, 'validation_failed', { field: 'amount.currency' });
      expect(await count('ledger_transactions')).toBe(ledger);

      const { id } = await runJobToEnd();
      const charged = ((await get(`/v1/jobs/${id}`, demoKey)).json() as { cost: { charged: MoneyBody } }).cost.charged.amountMicros;
      expect(charged).toBeGreaterThan(0);
      expectProblem(await post(url, opKey, { amount: { amountMicros: charged + 1, currency: 'CNY' }, reason: 'sorry', jobId: id }), 422, 'validation_failed', {
        field: 'amount.amountMicros',
        detail: new RegExp(`at most ${charged} micro-units`),
      });
      expectProblem(await post(url, opKey, { amount: { amountMicros: 1, currency: 'CNY' }, reason: 'sorry', jobId: 'job_01ARZ3NDEKTSV4RRFFQ69G5FAV' }), 404, 'not_found');
      const half = await post(url, opKey, { amount: { amountMicros: Math.floor(charged / 2), currency: 'CNY' }, reason: 'slow node', jobId: id });
      expect(half.statusCode, half.body).toBe(200);
      // What is left to refund shrinks by what was refunded.
      const rest = charged - Math.floor(charged / 2);
      expectProblem(await post(url, opKey, { amount: { amountMicros: rest + 1, currency: 'CNY' }, reason: 'more', jobId: id }), 422, 'validation_failed', { detail: new RegExp(`at most ${rest} micro-units`) });
      expectProblem(await post(url, opKey, { amount: { amountMicros: rest + 1, currency: 'CNY' }, reason: 'more' }), 422, 'validation_failed', { detail: new RegExp(`at most ${rest} micro-units`) });
      expect((await get('/v1/ledger/trial-balance', opKey)).json()).toMatchObject({ balanced: true });
    });
  });

  describe('invoices and the market report', () => {
    it('invoices a metered job to the micro-unit, as JSON and as a printable page', async () => {
      const { id } = await runJobToEnd();
      const detail = (await get(`/v1/jobs/${id}`, demoKey)).json() as { state: string; cost: { charged: MoneyBody; leases: Array<{ pricePerGpuHour: MoneyBody; startAt: number; endAt: number }> } };
      expect(detail.state).toBe('succeeded');
      const charged = detail.cost.charged;
      expect(charged.currency).toBe('CNY');
      expect(charged.amountMicros).toBeGreaterThan(0);
      const lease = detail.cost.leases[0]!;
      expect(charged.amountMicros).toBe(chargeMicros(lease.pricePerGpuHour.amountMicros, 500, lease.endAt - lease.startAt));

      const period = new Date(h.clock.now()).toISOString().slice(0, 7);
      const res = await get(`/v1/tenants/${tenantId}/invoices/${period}`, demoKey);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      const invoice = res.json() as { period: string; tenantId: string; lines: Array<{ jobId: string; amount: MoneyBody; gpuMilli: number; tier: string }>; usageSubtotal: MoneyBody; subtotal: MoneyBody; total: MoneyBody; taxes: { amount: MoneyBody } };
      expect(invoice).toMatchObject({ period, tenantId });
      expect(invoice.lines.map((l) => l.jobId)).toEqual([id]);
      expect(invoice.lines[0]).toMatchObject({ gpuMilli: 500, tier: 'on-demand' });
      expect(invoice.lines.reduce((s, l) => s + l.amount.amountMicros, 0)).toBe(invoice.usageSubtotal.amountMicros);
      expect(invoice.usageSubtotal).toEqual(charged);
      expect(invoice.total.amountMicros).toBe(invoice.subtotal.amountMicros + invoice.taxes.amount.amountMicros);
      // The operator reads the same invoice.
      expect((await get(`/v1/tenants/${tenantId}/invoices/${period}`, opKey)).json()).toMatchObject({ usageSubtotal: charged });

      for (const [label, url, headers] of [
        ['?format=html', `/v1/tenants/${tenantId}/invoices/${period}?format=html`, {}],
        ['Accept: text/html', `/v1/tenants/${tenantId}/invoices/${period}`, { accept: 'text/html,application/xhtml+xml' }],
      ] as const) {
        const page = await get(url, demoKey, headers);
        expect(page.statusCode, label).toBe(200);
        expect(page.headers['content-type'], label).toMatch(/^text\/html/);
        expect(page.body, label).toMatch(/^<!doctype html>/);
        expect(page.body, label).toContain(id);
        expect(page.body, label).toContain(printed(invoice.total));
        expect(page.body, label).toContain(printed(charged));
      }
      // ?format=json wins over the Accept header.
      const json = await get(`/v1/tenants/${tenantId}/invoices/${period}?format=json`, demoKey, { accept: 'text/html' });
      expect(json.headers['content-type']).toMatch(/application\/json/);
      expect(json.json()).toMatchObject({ usageSubtotal: charged });

      // An empty month is an empty invoice, not an error.
      expect((await get(`/v1/tenants/${tenantId}/invoices/2020-01`, demoKey)).json()).toMatchObject({ lines: [], total: { amountMicros: 0, currency: 'CNY' } });
    });

    it('refuses malformed periods and other tenants invoices', async () => {
      for (const bad of ['2026-13', '2026-00', '2026-1', 'november', '2026-11-01']) {
        expectProblem(await get(`/v1/tenants/${tenantId}/invoices/${bad}`, demoKey), 422, 'validation_failed', { field: 'period', detail: /YYYY-MM/ }, bad);
      }
      expectProblem(await get(`/v1/tenants/${tenantId}/invoices/2026-11?format=pdf`, demoKey), 422, 'validation_failed', { field: 'format' });
      const rival = await addTenant(h, 'rival');
      expectProblem(await get(`/v1/tenants/${rival.id}/invoices/2026-11`, demoKey), 403, 'forbidden');
      expectProblem(await get(`/v1/tenants/${rival.id}/invoices/2026-11?format=html`, demoKey), 403, 'forbidden');
      expectProblem(await get(`/v1/tenants/${rival.id}/billing`, demoKey), 403, 'forbidden');
      expect((await get(`/v1/tenants/${rival.id}/invoices/2026-11`, opKey)).statusCode).toBe(200);
      expectProblem(await get('/v1/tenants/ten_01ARZ3NDEKTSV4RRFFQ69G5FAV/invoices/2026-11', opKey), 404, 'not_found');
    });

    it('reports capacity, sold hours and revenue to operators only', async () => {
      h.clock.advance(3_600_000);
      const { id } = await runJobToEnd();
      const charged = ((await get(`/v1/jobs/${id}`, demoKey)).json() as { cost: { charged: MoneyBody } }).cost.charged;
      const res = await get('/v1/reports/market', opKey);
      expect(res.statusCode, res.body).toBe(200);
      const report = res.json() as {
        currency: string;
        models: Array<{ model: string; capacityGpuHours: number; soldGpuHours: number; idleGpuHours: number; revenue: MoneyBody }>;
        totals: { capacityGpuHours: number; soldGpuHours: number; revenue: MoneyBody };
        revenueByTier: Record<string, MoneyBody>;
      };
      expect(report.currency).toBe('CNY');
      const h100 = report.models.find((m) => m.model === 'H100')!;
      // 8 GPUs registered 2 h ago; half a GPU sold for 1 h.
      expect(h100.capacityGpuHours).toBeCloseTo(16, 6);
      expect(h100.soldGpuHours).toBeCloseTo(0.5, 6);
      expect(h100.idleGpuHours).toBeCloseTo(15.5, 6);
      expect(h100.revenue).toEqual(charged);
      expect(report.totals.capacityGpuHours).toBeGreaterThan(0);
      expect(report.totals.soldGpuHours).toBeGreaterThan(0);
      expect(report.totals.revenue).toEqual(charged);
      expect(report.revenueByTier['on-demand']).toEqual(charged);

      expectProblem(await get('/v1/reports/market', demoKey), 403, 'forbidden');
      expectProblem(await get(`/v1/reports/market?from=${h.clock.now()}&to=${h.clock.now() - 1}`, opKey), 422, 'validation_failed', { field: 'to' });
      expectProblem(await get('/v1/reports/market?from=-5', opKey), 422, 'validation_failed', { field: 'from' });
      expectProblem(await get('/v1/reports/market?month=1', opKey), 422, 'validation_failed', { field: 'month' });
    });
  });

  it('documents the market and billing routes in OpenAPI', async () => {
    const spec = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(spec.statusCode).toBe(200);
    const paths = Object.keys((spec.json() as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/quotes',
        '/v1/reservations',
        '/v1/reservations/{id}',
        '/v1/prices',
        '/v1/prices/{model}',
        '/v1/market/settings',
        '/v1/ledger/trial-balance',
        '/v1/tenants/{id}/billing',
        '/v1/tenants/{id}/top-ups',
        '/v1/tenants/{id}/refunds',
        '/v1/tenants/{id}/invoices/{period}',
        '/v1/reports/market',
      ]),
    );
  });

  describe('edge cases that once slipped through', () => {
    it('answers 4xx, never 500 or a silent 2xx, and writes nothing', async () => {
      const before = await writes();
      const huge = { command: ['x'], gpuMilli: 500, tier: 'spot', maxPricePerHour: { amountMicros: 9_007_199_254_740_991, currency: 'CNY' } };
      expectProblem(await post('/v1/jobs', demoKey, huge), 422, 'validation_failed', { field: 'maxPricePerHour.amountMicros' }, 'huge bid');
      expectProblem(await post('/v1/quotes', demoKey, { gpuMilli: 500, tier: 'spot', hours: 1, maxPricePerHour: huge.maxPricePerHour }), 422, 'validation_failed', { field: 'maxPricePerHour.amountMicros' }, 'huge quote bid');
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 1e-9 }), 422, 'validation_failed', { field: 'hours' }, 'a term of nothing');
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24, startAt: 9_007_199_254_740_991 }), 422, 'validation_failed', { field: 'startAt' }, 'start past the calendar');
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 }, { 'idempotency-key': '' }), 422, 'validation_failed', { field: 'Idempotency-Key' }, 'empty key');
      expectProblem(await post('/v1/quotes', demoKey, { gpuMilli: 100, hours: 1, cpuMilli: -5, memoryMib: -1 }), 422, 'validation_failed', { field: 'cpuMilli' }, 'negative cpu');
      expectProblem(await post('/v1/quotes', demoKey, { gpus: 1, tier: 'reserved', hours: 2 }), 422, 'validation_failed', { field: 'hours' }, 'reserved for 2 h');
      expectProblem(await get(`/v1/tenants/${tenantId}/invoices/0026-11`, demoKey), 422, 'validation_failed', { field: 'period' }, 'year 26');
      expectProblem(await get('/v1/reports/market?to=100000000000000000', opKey), 422, 'validation_failed', { field: 'to' }, 'report to the far future');
      expect(await writes()).toEqual(before);
    });

    it('refuses a reused Idempotency-Key with a different body for reservations and top-ups', async () => {
      expect((await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 }, { 'idempotency-key': 'k1' })).statusCode).toBe(201);
      expectProblem(await post('/v1/reservations', demoKey, { model: 'H100', gpus: 3, hours: 48 }, { 'idempotency-key': 'k1' }), 409, 'idempotency_conflict', { field: 'Idempotency-Key' });
      const topUp = (amountMicros: number) => post(`/v1/tenants/${tenantId}/top-ups`, opKey, { amount: { amountMicros, currency: 'CNY' } }, { 'idempotency-key': 't1' });
      expect((await topUp(5_000_000)).statusCode).toBe(200);
      expectProblem(await topUp(7_000_000), 409, 'idempotency_conflict', { field: 'Idempotency-Key' });
      expect(((await get(`/v1/tenants/${tenantId}/billing`, opKey)).json() as { balance: MoneyBody }).balance.amountMicros).toBe(5_000_000 - 0 - (await reservationTotal()));
    });

    it('refuses a reserved job larger than any of the tenant\'s reservations', async () => {
      expect((await post('/v1/reservations', demoKey, { model: 'H100', gpus: 1, hours: 24 })).statusCode).toBe(201);
      expectProblem(await post('/v1/jobs', demoKey, { command: ['x'], gpus: 4, tier: 'reserved' }), 422, 'validation_failed', { field: 'tier', detail: /quota/ });
    });
  });

  async function reservationTotal(): Promise<number> {
    const rows = await h.ts.store.db.selectFrom('reservations').select('total_micros').execute();
    return rows.reduce((x, r) => x + r.total_micros, 0);
  }

  it('lists the accelerator catalog in use with its specs and power', async () => {
    const res = await get('/v1/catalog', demoKey);
    expect(res.statusCode).toBe(200);
    const models = (res.json() as { models: Array<{ id: string; tdpMilliwatts: number; idleMilliwatts: number; fp64Gflops: number | null }> }).models;
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['H200', 'H100', 'A100-80GB', 'A100-40GB', 'A800', 'H800', 'L40S', 'RTX4090', '910B']));
    expect(models.find((m) => m.id === 'H200')).toMatchObject({ tdpMilliwatts: 700_000, idleMilliwatts: 80_300 });
    expect((await app.inject({ method: 'GET', url: '/v1/catalog' })).statusCode).toBe(401);
  });
});
