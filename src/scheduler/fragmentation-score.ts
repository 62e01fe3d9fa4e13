import { deviceArrays, expectedFragmentation } from './fragmentation.js';
import { bestShareDevice } from './device-selectors.js';
import { gpuDemand, lowestFreeWholeDevices } from './request-shape.js';
import type { DeviceView, NodeView, PlacementRequest } from './snapshot.js';
import type { TypicalShape } from './typical-workload.js';

/**
 * FGD's score for placing `request` on `node` (a share on `device`): trunc(100·σ(ΔF/1000)) where ΔF
 * is how much the placement lowers the node's expected fragmentation. 50 means no change; one GPU of
 * new fragment costs about 24 points. The published method's advantage depends on this quantisation
 * (coarse scores tie often and the fixed node rank then packs work), so it is kept exactly.
 */
export function fragmentationGradientScore(request: PlacementRequest, node: NodeView, workload: readonly TypicalShape[], device?: DeviceView): number {
  const { frees, models } = deviceArrays(node);
  const before = expectedFragmentation(node.cpuMilliFree, frees, models, workload);
  const d = gpuDemand(request);
  if (device) frees[node.devices.indexOf(device)]! -= d.milliPerGpu;
  else if (d.count > 0) for (const taken of lowestFreeWholeDevices(request, node, d.count) ?? []) frees[node.devices.indexOf(taken)] = 0;
  const after = expectedFragmentation(node.cpuMilliFree - request.cpuMilli, frees, models, workload);
  return Math.trunc(100 / (1 + Math.exp(-(before - after) / 1000)));
}

/** The node's score: for a share, that of its best device. */
export function bestFragmentationGradientScore(request: PlacementRequest, node: NodeView, workload: readonly TypicalShape[]): number {
  const d = gpuDemand(request);
  if (d.count !== 1 || d.milliPerGpu === 1000) return fragmentationGradientScore(request, node, workload);
  return bestShareDevice(request, node, (device) => fragmentationGradientScore(request, node, workload, device)).score;
}
