import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRandom, type Random } from '../../domain/random.js';
import { buildArrivals } from './arrivals.js';
import { readOpenbPodList, type OpenbPod } from './trace-reader.js';

const gpuPod = (name: string, gpuCount: number, milliPerGpu: number): OpenbPod =>
  Object.freeze({ name, cpuMilli: 1000, memoryMib: 1024, gpuCount, milliPerGpu, models: [] });
const cpuPod = (name: string): OpenbPod => gpuPod(name, 0, 0);
const demandOf = (pods: readonly OpenbPod[]) => pods.reduce((sum, p) => sum + p.gpuCount * p.milliPerGpu, 0);
const byName = (pods: readonly OpenbPod[]) => [...pods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** A seeded Random that remembers every int(n) it was asked for and what it answered. */
function recording(seed: number): Random & { draws: Array<{ n: number; value: number }> } {
  const inner = createRandom(seed);
  const draws: Array<{ n: number; value: number }> = [];
  return {
    draws,
    float: () => inner.float(),
    int(n) {
      const value = inner.int(n);
      draws.push({ n, value });
      return value;
    },
  };
}

/** A mix like openb's: CPU-only, sharing and whole-GPU pods, in no particular order. */
const mixed: readonly OpenbPod[] = Object.freeze([
  gpuPod('pod-07', 1, 460),
  cpuPod('pod-03'),
  gpuPod('pod-01', 1, 1000),
  gpuPod('pod-05', 2, 1000),
  gpuPod('pod-02', 1, 250),
  cpuPod('pod-06'),
  gpuPod('pod-04', 1, 700),
]);

describe('buildArrivals: inflation', () => {
  const capacityMilli = 4000;
  const inflate = 1.3;
  const target = capacityMilli * inflate;

  it('is deterministic for a seed and differs between seeds', () => {
    const names = (seed: number) => buildArrivals(mixed, { capacityMilli, inflate, rng: createRandom(seed) }).map((p) => p.name);
    expect(names(42)).toEqual(names(42));
    expect(new Set([42, 43, 44, 45].map((s) => names(s).join(' '))).size).toBeGreaterThan(1);
  });

  it('puts the shuffled originals first, then copies drawn from the name-sorted list, stopping at the first misfit', () => {
    for (let seed = 0; seed < 50; seed++) {
      const rng = recording(seed);
      const arrivals = buildArrivals(mixed, { capacityMilli, inflate, rng });

      // Originals first: a permutation of the input, as the very same objects.
      const originals = arrivals.slice(0, mixed.length);
      expect(new Set(originals).size).toBe(mixed.length);
      expect(originals.every((p) => mixed.includes(p))).toBe(true);

      // The shuffle's draws come first (n-1 of them), then one draw per inflation step over the whole list.
      const shuffleDraws = rng.draws.slice(0, mixed.length - 1);
      expect(shuffleDraws.map((d) => d.n)).toEqual([7, 6, 5, 4, 3, 2]);
      const inflationDraws = rng.draws.slice(mixed.length - 1);
      expect(inflationDraws.every((d) => d.n === mixed.length)).toBe(true);

      // Each copy is the drawn pod of the sorted list; the last draw is the discarded misfit.
      const sorted = byName(mixed);
      const copies = arrivals.slice(mixed.length);
      expect(copies).toEqual(inflationDraws.slice(0, -1).map((d) => sorted[d.value]));
      let demand = demandOf(mixed);
      for (const copy of copies) {
        expect(demand + copy.milliPerGpu).toBeLessThanOrEqual(target);
        demand += copy.gpuCount * copy.milliPerGpu;
      }
      const misfit = sorted[inflationDraws.at(-1)!.value]!;
      expect(demand + misfit.milliPerGpu).toBeGreaterThan(target);
      // Only multi-GPU copies can overshoot, and by less than their total.
      expect(demandOf(arrivals)).toBeLessThanOrEqual(target + 1000);
    }
  });

  it('tests the per-GPU amount, so a multi-GPU copy can overshoot the target', () => {
    // 8 GPUs, target 10,400: the one 8-GPU pod (8,000) passes as 8,000 + 1,000 <= 10,400, making
    // 16,000; the next draw fails. Every draw is the same pod, whatever the seed.
    const only = gpuPod('big', 8, 1000);
    const arrivals = buildArrivals([only], { capacityMilli: 8000, inflate: 1.3, rng: createRandom(1) });
    expect(arrivals).toEqual([only, only]);
    expect(demandOf(arrivals)).toBe(16_000);
  });

  it('ends at or below the target with single-GPU pods only, CPU-only copies included', () => {
    const pods = [cpuPod('c0'), cpuPod('c1'), gpuPod('s0', 1, 300), gpuPod('s1', 1, 500), gpuPod('w0', 1, 1000)];
    for (let seed = 0; seed < 20; seed++) {
      const arrivals = buildArrivals(pods, { capacityMilli: 2000, inflate: 1.3, rng: createRandom(seed) });
      expect(demandOf(arrivals)).toBeLessThanOrEqual(2600);
      expect(demandOf(arrivals)).toBeGreaterThan(2600 - 1000); // the misfit needed more than what was left
    }
  });

  it('sorts by byte order before shuffling (not by locale)', () => {
    // int(n) = n-1 makes every Fisher–Yates swap a no-op, so the sorted order shows through.
    const noSwap: Random = { float: () => 0, int: (n) => n - 1 };
    const pods = ['b', 'B', 'a', 'pod-9', 'pod-10'].map((name) => gpuPod(name, 1, 100));
    const arrivals = buildArrivals(pods, { capacityMilli: 500, inflate: 1, rng: noSwap });
    expect(arrivals.map((p) => p.name)).toEqual(['B', 'a', 'b', 'pod-10', 'pod-9']);
  });

  it('does not modify its input', () => {
    const input = [...mixed];
    buildArrivals(input, { capacityMilli, inflate, rng: createRandom(7) });
    expect(input).toEqual(mixed);
    // `mixed` and its pods are frozen: any write would have thrown.
    buildArrivals(mixed, { capacityMilli, inflate, rng: createRandom(7) });
  });
});

describe('buildArrivals: deflation', () => {
  it('removes uniformly drawn positions of the shuffled sequence until the demand fits', () => {
    const pods = Array.from({ length: 10 }, (_, i) => gpuPod(`p${i}`, 1, 1000));
    const rng = recording(3);
    const arrivals = buildArrivals(pods, { capacityMilli: 4000, inflate: 1.3, rng });
    // 10,000 > 5,200: five removals leave 5,000.
    expect(arrivals).toHaveLength(5);
    expect(demandOf(arrivals)).toBe(5000);
    expect(new Set(arrivals).size).toBe(5);
    expect(arrivals.every((p) => pods.includes(p))).toBe(true);
    expect(rng.draws.slice(9).map((d) => d.n)).toEqual([10, 9, 8, 7, 6]);

    // The same seed gives the same shuffle and the same removals.
    const again = buildArrivals(pods, { capacityMilli: 4000, inflate: 1.3, rng: createRandom(3) });
    expect(again).toEqual(arrivals);
  });

  it('keeps the list as it is, only shuffled, when the demand is already on target', () => {
    const pods = [gpuPod('a', 1, 500), gpuPod('b', 1, 500)];
    const arrivals = buildArrivals(pods, { capacityMilli: 1000, inflate: 1, rng: createRandom(9) });
    expect(arrivals).toHaveLength(2);
    expect(arrivals.every((p) => pods.includes(p)) && arrivals[0] !== arrivals[1]).toBe(true);
  });
});

describe('buildArrivals: refusals', () => {
  it('refuses to inflate a list without GPU demand (it would never stop) and bad options', () => {
    expect(() => buildArrivals([cpuPod('a')], { capacityMilli: 1000, inflate: 1.3, rng: createRandom(1) })).toThrow(/no GPU demand/);
    expect(() => buildArrivals([], { capacityMilli: 1000, inflate: 1.3, rng: createRandom(1) })).toThrow(/no GPU demand/);
    expect(() => buildArrivals(mixed, { capacityMilli: 0, inflate: 1.3, rng: createRandom(1) })).toThrow(RangeError);
    expect(() => buildArrivals(mixed, { capacityMilli: 1000, inflate: Number.NaN, rng: createRandom(1) })).toThrow(RangeError);
  });
});

// The real trace is not part of the repository; check against it where a checkout has it.
const traceDir = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)), '../shared/traces/openb');

describe('buildArrivals on the real openb lists', () => {
  it.skipIf(!existsSync(traceDir))('inflates default to ~130% with ~2,700 copies and deflates multigpu30 (note §2)', () => {
    const capacityMilli = 6212 * 1000;
    const pods = readOpenbPodList(path.join(traceDir, 'openb_pod_list_default.csv'));
    for (const seed of [42, 43]) {
      const arrivals = buildArrivals(pods, { capacityMilli, inflate: 1.3, rng: createRandom(seed) });
      // Published (Go's stream), seeds 42-51: 10,802-10,894 arrivals, arrived 129.99-130.00%.
      expect(arrivals.length).toBeGreaterThan(10_700);
      expect(arrivals.length).toBeLessThan(11_000);
      expect(demandOf(arrivals) / capacityMilli).toBeGreaterThan(1.299);
      expect(demandOf(arrivals)).toBeLessThanOrEqual(1.3 * capacityMilli + 7000);
      expect(new Set(arrivals.slice(0, pods.length)).size).toBe(pods.length);
    }
    const multigpu30 = readOpenbPodList(path.join(traceDir, 'openb_pod_list_multigpu30.csv'));
    expect(demandOf(multigpu30) / capacityMilli).toBeGreaterThan(1.3);
    const deflated = buildArrivals(multigpu30, { capacityMilli, inflate: 1.3, rng: createRandom(42) });
    expect(deflated.length).toBeLessThan(multigpu30.length);
    expect(demandOf(deflated)).toBeLessThanOrEqual(1.3 * capacityMilli);
  });
});
