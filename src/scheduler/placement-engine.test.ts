import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { cpuOnly, share, testNode as node, whole } from '../test-support/placement-fixtures.js';
import { PlacementEngine } from './placement-engine.js';
import { bestFitPolicy } from './policies/best-fit.js';
import { randomPolicy } from './policies/random.js';
import { couldEverFit } from './policy-registry.js';
import { describePending } from './policy.js';

describe('placement engine', () => {
  it('puts a share on the fullest device it fits, keeping whole GPUs whole', () => {
    const engine = new PlacementEngine(bestFitPolicy(), [node('a', [1000, 1000]), node('b', [1000, 600, 300])]);
    expect(engine.place(share(250))?.placement).toEqual({ nodeId: 'b', devices: [{ deviceId: 'b-d2', index: 2, model: 'H100', milli: 250 }] });
  });

  it('takes whole GPUs of one model on one node, preferring the tighter node', () => {
    const engine = new PlacementEngine(bestFitPolicy(), [node('a', [1000, 1000, 1000, 1000]), node('b', [1000, 1000, 0, 0])]);
    const decision = engine.place(whole(2));
    expect(decision?.node.id).toBe('b');
    expect(decision?.placement.devices.map((d) => d.index)).toEqual([0, 1]);
  });

  it('places a gang on distinct eligible nodes, all or none', () => {
    const slurm = { executor: 'slurm' };
    const nodes = [node('a', [1000, 1000], 'H100', slurm), node('b', [1000, 1000], 'H100', { executor: 'agent' }), node('c', [1000, 0], 'H100', slurm), node('d', [1000, 1000], 'H100', slurm)];
    const engine = new PlacementEngine(bestFitPolicy(), nodes);
    const gang = engine.placeGang(whole(1), 3, (n) => n.executor === 'slurm');
    expect(gang?.map((d) => d.node.id).sort()).toEqual(['a', 'c', 'd']);
    // Each node gave one GPU; the agent node was never considered and every node is schedulable again.
    expect(nodes.map((n) => n.devices.filter((d) => d.freeMilli === 1000).length)).toEqual([1, 2, 0, 1]);
    expect(nodes.every((n) => n.schedulable)).toBe(true);
    // Two more whole GPUs on two Slurm nodes: only a and d have one each → fits; a third node does not exist.
    expect(engine.placeGang(whole(1), 3, (n) => n.executor === 'slurm')).toBeUndefined();
    expect(nodes.map((n) => n.devices.filter((d) => d.freeMilli === 1000).length)).toEqual([1, 2, 0, 1]);
    expect(engine.placeGang(whole(1), 2, (n) => n.executor === 'slurm')?.map((d) => d.node.id).sort()).toEqual(['a', 'd']);
    expect(engine.place(whole(2))?.node.id).toBe('b');
  });

  it('explains why nothing fits, counting nodes per reason', () => {
    const nodes = [
      node('a', [1000, 500]),
      node('b', [1000, 1000], 'A100-80GB'),
      node('c', [1000, 1000], 'H100', { schedulable: false, unschedulableReason: 'node is cordoned' }),
      node('d', [1000, 500]),
    ];
    const engine = new PlacementEngine(bestFitPolicy(), nodes);
    expect(engine.place(whole(2, ['H100']))).toBeUndefined();
    const reasons = engine.explain(whole(2, ['H100']));
    expect(reasons).toEqual([
      { reason: 'fewer than 2 fully free GPUs that match', nodes: 2 },
      { reason: 'no GPU of H100', nodes: 1 },
      { reason: 'node is cordoned', nodes: 1 },
    ]);
    expect(describePending(reasons)).toBe('2 nodes: fewer than 2 fully free GPUs that match; 1 node: no GPU of H100; 1 node: node is cordoned');
    expect(engine.explain(share(100, [], 100_000))).toEqual([{ reason: 'not enough free CPU (need 100000 milli-cores)', nodes: 3 }, { reason: 'node is cordoned', nodes: 1 }]);
  });

  it('reserves as it places, so one cycle can place several jobs against one snapshot', () => {
    const engine = new PlacementEngine(bestFitPolicy(), [node('a', [1000])]);
    expect(engine.place(share(600))).toBeDefined();
    expect(engine.choose(share(600))).toBeUndefined();
    expect(engine.place(share(400))).toBeDefined();
    expect(engine.nodes[0]!.devices[0]!.freeMilli).toBe(0);
    expect(engine.nodes[0]!.cpuMilliFree).toBe(62_000);
  });

  it('honours CPU and memory on the node, and CPU-only work needs no GPU', () => {
    const engine = new PlacementEngine(bestFitPolicy(), [node('a', [1000], 'H100', { cpuMilliFree: 500 }), node('cpu', [])]);
    expect(engine.choose(share(100))).toBeUndefined();
    expect(engine.place(cpuOnly(2000))?.node.id).toBe('cpu');
  });

  it('groups identical nodes and breaks ties by rank', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => node(`n${i}`, [1000, 1000, 1000, 1000]));
    const ranks = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    const engine = new PlacementEngine(bestFitPolicy(), nodes, { ranks });
    expect(engine.classCount).toBe(1);
    // rank 0 belongs to node 0; rank 1 to node 73 (73 * 37 = 2701)
    expect(engine.place(whole(1))?.node.id).toBe('n0');
    expect(engine.classCount).toBe(2);
    // best fit now prefers the used node
    expect(engine.place(whole(1))?.node.id).toBe('n0');
    expect(engine.place(whole(4))?.node.id).toBe('n73');
  });

  it('gives the same decisions as scoring every node, over a long random workload', () => {
    const rng = createRandom(7);
    const build = () => Array.from({ length: 40 }, (_, i) => node(`n${i}`, [1000, 1000, 1000, 1000].slice(0, 1 + (i % 4)), i % 3 === 0 ? 'A100-80GB' : 'H100', { cpuMilliFree: 16_000 + 1000 * (i % 5), cpuMilliTotal: 20_000 }));
    const engine = new PlacementEngine(bestFitPolicy(), build(), { ranks: Array.from({ length: 40 }, (_, i) => 39 - i) });
    const reference = build();
    const policy = bestFitPolicy();
    policy.prepare?.(reference);
    for (let step = 0; step < 400; step++) {
      const kind = rng.int(4);
      const request = kind === 0 ? cpuOnly(500 + 500 * rng.int(4)) : kind === 1 ? whole(1 + rng.int(2)) : share(100 * (1 + rng.int(9)), rng.int(3) === 0 ? ['A100-80GB'] : []);
      // the brute-force reference: filter every node, score it, highest score then lowest rank
      let best: { index: number; score: number } | undefined;
      reference.forEach((candidate, index) => {
        if (!policy.filters.every((f) => f.filter(request, candidate).ok)) return;
        const score = policy.scorers.reduce((sum, s) => sum + s.weight * s.plugin.score(request, candidate), 0);
        if (!best || score > best.score || (score === best.score && 39 - index < 39 - best.index)) best = { index, score };
      });
      const decision = engine.place(request);
      expect(decision?.node.id).toBe(best === undefined ? undefined : `n${best.index}`);
      if (best) {
        const target = reference[best.index]!;
        const devices = policy.selector.select(request, target);
        target.cpuMilliFree -= request.cpuMilli;
        target.memoryMibFree -= request.memoryMib;
        for (const g of devices) target.devices[g.index]!.freeMilli -= g.milli;
        expect(decision?.placement.devices).toEqual(devices.map((g) => ({ ...g, deviceId: g.deviceId })));
      }
    }
  });

  it('picks uniformly among feasible nodes under the random policy, reproducibly', () => {
    const run = () => {
      const rng = createRandom(3);
      const engine = new PlacementEngine(randomPolicy(rng), Array.from({ length: 10 }, (_, i) => node(`n${i}`, [1000, 1000])), { random: rng });
      return Array.from({ length: 12 }, () => engine.place(share(300))?.node.id);
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(4);
  });

  it('tells shapes that could never fit from ones that must wait', () => {
    const snapshot = { nodes: [node('a', [0, 0, 0, 0])] };
    expect(couldEverFit(whole(4), snapshot)).toBe(true);
    expect(couldEverFit(whole(5), snapshot)).toBe(false);
    expect(couldEverFit(share(500, ['H200']), snapshot)).toBe(false);
    expect(couldEverFit({ ...share(500), minGpuMemoryMib: 100_000 }, snapshot)).toBe(false);
  });
});
