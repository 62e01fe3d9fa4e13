import type { NodeView, Placement, PlacementRequest } from './snapshot.js';

/**
 * Preemption, planned on a copy: a job that only fits if interruptible (spot) work leaves is placed
 * against a view in which that work is gone; then the fewest, cheapest victims on the chosen node
 * are asked to leave, with notice. Pure: the control plane writes the notices.
 */
export interface RunningWork {
  jobId: string;
  nodeId: string;
  /** Spot work may be preempted; on-demand and reserved never. */
  preemptible: boolean;
  /** Already told to leave: its capacity is on its way back, no need to ask anyone else for it. */
  inNotice: boolean;
  /** Its bid per GPU-hour: the lowest bids leave first. */
  bidMicros: number;
  startedAt: number;
  cpuMilli: number;
  memoryMib: number;
  grants: ReadonlyArray<{ deviceId: string; milli: number }>;
}

/** A copy of the nodes with all preemptible (and already leaving) work's capacity handed back. */
export function withoutPreemptible(nodes: readonly NodeView[], work: readonly RunningWork[]): NodeView[] {
  const byNode = new Map<string, RunningWork[]>();
  for (const w of work) {
    if (!w.preemptible && !w.inNotice) continue;
    const list = byNode.get(w.nodeId) ?? [];
    list.push(w);
    byNode.set(w.nodeId, list);
  }
  return nodes.map((n) => {
    const leaving = byNode.get(n.id) ?? [];
    const freed = new Map<string, number>();
    for (const w of leaving) for (const g of w.grants) freed.set(g.deviceId, (freed.get(g.deviceId) ?? 0) + g.milli);
    return {
      ...n,
      cpuMilliFree: n.cpuMilliFree + leaving.reduce((s, w) => s + w.cpuMilli, 0),
      memoryMibFree: n.memoryMibFree + leaving.reduce((s, w) => s + w.memoryMib, 0),
      devices: n.devices.map((d) => ({ ...d, freeMilli: d.freeMilli + (freed.get(d.id) ?? 0) })),
      workKinds: n.workKinds ? new Map(n.workKinds) : undefined,
    };
  });
}

export interface VictimChoice {
  /** Jobs to notify now. */
  victims: string[];
  /** Jobs already leaving whose capacity this placement counts on. */
  waitingFor: string[];
}

/**
 * The fewest preemptible jobs on `node` (as it is now) whose leaving makes room for `placement`:
 * lowest bid first, and among equal bids the most recently started (least work lost). Returns
 * undefined when even all of them leaving would not be enough (the plan was made on stale data).
 */
export function chooseVictims(node: NodeView, request: PlacementRequest, placement: Placement, work: readonly RunningWork[]): VictimChoice | undefined {
  const onNode = work.filter((w) => w.nodeId === node.id);
  const deficit = new Map<string, number>();
  for (const g of placement.devices) {
    const device = node.devices.find((d) => d.id === g.deviceId);
    if (!device) return undefined;
    deficit.set(g.deviceId, g.milli - device.freeMilli);
  }
  let cpu = request.cpuMilli - node.cpuMilliFree;
  let mem = request.memoryMib - node.memoryMibFree;
  const give = (w: RunningWork) => {
    for (const g of w.grants) if (deficit.has(g.deviceId)) deficit.set(g.deviceId, deficit.get(g.deviceId)! - g.milli);
    cpu -= w.cpuMilli;
    mem -= w.memoryMib;
  };
  const covered = () => cpu <= 0 && mem <= 0 && [...deficit.values()].every((d) => d <= 0);
  const waitingFor: string[] = [];
  for (const w of onNode.filter((x) => x.inNotice)) {
    give(w);
    waitingFor.push(w.jobId);
  }
  const candidates = onNode.filter((w) => w.preemptible && !w.inNotice).sort((a, b) => a.bidMicros - b.bidMicros || b.startedAt - a.startedAt || a.jobId.localeCompare(b.jobId));
  const victims: RunningWork[] = [];
  for (const w of candidates) {
    if (covered()) break;
    const helps = (cpu > 0 && w.cpuMilli > 0) || (mem > 0 && w.memoryMib > 0) || w.grants.some((g) => (deficit.get(g.deviceId) ?? 0) > 0);
    if (!helps) continue;
    victims.push(w);
    give(w);
  }
  if (!covered()) return undefined;
  // Drop any victim the others already make room without (a later, bigger one may cover an earlier small one).
  for (let i = victims.length - 1; i >= 0; i--) {
    const w = victims[i]!;
    for (const g of w.grants) if (deficit.has(g.deviceId)) deficit.set(g.deviceId, deficit.get(g.deviceId)! + g.milli);
    cpu += w.cpuMilli;
    mem += w.memoryMib;
    if (covered()) victims.splice(i, 1);
    else give(w);
  }
  return { victims: victims.map((w) => w.jobId), waitingFor };
}
