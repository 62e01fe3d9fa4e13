import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';

const dialects = await testDialects();

describe.each(dialects)('HTTP API on %s', (dialect) => {
  let h: Harness;
  let app: App;
  let demoKey: string;
  let opKey: string;

  beforeEach(async () => {
    h = await createHarness(dialect);
    await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)));
    app = await buildApp({ control: h.control, version: 'test' });
    demoKey = h.seed.demoKey!;
    opKey = h.seed.operatorKey!;
  });
  afterEach(async () => {
    await app.close();
    await h.dispose();
  });

  const post = (url: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = (url: string, key: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  const jobCount = async () => Number((await h.ts.store.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('serves OpenAPI and docs without a key', async () => {
    const spec = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(spec.statusCode).toBe(200);
    const doc = spec.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/cancel', '/v1/jobs/{id}/logs', '/v1/nodes', '/v1/usage', '/v1/keys', '/v1/tenants']));
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
  });

  it('answers problems as application/problem+json with a stable code', async () => {
    const noKey = await app.inject({ method: 'GET', url: '/v1/jobs' });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(noKey.json()).toMatchObject({ code: 'unauthorized', status: 401 });
    const badKey = await get('/v1/jobs', 'unk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(badKey.json().code).toBe('unauthorized');
    const missing = await get('/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV', demoKey);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('rejects malformed and mistyped submissions naming the field, leaving no row', async () => {
    const before = await jobCount();
    const malformed = await post('/v1/jobs', demoKey, '{"command": ["x"], "gpus": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('malformed_json');

    const cases: Array<[unknown, number, string]> = [
      [{ command: ['x'], gpus: '2' }, 422, 'gpus'],
      [{ command: ['x'], gpus: -1 }, 422, 'gpus'],
      [{ command: ['x'], gpus: 1.5 }, 422, 'gpus'],
      [{ command: ['x'], gpuMilli: 0 }, 422, 'gpuMilli'],
      [{ command: ['x'], gpuMilli: 1000 }, 422, 'gpuMilli'],
      [{ command: ['x'], gpuMilli: 500, models: ['TPU9'] }, 422, 'models[0]'],
      [{ command: ['x'], gpus: 16 }, 422, 'gpus'],
      [{ command: 'python train.py', gpus: 1 }, 422, 'command'],
      [{ command: ['x'], gpus: 1, color: 'blue' }, 422, 'color'],
      [{ gpus: 1 }, 422, 'command'],
      [{ command: ['x'.repeat(1024 * 1024)], gpus: 1 }, 422, 'command'],
    ];
    for (const [body, status, field] of cases) {
      const res = await post('/v1/jobs', demoKey, body);
      const problem = res.json() as { code: string; errors: { field: string; message: string }[]; detail: string };
      expect(res.statusCode, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(problem.errors.map((e) => e.field), problem.detail).toContain(field);
    }
    const huge = await post('/v1/jobs', demoKey, { command: ['x'.repeat(5 * 1024 * 1024)], gpus: 1 });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('payload_too_large');
    expect(await jobCount()).toBe(before);
  });

  it('submits once per Idempotency-Key', async () => {
    const body = { command: ['sh', '-c', 'echo hello'], gpuMilli: 500 };
    const a = await post('/v1/jobs', demoKey, body, { 'idempotency-key': 'abc' });
    const b = await post('/v1/jobs', demoKey, body, { 'idempotency-key': 'abc' });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(200);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json().id).toBe(a.json().id);
    const c = await post('/v1/jobs', demoKey, { ...body, gpuMilli: 400 }, { 'idempotency-key': 'abc' });
    expect(c.statusCode).toBe(409);
    expect(c.json().code).toBe('idempotency_conflict');
    expect(await jobCount()).toBe(1);
  });

  it('keeps tenants apart over HTTP and enforces roles', async () => {
    const rival = (await post('/v1/tenants', opKey, { name: 'rival' })).json() as { id: string };
    const member = (await post(`/v1/tenants/${rival.id}/members`, opKey, { name: 'eve', role: 'member' })).json() as { id: string };
    const rivalKey = ((await post('/v1/keys', opKey, { memberId: member.id })).json() as { key: string }).key;

    const job = (await post('/v1/jobs', demoKey, { command: ['true'], gpus: 1 })).json() as { id: string };
    expect((await get(`/v1/jobs/${job.id}`, rivalKey)).statusCode).toBe(404);
    expect((await get(`/v1/jobs/${job.id}/logs`, rivalKey)).statusCode).toBe(404);
    expect((await post(`/v1/jobs/${job.id}/cancel`, rivalKey, {})).statusCode).toBe(404);
    expect(((await get('/v1/jobs', rivalKey)).json() as { items: unknown[] }).items).toHaveLength(0);
    expect((await get(`/v1/usage?tenantId=${h.seed.tenantId}`, rivalKey)).statusCode).toBe(403);
    expect((await get('/v1/nodes', rivalKey)).statusCode).toBe(403);
    expect((await post('/v1/tenants', demoKey, { name: 'sneaky' })).statusCode).toBe(403);
    expect((await post(`/v1/tenants/${rival.id}/members`, rivalKey, { name: 'mallory' })).statusCode).toBe(403);
    const keys = (await get('/v1/keys', rivalKey)).json() as { items: { memberId: string }[] };
    expect(keys.items.every((k) => k.memberId === member.id)).toBe(true);
    const rivalEvents = (await get('/v1/events', rivalKey)).json() as { items: { tenantId: string }[] };
    expect(rivalEvents.items.every((e) => e.tenantId === rival.id)).toBe(true);
    const demoEvents = (await get(`/v1/events?subjectId=${job.id}`, demoKey)).json() as { items: { type: string; message: string }[] };
    expect(demoEvents.items.map((e) => e.type)).toContain('job.state');
    expect(((await get(`/v1/events?subjectId=${job.id}`, rivalKey)).json() as { items: unknown[] }).items).toHaveLength(0);
    // Agent tokens cannot act as tenants, tenants cannot act as agents.
    expect((await get('/v1/jobs', h.seed.agentToken)).statusCode).toBe(403);
    expect((await post('/v1/agent/heartbeat', demoKey, { nodeId: 'x', at: 0, running: [] })).statusCode).toBe(403);
  });

  it('says who a key is and lets operators (only) make agent tokens that register nodes', async () => {
    expect((await get('/v1/me', demoKey)).json()).toMatchObject({ role: 'tenant-admin', tenantName: 'demo' });
    expect((await get('/v1/me', opKey)).json()).toMatchObject({ role: 'operator', tenantId: null });
    expect((await post('/v1/centers/demo-center/agent-tokens', demoKey, {})).statusCode).toBe(403);
    const token = await post('/v1/centers/demo-center/agent-tokens', opKey, { name: 'rack 7' });
    expect(token.statusCode).toBe(201);
    const { key } = token.json() as { key: string };
    const reg = await post('/v1/agent/register', key, {
      nodeName: 'rack7-node1',
      hostname: 'rack7-node1',
      agentVersion: 'test',
      cpuMilli: 1000,
      memoryMib: 1024,
      devices: [{ index: 0, uuid: 'GPU-x', name: 'NVIDIA H200', model: 'H200', memoryMib: 143771 }],
      runningJobIds: [],
    });
    expect(reg.statusCode).toBe(200);
    expect((await get('/v1/nodes/rack7-node1', opKey)).json()).toMatchObject({ status: 'up', gpus: 1 });
    // The agent token is no key for the tenant API.
    expect((await get('/v1/jobs', key)).statusCode).toBe(403);
  });

  it('lists with filters and a cursor, cancels, and cordons', async () => {
    for (let i = 0; i < 3; i++) await post('/v1/jobs', demoKey, { command: ['true'], gpus: 8, name: `n${i}` });
    const page1 = (await get('/v1/jobs?limit=2', demoKey)).json() as { items: { id: string }[]; nextCursor: string };
    expect(page1.items).toHaveLength(2);
    const page2 = (await get(`/v1/jobs?limit=2&cursor=${page1.nextCursor}`, demoKey)).json() as { items: unknown[]; nextCursor: null };
    expect(page2.items).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const cancelled = await post(`/v1/jobs/${page1.items[0]!.id}/cancel`, demoKey, { reason: 'test' });
    expect(cancelled.json().state).toBe('cancelled');
    expect(((await get('/v1/jobs?state=cancelled', demoKey)).json() as { items: unknown[] }).items).toHaveLength(1);
    expect((await get('/v1/jobs?state=bogus', demoKey)).statusCode).toBe(422);
    const cordoned = await post('/v1/nodes/node-a/cordon', opKey, { reason: 'fan' });
    expect(cordoned.json()).toMatchObject({ cordoned: true, cordonReason: 'fan' });
    expect((await post('/v1/nodes/node-a/cordon', demoKey, {})).statusCode).toBe(403);
  });
});
