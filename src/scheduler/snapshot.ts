import type { Mib, MilliCpu, MilliGpu } from '../domain/units.js';

/**
 * A point-in-time view of the cluster that placement reasons about. Built from the store by the
 * control plane and from a trace by the simulator. The placement engine mutates it as it reserves
 * capacity, so several jobs can be placed in one cycle against the same snapshot.
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
  /** In index order. */
  devices: DeviceView[];
  /**
   * Kinds of GPU work on the node and how many of each ("share", "2-gpu", …), for policies that
   * cluster alike work. The engine keeps it up to date as it reserves; absent means none known.
   */
  workKinds?: Map<string, number>;
  /** What runs work there ('agent', 'slurm'); gang jobs need an executor that starts multi-node work. */
  executor?: string;
}

export interface ClusterSnapshot {
  nodes: NodeView[];
}

/**
 * What a job asks of one node. GPU demand is one of: a share of one device (`gpuMilli` 1–999),
 * whole devices (`gpus` ≥ 1), or none (`gpus` 0 or both null: CPU-only work, as in the openb trace).
 */
export interface PlacementRequest {
  gpuMilli: MilliGpu | null;
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
