import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { addTenant } from '../test-support/market-fixtures.js';
import type { Principal } from './principal.js';

const dialects = await testDialects();

describe.each(dialects)('gang (multi-node) jobs on %s', (dialect) => {
  let h: Harness;
  let tenant: { id: string; p: Principal };
  beforeEach(async () => {
    h = await createHarness(dialect);
    tenant = await addTenant(h, 'acme', { paymentMode: 'postpaid' });
  });
  afterEach(async () => {
    await h.dispose();
  });

  const slurmNode = (name: string, gpus = 4) => h.control.inventory.register(h.agent, registration(name, simulatedDevices(gpus)), 'slurm');
  const allocated = async () =>
    Object.fromEntries((await h.control.inventory.listNodes()).map((n) => [n.name, { gpus: n.allocatedGpuMilli / 1000, cpu: n.allocatedCpuMilli }]));

  it('holds GPUs, CPU and memory on every node at once, prices the whole gang, and gives all of it back', async () => {
    await slurmNode('s1');
    await slurmNode('s2');
    await slurmNode('s3');
    await h.control.agents.register(h.agent, registration('agent-node', simulatedDevices(8)));
    const { job } = await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 2, nodes: 3, cpuMilli: 4000 });
    expect(job.nodeCount).toBe(3);
    await h.control.scheduling.run();
    const placed = await h.control.jobs.get(tenant.p, job.id);
    expect(placed.state).toBe('scheduled');
    expect(placed.stateReason).toMatch(/placed on s\d, s\d, s\d \(3 nodes × /);
    expect(await allocated()).toEqual({ s1: { gpus: 2, cpu: 4000 }, s2: { gpus: 2, cpu: 4000 }, s3: { gpus: 2, cpu: 4000 }, 'agent-node': { gpus: 0, cpu: 0 } });
    // The price per hour covers all six GPUs.
    const perGpuHour = (await h.control.market.listPrices()).models.find((m) => m.model === 'H100')!.prices.find((p) => p.tier === 'on-demand')!.pricePerGpuHour.amountMicros;
    expect(placed.pricePerHour?.amountMicros).toBe(perGpuHour * 6);

    await h.control.jobs.cancel(tenant.p, job.id);
    // A placed job cancelled before it started ends at its (primary) node's next pass.
    await h.control.agents.heartbeat(h.agent, { nodeId: placed.nodeId!, at: h.clock.now(), running: [] });
    expect((await h.control.jobs.get(tenant.p, job.id)).state).toBe('cancelled');
    expect(await allocated()).toEqual({ s1: { gpus: 0, cpu: 0 }, s2: { gpus: 0, cpu: 0 }, s3: { gpus: 0, cpu: 0 }, 'agent-node': { gpus: 0, cpu: 0 } });
  });

  it('waits, with the reason, when not enough Slurm nodes are free at once; never lands on agent nodes', async () => {
    await slurmNode('s1');
    await h.control.agents.register(h.agent, registration('agent-node', simulatedDevices(8)));
    const { job } = await h.control.jobs.submit(tenant.p, { command: ['train'], gpus: 1, nodes: 2 });
    const r = await h.control.scheduling.run();
    expect(r.shortGpus).toBe(2);
    const waiting = await h.control.jobs.get(tenant.p, job.id);
    expect(waiting.state).toBe('queued');
    expect(waiting.stateReason).toBe('pending: a 2-node job runs on Slurm nodes, and this center has 1');
  });

  it('refuses shapes a gang cannot have', async () => {
    await expect(h.control.jobs.submit(tenant.p, { command: ['x'], gpuMilli: 500, nodes: 2 })).rejects.toMatchObject({ problems: [{ field: 'nodes', message: expect.stringMatching(/whole GPUs/) }] });
    await expect(h.control.jobs.submit(tenant.p, { command: ['x'], gpus: 1, nodes: 2, tier: 'spot' })).rejects.toMatchObject({ problems: expect.arrayContaining([{ field: 'nodes', message: expect.stringMatching(/on-demand/) }]) });
    await expect(h.control.jobs.submit(tenant.p, { command: ['x'], gpus: 1, nodes: 0 })).rejects.toMatchObject({ problems: [{ field: 'nodes', message: expect.stringMatching(/1 to 64/) }] });
  });
});
