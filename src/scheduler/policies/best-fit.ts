import { clusterScaleTracker } from '../cluster-scale.js';
import { bestFitDevices } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import type { PlacementPolicy } from '../policy.js';
import { freeGpuMilli, totalGpuMilli } from '../request-shape.js';

/**
 * Best fit: the node left with the least free CPU and GPU (equal weights, normalised by the largest
 * node), so big holes stay whole for big requests. Integer score as published; ties go to the rank.
 */
export function bestFitPolicy(): PlacementPolicy {
  const scale = clusterScaleTracker();
  return {
    name: 'best-fit',
    description: 'least CPU and GPU left over on the node, then the fullest device',
    filters: DEFAULT_FILTERS,
    selector: bestFitDevices,
    prepare: scale.prepare,
    scorers: [
      {
        weight: 1,
        plugin: {
          name: 'least-left-over',
          score(request, node) {
            const left = ((node.cpuMilliFree - request.cpuMilli) / scale.current.cpuMilli) * 0.5 + ((freeGpuMilli(node) - totalGpuMilli(request)) / scale.current.gpuMilli) * 0.5;
            return Math.trunc(100 * (1 - left));
          },
        },
      },
    ],
  };
}
