import { bestScoringDevice } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import { bestFragmentationGradientScore, fragmentationGradientScore } from '../fragmentation-score.js';
import type { PlacementPolicy } from '../policy.js';
import { LearnedWorkload, type TypicalShape } from '../typical-workload.js';

export interface FgdOptions {
  /**
   * The typical workload, as in the paper's evaluation (built from the whole pod list). Without it
   * FGD learns the workload from the requests it sees.
   */
  workload?: readonly TypicalShape[];
}

/**
 * Fragmentation gradient descent (Weng et al., USENIX ATC'23), faithful to the published simulator:
 * the node and device whose tentative placement least increases the node's expected fragmentation
 * under the typical workload, scored as trunc(100·σ(ΔF/1000)) with ties to the node rank.
 */
export function fgdPolicy(options: FgdOptions = {}): PlacementPolicy {
  const learned = options.workload ? undefined : new LearnedWorkload();
  const workload = () => options.workload ?? learned!.shapes;
  return {
    name: 'fgd',
    description: "fragmentation gradient descent (USENIX ATC'23): least increase of expected fragmentation",
    filters: DEFAULT_FILTERS,
    selector: bestScoringDevice('least-fragmenting-device', (request, node, device) => fragmentationGradientScore(request, node, workload(), device)),
    get epoch() {
      return learned?.epoch;
    },
    observe: learned ? (request) => learned.observe(request) : undefined,
    scorers: [{ weight: 1, plugin: { name: 'fragmentation-gradient', score: (request, node) => bestFragmentationGradientScore(request, node, workload()) } }],
  };
}
