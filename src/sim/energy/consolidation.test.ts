import { describe, expect, it } from 'vitest';
import { PlacementEngine } from '../../scheduler/placement-engine.js';
import { createPolicy } from '../../scheduler/policy-registry.js';
import type { NodeView, PlacementRequest } from '../../scheduler/snapshot.js';
import { withConsolidation } from './consolidation.js';

function nodes(): NodeView[] {
  return ['a', 'b', 'c'].map((id) => ({
    id,
    name: id,
    schedulable: true,
    unschedulableReason: null,
    cpuMilliTotal: 1e6,
    memoryMibTotal: 1e6,
    cpuMilliFree: 1e6,
    memoryMibFree: 1e6,
    devices: Array.from({ length: 8 }, (_, i) => ({ id: `${id}/${i}`, index: i, model: 'sim', memoryMib: 0, freeMilli: 1000 })),
  }));
}
const req = (gpus: number): PlacementRequest => ({ gpuMilli: null, gpus, models: [], minGpuMemoryMib: null, cpuMilli: 0, memoryMib: 0 });

describe('energy consolidation scorer', () => {
  it('puts work on the fullest awake node and never on an unschedulable (parked) one', () => {
    const ns = nodes();
    ns[1]!.devices.slice(0, 5).forEach((d) => (d.freeMilli = 0)); // b: 3 free
    ns[2]!.schedulable = false; // c parked
    const engine = new PlacementEngine(withConsolidation(createPolicy('unidle')), ns);
    expect(engine.place(req(2))!.node.id).toBe('b');
    expect(engine.place(req(2))!.node.id).toBe('a');
    expect(engine.place(req(8))).toBeUndefined();
  });

  it('keeps the base policy learning (epoch passes through)', () => {
    const base = createPolicy('unidle');
    const p = withConsolidation(base);
    expect(p.name).toBe('unidle+consolidate');
    expect(p.epoch).toBe(base.epoch);
  });
});
