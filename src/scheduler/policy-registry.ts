import { bestFitPolicy } from './best-fit-policy.js';
import type { PlacementPolicy } from './policy.js';

/** Policies by name (a name → factory registry, so config and the simulator pick them the same way). */
const FACTORIES: Record<string, () => PlacementPolicy> = {
  'best-fit': bestFitPolicy,
};

export const DEFAULT_POLICY = 'best-fit';

export function policyNames(): string[] {
  return Object.keys(FACTORIES);
}

export function createPolicy(name: string): PlacementPolicy {
  const factory = FACTORIES[name];
  if (!factory) throw new Error(`unknown placement policy "${name}"; known: ${policyNames().join(', ')}`);
  return factory();
}

/** Whether any node in the inventory could ever hold the request, ignoring what is in use now. */
export function couldEverFit(
  request: import('./snapshot.js').PlacementRequest,
  snapshot: import('./snapshot.js').ClusterSnapshot,
): boolean {
  const empty = {
    nodes: snapshot.nodes.map((n) => ({
      ...n,
      schedulable: true,
      cpuMilliFree: n.cpuMilliTotal,
      memoryMibFree: n.memoryMibTotal,
      devices: n.devices.map((d) => ({ ...d, freeMilli: 1000 })),
    })),
  };
  return bestFitPolicy().place(request, empty).placed;
}
