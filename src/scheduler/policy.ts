import type { ClusterSnapshot, DeviceGrant, NodeView, Placement, PlacementRequest } from './snapshot.js';

/**
 * The placement framework (after kube-scheduler): filters say whether a node can take the request and
 * why not; scorers rank the survivors 0–100; a device selector picks devices inside the chosen node.
 * Plugins return statuses and never throw on the hot path, so "why is my job pending?" has an answer.
 */
export type FilterStatus = { ok: true } | { ok: false; reason: string };

export interface FilterPlugin {
  name: string;
  filter(request: PlacementRequest, node: NodeView): FilterStatus;
}

export interface ScorePlugin {
  name: string;
  /** 0 (worst) – 100 (best) for placing `request` on `node` with the devices the selector chose. */
  score(request: PlacementRequest, node: NodeView, devices: DeviceGrant[], snapshot: ClusterSnapshot): number;
}

export interface DeviceSelector {
  name: string;
  /** Devices for the request on this node, or undefined when they do not fit. */
  select(request: PlacementRequest, node: NodeView): DeviceGrant[] | undefined;
}

export interface PlacementPolicy {
  name: string;
  place(request: PlacementRequest, snapshot: ClusterSnapshot): PlacementResult;
}

export type PlacementResult =
  | { placed: true; placement: Placement }
  | { placed: false; reasons: PendingReason[] };

/** One reason and how many nodes gave it, e.g. `{reason: "not enough free whole GPUs", nodes: 3}`. */
export interface PendingReason {
  reason: string;
  nodes: number;
}

export interface WeightedScorer {
  plugin: ScorePlugin;
  weight: number;
}

export interface PolicyDefinition {
  name: string;
  filters: FilterPlugin[];
  scorers: WeightedScorer[];
  selector: DeviceSelector;
}

/** Runs a policy definition: filter → select devices → score → pick the best (ties: first node). */
export function composePolicy(definition: PolicyDefinition): PlacementPolicy {
  return {
    name: definition.name,
    place(request, snapshot) {
      const reasons = new Map<string, number>();
      const note = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      let best: { node: NodeView; devices: DeviceGrant[]; score: number } | undefined;
      for (const node of snapshot.nodes) {
        let rejected = false;
        for (const filter of definition.filters) {
          const status = filter.filter(request, node);
          if (!status.ok) {
            note(status.reason);
            rejected = true;
            break;
          }
        }
        if (rejected) continue;
        const devices = definition.selector.select(request, node);
        if (!devices) {
          note(request.gpus !== null ? `fewer than ${request.gpus} free GPUs that match` : 'no GPU with enough free share that matches');
          continue;
        }
        let score = 0;
        for (const { plugin, weight } of definition.scorers) score += weight * plugin.score(request, node, devices, snapshot);
        if (!best || score > best.score) best = { node, devices, score };
      }
      if (best) return { placed: true, placement: { nodeId: best.node.id, devices: best.devices } };
      if (snapshot.nodes.length === 0) note('there are no nodes');
      return {
        placed: false,
        reasons: [...reasons.entries()].map(([reason, nodes]) => ({ reason, nodes })).sort((a, b) => b.nodes - a.nodes),
      };
    },
  };
}

export function describePending(reasons: PendingReason[]): string {
  if (reasons.length === 0) return 'waiting for the scheduler';
  return reasons.map((r) => `${r.nodes} node${r.nodes === 1 ? '' : 's'}: ${r.reason}`).join('; ');
}
