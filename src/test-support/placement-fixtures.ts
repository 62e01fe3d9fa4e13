import type { NodeView, PlacementRequest } from '../scheduler/snapshot.js';

/** A node with the given free milli per device (index order), for placement tests. */
export function testNode(id: string, free: number[], model = 'H100', extra: Partial<NodeView> = {}): NodeView {
  return {
    id,
    name: id,
    schedulable: true,
    unschedulableReason: null,
    cpuMilliTotal: 64_000,
    memoryMibTotal: 512_000,
    cpuMilliFree: 64_000,
    memoryMibFree: 512_000,
    devices: free.map((f, index) => ({ id: `${id}-d${index}`, index, model, memoryMib: 81_559, freeMilli: f })),
    ...extra,
  };
}

export const share = (gpuMilli: number, models: string[] = [], cpuMilli = 1000): PlacementRequest => ({ gpuMilli, gpus: null, models, minGpuMemoryMib: null, cpuMilli, memoryMib: 1024 });
export const whole = (gpus: number, models: string[] = [], cpuMilli = 1000): PlacementRequest => ({ gpuMilli: null, gpus, models, minGpuMemoryMib: null, cpuMilli, memoryMib: 1024 });
export const cpuOnly = (cpuMilli: number): PlacementRequest => ({ gpuMilli: null, gpus: 0, models: [], minGpuMemoryMib: null, cpuMilli, memoryMib: 1024 });
