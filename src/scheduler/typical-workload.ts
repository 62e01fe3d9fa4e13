import { gpuDemand } from './request-shape.js';
import type { PlacementRequest } from './snapshot.js';

/**
 * A "typical pod" in FGD's sense: a request shape and its share of the workload. Fragmentation is
 * measured against these, so free capacity only counts as useful if typical work could use it.
 */
export interface TypicalShape {
  /** CPU the shape asks for; 0 is read as 100 milli (Kubernetes' default request), as FGD does. */
  cpuMilli: number;
  milliPerGpu: number;
  gpuCount: number;
  models: readonly string[];
  /** Probability weight; the weights of a workload sum to 1. */
  weight: number;
}

interface Tally {
  cpuMilli: number;
  milliPerGpu: number;
  gpuCount: number;
  models: readonly string[];
  modelsKey: string;
  count: number;
}

/**
 * Counts request shapes as they arrive. `typical()` returns the most popular shapes covering
 * `popularity` of the requests, re-weighted to sum to 1 — FGD's "target workload" (popularity 95%).
 */
export class WorkloadTally {
  private readonly tallies = new Map<string, Tally>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(request: PlacementRequest): void {
    const d = gpuDemand(request);
    const cpuMilli = request.cpuMilli === 0 ? 100 : request.cpuMilli;
    const modelsKey = request.models.join('|');
    const key = `${cpuMilli},${d.milliPerGpu},${d.count},${modelsKey}`;
    let tally = this.tallies.get(key);
    if (!tally) this.tallies.set(key, (tally = { cpuMilli, milliPerGpu: d.milliPerGpu, gpuCount: d.count, models: [...request.models], modelsKey, count: 0 }));
    tally.count++;
    this.total++;
  }

  typical(popularity = 0.95): TypicalShape[] {
    if (this.total === 0) return [];
    // Ties in popularity are broken by the shape itself (all descending), as the FGD simulator
    // does, so the cut at `popularity` is deterministic.
    const sorted = [...this.tallies.values()].sort(
      (a, b) =>
        b.count - a.count ||
        b.cpuMilli - a.cpuMilli ||
        b.milliPerGpu - a.milliPerGpu ||
        b.gpuCount - a.gpuCount ||
        (a.modelsKey < b.modelsKey ? 1 : a.modelsKey > b.modelsKey ? -1 : 0),
    );
    const kept: Tally[] = [];
    let covered = 0;
    for (const tally of sorted) {
      kept.push(tally);
      covered += tally.count;
      if (covered >= popularity * this.total) break;
    }
    return kept.map((t) => ({ cpuMilli: t.cpuMilli, milliPerGpu: t.milliPerGpu, gpuCount: t.gpuCount, models: t.models, weight: t.count / this.total / (covered / this.total) }));
  }
}

export function typicalWorkload(requests: Iterable<PlacementRequest>, popularity = 0.95): TypicalShape[] {
  const tally = new WorkloadTally();
  for (const request of requests) tally.add(request);
  return tally.typical(popularity);
}

/**
 * A workload learned from arrivals: typical shapes re-derived whenever the number of requests seen
 * doubles (from 16 on), so early decisions adapt quickly and later ones keep stable, cacheable
 * scores. Also learns how much CPU GPU work brings per GPU, which decides when a node's CPU runs
 * out before its GPUs.
 */
export class LearnedWorkload {
  private readonly tally = new WorkloadTally();
  private nextRefresh = 16;
  private cpuOfGpuWork = 0;
  private gpuOfGpuWork = 0;
  shapes: TypicalShape[] = [];
  /** milli-CPU per milli-GPU of the GPU work seen so far (12 = 12 cores per GPU before any is seen). */
  cpuPerGpuMilli = 12;
  /** Bumped when `shapes` or `cpuPerGpuMilli` change. */
  epoch = 0;

  constructor(private readonly popularity = 0.95) {}

  observe(request: PlacementRequest): void {
    this.tally.add(request);
    const d = gpuDemand(request);
    if (d.count > 0) {
      this.cpuOfGpuWork += request.cpuMilli;
      this.gpuOfGpuWork += d.count * d.milliPerGpu;
    }
    if (this.tally.size >= this.nextRefresh) {
      this.shapes = this.tally.typical(this.popularity);
      if (this.gpuOfGpuWork > 0) this.cpuPerGpuMilli = this.cpuOfGpuWork / this.gpuOfGpuWork;
      this.epoch++;
      this.nextRefresh *= 2;
    }
  }
}
