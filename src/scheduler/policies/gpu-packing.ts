import { bestFitDevices } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import type { PlacementPolicy } from '../policy.js';
import { allDevicesFree, deviceMatches, gpuDemand } from '../request-shape.js';

/**
 * GPU packing (FGD's baseline): a partly used GPU first (the fuller the better, in 10% steps), then
 * free GPUs on a node already in use, then an idle node (smaller nodes first). CPU-only work scores 0
 * everywhere, so the tie rank places it.
 */
export function gpuPackingPolicy(): PlacementPolicy {
  return {
    name: 'gpu-packing',
    description: 'partly used GPU first, then a used node, then an idle node',
    filters: DEFAULT_FILTERS,
    selector: bestFitDevices,
    scorers: [
      {
        weight: 1,
        plugin: {
          name: 'gpu-packing',
          score(request, node) {
            const d = gpuDemand(request);
            if (d.count === 0) return 0;
            const n = node.devices.length;
            if (allDevicesFree(node)) return Math.max(33 - n, n);
            const candidates = node.devices.filter((device) => device.freeMilli >= d.milliPerGpu && deviceMatches(request, device));
            candidates.sort((a, b) => a.freeMilli - b.freeMilli || a.index - b.index);
            const taken = candidates.slice(0, d.count);
            const fullyFree = taken.filter((device) => device.freeMilli === 1000).length;
            if (fullyFree > 0) return Math.max(50 - fullyFree, 33);
            let tenths = 0;
            for (const device of taken) tenths += Math.trunc((100 * device.freeMilli) / 1000);
            return Math.max(100 - Math.trunc(tenths / 10), 50);
          },
        },
      },
    ],
  };
}
