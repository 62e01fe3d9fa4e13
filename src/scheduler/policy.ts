import type { DeviceGrant, NodeView, PlacementRequest } from './snapshot.js';

/**
 * The placement framework (after kube-scheduler): filters say whether a node can take the request and
 * why not; scorers rank the survivors; a device selector picks devices inside the chosen node. A
 * policy is a named combination of them. Plugins return statuses and never throw on the hot path, so
 * "why is my job pending?" has an answer.
 *
 * The engine groups nodes whose free resources are identical and scores each group once, so filters
 * and scorers must depend only on the node's free CPU and memory, the multiset of its devices'
 * (model, memory, free milli) and whatever the policy's `classKey` adds — never on ids or device order.
 */
export type FilterStatus = { ok: true } | { ok: false; reason: string };

export interface FilterPlugin {
  name: string;
  filter(request: PlacementRequest, node: NodeView): FilterStatus;
}

export interface ScorePlugin {
  name: string;
  /** Higher is better. The baselines return integers 0–100; ties go to the node with the lowest rank. */
  score(request: PlacementRequest, node: NodeView): number;
}

export interface DeviceSelector {
  name: string;
  /** Devices for the request on a node that passed the filters. */
  select(request: PlacementRequest, node: NodeView): DeviceGrant[];
}

export interface WeightedScorer {
  plugin: ScorePlugin;
  weight: number;
}

export interface PlacementPolicy {
  readonly name: string;
  readonly description: string;
  readonly filters: readonly FilterPlugin[];
  /** Empty: a uniformly random feasible node (the `random` policy). */
  readonly scorers: readonly WeightedScorer[];
  readonly selector: DeviceSelector;
  /** Node state the scorers read beyond free resources (e.g. kinds of work placed), as a string. */
  classKey?(node: NodeView): string;
  /**
   * Bumped whenever what the policy learned changes its scores: the engine then drops cached scores.
   * Policies that learn nothing leave it undefined.
   */
  readonly epoch?: number;
  /** Called by the engine with its nodes before any scoring (e.g. to learn the largest node's size). */
  prepare?(nodes: readonly NodeView[]): void;
  /** Sees every arriving request once (placed or not): how policies learn the workload. */
  observe?(request: PlacementRequest): void;
}

/** One reason and how many nodes gave it, e.g. `{reason: "not enough free whole GPUs", nodes: 3}`. */
export interface PendingReason {
  reason: string;
  nodes: number;
}

export function describePending(reasons: PendingReason[]): string {
  if (reasons.length === 0) return 'waiting for the scheduler';
  return reasons.map((r) => `${r.nodes} node${r.nodes === 1 ? '' : 's'}: ${r.reason}`).join('; ');
}
