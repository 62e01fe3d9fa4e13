import type { Random } from '../domain/random.js';
import type { PendingReason, PlacementPolicy } from './policy.js';
import { shapeKey, workKind } from './request-shape.js';
import type { NodeView, Placement, PlacementRequest } from './snapshot.js';

/**
 * Nodes whose free resources are identical (same free CPU and memory, same multiset of device
 * model/memory/free, same policy-specific key) form a class. A class is scored once per request shape
 * and its score never changes (its state is its key), so a placement costs work proportional to the
 * classes that changed since that shape was last placed, not to the cluster size.
 */
interface NodeClass {
  readonly key: string;
  /** Member node indexes, ascending by rank: the first one wins the class's ties. */
  readonly members: number[];
  /** Bumped on every membership change; heap entries carry the version they were pushed at. */
  version: number;
  /**
   * Per request shape id, in parallel typed arrays (a 100,000-node cluster holds tens of thousands of
   * classes times a hundred shapes, so objects per entry would not fit in memory): whether the class
   * was evaluated and could take the shape, its score, and the class version last pushed into that
   * shape's heap (-1: never), so a class is pushed once per version.
   */
  status: Uint8Array;
  scores: Float64Array;
  pushed: Int32Array;
}

const UNKNOWN = 0;
const FEASIBLE = 1;
const INFEASIBLE = 2;
const NO_SLOTS = { status: new Uint8Array(0), scores: new Float64Array(0), pushed: new Int32Array(0) };

/**
 * Per request shape, a max-heap of (score, rank) over class versions, filled lazily from the
 * change log. Entries whose class has changed since are stale and skipped when they surface.
 */
class ShapeQueue {
  private scores: number[] = [];
  private ranks: number[] = [];
  private classes: NodeClass[] = [];
  private versions: number[] = [];
  /** Position in the engine's change log up to which this shape has seen class changes. */
  cursor = 0;

  clear(): void {
    this.scores.length = this.ranks.length = this.classes.length = this.versions.length = 0;
    this.cursor = 0;
  }

  get size(): number {
    return this.scores.length;
  }

  private better(i: number, j: number): boolean {
    const si = this.scores[i]!;
    const sj = this.scores[j]!;
    return si > sj || (si === sj && this.ranks[i]! < this.ranks[j]!);
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i]!, r = this.ranks[i]!, c = this.classes[i]!, v = this.versions[i]!;
    this.scores[i] = this.scores[j]!;
    this.ranks[i] = this.ranks[j]!;
    this.classes[i] = this.classes[j]!;
    this.versions[i] = this.versions[j]!;
    this.scores[j] = s;
    this.ranks[j] = r;
    this.classes[j] = c;
    this.versions[j] = v;
  }

  push(score: number, rank: number, cls: NodeClass, version: number): void {
    let i = this.scores.length;
    this.scores.push(score);
    this.ranks.push(rank);
    this.classes.push(cls);
    this.versions.push(version);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The best class whose entry is still current, dropping stale entries on the way. */
  peekValid(): NodeClass | undefined {
    while (this.scores.length > 0) {
      const cls = this.classes[0]!;
      if (this.versions[0] === cls.version && cls.members.length > 0) return cls;
      this.popTop();
    }
    return undefined;
  }

  private popTop(): void {
    const last = this.scores.length - 1;
    this.swap(0, last);
    this.scores.pop();
    this.ranks.pop();
    this.classes.pop();
    this.versions.pop();
    let i = 0;
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.better(l, best)) best = l;
      if (r < n && this.better(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }
}

export interface PlacementEngineOptions {
  /**
   * Tie-break rank per node index (a permutation of 0..n-1): among equal scores the lowest rank
   * wins. The simulator draws it per seed, as the published method does; the live control plane
   * uses node order. Default: node order.
   */
  ranks?: ArrayLike<number>;
  /** Required by policies without scorers (`random`), which pick a uniformly random feasible node. */
  random?: Random;
}

export interface EngineDecision {
  node: NodeView;
  placement: Placement;
}

/**
 * Places requests on a set of nodes with one policy, keeping the nodes' free resources up to date as
 * it reserves. Pure and synchronous: the simulator and the live scheduling cycle both drive it.
 */
export class PlacementEngine {
  readonly nodes: readonly NodeView[];
  private readonly ranks: Int32Array;
  private readonly classOf: (NodeClass | undefined)[];
  private readonly classes = new Map<string, NodeClass>();
  private readonly live = new Set<NodeClass>();
  private log: NodeClass[] = [];
  private readonly queues: ShapeQueue[] = [];
  /**
   * Request shapes get small integer ids so per-class caches are arrays, not string-keyed maps. The
   * id is remembered per request object, so callers must not change a request after handing it over.
   */
  private readonly shapeIds = new Map<string, number>();
  private readonly requestShapes = new WeakMap<PlacementRequest, number>();
  private readonly nodeIndex = new Map<NodeView, number>();
  private epoch: number | undefined;
  private readonly scratch: NodeClass[] = [];

  constructor(
    private readonly policy: PlacementPolicy,
    nodes: readonly NodeView[],
    private readonly options: PlacementEngineOptions = {},
  ) {
    this.nodes = nodes;
    policy.prepare?.(nodes);
    this.ranks = new Int32Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) this.ranks[i] = options.ranks ? options.ranks[i]! : i;
    this.classOf = new Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      this.nodeIndex.set(nodes[i]!, i);
      this.join(i);
    }
    this.epoch = policy.epoch;
    if (policy.scorers.length === 0 && !options.random) throw new Error(`policy ${policy.name} picks nodes at random: give the engine a seeded Random`);
  }

  /** The number of node classes currently holding nodes (how much the grouping saves). */
  get classCount(): number {
    return this.live.size;
  }

  /** Lets the policy learn from an arriving request (placed or not). Call once per arrival. */
  observe(request: PlacementRequest): void {
    this.policy.observe?.(request);
  }

  /** The node and devices the policy chooses for the request, or undefined when no node can take it. Changes nothing. */
  choose(request: PlacementRequest): EngineDecision | undefined {
    if (this.policy.epoch !== this.epoch) this.reset(true);
    const shape = this.shapeOf(request);
    const index = this.policy.scorers.length === 0 ? this.chooseRandomly(request, shape) : this.chooseBest(request, shape);
    if (index === undefined) return undefined;
    const node = this.nodes[index]!;
    return { node, placement: { nodeId: node.id, devices: this.policy.selector.select(request, node) } };
  }

  /** Chooses and reserves in one step; undefined when nothing fits. */
  place(request: PlacementRequest): EngineDecision | undefined {
    const decision = this.choose(request);
    if (decision) this.reserve(request, decision);
    return decision;
  }

  /** Applies a decision to the node's free resources. */
  reserve(request: PlacementRequest, decision: EngineDecision): void {
    const { node, placement } = decision;
    const index = this.nodeIndex.get(node);
    if (index === undefined) throw new Error(`node ${node.name} is not one of this engine's nodes`);
    node.cpuMilliFree -= request.cpuMilli;
    node.memoryMibFree -= request.memoryMib;
    for (const grant of placement.devices) {
      const device = node.devices.find((d) => d.id === grant.deviceId);
      if (!device) throw new Error(`placement names unknown device ${grant.deviceId}`);
      device.freeMilli -= grant.milli;
    }
    const kind = workKind(request);
    if (kind !== null) {
      node.workKinds ??= new Map();
      node.workKinds.set(kind, (node.workKinds.get(kind) ?? 0) + 1);
    }
    this.leave(index);
    this.join(index);
  }

  /**
   * Gang placement: the request on `count` distinct nodes, all or none (a multi-node job's per-node
   * shape). Only nodes `eligible` accepts are considered (an executor that can start multi-node work).
   * Nodes are chosen one at a time by the policy, each chosen node hidden from the next choice; if
   * fewer than `count` fit, every reservation made is undone and nothing changes.
   */
  placeGang(request: PlacementRequest, count: number, eligible: (node: NodeView) => boolean): EngineDecision[] | undefined {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`a gang needs a whole number of nodes ≥ 1 (got ${count})`);
    const hidden: number[] = [];
    const hide = (index: number) => {
      const node = this.nodes[index]!;
      if (!node.schedulable) return;
      node.schedulable = false;
      hidden.push(index);
      this.leave(index);
      this.join(index);
    };
    this.nodes.forEach((node, i) => {
      if (!eligible(node)) hide(i);
    });
    const placed: EngineDecision[] = [];
    try {
      while (placed.length < count) {
        const decision = this.choose(request);
        if (!decision) break;
        this.reserve(request, decision);
        placed.push(decision);
        hide(this.nodeIndex.get(decision.node)!);
      }
    } finally {
      for (const i of hidden) {
        this.nodes[i]!.schedulable = true;
        this.leave(i);
        this.join(i);
      }
    }
    if (placed.length < count) {
      for (const d of placed) this.unreserve(request, d);
      return undefined;
    }
    return placed;
  }

  /** Gives a reserved decision's resources back (the inverse of reserve). */
  unreserve(request: PlacementRequest, decision: EngineDecision): void {
    const { node, placement } = decision;
    const index = this.nodeIndex.get(node);
    if (index === undefined) throw new Error(`node ${node.name} is not one of this engine's nodes`);
    node.cpuMilliFree += request.cpuMilli;
    node.memoryMibFree += request.memoryMib;
    for (const grant of placement.devices) {
      const device = node.devices.find((d) => d.id === grant.deviceId);
      if (device) device.freeMilli += grant.milli;
    }
    const kind = workKind(request);
    const n = kind !== null ? node.workKinds?.get(kind) : undefined;
    if (kind !== null && n !== undefined) {
      if (n <= 1) node.workKinds!.delete(kind);
      else node.workKinds!.set(kind, n - 1);
    }
    this.leave(index);
    this.join(index);
  }

  /** Why no node can take the request: each reason with the number of nodes that gave it. */
  explain(request: PlacementRequest): PendingReason[] {
    const reasons = new Map<string, number>();
    if (this.nodes.length === 0) return [{ reason: 'there are no nodes', nodes: 0 }];
    for (const cls of this.live) {
      const node = this.nodes[cls.members[0]!]!;
      for (const filter of this.policy.filters) {
        const status = filter.filter(request, node);
        if (!status.ok) {
          reasons.set(status.reason, (reasons.get(status.reason) ?? 0) + cls.members.length);
          break;
        }
      }
    }
    return [...reasons.entries()].map(([reason, nodes]) => ({ reason, nodes })).sort((a, b) => b.nodes - a.nodes || a.reason.localeCompare(b.reason));
  }

  private shapeOf(request: PlacementRequest): number {
    let id = this.requestShapes.get(request);
    if (id !== undefined) return id;
    const key = shapeKey(request);
    id = this.shapeIds.get(key);
    if (id === undefined) {
      id = this.shapeIds.size;
      this.shapeIds.set(key, id);
      this.queues.push(new ShapeQueue());
    }
    this.requestShapes.set(request, id);
    return id;
  }

  private chooseBest(request: PlacementRequest, shape: number): number | undefined {
    const queue = this.queues[shape]!;
    for (let i = queue.cursor; i < this.log.length; i++) {
      const cls = this.log[i]!;
      if (cls.members.length === 0) continue;
      if (!this.evaluate(cls, request, shape) || cls.pushed[shape] === cls.version) continue;
      cls.pushed[shape] = cls.version;
      queue.push(cls.scores[shape]!, this.ranks[cls.members[0]!]!, cls, cls.version);
    }
    queue.cursor = this.log.length;
    const best = queue.peekValid();
    return best?.members[0];
  }

  /** Uniform over feasible nodes; like the published method, a single candidate is taken without a draw. */
  private chooseRandomly(request: PlacementRequest, shape: number): number | undefined {
    const feasible = this.scratch;
    feasible.length = 0;
    let total = 0;
    for (const cls of this.live) {
      if (!this.evaluate(cls, request, shape)) continue;
      feasible.push(cls);
      total += cls.members.length;
    }
    if (total === 0) return undefined;
    let pick = total === 1 ? 0 : this.options.random!.int(total);
    for (const cls of feasible) {
      if (pick < cls.members.length) return cls.members[pick];
      pick -= cls.members.length;
    }
    throw new Error('unreachable: random pick beyond the feasible nodes');
  }

  /** Whether the class can take the shape, scoring it on first sight (the score lands in `cls.scores`). */
  private evaluate(cls: NodeClass, request: PlacementRequest, shape: number): boolean {
    if (shape >= cls.status.length) this.growSlots(cls);
    const known = cls.status[shape];
    if (known !== UNKNOWN) return known === FEASIBLE;
    const node = this.nodes[cls.members[0]!]!;
    let feasible = true;
    for (const filter of this.policy.filters) {
      if (!filter.filter(request, node).ok) {
        feasible = false;
        break;
      }
    }
    let score = 0;
    if (feasible) for (const { plugin, weight } of this.policy.scorers) score += weight * plugin.score(request, node);
    cls.status[shape] = feasible ? FEASIBLE : INFEASIBLE;
    cls.scores[shape] = score;
    cls.pushed[shape] = -1;
    return feasible;
  }

  private growSlots(cls: NodeClass): void {
    const size = Math.max(8, this.shapeIds.size + 8);
    const status = new Uint8Array(size);
    const scores = new Float64Array(size);
    const pushed = new Int32Array(size).fill(-1);
    status.set(cls.status);
    scores.set(cls.scores);
    pushed.set(cls.pushed);
    cls.status = status;
    cls.scores = scores;
    cls.pushed = pushed;
  }

  private classKeyOf(node: NodeView): string {
    const devices = node.devices.map((d) => `${d.model}/${d.memoryMib}/${d.freeMilli}`);
    devices.sort();
    const extra = this.policy.classKey ? this.policy.classKey(node) : '';
    return `${node.schedulable ? '' : '!'}${node.cpuMilliFree},${node.memoryMibFree},${extra};${devices.join(';')}`;
  }

  private join(index: number): void {
    const key = this.classKeyOf(this.nodes[index]!);
    let cls = this.classes.get(key);
    if (!cls) {
      cls = { key, members: [], version: 0, ...NO_SLOTS };
      this.classes.set(key, cls);
    }
    const members = cls.members;
    members.splice(this.rankPosition(members, this.ranks[index]!), 0, index);
    cls.version++;
    this.live.add(cls);
    this.classOf[index] = cls;
    this.logChange(cls);
  }

  /** Where a node of `rank` sits (or would sit) in a class's members, kept in rank order. */
  private rankPosition(members: readonly number[], rank: number): number {
    let lo = 0;
    let hi = members.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranks[members[mid]!]! < rank) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private leave(index: number): void {
    const cls = this.classOf[index]!;
    const members = cls.members;
    const at = this.rankPosition(members, this.ranks[index]!);
    if (members[at] !== index) throw new Error('node missing from its class');
    members.splice(at, 1);
    cls.version++;
    if (members.length === 0) {
      this.live.delete(cls);
      // Empty classes are forgotten so memory tracks the live cluster, not its history (stale heap
      // entries may still point at one until the next rebuild: drop its score cache now).
      this.classes.delete(cls.key);
      Object.assign(cls, NO_SLOTS);
    } else {
      this.logChange(cls);
    }
    this.classOf[index] = undefined;
  }

  private logChange(cls: NodeClass): void {
    this.log.push(cls);
    // The log only has to remember changes not yet seen by every shape; rebuilding it from the live
    // classes (and the heaps from cached scores) keeps it proportional to the live cluster.
    if (this.log.length > 4 * this.live.size + 4096) this.reset(false);
  }

  /** Rebuilds the change log and heaps from the live classes; `dropScores` when the policy's scores changed. */
  private reset(dropScores: boolean): void {
    this.epoch = this.policy.epoch;
    this.log = [...this.live];
    for (const queue of this.queues) queue.clear();
    for (const cls of this.live) {
      if (dropScores) cls.status.fill(UNKNOWN);
      cls.pushed.fill(-1);
    }
  }
}
