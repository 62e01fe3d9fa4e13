import { bestShareDevice, wholeDeviceGrants } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import { fragmentationGradientScore } from '../fragmentation-score.js';
import type { DeviceSelector, PlacementPolicy } from '../policy.js';
import { freeGpuMilli, gpuDemand, grantsFor, totalGpuMilli } from '../request-shape.js';
import { SharePricing } from '../share-pricing.js';
import type { NodeView, PlacementRequest } from '../snapshot.js';
import { LearnedWorkload } from '../typical-workload.js';

/**
 * Score points per milli-GPU newly stranded: one stranded GPU (1000 milli) costs 200 points, twice
 * FGD's whole 0–100 range, so avoiding stranding comes first and fragmentation decides among the
 * rest. The openb results are flat for weights from 0.05 to 2 (docs/scheduling.md).
 */
export const STRANDING_WEIGHT = 0.2;

/**
 * Score points per milli-GPU of packing loss (SharePricing): a share's move that departs from the
 * best packing of the shares seen costs at least ~80 milli, so any weight from 0.5 to 10 makes the
 * loss decide first among devices and nodes (openb default: flat over that range; 0.2 is 0.02 worse,
 * 0.1 0.05 worse).
 */
export const PACKING_WEIGHT = 1;

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
 * node's exhausted CPU, and shares packed against the learned packing LP (a share goes where it
 * follows an optimal packing of the share sizes seen, e.g. a 220 is kept out of a 350 gap that a 320
 * fills). Everything it knows it learns from the requests it sees (typical shapes, share sizes and
 * the CPU that GPU work brings per GPU), never from a trace file; all of it changes only at the
 * learned workload's epochs (doublings), so cached scores stay valid between them.
 */
export function unidlePolicy(): PlacementPolicy {
  const learned = new LearnedWorkload();
  const pricing = new SharePricing();
  let solvedAt = -1;
  const lossPoints = (milli: number, free: number) => pricing.loss(milli, free) * PACKING_WEIGHT;
  /** The share's best device and its combined score (fragmentation gradient minus packing loss). */
  const bestDevice = (request: PlacementRequest, node: NodeView) =>
    bestShareDevice(request, node, (device) => fragmentationGradientScore(request, node, learned.shapes, device) - lossPoints(gpuDemand(request).milliPerGpu, device.freeMilli));
  const isShare = (request: PlacementRequest) => {
    const d = gpuDemand(request);
    return d.count === 1 && d.milliPerGpu < 1000;
  };
  const selector: DeviceSelector = {
    name: 'least-loss-device',
    select(request, node) {
      if (!isShare(request)) return wholeDeviceGrants(request, node);
      const { device } = bestDevice(request, node);
      if (!device) throw new Error(`node ${node.name} has no device for the share`);
      return grantsFor([device], gpuDemand(request).milliPerGpu);
    },
  };
  return {
    name: 'unidle',
    description: 'least GPU stranded behind exhausted CPU, then least fragmentation and packing loss (learned workload)',
    filters: DEFAULT_FILTERS,
    selector,
    get epoch() {
      return learned.epoch;
    },
    observe: (request) => {
      learned.observe(request);
      if (isShare(request)) pricing.observe(gpuDemand(request).milliPerGpu);
      if (learned.epoch !== solvedAt) {
        solvedAt = learned.epoch;
        pricing.solve();
      }
    },
    scorers: [
      {
        weight: 1,
        plugin: {
          name: 'fragmentation-gradient-and-packing',
          score: (request, node) => (isShare(request) ? bestDevice(request, node).score : fragmentationGradientScore(request, node, learned.shapes)),
        },
      },
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
