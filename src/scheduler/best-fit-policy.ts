import { deviceMatches, DEFAULT_FILTERS } from './filters.js';
import { composePolicy, type DeviceSelector, type PlacementPolicy, type ScorePlugin } from './policy.js';
import type { DeviceGrant, PlacementRequest } from './snapshot.js';

/**
 * Best fit: put each request where it leaves the least free GPU capacity behind, so large holes stay
 * whole for large requests. Inside a node, a share goes to the fullest device it still fits on and
 * whole GPUs are taken from fully free devices of one model, lowest index first.
 */
export const bestFitDeviceSelector: DeviceSelector = {
  name: 'best-fit-devices',
  select(request: PlacementRequest, node) {
    if (request.gpuMilli !== null) {
      let chosen: (typeof node.devices)[number] | undefined;
      for (const device of node.devices) {
        if (!deviceMatches(request, device) || device.freeMilli < request.gpuMilli) continue;
        if (!chosen || device.freeMilli < chosen.freeMilli) chosen = device;
      }
      return chosen ? [{ deviceId: chosen.id, index: chosen.index, model: chosen.model, milli: request.gpuMilli }] : undefined;
    }
    const count = request.gpus ?? 0;
    const byModel = new Map<string, DeviceGrant[]>();
    for (const device of [...node.devices].sort((a, b) => a.index - b.index)) {
      if (!deviceMatches(request, device) || device.freeMilli !== 1000) continue;
      const list = byModel.get(device.model) ?? [];
      list.push({ deviceId: device.id, index: device.index, model: device.model, milli: 1000 });
      byModel.set(device.model, list);
      if (list.length === count) return list;
    }
    return undefined;
  },
};

export const leastFreeGpuAfter: ScorePlugin = {
  name: 'least-free-gpu-after',
  score(_request, node, devices) {
    const total = node.devices.length * 1000;
    if (total === 0) return 0;
    const free = node.devices.reduce((sum, d) => sum + d.freeMilli, 0);
    const taken = devices.reduce((sum, g) => sum + g.milli, 0);
    return Math.round((100 * (total - (free - taken))) / total);
  },
};

export function bestFitPolicy(): PlacementPolicy {
  return composePolicy({
    name: 'best-fit',
    filters: DEFAULT_FILTERS,
    scorers: [{ plugin: leastFreeGpuAfter, weight: 1 }],
    selector: bestFitDeviceSelector,
  });
}
