/**
 * Energy-aware consolidation as a scoring plugin around any production placement policy: among the
 * nodes the base policy's filters accept, fuller nodes score higher (GPUs in use / GPUs × 100, times
 * `weight`, added to the base policy's scores). Work then piles onto few nodes and the rest empty
 * out, which is what lets them park: a node parks only when empty. Parked and waking nodes are
 * unschedulable, so the filters already keep work on awake nodes.
 *
 * An optional per-node bonus (same 0–100 scale, same weight) adds what free resources cannot show:
 * the replay uses it for the age of the oldest job running on the node (see `ageBonus`) and for
 * awake empty nodes that may not park again today. The bonus is part of the node's class key, so the
 * engine's cached scores stay valid; whoever changes a node's bonus must re-key the node.
 *
 * The score depends only on the node's devices' free milli and the bonus, as the engine's node
 * classes require.
 */
import type { PlacementPolicy, ScorePlugin, WeightedScorer } from '../../scheduler/policy.js';
import type { NodeView } from '../../scheduler/snapshot.js';

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

/**
 * Job ages are bucketed by doubling: bucket k holds ages in [AGE_UNIT_MIN × (2^k − 1),
 * AGE_UNIT_MIN × (2^(k+1) − 1)) minutes, up to AGE_MAX_BUCKET.
 */
export const AGE_UNIT_MIN = 30;
export const AGE_MAX_BUCKET = 8;
/** Bonus points per age bucket: 25 is two GPUs' worth of fullness on an 8-GPU node. */
export const AGE_POINTS_PER_BUCKET = 25;
/** Bonus for an awake empty node that cannot park (its cycle budget is spent): a tie-break among empty nodes. */
export const CANNOT_PARK_POINTS = 5;

/**
 * Bonus for a node whose oldest running job started `ageMin` minutes ago. Job run times are heavy
 * tailed (Philly: median 21 min, 1% above 4 days), so the longer a job has run the longer it is
 * likely to go on: a node holding an old job stays busy (and awake) anyway, and new work placed
 * beside it costs no extra awake time, while nodes holding only young jobs are left to empty out.
 */
export function ageBonus(ageMin: number): number {
  if (!(ageMin > 0)) return 0;
  return Math.min(AGE_MAX_BUCKET, Math.floor(Math.log2(1 + ageMin / AGE_UNIT_MIN))) * AGE_POINTS_PER_BUCKET;
}

export function withConsolidation(base: PlacementPolicy, weight = CONSOLIDATION_WEIGHT, bonus?: (node: NodeView) => number): PlacementPolicy {
  const scorers: WeightedScorer[] = [...base.scorers, { plugin: consolidationScore, weight }];
  if (bonus) scorers.push({ plugin: { name: 'energy-consolidation-bonus', score: (_request, node) => bonus(node) }, weight });
  const baseKey = base.classKey ? (node: NodeView) => base.classKey!(node) : undefined;
  return {
    name: `${base.name}+consolidate`,
    description: `${base.description}; then fuller awake nodes first (energy consolidation, weight ${weight})${bonus ? ', and nodes whose oldest job is older' : ''}`,
    filters: base.filters,
    selector: base.selector,
    scorers,
    get epoch() {
      return base.epoch;
    },
    classKey: bonus ? (node) => `${baseKey ? baseKey(node) : ''}|${bonus(node)}` : baseKey,
    prepare: base.prepare ? (nodes) => base.prepare!(nodes) : undefined,
    observe: base.observe ? (request) => base.observe!(request) : undefined,
  };
}
