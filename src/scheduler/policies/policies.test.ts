import { describe, expect, it } from 'vitest';
import { createRandom } from '../../domain/random.js';
import { cpuOnly, share, testNode as node, whole } from '../../test-support/placement-fixtures.js';
import { fragmentationGradientScore } from '../fragmentation-score.js';
import { PlacementEngine } from '../placement-engine.js';
import { createPolicy, DEFAULT_POLICY, policyNames } from '../policy-registry.js';
import type { PlacementPolicy } from '../policy.js';
import type { NodeView, PlacementRequest } from '../snapshot.js';
import { typicalWorkload, type TypicalShape } from '../typical-workload.js';
import { bestFitPolicy } from './best-fit.js';
import { dotProductPolicy } from './dot-product.js';
import { gpuClusteringPolicy } from './gpu-clustering.js';
import { gpuPackingPolicy } from './gpu-packing.js';
import { strandedGpuMilli, unidlePolicy } from './unidle.js';

const scoreOf = (policy: PlacementPolicy, request: PlacementRequest, n: NodeView, nodes = [n]) => {
  policy.prepare?.(nodes);
  return policy.scorers.reduce((sum, s) => sum + s.weight * s.plugin.score(request, n), 0);
};

// openb's largest node: 128 cores and 8 GPUs, so the normalisations match the published ones.
const big = node('big', [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000], 'G2', { cpuMilliTotal: 128_000, cpuMilliFree: 128_000 });

describe('published baseline scores (FGD simulator, openb-policies notes §5)', () => {
  it('gpu-packing: partly used GPU first in 10% steps, then a used node, then an idle node (small first)', () => {
    const policy = gpuPackingPolicy();
    expect(scoreOf(policy, share(200), node('idle8', [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]), [big])).toBe(25);
    expect(scoreOf(policy, share(200), node('idle2', [1000, 1000]), [big])).toBe(31);
    expect(scoreOf(policy, share(200), node('used', [300, 1000]), [big])).toBe(97);
    expect(scoreOf(policy, whole(1), node('used', [300, 1000]), [big])).toBe(49);
    expect(scoreOf(policy, cpuOnly(1000), node('used', [300, 1000]), [big])).toBe(0);
  });

  it('best-fit: trunc(100·(1 − (CPU left/128 + GPU left/8)/2))', () => {
    const n = node('n', [1000, 1000, 500, 0], 'G2', { cpuMilliFree: 64_000 });
    // left: CPU 63/128, GPU 2000/8000 → 1 − (0.4921875 + 0.25)/2 = 0.62890625 → 62
    expect(scoreOf(bestFitPolicy(), share(500), n, [big, n])).toBe(62);
  });

  it('dotprod: the smallest dot product of free and requested wins (packs fuller nodes)', () => {
    const policy = dotProductPolicy();
    const full = node('full', [1000, 1000, 0, 0, 0, 0, 0, 0], 'G2', { cpuMilliFree: 40_000 });
    // (40/128)(32/128) + (2/8)(2/8) = 0.140625 → trunc(100·(1 − 0.0703125)) = 92; an idle big node: 0.5 → 75
    expect(scoreOf(policy, whole(2, [], 32_000), full, [big, full])).toBe(92);
    expect(scoreOf(policy, whole(2, [], 32_000), big, [big, full])).toBe(75);
  });

  it('gpu-clustering: alike work together, fuller nodes first', () => {
    const policy = gpuClusteringPolicy();
    const engine = new PlacementEngine(policy, [big, node('b', [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000], 'G2')]);
    const first = engine.place(share(300))!;
    expect(engine.place(share(300))!.node.id).toBe(first.node.id); // same kind: +75
    expect(engine.place(whole(1))!.node.id).not.toBe(first.node.id); // other kind: an idle node (+25) beats a mixed one
  });
});

describe('FGD', () => {
  const workload: TypicalShape[] = [{ cpuMilli: 1000, milliPerGpu: 500, gpuCount: 1, models: [], weight: 1 }];

  it('quantises the fragmentation change as trunc(100·σ(ΔF/1000)): no change 50, 0.4 GPU of new fragment 40', () => {
    // a 600 share on an idle GPU leaves 400 < 500: one 0.4 GPU fragment for the only typical shape
    expect(fragmentationGradientScore(share(600), node('n', [1000]), workload, undefined)).toBe(50);
    const n = node('n', [1000]);
    expect(fragmentationGradientScore(share(600), n, workload, n.devices[0])).toBe(40);
    expect(fragmentationGradientScore(whole(1), node('n', [1000, 1000]), workload)).toBe(50);
    // taking a 400 fragment away removes it: the score rises above 50
    const m = node('m', [400]);
    expect(fragmentationGradientScore(share(400), m, workload, m.devices[0])).toBe(59);
  });

  it('learns typical shapes as the paper does: by popularity, CPU 0 read as 100, cut at 95%', () => {
    const requests = [...Array(18).fill(share(500)), cpuOnly(0), whole(8)];
    const shapes = typicalWorkload(requests);
    expect(shapes.map((s) => [s.cpuMilli, s.milliPerGpu, s.gpuCount])).toEqual([[1000, 500, 1], [1000, 1000, 8]]);
    expect(shapes[0]!.weight).toBeCloseTo(18 / 19);
  });
});

describe('unidle', () => {
  it('counts GPU a node cannot feed with CPU as stranded', () => {
    expect(strandedGpuMilli(24_000, 4000, 12)).toBe(2000);
    expect(strandedGpuMilli(96_000, 4000, 12)).toBe(0);
  });

  it('sends CPU-only work where CPU is spare instead of stranding GPUs', () => {
    const policy = unidlePolicy();
    const gpuRich = node('gpu-rich', [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000], 'G2', { cpuMilliFree: 96_000, cpuMilliTotal: 96_000 });
    const cpuRich = node('cpu-rich', [1000, 1000], 'T4', { cpuMilliFree: 104_000, cpuMilliTotal: 104_000 });
    const engine = new PlacementEngine(policy, [gpuRich, cpuRich]);
    for (let i = 0; i < 40; i++) engine.observe(whole(1, [], 12_000));
    expect(engine.place(cpuOnly(32_000))!.node.id).toBe('cpu-rich');
  });
});

describe('unidle packing', () => {
  it('keeps the hole beside a 650 for a 320 and gives a 220 a fresh GPU', () => {
    const policy = unidlePolicy();
    const n = node('n', [350, 1000, 1000, 1000], 'G2', { cpuMilliFree: 96_000, cpuMilliTotal: 96_000 });
    const engine = new PlacementEngine(policy, [n]);
    // the workload seen: 650s that pair with 320s, and a few 220s
    for (let i = 0; i < 64; i++) engine.observe(i % 8 < 3 ? share(650) : i % 8 < 7 ? share(320) : share(220));
    expect(engine.place(share(220))!.placement.devices[0]!.index).not.toBe(0);
    expect(engine.place(share(320))!.placement.devices[0]!.index).toBe(0);
  });
});

describe('every policy', () => {
  it.each(policyNames())('%s places a mixed workload without over-committing any resource', (name) => {
    const rng = createRandom(11);
    const nodes = Array.from({ length: 12 }, (_, i) => node(`n${i}`, Array(1 + (i % 8)).fill(1000), i % 3 === 0 ? 'T4' : 'G2', { cpuMilliFree: 32_000, cpuMilliTotal: 32_000 }));
    const policy = createPolicy(name, { random: rng });
    const engine = new PlacementEngine(policy, nodes, { random: rng });
    let placed = 0;
    for (let i = 0; i < 150; i++) {
      const kind = rng.int(4);
      const request = kind === 0 ? cpuOnly(2000) : kind === 1 ? whole(1 + rng.int(3)) : share(100 * (1 + rng.int(9)), rng.int(4) === 0 ? ['T4'] : []);
      engine.observe(request);
      const decision = engine.place(request);
      if (!decision) continue;
      placed++;
      if (request.models.length > 0) expect(decision.placement.devices.every((d) => d.model === 'T4')).toBe(true);
    }
    expect(placed).toBeGreaterThan(20);
    for (const n of nodes) {
      expect(n.cpuMilliFree).toBeGreaterThanOrEqual(0);
      for (const d of n.devices) expect(d.freeMilli).toBeGreaterThanOrEqual(0);
    }
  });

  it('the live default is unidle', () => {
    expect(DEFAULT_POLICY).toBe('unidle');
    expect(policyNames()).toEqual(['random', 'dotprod', 'gpu-clustering', 'gpu-packing', 'best-fit', 'fgd', 'unidle']);
  });
});
