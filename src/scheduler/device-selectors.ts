import type { Random } from '../domain/random.js';
import type { DeviceSelector } from './policy.js';
import { deviceMatches, gpuDemand, grantsFor, lowestFreeWholeDevices } from './request-shape.js';
import type { DeviceGrant, DeviceView, NodeView, PlacementRequest } from './snapshot.js';

/** Whole GPUs: the lowest-index fully free devices of one matching model (all published policies agree). */
export function wholeDeviceGrants(request: PlacementRequest, node: NodeView): DeviceGrant[] {
  const d = gpuDemand(request);
  if (d.count === 0) return [];
  const devices = lowestFreeWholeDevices(request, node, d.count);
  if (!devices) throw new Error(`node ${node.name} cannot hold ${d.count} whole GPUs; the filters should have rejected it`);
  return grantsFor(devices, 1000);
}

function shareOrWhole(pickShare: (request: PlacementRequest, node: NodeView, milli: number) => DeviceView | undefined) {
  return (request: PlacementRequest, node: NodeView): DeviceGrant[] => {
    const d = gpuDemand(request);
    if (d.count === 0 || d.milliPerGpu === 1000) return wholeDeviceGrants(request, node);
    const device = pickShare(request, node, d.milliPerGpu);
    if (!device) throw new Error(`node ${node.name} has no device with ${d.milliPerGpu} milli-GPU free; the filters should have rejected it`);
    return grantsFor([device], d.milliPerGpu);
  };
}

/**
 * Best fit inside the node: a share goes to the fullest device it still fits on (lowest index on
 * ties), so fully free devices stay whole for whole-GPU work.
 */
export const bestFitDevices: DeviceSelector = {
  name: 'best-fit-devices',
  select: shareOrWhole((request, node, milli) => {
    let chosen: DeviceView | undefined;
    for (const device of node.devices) {
      if (device.freeMilli < milli || !deviceMatches(request, device)) continue;
      if (!chosen || device.freeMilli < chosen.freeMilli) chosen = device;
    }
    return chosen;
  }),
};

/** A share on a uniformly random device it fits on (the `random` baseline). */
export function randomDevices(rng: Random): DeviceSelector {
  return {
    name: 'random-devices',
    select: shareOrWhole((request, node, milli) => {
      const fitting = node.devices.filter((device) => device.freeMilli >= milli && deviceMatches(request, device));
      return fitting.length === 0 ? undefined : fitting[rng.int(fitting.length)];
    }),
  };
}

/**
 * For a share: the lowest-index device whose placement scores best under `scoreOf`, and that score
 * (undefined / -Infinity when none fits). Devices alike in model and free amount score alike, so each
 * such pair is scored once.
 */
export function bestShareDevice(
  request: PlacementRequest,
  node: NodeView,
  scoreOf: (device: DeviceView) => number,
): { device: DeviceView | undefined; score: number } {
  const milli = gpuDemand(request).milliPerGpu;
  let device: DeviceView | undefined;
  let score = -Infinity;
  const tried = new Set<string>();
  for (const candidate of node.devices) {
    if (candidate.freeMilli < milli || !deviceMatches(request, candidate)) continue;
    const key = `${candidate.model}/${candidate.freeMilli}`;
    if (tried.has(key)) continue;
    tried.add(key);
    const s = scoreOf(candidate);
    if (s > score) {
      score = s;
      device = candidate;
    }
  }
  return { device, score };
}

/** A selector placing a share by `bestShareDevice` (whole GPUs as every policy does). */
export function bestScoringDevice(name: string, scoreAfter: (request: PlacementRequest, node: NodeView, device: DeviceView) => number): DeviceSelector {
  return {
    name,
    select: shareOrWhole((request, node) => bestShareDevice(request, node, (device) => scoreAfter(request, node, device)).device),
  };
}
