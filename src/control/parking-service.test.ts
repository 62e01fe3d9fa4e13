import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, silentLogger, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant, ScriptedAgent } from '../test-support/market-fixtures.js';
import { DEFAULT_PARKING, ParkingService, type ParkingOptions } from './parking-service.js';
import { commandPowerDriver } from './power/command-power-driver.js';
import { simulatedNodePowerDriver } from './power/node-power-driver.js';
import type { Principal } from './principal.js';

const dialects = await testDialects();
const MIN = 60_000;

describe.each(dialects)('node parking in the control plane on %s', (dialect) => {
  let h: Harness;
  let tenant: { id: string; p: Principal };
  let dir: string;

  beforeEach(async () => {
    h = await createHarness(dialect);
    tenant = await addTenant(h, 'acme', { paymentMode: 'postpaid' });
    dir = await mkdtemp(join(tmpdir(), 'unidle-parking-'));
  });
  afterEach(async () => {
    await h.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  function service(options: Partial<ParkingOptions> = {}): ParkingService {
    return new ParkingService(h.ts.store.db, h.clock, dialect, h.control.inventory, { ...DEFAULT_PARKING, policy: 'idle-timer', idleMs: 30 * MIN, driver: simulatedNodePowerDriver({ wakeMs: 2 * MIN }), ...options }, silentLogger);
  }

  async function node(name: string, gpus = 8): Promise<ScriptedAgent> {
    const { nodeId } = await h.control.agents.register(h.agent, registration(name, simulatedDevices(gpus)));
    return new ScriptedAgent(h, nodeId);
  }

  const power = async (name: string) => (await h.control.inventory.getNode(name)).powerState;

  it('parks a node empty for the idle time, never one with work, a cordon or a veto; a parked node takes no work', async () => {
    const a = await node('node-a');
    await node('node-b');
    await node('node-c');
    await node('node-d');
    const job = (await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 8 })).job;
    await h.control.scheduling.run();
    await a.beat();
    await h.control.inventory.setCordon(h.operator, 'node-c', { cordoned: true, reason: 'fan' });
    const parking = service();
    await parking.setVeto(h.operator, 'node-d', true, 'latency-critical inference');

    h.clock.advance(29 * MIN);
    expect((await parking.tick({ shortGpus: 0 })).parked).toEqual([]);
    h.clock.advance(2 * MIN);
    const r = await parking.tick({ shortGpus: 0 });
    expect(r.parked).toEqual(['node-b']);
    expect(await power('node-a')).toBe('on'); // holds job
    expect(await power('node-c')).toBe('on'); // cordoned
    expect(await power('node-d')).toBe('on'); // vetoed
    const b = await h.control.inventory.getNode('node-b');
    expect(b.powerState).toBe('parked');
    expect(b.powerChangedAt).toBe(h.clock.now());

    // node-d (vetoed, awake) takes the next whole node; work that fits nowhere else waits, and the
    // pending reason names the parked node.
    await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 8 });
    await h.control.scheduling.run();
    const waiting = (await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 8, models: ['H100'] })).job;
    const cycle = await h.control.scheduling.run();
    expect(cycle.shortGpus).toBe(8);
    const queued = await h.control.jobs.get(tenant.p, waiting.id);
    expect(queued.state).toBe('queued');
    expect(queued.stateReason).toMatch(/parked/);
    expect(job.id).toBeTruthy();
  });

  it('wakes parked nodes for queued work, finishes the wake after its latency, and the work is placed there', async () => {
    await node('node-a');
    const b = await node('node-b');
    const parking = service();
    h.clock.advance(31 * MIN);
    expect((await parking.tick({ shortGpus: 0 })).parked.sort()).toEqual(['node-a', 'node-b']);

    const job = (await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 4 })).job;
    const cycle = await h.control.scheduling.run();
    expect(cycle.shortGpus).toBe(4);
    const woke = await parking.tick({ shortGpus: cycle.shortGpus });
    expect(woke.woken).toHaveLength(1);
    const wokenName = woke.woken[0]!;
    expect(await power(wokenName)).toBe('waking');
    // Not up before the wake latency; the node monitor leaves silent parked/waking nodes alone.
    h.clock.advance(1 * MIN);
    expect((await parking.tick({ shortGpus: 4 })).awake).toEqual([]);
    expect((await parking.tick({ shortGpus: 4 })).woken).toEqual([]); // already waking covers it
    h.clock.advance(20 * MIN);
    await h.control.monitor.check();
    expect((await h.control.inventory.getNode(wokenName)).status).toBe('up');
    h.clock.set(h.clock.now());
    // The shortfall is from a pass before the node came up: it is not counted again (no second wake).
    const done = await parking.tick({ shortGpus: cycle.shortGpus, short: cycle.short, shortAt: h.clock.now() - 30 * MIN });
    expect(done.awake).toEqual([wokenName]);
    expect(done.woken).toEqual([]);
    expect(await power(wokenName)).toBe('on');
    await h.control.scheduling.run();
    const placed = await h.control.jobs.get(tenant.p, job.id);
    expect(placed.state).toBe('scheduled');
    void b;
    const events = await h.ts.store.db.selectFrom('events').select(['type']).where('subject_kind', '=', 'node').where('type', 'like', 'node.%').orderBy('id').execute();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['node.parked', 'node.waking', 'node.awake']));
  });

  it('queued work wakes a parked node of a model it can run, not the one parked longest', async () => {
    await node('node-h100');
    await h.control.agents.register(h.agent, registration('node-a100', simulatedDevices(8, 'A100-80GB')));
    const parking = service();
    await parking.park(h.operator, 'node-h100');
    h.clock.advance(5 * MIN);
    await parking.park(h.operator, 'node-a100');
    await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 4, models: ['A100-80GB'] });
    const cycle = await h.control.scheduling.run();
    expect(cycle.short).toEqual([{ gpus: 4, models: ['A100-80GB'], perNodeGpus: 4, nodes: 1 }]);
    const woke = await parking.tick({ shortGpus: cycle.shortGpus, short: cycle.short });
    expect(woke.woken).toEqual(['node-a100']);
    expect(await power('node-h100')).toBe('parked');
    // The A100 work is covered by the waking node; work for a model no node has wakes nothing.
    const again = await h.control.scheduling.run();
    const more = await parking.tick({ shortGpus: again.shortGpus + 4, short: [...again.short, { gpus: 4, models: ['L40S'] }] });
    expect(more.woken).toEqual([]);
    expect(await power('node-h100')).toBe('parked');
  });

  it('the unidle policy keeps a warm empty node of each model', async () => {
    await node('node-h1');
    await node('node-h2');
    await h.control.agents.register(h.agent, registration('node-a1', simulatedDevices(8, 'A100-80GB')));
    const parking = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0 });
    h.clock.advance(11 * MIN);
    // One H100 node parks; the other H100 node and the only A100 node stay awake, one per model.
    const parked = (await parking.tick({ shortGpus: 0 })).parked;
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatch(/^node-h/);
    expect(await power('node-a1')).toBe('on');
  });

  it('the unidle policy keeps each model its own forecast rise: the H100 pool that is about to fill stays awake', async () => {
    const DAY = 24 * 60 * MIN;
    // Three weeks of history, ending before 09:00 today: 12 H100 GPUs busy from 09:00 to 18:00 every
    // day (more than one node), and one A100 GPU from 00:00 to 06:00.
    const start = Date.UTC(2026, 10, 25, 9, 0) - 10 * MIN;
    h.clock.set(start);
    await node('node-h1');
    await node('node-h2');
    await h.control.agents.register(h.agent, registration('node-a1', simulatedDevices(8, 'A100-80GB')));
    await h.control.agents.register(h.agent, registration('node-a2', simulatedDevices(8, 'A100-80GB')));
    const db = h.ts.store.db;
    const { job } = await h.control.jobs.submit(tenant.p, { command: ['history'], gpus: 1 });
    const template = await db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
    await h.control.jobs.cancel(tenant.p, job.id);
    const devices = await db.selectFrom('devices').select(['id', 'node_id', 'idx', 'model']).orderBy('node_id').orderBy('idx').execute();
    const h100 = devices.filter((d) => d.model === 'H100');
    const a100 = devices.filter((d) => d.model === 'A100-80GB');
    const today = Math.floor(start / DAY) * DAY;
    const jobs = [];
    const allocations = [];
    for (let day = today - 21 * DAY; day < today; day += DAY) {
      const id = `job_hist_${day}`;
      jobs.push({ ...template, id, idempotency_key: null, state: 'succeeded' as const });
      const alloc = (d: (typeof devices)[number], from: number, to: number) => ({ id: `alc_${day}_${d.id}`, job_id: id, node_id: d.node_id, device_id: d.id, device_index: d.idx, model: d.model, gpu_milli: 1000, created_at: from, released_at: to });
      for (const d of h100.slice(0, 12)) allocations.push(alloc(d, day + 9 * 60 * MIN, day + 18 * 60 * MIN));
      allocations.push(alloc(a100[0]!, day, day + 6 * 60 * MIN));
    }
    await db.insertInto('jobs').values(jobs).execute();
    await db.insertInto('allocations').values(allocations).execute();

    const parking = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0 });
    h.clock.advance(11 * MIN);
    const status = await parking.status(h.operator);
    const pools = new Map(status.forecastByPool.map((f) => [f.pool.split('/')[1], f]));
    expect([...pools.keys()].sort()).toEqual(['A100-80GB', 'H100']);
    // 09:00-10:00 is forecast to hold the usual 12 H100 GPUs and no A100 ones.
    expect(pools.get('H100')!.upperGpus).toBeGreaterThanOrEqual(12);
    expect(pools.get('H100')!.upperGpus).toBeLessThanOrEqual(14);
    expect(pools.get('A100-80GB')!.upperGpus).toBeLessThanOrEqual(1);
    expect(status.forecastUpperGpus).toBe(pools.get('H100')!.upperGpus + pools.get('A100-80GB')!.upperGpus);

    // 32 free GPUs would cover a fleet-wide rise of 12 with two nodes parked, one of them an H100
    // node; per pool, the H100 pool needs both its nodes and only an A100 node parks (the other is
    // the A100 pool's warm empty node).
    const r = await parking.tick({ shortGpus: 0 });
    expect(r.parked).toHaveLength(1);
    expect(r.parked[0]).toMatch(/^node-a/);
    expect(await power('node-h1')).toBe('on');
    expect(await power('node-h2')).toBe('on');
  });

  it('operators park and wake by hand; parking a node with work or a veto is refused and changes nothing', async () => {
    const a = await node('node-a');
    await node('node-b');
    await h.control.jobs.submit(tenant.p, { command: ['train'], gpuMilli: 500 });
    await h.control.scheduling.run();
    await a.beat();
    const parking = service({ policy: 'off' });
    await expect(parking.park(h.operator, 'node-a')).rejects.toMatchObject({ code: 'invalid_state', message: expect.stringMatching(/holds work/) });
    expect(await power('node-a')).toBe('on');
    await expect(parking.park(tenant.p, 'node-b')).rejects.toMatchObject({ code: 'forbidden' });
    expect((await parking.park(h.operator, 'node-b')).powerState).toBe('parked');
    // An agent that still answers (the simulated driver switched nothing) hears it is parked.
    const nodeB = (await h.control.inventory.getNode('node-b')).id;
    const hb = (id: string) => h.control.agents.heartbeat(h.agent, { nodeId: id, at: h.clock.now(), running: [] });
    expect((await hb(nodeB)).parked).toBe(true);
    await expect(parking.park(h.operator, 'node-b')).rejects.toMatchObject({ code: 'invalid_state' });
    expect((await parking.wake(h.operator, 'node-b')).powerState).toBe('waking');
    h.clock.advance(2 * MIN);
    await parking.tick({ shortGpus: 0 });
    expect(await power('node-b')).toBe('on');
    expect((await hb(nodeB)).parked).toBe(false);
    await parking.setVeto(h.operator, 'node-b', true, 'UPS test');
    await expect(parking.park(h.operator, 'node-b')).rejects.toMatchObject({ message: expect.stringMatching(/UPS test/) });
    // Policy off: nothing is parked however long nodes sit empty.
    h.clock.advance(300 * MIN);
    expect((await parking.tick({ shortGpus: 0 })).parked).toEqual([]);
    const status = await parking.status(h.operator);
    expect(status).toMatchObject({ policy: 'off', driver: 'simulated', nodes: { on: 2, parked: 0 } });
  });

  it('keeps enough awake for the unused part of active reservations', async () => {
    await node('node-a');
    await node('node-b');
    await node('node-c');
    await h.control.market.buyReservation(tenant.p, { model: 'H100', gpus: 8, hours: 24 });
    const parking = service();
    h.clock.advance(31 * MIN);
    const r = await parking.tick({ shortGpus: 0 });
    // Three empty nodes, eight reserved GPUs unused: one node stays on for them.
    expect(r.parked).toHaveLength(2);
    const states = await Promise.all(['node-a', 'node-b', 'node-c'].map(power));
    expect(states.filter((s) => s === 'on')).toHaveLength(1);
  });

  it('runs operator commands with the node in the environment; a failing command leaves the node on and says why; a node that never wakes goes down', async () => {
    await node('node-a');
    const log = join(dir, 'power.log');
    const parking = service({
      policy: 'off',
      wakeTimeoutMs: 5 * MIN,
      driver: commandPowerDriver({
        parkCommand: `echo "park $UNIDLE_NODE_NAME $UNIDLE_NODE_HOSTNAME" >> ${log}`,
        wakeCommand: `echo "wake $UNIDLE_NODE_NAME" >> ${log}`,
        statusCommand: 'exit 1',
      }),
    });
    await parking.park(h.operator, 'node-a');
    await parking.wake(h.operator, 'node-a');
    expect(await readFile(log, 'utf8')).toBe('park node-a node-a\nwake node-a\n');
    h.clock.advance(6 * MIN);
    expect((await parking.tick({ shortGpus: 0 })).failed).toEqual(['node-a']);
    const down = await h.control.inventory.getNode('node-a');
    expect(down).toMatchObject({ status: 'down', powerState: 'on', statusReason: expect.stringMatching(/did not come up within 300 s/) });

    // A re-registering agent brings it back; then a failing park command keeps it on, with the reason.
    await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)));
    const failing = service({ policy: 'off', driver: commandPowerDriver({ parkCommand: 'echo "BMC unreachable" >&2; exit 3', wakeCommand: 'true' }) });
    await expect(failing.park(h.operator, 'node-a')).rejects.toMatchObject({ message: expect.stringMatching(/exited with 3: BMC unreachable/) });
    expect(await power('node-a')).toBe('on');
    const failed = await h.ts.store.db.selectFrom('events').select('message').where('type', '=', 'node.park-failed').executeTakeFirstOrThrow();
    expect(failed.message).toMatch(/BMC unreachable/);
  });

  it('the unidle policy keeps its hysteresis across a restart (parks of the last 24 h come from the events)', async () => {
    await node('node-a');
    await node('node-b');
    const first = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0, maxCyclesPerDay: 1 });
    h.clock.advance(11 * MIN);
    const parked = (await first.tick({ shortGpus: 0 })).parked;
    expect(parked).toHaveLength(1);
    await first.wake(h.operator, parked[0]!);
    h.clock.advance(3 * MIN);
    await first.tick({ shortGpus: 0 });
    expect(await power(parked[0]!)).toBe('on');
    // A new service (a restarted control plane): the node used its one cycle today, so it stays on.
    const second = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0, maxCyclesPerDay: 1 });
    h.clock.advance(20 * MIN);
    const again = await second.tick({ shortGpus: 0 });
    expect(again.parked).not.toContain(parked[0]);
  });

  it('the unidle budget renews at midnight in the center\'s time zone', async () => {
    // The harness's center is in Asia/Shanghai (UTC+8) and its clock starts at 12:00 UTC, 20:00 there.
    for (const n of ['node-a', 'node-b', 'node-c']) await node(n);
    const svc = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0, maxCyclesPerDay: 1 });
    h.clock.advance(11 * MIN);
    // One empty node stays awake (the policy's warm node); the others park, and are woken by hand.
    expect((await svc.tick({ shortGpus: 0 })).parked).toEqual(['node-a', 'node-b']);
    await svc.wake(h.operator, 'node-a');
    await svc.wake(h.operator, 'node-b');
    h.clock.advance(3 * MIN);
    // They come up; now c, empty longest, parks, and a stays as the warm node.
    const back = await svc.tick({ shortGpus: 0 });
    expect(back.awake).toEqual(['node-a', 'node-b']);
    expect(back.parked).toEqual(['node-c']);
    // 23:55 local: a and b are both empty, but each spent today's one park (a restarted service reads
    // the parks back from the events), so neither parks.
    h.clock.set(Date.UTC(2026, 10, 28, 15, 55));
    const restarted = service({ policy: 'unidle', idleMs: 10 * MIN, marginGpus: 0, maxCyclesPerDay: 1 });
    expect((await restarted.tick({ shortGpus: 0 })).parked).toEqual([]);
    expect([await power('node-a'), await power('node-b')]).toEqual(['on', 'on']);
    // 00:05 local (16:05 UTC, not a UTC midnight): a new day, and the rolling cap (2 in 24 h) has
    // room. a parks; b stays as the warm node.
    h.clock.set(Date.UTC(2026, 10, 28, 16, 5));
    expect((await restarted.tick({ shortGpus: 0 })).parked).toEqual(['node-a']);
    expect((await restarted.status(h.operator)).cycleBudget).toEqual({ perDay: 1, per24h: 2 });
  });
});
