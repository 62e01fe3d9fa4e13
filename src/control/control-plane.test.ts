import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { UnidleError } from '../domain/errors.js';
import { AgentService } from './agent-service.js';

const dialects = await testDialects();

async function countRows(h: Harness, table: 'jobs' | 'events' | 'usage' | 'allocations'): Promise<number> {
  const r = await h.ts.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(dialects)('control plane on %s', (dialect) => {
  let h: Harness;
  let nodeId: string;

  beforeEach(async () => {
    h = await createHarness(dialect);
    const reg = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)));
    nodeId = reg.nodeId;
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('runs a shared-GPU job end to end and meters exactly its running time', async () => {
    const { job } = await h.control.jobs.submit(h.demo, { command: ['sh', '-c', 'echo hello'], gpuMilli: 500 });
    expect(job.state).toBe('queued');
    const cycle = await h.control.scheduling.run();
    expect(cycle.placed).toBe(1);

    const t0 = h.clock.now();
    const hb = await h.control.agents.heartbeat(h.agent, { nodeId, at: t0, running: [] });
    expect(hb.start).toHaveLength(1);
    expect(hb.start[0]).toMatchObject({ jobId: job.id, gpuMilli: 500, deviceIndexes: [0] });

    await h.control.agents.started(h.agent, job.id, { nodeId, startedAt: t0, pid: 4242 });
    h.clock.advance(5000);
    await h.control.agents.heartbeat(h.agent, { nodeId, at: h.clock.now(), running: [{ jobId: job.id, pid: 4242, startedAt: t0 }] });
    const pass = await h.control.metering.pass();
    expect(pass.spans).toBe(1);
    // Replaying a pass with nothing new confirmed writes nothing.
    expect((await h.control.metering.pass()).spans).toBe(0);

    const ack = await h.control.agents.appendLog(h.agent, job.id, { nodeId, stream: 'stdout', offset: 0, dataBase64: Buffer.from('hello\n').toString('base64') });
    expect(ack.nextOffset).toBe(6);
    // A resend after a lost ack adds nothing; an overlapping one adds only the new bytes.
    await h.control.agents.appendLog(h.agent, job.id, { nodeId, stream: 'stdout', offset: 0, dataBase64: Buffer.from('hello\n').toString('base64') });
    const overlap = await h.control.agents.appendLog(h.agent, job.id, { nodeId, stream: 'stdout', offset: 3, dataBase64: Buffer.from('lo\nbye\n').toString('base64') });
    expect(overlap.nextOffset).toBe(10);

    h.clock.advance(2000);
    const end = h.clock.now();
    const fin = await h.control.agents.finished(h.agent, job.id, { nodeId, cause: 'exited', exitCode: 0, signal: null, startedAt: t0, endedAt: end, message: null });
    expect(fin.state).toBe('succeeded');
    // The agent retries a report whose ack it missed: nothing changes.
    await h.control.agents.finished(h.agent, job.id, { nodeId, cause: 'exited', exitCode: 0, signal: null, startedAt: t0, endedAt: end, message: null });

    const detail = await h.control.jobs.get(h.demo, job.id);
    expect(detail.state).toBe('succeeded');
    expect(detail.usage.gpuMilliSeconds).toBe(500 * 7);
    expect(detail.transitions.map((t) => t.to)).toEqual(['queued', 'scheduled', 'running', 'succeeded']);
    const logs = await h.control.jobs.logs(h.demo, job.id, {});
    expect(logs.entries.map((e) => e.text).join('')).toBe('hello\nbye\n');

    const node = await h.control.inventory.getNode(nodeId);
    expect(node.allocatedGpuMilli).toBe(0);
    expect(node.allocatedCpuMilli).toBe(0);
    const usage = await h.control.usage.report(h.demo, {});
    expect(usage.total.gpuMilliSeconds).toBe(3500);
    expect(usage.rows[0]).toMatchObject({ model: 'H100', tenantName: 'demo' });
  });

  it('places whole GPUs on one node and explains why a job waits', async () => {
    const a = await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 6 });
    const b = await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 4 });
    await h.control.scheduling.run();
    const ja = await h.control.jobs.get(h.demo, a.job.id);
    const jb = await h.control.jobs.get(h.demo, b.job.id);
    expect(ja.state).toBe('scheduled');
    expect(ja.allocations.map((x) => x.deviceIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(jb.state).toBe('queued');
    expect(jb.stateReason).toMatch(/fewer than 4 fully free GPUs/);
  });

  it('cancels queued jobs at once and running ones through the agent', async () => {
    const queued = await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 8 });
    const blocked = await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 8 });
    await h.control.scheduling.run();
    const c = await h.control.jobs.cancel(h.demo, blocked.job.id);
    expect(c.state).toBe('cancelled');
    await expect(h.control.jobs.cancel(h.demo, blocked.job.id)).rejects.toThrow(/already ended/);

    const t0 = h.clock.now();
    await h.control.agents.started(h.agent, queued.job.id, { nodeId, startedAt: t0, pid: 1 });
    await h.control.jobs.cancel(h.demo, queued.job.id, 'no longer needed');
    const hb = await h.control.agents.heartbeat(h.agent, { nodeId, at: t0 + 1000, running: [{ jobId: queued.job.id, pid: 1, startedAt: t0 }] });
    // The job is told why before its SIGTERM (UNIDLE_NOTICE_FILE), and that it will not come back.
    expect(hb.stop).toEqual([
      { jobId: queued.job.id, reason: 'cancelled', graceMs: 2000, notice: { kind: 'cancel', reason: 'cancelled by demo-admin: no longer needed', deadlineAt: h.clock.now() + 2000, requeue: false } },
    ]);
    h.clock.advance(3000);
    await h.control.agents.finished(h.agent, queued.job.id, { nodeId, cause: 'stopped', exitCode: null, signal: 'SIGTERM', startedAt: t0, endedAt: t0 + 3000, message: null });
    const done = await h.control.jobs.get(h.demo, queued.job.id);
    expect(done.state).toBe('cancelled');
    expect(done.stateReason).toMatch(/no longer needed/);
    expect(done.usage.gpuMilliSeconds).toBe(8000 * 3);
  });

  it('marks a silent node down and its jobs lost, billing only confirmed time', async () => {
    const { job } = await h.control.jobs.submit(h.demo, { command: ['sleep', '100'], gpus: 1 });
    await h.control.scheduling.run();
    const t0 = h.clock.now();
    await h.control.agents.started(h.agent, job.id, { nodeId, startedAt: t0, pid: 1 });
    h.clock.advance(4000);
    await h.control.agents.heartbeat(h.agent, { nodeId, at: h.clock.now(), running: [{ jobId: job.id, pid: 1, startedAt: t0 }] });
    h.clock.advance(16_000);
    const result = await h.control.monitor.check();
    expect(result).toEqual({ nodesDown: 1, jobsLost: 1 });
    const lost = await h.control.jobs.get(h.demo, job.id);
    expect(lost.state).toBe('lost');
    expect(lost.stateReason).toMatch(/missed heartbeats/);
    expect(lost.usage.gpuMilliSeconds).toBe(1000 * 4);
    const node = await h.control.inventory.getNode(nodeId);
    expect(node.status).toBe('down');
    expect(node.allocatedGpuMilli).toBe(0);
    // The agent comes back and still runs the job: it is told to stop it.
    const hb = await h.control.agents.heartbeat(h.agent, { nodeId, at: h.clock.now(), running: [{ jobId: job.id, pid: 1, startedAt: t0 }] });
    expect(hb.stop.map((s) => s.jobId)).toEqual([job.id]);
    expect((await h.control.inventory.getNode(nodeId)).status).toBe('up');
  });

  it('loses a job its agent stopped listing, but not one listed by an agent whose clock is behind', async () => {
    const forgotten = await h.control.jobs.submit(h.demo, { command: ['sleep', '1000'], gpus: 1 });
    const skewed = await h.control.jobs.submit(h.demo, { command: ['sleep', '1000'], gpus: 1 });
    await h.control.scheduling.run();
    const behind = 120_000; // the agent's clock runs two minutes slow
    const t0 = h.clock.now() - behind;
    await h.control.agents.started(h.agent, forgotten.job.id, { nodeId, startedAt: t0, pid: 1 });
    await h.control.agents.started(h.agent, skewed.job.id, { nodeId, startedAt: t0, pid: 2 });
    for (let i = 1; i <= 7; i++) {
      h.clock.advance(10_000);
      await h.control.agents.heartbeat(h.agent, { nodeId, at: h.clock.now() - behind, running: [{ jobId: skewed.job.id, pid: 2, startedAt: t0 }] });
      await h.control.monitor.check();
    }
    expect((await h.control.jobs.get(h.demo, forgotten.job.id)).stateReason).toMatch(/stopped reporting/);
    const alive = await h.control.jobs.get(h.demo, skewed.job.id);
    expect(alive.state).toBe('running');
    await h.control.metering.pass();
    // Billed on the agent's own clock: 70 s of heartbeats after its recorded start.
    expect((await h.control.jobs.get(h.demo, skewed.job.id)).usage.gpuMilliSeconds).toBe(1000 * 70);
  });

  it('creates one job per idempotency key and refuses the key for another body', async () => {
    const first = await h.control.jobs.submit(h.demo, { command: ['true'], gpuMilli: 250 }, 'key-1');
    const again = await h.control.jobs.submit(h.demo, { command: ['true'], gpuMilli: 250 }, 'key-1');
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    await expect(h.control.jobs.submit(h.demo, { command: ['false'], gpuMilli: 250 }, 'key-1')).rejects.toMatchObject({ code: 'idempotency_conflict' });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => h.control.jobs.submit(h.demo, { command: ['true'], gpus: 1 }, 'key-2')));
    expect(new Set(concurrent.map((r) => r.job.id)).size).toBe(1);
    expect(await countRows(h, 'jobs')).toBe(2);
  });

  it('rejects bad input with the field to fix and leaves no row behind', async () => {
    const jobsBefore = await countRows(h, 'jobs');
    const eventsBefore = await countRows(h, 'events');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ command: ['x'], gpus: -1 }, 'gpus'],
      [{ command: ['x'], gpus: 1.5 }, 'gpus'],
      [{ command: ['x'], gpuMilli: 0 }, 'gpuMilli'],
      [{ command: ['x'], gpuMilli: 1000 }, 'gpuMilli'],
      [{ command: ['x'], gpuMilli: 100, models: ['Z9000'] }, 'models[0]'],
      [{ command: ['x'], gpus: 9 }, 'gpus'],
      [{ command: ['x'.repeat(1024 * 1024)], gpus: 1 }, 'command'],
      [{ command: ['x'], gpus: 1, tier: 'gold' }, 'tier'],
      [{ command: [], gpus: 1 }, 'command'],
    ];
    for (const [body, field] of cases) {
      const err = await h.control.jobs.submit(h.demo, body as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(body).slice(0, 80)).toBeInstanceOf(UnidleError);
      expect((err as UnidleError).status).toBeGreaterThanOrEqual(400);
      expect((err as UnidleError).status).toBeLessThan(500);
      expect((err as UnidleError).problems.map((p) => p.field)).toContain(field);
    }
    expect(await countRows(h, 'jobs')).toBe(jobsBefore);
    expect(await countRows(h, 'events')).toBe(eventsBefore);
  });

  it('keeps tenants apart: jobs, logs, usage, members and keys', async () => {
    const other = await h.control.tenants.create(h.operator, { name: 'rival' });
    const rivalAdmin = await h.control.tenants.addMember(h.operator, other.id, { name: 'eve', role: 'tenant-admin' });
    const rivalKey = await h.control.keys.create(h.operator, { memberId: rivalAdmin.id });
    const rival = await h.control.keys.authenticate(rivalKey.key);

    const { job } = await h.control.jobs.submit(h.demo, { command: ['true'], gpuMilli: 100 });
    await expect(h.control.jobs.get(rival, job.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.control.jobs.cancel(rival, job.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.control.jobs.logs(rival, job.id, {})).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.control.jobs.list(rival, {})).items).toHaveLength(0);
    await expect(h.control.jobs.list(rival, { tenantId: h.seed.tenantId })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(h.control.usage.report(rival, { tenantId: h.seed.tenantId })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(h.control.tenants.listMembers(rival, 'demo')).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.control.keys.list(rival)).every((k) => k.tenantId === other.id)).toBe(true);
    const demoKeys = await h.control.keys.list(h.demo);
    await expect(h.control.keys.revoke(rival, demoKeys[0]!.id)).rejects.toMatchObject({ code: 'not_found' });
    const demoAdmin = demoKeys[0]!.memberId;
    await expect(h.control.keys.create(rival, { memberId: demoAdmin })).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.control.tenants.list(rival)).map((t) => t.name)).toEqual(['rival']);
    // The operator sees both.
    expect((await h.control.jobs.list(h.operator, {})).items).toHaveLength(1);
  });

  it('pages through jobs with a cursor and filters by state', async () => {
    for (let i = 0; i < 7; i++) {
      await h.control.jobs.submit(h.demo, { command: ['true'], gpuMilli: 100, name: `j${i}` });
      h.clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.control.jobs.list(h.demo, { limit: 3, cursor });
      seen.push(...page.items.map((j) => j.name!));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['j6', 'j5', 'j4', 'j3', 'j2', 'j1', 'j0']);
    expect((await h.control.jobs.list(h.demo, { state: ['running'] })).items).toHaveLength(0);
    await expect(h.control.jobs.list(h.demo, { cursor: 'garbage' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('caps the output kept per job, acknowledging the rest so the agent moves on', async () => {
    const agents = new AgentService(h.ts.store.db, h.clock, h.control.inventory, { ...AgentService.defaults(), maxLogBytesPerStream: 1024 }, h.control.market);
    const { job } = await h.control.jobs.submit(h.demo, { command: ['yes'], gpuMilli: 100 });
    await h.control.scheduling.run();
    const chunk = (offset: number, size: number) => agents.appendLog(h.agent, job.id, { nodeId, stream: 'stdout', offset, dataBase64: Buffer.alloc(size, 'y').toString('base64') });
    expect((await chunk(0, 1000)).nextOffset).toBe(1000);
    expect((await chunk(1000, 1000)).nextOffset).toBe(1024);
    expect((await chunk(1024, 976)).nextOffset).toBe(2000);
    expect((await chunk(2000, 5000)).nextOffset).toBe(7000);
    const text = (await h.control.jobs.logs(h.demo, job.id, {})).entries.map((e) => e.text).join('');
    expect(text.startsWith('y'.repeat(1024))).toBe(true);
    expect(text).toContain('output truncated after 1024 bytes');
    expect(text.length).toBeLessThan(1100);
  });

  it('places nothing on cordoned nodes', async () => {
    await h.control.inventory.setCordon(h.operator, 'node-a', { cordoned: true, reason: 'maintenance' });
    const { job } = await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 1 });
    await h.control.scheduling.run();
    const queued = await h.control.jobs.get(h.demo, job.id);
    expect(queued.state).toBe('queued');
    expect(queued.stateReason).toMatch(/cordoned/);
    await h.control.inventory.setCordon(h.operator, 'node-a', { cordoned: false });
    await h.control.scheduling.run();
    expect((await h.control.jobs.get(h.demo, job.id)).state).toBe('scheduled');
  });
});
