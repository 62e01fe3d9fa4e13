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
  /** The node's GPU model, where it has one model (queued work for other models does not wake it). */
  model?: string;
  /**
   * Nodes that serve the same work (the live plane: one center's nodes of one model): the `unidle`
   * policy keeps its `minEmptyNodes` awake in each pool. Absent: one pool.
   */
  pool?: string;
}

/** Queued work that found no capacity: its GPUs and the models it accepts (empty: any). */
export interface QueuedDemand {
  gpus: number;
  models: readonly string[];
  /**
   * GPUs it needs on each node and on how many nodes (a gang job: several). Where given, work that no
   * set of nodes of the fleet could hold even empty and awake is left out: waking cannot help it, so it
   * neither wakes nodes nor holds parking back. Absent: 1 GPU on 1 node (any node can hold it).
   */
  perNodeGpus?: number;
  nodes?: number;
}

export interface ParkingInput {
  nowMs: number;
  nodes: readonly ParkingNodeView[];
  /** GPUs of queued work that could not be placed on awake nodes this tick. */
  queuedGpus: number;
  /**
   * The same work by the models it accepts, where the fleet has several: wakes for queued work then
   * take only parked nodes of a model the work can run on. Absent: any parked node serves.
   */
  queued?: readonly QueuedDemand[];
  /** GPUs busy now. */
  busyGpus: number;
  /**
   * Upper bound (e.g. the forecast's upper 95%) of busy GPUs over the next wake latency (the queue
   * is counted apart, in queuedGpus); absent when no forecast is available yet.
   */
  forecastUpperGpus?: number;
  /**
   * The forecast per pool (see ParkingNodeView.pool), where the fleet has several: `unidle` then keeps
   * each pool's own forecast rise free and awake in that pool (work for one model cannot use another's
   * free GPUs) and ignores `forecastUpperGpus`. Pools left out have no forecast: their current demand
   * stands in (no rise to keep).
   */
  poolForecasts?: readonly PoolForecast[];
}

/** One pool's GPUs busy now and the upper bound of its forecast over the next wake latency. */
export interface PoolForecast {
  pool: string;
  busyGpus: number;
  upperGpus: number;
}

export interface ParkingDecision {
  park: string[];
  wake: string[];
}

export interface ParkingPolicy {
  readonly name: string;
  decide(input: ParkingInput): ParkingDecision;
  /**
   * How many more times the policy would park this node now, under its hysteresis (absent: no limit).
   * Placement can use it to send work to awake nodes that cannot park anyway.
   */
  parksLeft?(id: string, nowMs: number): number;
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

function wakingGpus(nodes: readonly ParkingNodeView[]): number {
  let s = 0;
  for (const n of nodes) if (n.state === 'waking') s += n.gpus;
  return s;
}

function serves(demand: QueuedDemand, node: ParkingNodeView): boolean {
  return demand.models.length === 0 || node.model === undefined || demand.models.includes(node.model);
}

/**
 * Parked nodes to wake for queued work, demand by demand: GPUs already waking that a demand can run
 * on count first, then parked nodes of its models in `order`. Demands no node of the fleet can run
 * are left out (waking cannot help them).
 */
function wakeForQueue(nodes: readonly ParkingNodeView[], queued: readonly QueuedDemand[], order: readonly ParkingNodeView[]): ParkingNodeView[] {
  const pool = nodes.filter((n) => n.state === 'waking').map((n) => ({ n, left: n.gpus }));
  const out: ParkingNodeView[] = [];
  const chosen = new Set<string>();
  for (const d of queued) {
    let need = d.gpus;
    for (const p of pool) {
      if (need <= 0) break;
      if (p.left <= 0 || !serves(d, p.n)) continue;
      const use = Math.min(need, p.left);
      p.left -= use;
      need -= use;
    }
    for (const n of order) {
      if (need <= 0) break;
      if (chosen.has(n.id) || !serves(d, n)) continue;
      chosen.add(n.id);
      out.push(n);
      const use = Math.min(need, n.gpus);
      pool.push({ n, left: n.gpus - use });
      need -= use;
    }
  }
  return out;
}

/** Whether the fleet, every node empty and awake, has enough nodes of a model the demand accepts to hold it. */
function couldEverRun(demand: QueuedDemand, nodes: readonly ParkingNodeView[]): boolean {
  const perNode = demand.perNodeGpus ?? 1;
  const needed = demand.nodes ?? 1;
  let found = 0;
  for (const n of nodes) {
    if (n.gpus >= perNode && serves(demand, n) && ++found >= needed) return true;
  }
  return false;
}

/** The queued demands the fleet can run, and their GPUs. */
function runnableQueue(input: ParkingInput): { queued: readonly QueuedDemand[] | undefined; gpus: number } {
  if (!input.queued) return { queued: undefined, gpus: input.queuedGpus };
  const queued = input.queued.filter((d) => d.gpus > 0 && couldEverRun(d, input.nodes));
  let gpus = 0;
  for (const d of queued) gpus += d.gpus;
  return { queued, gpus };
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
      const { queued, gpus: queuedGpus } = runnableQueue(input);
      const longestParked = input.nodes.filter((n) => n.state === 'parked').sort((a, b) => a.sinceMs - b.sinceMs || (a.id < b.id ? -1 : 1));
      const wake = wakeForQueue(input.nodes, queued ?? [{ gpus: queuedGpus, models: [] }], longestParked).map((n) => n.id);
      const park: string[] = [];
      if (queuedGpus === 0) {
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
  /** Hysteresis: at most this many parks per node in one local calendar day. */
  maxCyclesPerDay: number;
  /**
   * And at most this many in any rolling 24 hours, so two days' budgets cannot pile up around
   * midnight (default maxCyclesPerDay + 1).
   */
  maxCyclesPer24h?: number;
  /**
   * Where a node's calendar day starts: minutes its local time is ahead of UTC at `nowMs` (the live
   * plane passes its center's time zone; default 0: days start at multiples of 24 h from the epoch,
   * which is local midnight in the replay, whose minute 0 is the trace's first midnight).
   */
  utcOffsetMinutes?: (nodeId: string, nowMs: number) => number;
  /** A parked node stays parked at least this long unless work is queued, ms (avoids flapping). */
  minParkedMs?: number;
  /** Whole empty nodes kept awake (or waking) for work that needs a whole node, per pool (default 0). */
  minEmptyNodes?: number;
  /**
   * A park that would use up a node's hysteresis budget (its last allowed park) waits until the node
   * has been empty this long, ms (default: minEmptyMs). Short gaps then cannot strand the node awake
   * and unparkable for the rest of the day.
   */
  lastParkMinEmptyMs?: number;
  /**
   * Park times already spent, per node (ms), so a restarted control plane keeps the hysteresis: the
   * live plane passes the `node.parked` events of the last 24 h.
   */
  history?: ReadonlyMap<string, readonly number[]>;
}

/**
 * Forecast-driven warm reserve with a per-node cycle budget. Each tick:
 *
 *   reserve = max(0, forecastUpper − busy) + queued + margin   (GPUs to keep free and awake)
 *   available = free GPUs on awake nodes + GPUs of waking nodes
 *
 * With a forecast per pool (`poolForecasts`), the first term is the sum of each pool's rise, and each
 * pool must also hold its own rise in its own free and waking GPUs: it wakes its own parked nodes when
 * short, and its empty nodes park only while what stays covers it.
 *
 * Parked nodes are also woken when work is queued (awake nodes could not hold it, however many
 * scattered GPUs are free) and to keep `minEmptyNodes` whole empty nodes up.
 * If available < reserve, parked nodes are woken to close the gap — ahead of a forecast rise, since
 * the forecast covers the wake latency. If available exceeds the reserve by at least a whole node,
 * empty nodes beyond it are parked, those empty longest first, only after `minEmptyMs`. Without a
 * forecast the current busy GPUs stand in for it.
 *
 * The hysteresis allows each node at most `maxCyclesPerDay` parks in one local calendar day and
 * `maxCyclesPer24h` in any rolling 24 h (park times are remembered here, seeded from `history`). The
 * calendar day matters: demand troughs come at night, and a budget that renews at midnight always
 * has a park left for tonight, where a purely rolling window lets an afternoon's short dips use up
 * the night's park (on the Venus replay the calendar budget saves about 2 points more idle energy, for
 * 0.04 points more delayed demand, and so beats the idle timer on both: docs/energy.md). The budget
 * is spent where it buys the most:
 * - an empty node whose budget is spent cannot park; it stays awake and serves as the warm reserve
 *   and the kept empty node, so nodes that can park do;
 * - a park that would spend a node's last allowed park waits until the node has been empty
 *   `lastParkMinEmptyMs` (a short gap would strand it awake once woken);
 * - wakes take the parked nodes with the most parks left first (a woken node usually has to park
 *   again), and among equals the one whose budget comes back soonest (oldest park in the window).
 */
export function unidleParkingPolicy(options: UnidleParkingOptions): ParkingPolicy {
  if (!(options.marginGpus >= 0)) throw new RangeError(`marginGpus must be >= 0, got ${options.marginGpus}`);
  if (!(options.maxCyclesPerDay >= 0)) throw new RangeError(`maxCyclesPerDay must be >= 0, got ${options.maxCyclesPerDay}`);
  if (options.maxCyclesPer24h !== undefined && !(options.maxCyclesPer24h >= 0)) throw new RangeError(`maxCyclesPer24h must be >= 0, got ${options.maxCyclesPer24h}`);
  const parks = new Map<string, number[]>([...(options.history ?? [])].map(([id, at]) => [id, [...at].sort((a, b) => a - b)]));
  const minParkedMs = options.minParkedMs ?? 0;
  const lastParkMinEmptyMs = Math.max(options.minEmptyMs, options.lastParkMinEmptyMs ?? 0);
  const perDay = options.maxCyclesPerDay;
  const per24h = options.maxCyclesPer24h ?? perDay + 1;
  if (!(per24h >= perDay)) throw new RangeError(`maxCyclesPer24h (${per24h}) must be >= maxCyclesPerDay (${perDay})`);
  const offsetMs = (id: string, now: number) => (options.utcOffsetMinutes ? options.utcOffsetMinutes(id, now) * MINUTE : 0);
  /** Parks this node may still make now under both budgets. */
  const parksLeft = (id: string, now: number): number => {
    const list = parks.get(id);
    if (!list) return Math.min(perDay, per24h);
    while (list.length > 0 && list[0]! <= now - DAY) list.shift();
    const offset = offsetMs(id, now);
    const dayStart = Math.floor((now + offset) / DAY) * DAY - offset;
    let today = 0;
    for (const at of list) if (at >= dayStart) today++;
    return Math.max(0, Math.min(perDay - today, per24h - list.length));
  };
  return {
    name: 'unidle',
    parksLeft,
    decide(input) {
      const now = input.nowMs;
      const { queued, gpus: queuedGpus } = runnableQueue(input);
      // The forecast's rise: one number for the fleet, or one per pool, each kept within its pool.
      const rise = new Map<string, number>();
      for (const f of input.poolForecasts ?? []) rise.set(f.pool, (rise.get(f.pool) ?? 0) + Math.max(0, f.upperGpus - f.busyGpus));
      let forecastRise = Math.max(0, (input.forecastUpperGpus ?? input.busyGpus) - input.busyGpus);
      if (input.poolForecasts) forecastRise = [...rise.values()].reduce((a, b) => a + b, 0);
      const reserve = forecastRise + queuedGpus + options.marginGpus;
      const waking = wakingGpus(input.nodes);
      let available = waking;
      // Per pool: whole empty awake nodes, waking nodes (they come up empty), a node's GPUs, and the
      // GPUs free or on their way (for a per-pool forecast rise).
      const pools = new Map<string, { empty: number; waking: number; gpus: number; available: number }>();
      for (const n of input.nodes) {
        const pool = pools.get(n.pool ?? '') ?? { empty: 0, waking: 0, gpus: n.gpus, available: 0 };
        pools.set(n.pool ?? '', pool);
        if (n.state === 'on') {
          available += n.freeGpus;
          pool.available += n.freeGpus;
          if (n.empty) pool.empty++;
        } else if (n.state === 'waking') {
          pool.waking++;
          pool.available += n.gpus;
        }
      }
      const minEmpty = options.minEmptyNodes ?? 0;
      // Queued work means awake nodes could not hold it (free GPUs may be scattered): wake for it as
      // the idle timer does, whatever the free count says.
      const queueDeficit = queuedGpus - waking;
      let emptyDeficit = 0;
      for (const pool of pools.values()) emptyDeficit += Math.max(0, minEmpty - pool.empty - pool.waking) * pool.gpus;
      let riseDeficit = 0;
      for (const [id, r] of rise) riseDeficit += Math.max(0, r - (pools.get(id)?.available ?? r));
      const deficit = Math.max(reserve - available, queueDeficit, emptyDeficit, riseDeficit);
      if (deficit > 0) {
        const urgent = queuedGpus > 0;
        const candidates = input.nodes
          .filter((n) => n.state === 'parked' && (urgent || now - n.sinceMs >= minParkedMs))
          .map((n) => ({ n, left: parksLeft(n.id, now), since: parks.get(n.id)?.[0] ?? n.sinceMs }))
          .sort((a, b) => b.left - a.left || a.since - b.since || (a.n.id < b.n.id ? -1 : 1));
        // Queued work first, each demand on nodes of its models (its GPUs are spoken for once they
        // are up); then the warm reserve and the kept empty node from any model.
        const wake = queued ? wakeForQueue(input.nodes, queued, candidates.map((c) => c.n)).map((n) => n.id) : [];
        const rest = queued ? Math.max(reserve - queuedGpus - available, emptyDeficit) : deficit;
        let got = 0;
        // Each pool short of kept empty nodes, or of its own forecast rise, gets its own first.
        for (const [id, pool] of pools) {
          let missing = minEmpty - pool.empty - pool.waking;
          let riseMissing = (rise.get(id) ?? 0) - pool.available;
          for (const { n } of candidates) {
            if (missing <= 0 && riseMissing <= 0) break;
            if ((n.pool ?? '') !== id || wake.includes(n.id)) continue;
            wake.push(n.id);
            got += n.gpus;
            missing--;
            riseMissing -= n.gpus;
          }
        }
        for (const { n } of candidates) {
          if (got >= rest) break;
          if (wake.includes(n.id)) continue;
          wake.push(n.id);
          got += n.gpus;
        }
        return { park: [], wake };
      }
      const park: string[] = [];
      const empties = input.nodes
        .filter((n) => n.state === 'on' && n.empty && !n.veto && n.emptySinceMs !== null && now - n.emptySinceMs >= options.minEmptyMs)
        .sort((a, b) => a.emptySinceMs! - b.emptySinceMs! || (a.id < b.id ? -1 : 1));
      for (const n of empties) {
        const left = parksLeft(n.id, now);
        const pool = pools.get(n.pool ?? '')!;
        // Out of budget: it stays awake, counted in `available` and its pool's empty nodes as warm capacity.
        if (left <= 0) continue;
        if (available - n.gpus < reserve) break;
        if (pool.empty - 1 < minEmpty) continue;
        if (pool.available - n.gpus < (rise.get(n.pool ?? '') ?? 0)) continue;
        if (left === 1 && now - n.emptySinceMs! < lastParkMinEmptyMs) continue;
        park.push(n.id);
        available -= n.gpus;
        pool.available -= n.gpus;
        pool.empty--;
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
 * Defaults chosen on the Venus replay (seeds 1-3, 128 x 8, wake 10 min; seeds 4-7 checked,
 * docs/energy.md): margins of 8-16 GPUs cost savings without lowering delay; one warm empty node
 * lowers delay; 2 parks per node per calendar day and 3 in any 24 h; a node with budget to spare
 * parks after 5 empty minutes, one about to spend its last park after 60 (the 60 applies only with
 * the default 5: see createParkingPolicy).
 */
export const DEFAULT_UNIDLE_PARKING: UnidleParkingOptions = {
  marginGpus: 0,
  minEmptyMs: 5 * MINUTE,
  maxCyclesPerDay: 2,
  maxCyclesPer24h: 3,
  minParkedMs: 10 * MINUTE,
  minEmptyNodes: 1,
  lastParkMinEmptyMs: 60 * MINUTE,
};

export function createParkingPolicy(name: string, config: ParkingPolicyConfig = {}): ParkingPolicy {
  switch (name) {
    case 'always-on':
      return alwaysOnPolicy();
    case 'idle-timer':
      return idleTimerPolicy({ ...DEFAULT_IDLE_TIMER, ...config.idleTimer });
    case 'unidle': {
      // The default last-park wait goes with the default minimum empty time: a caller that sets its
      // own minimum (the live control plane's UNIDLE_PARK_AFTER_MINUTES) and no last-park wait gets
      // its minimum for every park.
      const { lastParkMinEmptyMs, ...defaults } = DEFAULT_UNIDLE_PARKING;
      const ownMinimum = config.unidle?.minEmptyMs !== undefined;
      return unidleParkingPolicy({ ...defaults, ...(ownMinimum ? {} : { lastParkMinEmptyMs }), ...config.unidle });
    }
    default:
      throw new Error(`unknown parking policy "${name}"; known: ${PARKING_POLICY_NAMES.join(', ')}`);
  }
}
