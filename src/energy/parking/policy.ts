/**
 * Node parking: which nodes to power down (park) and which to power up (wake), decided once per tick
 * from the nodes' power states, whether they hold work, the queue and (optionally) a demand forecast.
 *
 * Pure and clock-free: the caller passes `nowMs` in every input. Policies may remember what they did
 * (the `unidle` policy keeps each node's recent park times for its hysteresis), but never read the
 * clock or do I/O; a PowerDriver carries out the decisions.
 *
 * Invariants every policy keeps (and `checkDecision` enforces):
 * - only a node that is `on`, empty and not vetoed (cordon owner, reservation) is ever parked;
 * - only a `parked` node is ever woken;
 * - no node appears in both lists.
 */

export type NodePowerState = 'on' | 'parking' | 'parked' | 'waking';

export interface ParkingNodeView {
  id: string;
  state: NodePowerState;
  /** When the node entered `state`, ms. */
  sinceMs: number;
  /** True when no work runs on the node and none is reserved there. */
  empty: boolean;
  /** When the node last became empty (null while it holds work), ms. */
  emptySinceMs: number | null;
  gpus: number;
  /** GPUs free for new work (0 unless `on`). */
  freeGpus: number;
  /** Operator or cordon owner forbids parking this node. */
  veto?: boolean;
}

export interface ParkingInput {
  nowMs: number;
  nodes: readonly ParkingNodeView[];
  /** GPUs of queued work that could not be placed on awake nodes this tick. */
  queuedGpus: number;
  /** GPUs busy now. */
  busyGpus: number;
  /**
   * Upper bound (e.g. the forecast's upper 95%) of busy GPUs over the next wake latency (the queue
   * is counted apart, in queuedGpus); absent when no forecast is available yet.
   */
  forecastUpperGpus?: number;
}

export interface ParkingDecision {
  park: string[];
  wake: string[];
}

export interface ParkingPolicy {
  readonly name: string;
  decide(input: ParkingInput): ParkingDecision;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Throws if a decision breaks the invariants of the module comment (a policy bug, never data). */
export function checkDecision(input: ParkingInput, decision: ParkingDecision): void {
  const byId = new Map(input.nodes.map((n) => [n.id, n]));
  const parked = new Set<string>();
  for (const id of decision.park) {
    const n = byId.get(id);
    if (!n) throw new Error(`parking decision names unknown node ${id}`);
    if (n.state !== 'on' || !n.empty || n.veto) throw new Error(`refusing to park node ${id}: it is ${n.state}${n.empty ? '' : ' with work'}${n.veto ? ', vetoed' : ''}`);
    parked.add(id);
  }
  for (const id of decision.wake) {
    const n = byId.get(id);
    if (!n) throw new Error(`parking decision names unknown node ${id}`);
    if (n.state !== 'parked') throw new Error(`cannot wake node ${id}: it is ${n.state}`);
    if (parked.has(id)) throw new Error(`node ${id} is both parked and woken`);
  }
}

/** Never parks anything: the baseline. */
export function alwaysOnPolicy(): ParkingPolicy {
  return { name: 'always-on', decide: () => ({ park: [], wake: [] }) };
}

/** Parked nodes to wake so that `deficitGpus` more GPUs come up, longest-parked first. */
function wakeFor(nodes: readonly ParkingNodeView[], deficitGpus: number): string[] {
  if (deficitGpus <= 0) return [];
  const parked = nodes.filter((n) => n.state === 'parked').sort((a, b) => a.sinceMs - b.sinceMs || (a.id < b.id ? -1 : 1));
  const out: string[] = [];
  let got = 0;
  for (const n of parked) {
    if (got >= deficitGpus) break;
    out.push(n.id);
    got += n.gpus;
  }
  return out;
}

function wakingGpus(nodes: readonly ParkingNodeView[]): number {
  let s = 0;
  for (const n of nodes) if (n.state === 'waking') s += n.gpus;
  return s;
}

export interface IdleTimerOptions {
  /** Park a node once it has been empty this long (Slurm's SuspendTime), ms. */
  idleMs: number;
}

/**
 * Slurm-style power saving: a node empty for `idleMs` is parked; when work is queued that awake nodes
 * cannot hold, enough parked nodes are woken to cover its GPUs (beyond what is already waking).
 */
export function idleTimerPolicy(options: IdleTimerOptions): ParkingPolicy {
  if (!(options.idleMs >= 0)) throw new RangeError(`idleMs must be >= 0, got ${options.idleMs}`);
  return {
    name: 'idle-timer',
    decide(input) {
      const wake = wakeFor(input.nodes, input.queuedGpus - wakingGpus(input.nodes));
      const park: string[] = [];
      if (input.queuedGpus === 0) {
        for (const n of input.nodes) {
          if (n.state === 'on' && n.empty && !n.veto && n.emptySinceMs !== null && input.nowMs - n.emptySinceMs >= options.idleMs) park.push(n.id);
        }
      }
      return { park, wake };
    },
  };
}

export interface UnidleParkingOptions {
  /** GPUs kept free on awake nodes beyond the forecast's rise (absorbs bursts and fragmentation). */
  marginGpus: number;
  /** A node must have been empty this long before it may park, ms. */
  minEmptyMs: number;
  /** Hysteresis: at most this many parks per node in any rolling 24 hours. */
  maxCyclesPerDay: number;
  /** A parked node stays parked at least this long unless work is queued, ms (avoids flapping). */
  minParkedMs?: number;
  /** Whole empty nodes kept awake (or waking) for work that needs a whole node (default 0). */
  minEmptyNodes?: number;
  /**
   * Park times already spent, per node (ms), so a restarted control plane keeps the hysteresis: the
   * live plane passes the `node.parked` events of the last 24 h.
   */
  history?: ReadonlyMap<string, readonly number[]>;
}

/**
 * Forecast-driven warm reserve. Each tick:
 *
 *   reserve = max(0, forecastUpper − busy) + queued + margin   (GPUs to keep free and awake)
 *   available = free GPUs on awake nodes + GPUs of waking nodes
 *
 * Parked nodes are also woken when work is queued (awake nodes could not hold it, however many
 * scattered GPUs are free) and to keep `minEmptyNodes` whole empty nodes up.
 * If available < reserve, parked nodes are woken (longest-parked first) to close the gap — ahead of
 * a forecast rise, since the forecast covers the wake latency. If available exceeds the reserve by
 * at least a whole node, empty nodes beyond it are parked, those empty longest first, only after
 * `minEmptyMs`, and only nodes parked fewer than `maxCyclesPerDay` times in the last 24 h (their park
 * times are remembered here). Without a forecast the current busy GPUs stand in for it.
 */
export function unidleParkingPolicy(options: UnidleParkingOptions): ParkingPolicy {
  if (!(options.marginGpus >= 0)) throw new RangeError(`marginGpus must be >= 0, got ${options.marginGpus}`);
  if (!(options.maxCyclesPerDay >= 0)) throw new RangeError(`maxCyclesPerDay must be >= 0, got ${options.maxCyclesPerDay}`);
  const parks = new Map<string, number[]>([...(options.history ?? [])].map(([id, at]) => [id, [...at].sort((a, b) => a - b)]));
  const minParkedMs = options.minParkedMs ?? 0;
  const recentParks = (id: string, now: number): number => {
    const list = parks.get(id);
    if (!list) return 0;
    while (list.length > 0 && list[0]! <= now - DAY) list.shift();
    return list.length;
  };
  return {
    name: 'unidle',
    decide(input) {
      const now = input.nowMs;
      const upper = Math.max(input.forecastUpperGpus ?? input.busyGpus, input.busyGpus);
      const reserve = Math.max(0, upper - input.busyGpus) + input.queuedGpus + options.marginGpus;
      const waking = wakingGpus(input.nodes);
      let available = waking;
      let emptyAwake = 0;
      let wakingNodes = 0;
      for (const n of input.nodes) {
        if (n.state === 'on') {
          available += n.freeGpus;
          if (n.empty) emptyAwake++;
        } else if (n.state === 'waking') wakingNodes++;
      }
      const minEmpty = options.minEmptyNodes ?? 0;
      // Queued work means awake nodes could not hold it (free GPUs may be scattered): wake for it as
      // the idle timer does, whatever the free count says.
      const queueDeficit = input.queuedGpus - waking;
      const emptyDeficit = (minEmpty - emptyAwake - wakingNodes) * (input.nodes[0]?.gpus ?? 0);
      const deficit = Math.max(reserve - available, queueDeficit, emptyDeficit);
      if (deficit > 0) {
        const urgent = input.queuedGpus > 0;
        const candidates = input.nodes.filter((n) => n.state === 'parked' && (urgent || now - n.sinceMs >= minParkedMs));
        return { park: [], wake: wakeFor(candidates, deficit) };
      }
      const park: string[] = [];
      const empties = input.nodes
        .filter((n) => n.state === 'on' && n.empty && !n.veto && n.emptySinceMs !== null && now - n.emptySinceMs >= options.minEmptyMs)
        .sort((a, b) => a.emptySinceMs! - b.emptySinceMs! || (a.id < b.id ? -1 : 1));
      let emptyLeft = emptyAwake;
      for (const n of empties) {
        if (available - n.gpus < reserve || emptyLeft - 1 < minEmpty) break;
        emptyLeft--;
        if (recentParks(n.id, now) >= options.maxCyclesPerDay) continue;
        park.push(n.id);
        available -= n.gpus;
        const list = parks.get(n.id) ?? [];
        list.push(now);
        parks.set(n.id, list);
      }
      return { park, wake: [] };
    },
  };
}

export const PARKING_POLICY_NAMES = ['always-on', 'idle-timer', 'unidle'] as const;
export type ParkingPolicyName = (typeof PARKING_POLICY_NAMES)[number];

export interface ParkingPolicyConfig {
  idleTimer?: Partial<IdleTimerOptions>;
  unidle?: Partial<UnidleParkingOptions>;
}

export const DEFAULT_IDLE_TIMER: IdleTimerOptions = { idleMs: 30 * MINUTE };
/**
 * Defaults tuned on the Venus replay (seed 1, 128 x 8, wake 10 min): margins of 8-16 GPUs and longer
 * minimum times cost savings without lowering delay; one warm empty node lowers delay.
 */
export const DEFAULT_UNIDLE_PARKING: UnidleParkingOptions = { marginGpus: 0, minEmptyMs: 10 * MINUTE, maxCyclesPerDay: 2, minParkedMs: 10 * MINUTE, minEmptyNodes: 1 };

export function createParkingPolicy(name: string, config: ParkingPolicyConfig = {}): ParkingPolicy {
  switch (name) {
    case 'always-on':
      return alwaysOnPolicy();
    case 'idle-timer':
      return idleTimerPolicy({ ...DEFAULT_IDLE_TIMER, ...config.idleTimer });
    case 'unidle':
      return unidleParkingPolicy({ ...DEFAULT_UNIDLE_PARKING, ...config.unidle });
    default:
      throw new Error(`unknown parking policy "${name}"; known: ${PARKING_POLICY_NAMES.join(', ')}`);
  }
}
