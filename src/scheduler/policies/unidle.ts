import { bestScoringDevice } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import { bestFragmentationGradientScore, fragmentationGradientScore } from '../fragmentation-score.js';
import type { PlacementPolicy } from '../policy.js';
import { freeGpuMilli, totalGpuMilli } from '../request-shape.js';
import { LearnedWorkload } from '../typical-workload.js';

/**
 * Score points per milli-GPU newly stranded: one stranded GPU (1000 milli) costs 200 points, twice
 * FGD's whole 0–100 range, so avoiding stranding comes first and fragmentation decides among the
 * rest. The openb results are flat for weights from 0.05 to 2 (docs/scheduling.md).
 */
export const STRANDING_WEIGHT = 0.2;

/**
 * GPU capacity on a node that its free CPU cannot feed, in milli-GPU: GPU work brings on average
 * `cpuPerGpuMilli` milli-CPU per milli-GPU, so free GPU beyond cpuFree / cpuPerGpuMilli will find
 * no work that fits beside it.
 */
export function strandedGpuMilli(cpuFree: number, gpuFree: number, cpuPerGpuMilli: number): number {
  return Math.max(0, gpuFree - cpuFree / cpuPerGpuMilli);
}

/**
 * Unidle's default: FGD's fragmentation gradient, plus what FGD misses — GPUs stranded behind a
 * node's exhausted CPU. Everything it knows it learns from the requests it sees (typical shapes and
 * the CPU that GPU work brings per GPU), never from a trace file.
 */
export function unidlePolicy(): PlacementPolicy {
  const learned = new LearnedWorkload();
  return {
    name: 'unidle',
    description: 'least GPU stranded behind exhausted CPU, then least fragmentation (learned workload)',
    filters: DEFAULT_FILTERS,
    selector: bestScoringDevice('least-fragmenting-device', (request, node, device) => fragmentationGradientScore(request, node, learned.shapes, device)),
    get epoch() {
      return learned.epoch;
    },
    observe: (request) => learned.observe(request),
    scorers: [
      { weight: 1, plugin: { name: 'fragmentation-gradient', score: (request, node) => bestFragmentationGradientScore(request, node, learned.shapes) } },
      {
        weight: STRANDING_WEIGHT,
        plugin: {
          name: 'cpu-stranding',
          score(request, node) {
            const gpuFree = freeGpuMilli(node);
            const ratio = learned.cpuPerGpuMilli;
            const before = strandedGpuMilli(node.cpuMilliFree, gpuFree, ratio);
            const after = strandedGpuMilli(node.cpuMilliFree - request.cpuMilli, gpuFree - totalGpuMilli(request), ratio);
            return before - after;
          },
        },
      },
    ],
  };
}
