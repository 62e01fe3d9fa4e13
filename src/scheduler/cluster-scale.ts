import type { NodeView } from './snapshot.js';

/**
 * The largest node's CPU and GPU capacity. The published baselines normalise scores by the largest
 * machine (128 cores and 8 GPUs on openb); deriving it from the inventory keeps them meaningful on
 * other clusters.
 */
export interface ClusterScale {
  cpuMilli: number;
  gpuMilli: number;
}

export function clusterScale(nodes: readonly NodeView[]): ClusterScale {
  let cpuMilli = 1;
  let gpuMilli = 1000;
  for (const node of nodes) {
    cpuMilli = Math.max(cpuMilli, node.cpuMilliTotal);
    gpuMilli = Math.max(gpuMilli, node.devices.length * 1000);
  }
  return { cpuMilli, gpuMilli };
}

/**
 * The scale a normalising policy reads, kept current by its `prepare` hook (openb's 128 cores and
 * 8 GPUs until the engine hands over its nodes).
 */
export function clusterScaleTracker(): { readonly current: ClusterScale; prepare(nodes: readonly NodeView[]): void } {
  let current: ClusterScale = { cpuMilli: 128_000, gpuMilli: 8000 };
  return {
    get current() {
      return current;
    },
    prepare(nodes) {
      current = clusterScale(nodes);
    },
  };
}
