import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bestFitPolicy } from '../scheduler/policies/best-fit.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import type { StoreHandle } from '../store/database.js';
import { InventoryService } from './inventory-service.js';
import { SchedulingCycle } from './scheduling-cycle.js';
import { MarketService } from './market-service.js';

const dialects = await testDialects();

/**
 * Over-allocation must be impossible even when several schedulers (several processes, each with its
 * own connection pool) race: the database re-checks capacity inside each placement transaction.
 */
describe.each(dialects)('racing for the last GPU on %s', (dialect) => {
  let h: Harness;
  const extraStores: StoreHandle[] = [];

  beforeEach(async () => {
    h = await createHarness(dialect);
  });
  afterEach(async () => {
    for (const s of extraStores.splice(0)) await s.close();
    await h.dispose();
  });

  it('50 concurrent submissions and 4 schedulers never over-allocate a device', async () => {
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2)));
    // Fill one GPU and most of the other, leaving exactly 1 free GPU worth of capacity: 1000 milli on device 1.
    await h.control.jobs.submit(h.demo, { command: ['true'], gpus: 1 });
    await h.control.scheduling.run();

    const schedulers = Array.from({ length: 4 }, () => {
      const store = dialect === 'postgres' ? h.ts.reopen(5) : h.ts.store;
      if (store !== h.ts.store) extraStores.push(store);
      const inventory = new InventoryService(store.db, h.clock);
      return new SchedulingCycle(store.db, h.clock, bestFitPolicy(), new MarketService(store.db, h.clock, inventory, store.dialect));
    });

    const submissions = Array.from({ length: 50 }, (_, i) =>
      h.control.jobs.submit(h.demo, { command: ['true'], ...(i % 2 === 0 ? { gpus: 1 } : { gpuMilli: 600 }) }, `race-${i}`),
    );
    const cycles: Promise<unknown>[] = [];
    for (let round = 0; round < 5; round++) for (const s of schedulers) cycles.push(s.run());
    await Promise.all([...submissions, ...cycles]);
    await Promise.all(schedulers.map((s) => s.run()));

    const devices = await h.ts.store.db.selectFrom('devices').selectAll().where('node_id', '=', nodeId).execute();
    for (const d of devices) expect(d.allocated_milli).toBeLessThanOrEqual(1000);
    const allocations = await h.ts.store.db.selectFrom('allocations').selectAll().where('released_at', 'is', null).execute();
    const perDevice = new Map<string, number>();
    for (const a of allocations) perDevice.set(a.device_id, (perDevice.get(a.device_id) ?? 0) + a.gpu_milli);
    for (const d of devices) expect(perDevice.get(d.id) ?? 0).toBe(d.allocated_milli);
    const scheduled = await h.ts.store.db.selectFrom('jobs').select(['id', 'gpus', 'gpu_milli']).where('state', '=', 'scheduled').execute();
    // The first whole GPU plus exactly one winner for the last GPU (a whole GPU, or one 600 share).
    expect(scheduled).toHaveLength(2);
    const queued = await h.ts.store.db.selectFrom('jobs').select('id').where('state', '=', 'queued').execute();
    expect(queued).toHaveLength(49);
  });
});
