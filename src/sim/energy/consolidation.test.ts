import { describe, expect, it } from 'vitest';
import { PlacementEngine } from '../../scheduler/placement-engine.js';
import { createPolicy } from '../../scheduler/policy-registry.js';
import type { NodeView, PlacementRequest } from '../../scheduler/snapshot.js';
import { AGE_POINTS_PER_BUCKET, ageBonus, withConsolidation } from './consolidation.js';

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

  it('ages go in doubling buckets of 30 minutes', () => {
    expect(ageBonus(0)).toBe(0);
    expect(ageBonus(29)).toBe(0);
    expect(ageBonus(30)).toBe(AGE_POINTS_PER_BUCKET);
    expect(ageBonus(89)).toBe(AGE_POINTS_PER_BUCKET);
    expect(ageBonus(90)).toBe(2 * AGE_POINTS_PER_BUCKET);
    expect(ageBonus(30 * 24 * 60)).toBe(8 * AGE_POINTS_PER_BUCKET);
  });

  it('with a bonus, work goes beside the older job, and re-keying a node updates its score', () => {
    const ns = nodes();
    ns[0]!.devices[0]!.freeMilli = 0; // a: one GPU busy, young job
    ns[1]!.devices[0]!.freeMilli = 0; // b: one GPU busy, old job
    const bonus = new Map<NodeView, number>([[ns[1]!, ageBonus(600)]]);
    const engine = new PlacementEngine(withConsolidation(createPolicy('unidle'), undefined, (n) => bonus.get(n) ?? 0), ns);
    expect(engine.place(req(2))!.node.id).toBe('b');
    // Now a holds the old job: its 4 age buckets (100 points) beat b being 2 GPUs fuller (25).
    bonus.set(ns[1]!, 0);
    bonus.set(ns[0]!, ageBonus(600));
    engine.reserve(req(0), { node: ns[0]!, placement: { nodeId: 'a', devices: [] } });
    engine.reserve(req(0), { node: ns[1]!, placement: { nodeId: 'b', devices: [] } });
    expect(engine.place(req(1))!.node.id).toBe('a');
  });
});
