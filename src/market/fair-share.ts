/**
 * Weighted dominant-resource fair share (Ghodsi et al., NSDI'11, as Kueue and Slurm's fair-share
 * use it): a tenant's share of each resource is its recent usage over the cluster's capacity for the
 * window; its dominant share is the largest of those, divided by its weight. Contended on-demand
 * capacity goes first to the tenant with the lowest weighted dominant share.
 */
export interface TenantUsage {
  tenantId: string;
  /** Usage over the window, in resource-milliseconds (milli-GPU·ms, milli-CPU·ms, MiB·ms). */
  gpuMilliMs: number;
  cpuMilliMs: number;
  memoryMibMs: number;
  /** Relative entitlement; 1 by default. */
  weight: number;
}

export interface ClusterCapacity {
  gpuMilli: number;
  cpuMilli: number;
  memoryMib: number;
  windowMs: number;
}

export function weightedDominantShare(usage: TenantUsage, capacity: ClusterCapacity): number {
  if (!(usage.weight > 0)) throw new RangeError(`weight of tenant ${usage.tenantId} must be positive, got ${usage.weight}`);
  const share = (used: number, total: number) => (total > 0 ? used / (total * capacity.windowMs) : 0);
  return Math.max(share(usage.gpuMilliMs, capacity.gpuMilli), share(usage.cpuMilliMs, capacity.cpuMilli), share(usage.memoryMibMs, capacity.memoryMib)) / usage.weight;
}

/**
 * Orders tenants for contended capacity: lowest weighted dominant share first; ties keep the given
 * order (queue order), so the result is deterministic.
 */
export function fairShareOrder(usages: readonly TenantUsage[], capacity: ClusterCapacity): string[] {
  return usages
    .map((u, index) => ({ id: u.tenantId, share: weightedDominantShare(u, capacity), index }))
    .sort((a, b) => a.share - b.share || a.index - b.index)
    .map((t) => t.id);
}
