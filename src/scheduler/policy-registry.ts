import { createRandom, type Random } from '../domain/random.js';
import { DEFAULT_FILTERS } from './filters.js';
import { bestFitPolicy } from './policies/best-fit.js';
import { dotProductPolicy } from './policies/dot-product.js';
import { fgdPolicy } from './policies/fgd.js';
import { gpuClusteringPolicy } from './policies/gpu-clustering.js';
import { gpuPackingPolicy } from './policies/gpu-packing.js';
import { randomPolicy } from './policies/random.js';
import { unidlePolicy } from './policies/unidle.js';
import type { PlacementPolicy } from './policy.js';
import type { ClusterSnapshot, PlacementRequest } from './snapshot.js';
import type { TypicalShape } from './typical-workload.js';

export interface PolicyContext {
  /** Randomness for policies that draw (`random`); seeded by the simulator, from the clock live. */
  random?: Random;
  /** A known typical workload for `fgd` (the simulator passes the pod list, as the paper does); otherwise learned online. */
  workload?: readonly TypicalShape[];
}

/** Policies by name (a name → factory registry, so config, the API and the simulator pick them the same way). */
const FACTORIES: Record<string, (context: PolicyContext) => PlacementPolicy> = {
  random: (context) => randomPolicy(context.random ?? createRandom(Date.now())),
  dotprod: () => dotProductPolicy(),
  'gpu-clustering': () => gpuClusteringPolicy(),
  'gpu-packing': () => gpuPackingPolicy(),
  'best-fit': () => bestFitPolicy(),
  fgd: (context) => fgdPolicy({ workload: context.workload }),
  unidle: () => unidlePolicy(),
};

export const DEFAULT_POLICY = 'unidle';

export function policyNames(): string[] {
  return Object.keys(FACTORIES);
}

export function isPolicyName(name: string): boolean {
  return Object.hasOwn(FACTORIES, name);
}

export function createPolicy(name: string, context: PolicyContext = {}): PlacementPolicy {
  const factory = FACTORIES[name];
  if (!factory) throw new Error(`unknown placement policy "${name}"; known: ${policyNames().join(', ')}`);
  return factory(context);
}

/** Whether any node in the inventory could ever hold the request, ignoring what is in use now. */
export function couldEverFit(request: PlacementRequest, snapshot: ClusterSnapshot): boolean {
  return snapshot.nodes.some((node) => {
    const empty = {
      ...node,
      schedulable: true,
      cpuMilliFree: node.cpuMilliTotal,
      memoryMibFree: node.memoryMibTotal,
      devices: node.devices.map((d) => ({ ...d, freeMilli: 1000 })),
    };
    return DEFAULT_FILTERS.every((filter) => filter.filter(request, empty).ok);
  });
}
