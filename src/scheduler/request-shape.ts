import type { DeviceGrant, DeviceView, NodeView, PlacementRequest } from './snapshot.js';

/** GPU demand as (devices, milli per device): a share is (1, m), whole GPUs (g, 1000), CPU-only (0, 0). */
export interface GpuDemand {
  count: number;
  milliPerGpu: number;
}

export function gpuDemand(request: PlacementRequest): GpuDemand {
  if (request.gpuMilli !== null && request.gpuMilli > 0) return { count: 1, milliPerGpu: Math.min(request.gpuMilli, 1000) };
  const gpus = request.gpus ?? 0;
  return gpus > 0 ? { count: gpus, milliPerGpu: 1000 } : { count: 0, milliPerGpu: 0 };
}

export function totalGpuMilli(request: PlacementRequest): number {
  const d = gpuDemand(request);
  return d.count * d.milliPerGpu;
}

/** Requests with equal keys are interchangeable for placement, so scores can be cached per key. */
export function shapeKey(request: PlacementRequest): string {
  const d = gpuDemand(request);
  return `${request.cpuMilli},${request.memoryMib},${d.count},${d.milliPerGpu},${request.models.join('|')},${request.minGpuMemoryMib ?? ''}`;
}

/** The kind of GPU work a request is, for policies that cluster alike work: "share", "k-gpu", or null. */
export function workKind(request: PlacementRequest): string | null {
  const d = gpuDemand(request);
  if (d.count === 0) return null;
  return d.milliPerGpu < 1000 ? 'share' : `${d.count}-gpu`;
}

/** Whether a device's model and memory satisfy the request (capacity aside). */
export function deviceMatches(request: PlacementRequest, device: DeviceView): boolean {
  if (request.models.length > 0 && !request.models.includes(device.model)) return false;
  if (request.minGpuMemoryMib !== null && device.memoryMib < request.minGpuMemoryMib) return false;
  return true;
}

/** G: all free milli-GPU on the node, whatever the model. */
export function freeGpuMilli(node: NodeView): number {
  let sum = 0;
  for (const d of node.devices) sum += d.freeMilli;
  return sum;
}

/** Whether every device on the node is fully free (CPU-only work on it does not count). */
export function allDevicesFree(node: NodeView): boolean {
  for (const d of node.devices) if (d.freeMilli !== 1000) return false;
  return true;
}

/**
 * The `count` lowest-index fully free devices of one model that match, or undefined. Whole GPUs of
 * one job share a model so a data-parallel job is not paced by its slowest card.
 */
export function lowestFreeWholeDevices(request: PlacementRequest, node: NodeView, count: number): DeviceView[] | undefined {
  const byModel = new Map<string, DeviceView[]>();
  for (const device of node.devices) {
    if (device.freeMilli !== 1000 || !deviceMatches(request, device)) continue;
    let list = byModel.get(device.model);
    if (!list) byModel.set(device.model, (list = []));
    list.push(device);
    if (list.length === count) return list;
  }
  return undefined;
}

/** Whether the node's devices can hold the request's GPU demand now (CPU and memory aside). */
export function gpusFit(request: PlacementRequest, node: NodeView): boolean {
  const d = gpuDemand(request);
  if (d.count === 0) return true;
  if (d.milliPerGpu < 1000) {
    for (const device of node.devices) if (device.freeMilli >= d.milliPerGpu && deviceMatches(request, device)) return true;
    return false;
  }
  return lowestFreeWholeDevices(request, node, d.count) !== undefined;
}

export function grantsFor(devices: readonly DeviceView[], milli: number): DeviceGrant[] {
  return devices.map((d) => ({ deviceId: d.id, index: d.index, model: d.model, milli }));
}
