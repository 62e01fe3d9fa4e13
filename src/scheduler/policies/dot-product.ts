import { clusterScaleTracker } from '../cluster-scale.js';
import { bestFitDevices } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import type { PlacementPolicy } from '../policy.js';
import { freeGpuMilli, totalGpuMilli } from '../request-shape.js';

/**
 * Tetris-style alignment with CPU and all GPU milli as two dimensions normalised by the largest node.
 * As published (FGD's baseline), the SMALLEST dot product of free and requested wins, so it packs
 * work onto fuller nodes.
 */
export function dotProductPolicy(): PlacementPolicy {
  const scale = clusterScaleTracker();
  return {
    name: 'dotprod',
    description: 'Tetris-style: smallest dot product of free and requested CPU/GPU (packs fuller nodes)',
    filters: DEFAULT_FILTERS,
    selector: bestFitDevices,
    prepare: scale.prepare,
    scorers: [
      {
        weight: 1,
        plugin: {
          name: 'smallest-dot-product',
          score(request, node) {
            const dot =
              (node.cpuMilliFree / scale.current.cpuMilli) * (request.cpuMilli / scale.current.cpuMilli) +
              (freeGpuMilli(node) / scale.current.gpuMilli) * (totalGpuMilli(request) / scale.current.gpuMilli);
            return Math.trunc(100 * (1 - dot / 2));
          },
        },
      },
    ],
  };
}
