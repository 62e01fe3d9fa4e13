import type { FilterPlugin, FilterStatus } from './policy.js';
import { deviceMatches, gpuDemand, gpusFit } from './request-shape.js';

/** One shared "passed" status: filters run millions of times in a simulation and should not allocate. */
const OK: FilterStatus = { ok: true };

export const nodeSchedulable: FilterPlugin = {
  name: 'node-schedulable',
  filter: (_request, node) => (node.schedulable ? OK : { ok: false, reason: node.unschedulableReason ?? 'node takes no new work' }),
};

export const nodeResourcesFit: FilterPlugin = {
  name: 'node-resources-fit',
  filter(request, node) {
    if (node.cpuMilliFree < request.cpuMilli) return { ok: false, reason: `not enough free CPU (need ${request.cpuMilli} milli-cores)` };
    if (node.memoryMibFree < request.memoryMib) return { ok: false, reason: `not enough free memory (need ${request.memoryMib} MiB)` };
    return OK;
  },
};

export const gpuModelMatches: FilterPlugin = {
  name: 'gpu-model-matches',
  filter(request, node) {
    if (gpuDemand(request).count === 0) return OK;
    for (const device of node.devices) if (deviceMatches(request, device)) return OK;
    const wanted = request.models.length > 0 ? request.models.join('/') : 'any model';
    const memory = request.minGpuMemoryMib !== null ? ` with ≥ ${request.minGpuMemoryMib} MiB` : '';
    return { ok: false, reason: node.devices.length === 0 ? 'node has no GPUs' : `no GPU of ${wanted}${memory}` };
  },
};

export const gpuCapacityFits: FilterPlugin = {
  name: 'gpu-capacity-fits',
  filter(request, node) {
    if (gpusFit(request, node)) return OK;
    const d = gpuDemand(request);
    return {
      ok: false,
      reason: d.milliPerGpu < 1000 ? `no matching GPU with ${d.milliPerGpu} milli-GPU free` : `fewer than ${d.count} fully free GPU${d.count === 1 ? '' : 's'} that match`,
    };
  },
};

/** Feasibility as every policy sees it: schedulable, model, CPU and memory, then device capacity. */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [nodeSchedulable, gpuModelMatches, nodeResourcesFit, gpuCapacityFits];
