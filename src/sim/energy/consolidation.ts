/**
 * Energy-aware consolidation as a scoring plugin around any production placement policy: among the
 * nodes the base policy's filters accept, fuller nodes score higher (GPUs in use / GPUs × 100, times
 * `weight`, added to the base policy's scores). Work then piles onto few nodes and the rest empty
 * out, which is what lets them park: a node parks only when empty. Parked and waking nodes are
 * unschedulable, so the filters already keep work on awake nodes.
 *
 * The score depends only on the node's devices' free milli, as the engine's node classes require.
 */
import type { PlacementPolicy, ScorePlugin } from '../../scheduler/policy.js';

export const CONSOLIDATION_WEIGHT = 10;

export const consolidationScore: ScorePlugin = {
  name: 'energy-consolidation',
  score(_request, node) {
    const n = node.devices.length;
    if (n === 0) return 0;
    let free = 0;
    for (const d of node.devices) free += d.freeMilli;
    return ((n * 1000 - free) / (n * 1000)) * 100;
  },
};

export function withConsolidation(base: PlacementPolicy, weight = CONSOLIDATION_WEIGHT): PlacementPolicy {
  return {
    name: `${base.name}+consolidate`,
    description: `${base.description}; then fuller awake nodes first (energy consolidation, weight ${weight})`,
    filters: base.filters,
    selector: base.selector,
    scorers: [...base.scorers, { plugin: consolidationScore, weight }],
    get epoch() {
      return base.epoch;
    },
    classKey: base.classKey ? (node) => base.classKey!(node) : undefined,
    prepare: base.prepare ? (nodes) => base.prepare!(nodes) : undefined,
    observe: base.observe ? (request) => base.observe!(request) : undefined,
  };
}
