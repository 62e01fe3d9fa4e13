import type { Mib, MilliCpu, MilliGpu } from '../domain/units.js';

/**
 * A point-in-time view of the cluster that placement reasons about. Built from the store by the
 * control plane and from a trace by the simulator; placement only reads it, and `reserve` applies a
 * decision so several jobs can be placed in one cycle against the same snapshot.
 */
export interface DeviceView {
  id: string;
  index: number;
  model: string;
  memoryMib: Mib;
  freeMilli: MilliGpu;
}

export interface NodeView {
  id: string;
  name: string;
  /** False when the node is down, cordoned, draining or parked: it keeps its work but takes no new. */
  schedulable: boolean;
  unschedulableReason: string | null;
  cpuMilliTotal: MilliCpu;
  memoryMibTotal: Mib;
  cpuMilliFree: MilliCpu;
  memoryMibFree: Mib;
  devices: DeviceView[];
}

export interface ClusterSnapshot {
  nodes: NodeView[];
}

export interface PlacementRequest {
  /** A share of one device (1–999), or null for whole devices. */
  gpuMilli: MilliGpu | null;
  /** Whole devices on one node, or null for a share. */
  gpus: number | null;
  /** Allowed models; empty = any. */
  models: readonly string[];
  minGpuMemoryMib: Mib | null;
  cpuMilli: MilliCpu;
  memoryMib: Mib;
}

export interface DeviceGrant {
  deviceId: string;
  index: number;
  model: string;
  milli: MilliGpu;
}

export interface Placement {
  nodeId: string;
  devices: DeviceGrant[];
}

export function reserve(snapshot: ClusterSnapshot, request: PlacementRequest, placement: Placement): void {
  const node = snapshot.nodes.find((n) => n.id === placement.nodeId);
  if (!node) throw new Error(`placement names unknown node ${placement.nodeId}`);
  node.cpuMilliFree -= request.cpuMilli;
  node.memoryMibFree -= request.memoryMib;
  for (const grant of placement.devices) {
    const device = node.devices.find((d) => d.id === grant.deviceId);
    if (!device) throw new Error(`placement names unknown device ${grant.deviceId}`);
    device.freeMilli -= grant.milli;
  }
}
