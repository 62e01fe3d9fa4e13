import { clusterScaleTracker } from '../cluster-scale.js';
import { bestFitDevices } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import type { PlacementPolicy } from '../policy.js';
import { freeGpuMilli, workKind } from '../request-shape.js';

/**
 * GPU clustering (FGD's baseline): put alike GPU work together (shares with shares, k-GPU jobs with
 * k-GPU jobs), preferring fuller nodes. CPU-only work scores 0 everywhere.
 */
export function gpuClusteringPolicy(): PlacementPolicy {
  const scale = clusterScaleTracker();
  return {
    name: 'gpu-clustering',
    description: 'alike GPU work together (shares with shares, k-GPU with k-GPU), fuller nodes first',
    filters: DEFAULT_FILTERS,
    selector: bestFitDevices,
    prepare: scale.prepare,
    classKey: (node) => (node.workKinds ? [...node.workKinds.keys()].sort().join('+') : ''),
    scorers: [
      {
        weight: 1,
        plugin: {
          name: 'gpu-clustering',
          score(request, node) {
            const kind = workKind(request);
            if (kind === null) return 0;
            const base = Math.trunc((25 * (scale.current.gpuMilli - freeGpuMilli(node))) / scale.current.gpuMilli);
            const kinds = node.workKinds;
            if (kinds?.has(kind)) return kinds.size === 1 ? base + 75 : base + 50;
            return !kinds || kinds.size === 0 ? base + 25 : base;
          },
        },
      },
    ],
  };
}
