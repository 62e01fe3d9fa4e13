import type { FilterPlugin } from './policy.js';
import type { DeviceView, PlacementRequest } from './snapshot.js';

/** Whether a device's model and memory satisfy the request (capacity aside). */
export function deviceMatches(request: PlacementRequest, device: DeviceView): boolean {
  if (request.models.length > 0 && !request.models.includes(device.model)) return false;
  if (request.minGpuMemoryMib !== null && device.memoryMib < request.minGpuMemoryMib) return false;
  return true;
}

export const nodeSchedulable: FilterPlugin = {
  name: 'node-schedulable',
  filter: (_request, node) => (node.schedulable ? { ok: true } : { ok: false, reason: node.unschedulableReason ?? 'node takes no new work' }),
};

export const nodeResourcesFit: FilterPlugin = {
  name: 'node-resources-fit',
  filter(request, node) {
    if (node.cpuMilliFree < request.cpuMilli) return { ok: false, reason: `not enough free CPU (need ${request.cpuMilli} milli-cores)` };
    if (node.memoryMibFree < request.memoryMib) return { ok: false, reason: `not enough free memory (need ${request.memoryMib} MiB)` };
    return { ok: true };
  },
};

export const gpuModelMatches: FilterPlugin = {
  name: 'gpu-model-matches',
  filter(request, node) {
    if (node.devices.some((d) => deviceMatches(request, d))) return { ok: true };
    const wanted = request.models.length > 0 ? request.models.join('/') : 'any model';
    const memory = request.minGpuMemoryMib !== null ? ` with ≥ ${request.minGpuMemoryMib} MiB` : '';
    return { ok: false, reason: `no GPU of ${wanted}${memory}` };
  },
};

export const DEFAULT_FILTERS: FilterPlugin[] = [nodeSchedulable, gpuModelMatches, nodeResourcesFit];
