import { sql } from 'kysely';
import type { Clock } from '../domain/clock.js';
import { UnidleError } from '../domain/errors.js';
import { utcOffsetMinutes } from '../domain/timezone.js';
import { checkDecision, createParkingPolicy, type NodePowerState, type ParkingDecision, type ParkingNodeView, type ParkingPolicy, type PoolForecast, type QueuedDemand } from '../energy/parking/policy.js';
import { HoltWinters } from '../forecast/holt-winters.js';
import type { FittedModel } from '../forecast/forecaster.js';
import type { DB, Db, Dialect } from '../store/database.js';
import type { NodesTable } from '../store/schema.js';
import { busyGpuSeries, type AllocationInterval } from './demand-history.js';
import { appendEvent } from './events.js';
import type { NodeInfo } from './inventory-service.js';
import type { InventoryService } from './inventory-service.js';
import type { Logger } from './control-plane.js';
import { requireOperator, type Principal } from './principal.js';
import type { NodePowerDriver, PowerTarget } from './power/node-power-driver.js';

export const LIVE_PARKING_POLICIES = ['off', 'idle-timer', 'unidle'] as const;
export type LiveParkingPolicy = (typeof LIVE_PARKING_POLICIES)[number];

export interface ParkingOptions {
  /** off: nothing is parked by policy (operators may still park and wake by hand). */
  policy: LiveParkingPolicy;
  /** idle-timer: park a node empty this long; unidle: the least time empty before parking. */
  idleMs: number;
  /** A woken node not up within this long is marked down (Slurm's ResumeTimeout). */
  wakeTimeoutMs: number;
  /** unidle: GPUs kept free and awake beyond the forecast's rise. */
  marginGpus: number;
  /** unidle: at most this many parks per node in one calendar day of its center's time zone… */
  maxCyclesPerDay: number;
  /** …and in any rolling 24 hours (default: maxCyclesPerDay + 1). */
  maxCyclesPer24h?: number;
  driver: NodePowerDriver;
}

export const DEFAULT_PARKING: Omit<ParkingOptions, 'driver'> = { policy: 'off', idleMs: 30 * 60_000, wakeTimeoutMs: 10 * 60_000, marginGpus: 8, maxCyclesPerDay: 2 };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The forecast needs two whole weeks of hourly history (Holt-Winters' weekly initialisation). */
const FORECAST_MIN_HISTORY = 15 * DAY;
const FORECAST_WINDOW = 35 * DAY;
/** A node left in `parking` this long (the process died during the command) is parked again. */
const STUCK_PARKING_MS = 2 * 60_000;

export interface ParkingTickResult {
  parked: string[];
  woken: string[];
  awake: string[];
  failed: string[];
}

export interface ParkingStatus {
  policy: LiveParkingPolicy;
  driver: string;
  idleMs: number;
  wakeTimeoutMs: number;
  nodes: Record<NodePowerState, number>;
  parkedGpus: number;
  /** unidle: the hysteresis budget per node (null for other policies). */
  cycleBudget: { perDay: number; per24h: number } | null;
  /** The forecasts' upper 95 % bounds of busy GPUs over the next hour, summed over pools; null until a pool has two weeks of history. */
  forecastUpperGpus: number | null;
  /** unidle: per pool (center/model), busy GPUs now and the forecast's upper bound; pools without two weeks of history are left out. */
  forecastByPool: PoolForecast[];
  lastTickAt: number | null;
  lastDecision: ParkingDecision | null;
}

/**
 * Node parking in the live control plane: each tick finishes wakes in progress, asks the parking
 * policy (src/energy/parking/policy.ts, the same code the Venus replay runs) which empty nodes to
 * power down and which parked ones to power up, and carries that out through a power driver.
 *
 * Safety does not rest on the policy alone: a node is parked only inside a transaction that finds it
 * up, on, empty and unvetoed (cordoned, draining or `park_veto` nodes are never parked by policy),
 * and the scheduler's commit requires `power_state = 'on'`, so work and parking cannot cross. Parks
 * that would leave reservations without awake capacity of their model are dropped.
 */
export class ParkingService {
  private policyImpl: ParkingPolicy | undefined;
  /** Each node's center time zone (refreshed every tick): the parking budget renews at local midnight. */
  private readonly nodeZones = new Map<string, string>();
  private readonly zoneOffsets = new Map<string, { at: number; minutes: number }>();
  /** One demand model per pool (center/model), refitted hourly; null where the pool's history is too short or fitting failed. */
  private forecastModels: { fittedAt: number; models: Map<string, FittedModel | null> } | undefined;
  private lastTickAt: number | null = null;
  private lastDecision: ParkingDecision | null = null;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly dialect: Dialect,
    private readonly inventory: InventoryService,
    readonly options: ParkingOptions,
    private readonly log?: Logger,
  ) {}

  async status(p: Principal): Promise<ParkingStatus> {
    requireOperator(p);
    const nodes: Record<NodePowerState, number> = { on: 0, parking: 0, parked: 0, waking: 0 };
    const rows = await this.db
      .selectFrom('nodes')
      .leftJoin('devices', 'devices.node_id', 'nodes.id')
      .select(['nodes.id', 'nodes.power_state', (eb) => eb.fn.count<number>('devices.id').as('gpus')])
      .groupBy(['nodes.id', 'nodes.power_state'])
      .execute();
    let parkedGpus = 0;
    for (const r of rows) {
      const state = r.power_state as NodePowerState;
      nodes[state] = (nodes[state] ?? 0) + 1;
      if (state === 'parked' || state === 'parking') parkedGpus += Number(r.gpus);
    }
    return {
      policy: this.options.policy,
      driver: this.options.driver.name,
      idleMs: this.options.idleMs,
      wakeTimeoutMs: this.options.wakeTimeoutMs,
      nodes,
      parkedGpus,
      cycleBudget: this.options.policy === 'unidle' ? this.cycleBudget() : null,
      ...(await this.forecastStatus()),
      lastTickAt: this.lastTickAt,
      lastDecision: this.lastDecision,
    };
  }

  /** An operator parks an empty node now (refused while it holds work or carries a veto). */
  async park(p: Principal, idOrName: string): Promise<NodeInfo> {
    requireOperator(p);
    const node = await this.inventory.getNode(idOrName);
    if (node.parkVeto) throw new UnidleError('invalid_state', `node ${node.name} must not be parked${node.parkVetoReason ? ` (${node.parkVetoReason})` : ''}; lift the veto first: unidle nodes allow-park ${node.name}`);
    if (node.powerState !== 'on') throw new UnidleError('invalid_state', `node ${node.name} is ${node.powerState}; only a node that is on can be parked`);
    if (node.status !== 'up') throw new UnidleError('invalid_state', `node ${node.name} is ${node.status}; only a node that is up can be parked`);
    const outcome = await this.parkNode(node.id, p.memberId, 'by an operator');
    if (outcome !== 'parked') throw new UnidleError('invalid_state', outcome);
    return this.inventory.getNode(node.id);
  }

  /** An operator wakes a parked node now. */
  async wake(p: Principal, idOrName: string): Promise<NodeInfo> {
    requireOperator(p);
    const node = await this.inventory.getNode(idOrName);
    if (node.powerState === 'waking' || node.powerState === 'on') return node;
    const outcome = await this.wakeNode(node.id, p.memberId, 'by an operator');
    if (outcome !== 'waking') throw new UnidleError('invalid_state', outcome);
    return this.inventory.getNode(node.id);
  }

  /** Forbids (or allows again) parking a node; a veto does not wake a node already parked. */
  async setVeto(p: Principal, idOrName: string, veto: boolean, reason?: string): Promise<NodeInfo> {
    requireOperator(p);
    const node = await this.inventory.getNode(idOrName);
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('nodes')
        .set({ park_veto: veto ? 1 : 0, park_veto_reason: veto ? (reason ?? null) : null, updated_at: now })
        .where('id', '=', node.id)
        .execute();
      await appendEvent(tx, {
        at: now,
        type: veto ? 'node.park-vetoed' : 'node.park-allowed',
        subjectKind: 'node',
        subjectId: node.id,
        actor: p.memberId,
        message: veto ? `node ${node.name} may not be parked${reason ? `: ${reason}` : ''}` : `node ${node.name} may be parked again`,
      });
    });
    return this.inventory.getNode(node.id);
  }

  /**
   * One pass: finish or time out wakes, re-park nodes stuck in `parking`, then let the policy decide.
   * `shortGpus`: GPUs of queued work the last scheduling pass could not place for lack of capacity.
   */
  async tick(input: { shortGpus: number; short?: readonly QueuedDemand[]; shortAt?: number }): Promise<ParkingTickResult> {
    const now = this.clock.now();
    const result: ParkingTickResult = { parked: [], woken: [], awake: [], failed: [] };
    const nodes = await this.db.selectFrom('nodes').selectAll().execute();
    for (const n of nodes) {
      if (n.power_state === 'waking') {
        const up = await this.finishWake(n, now);
        if (up === true) result.awake.push(n.name);
        else if (up === 'timeout') result.failed.push(n.name);
      } else if (n.power_state === 'parking' && now - (n.power_changed_at ?? 0) >= STUCK_PARKING_MS) {
        const outcome = await this.parkNode(n.id, null, 'again: the previous park did not finish', true);
        if (outcome === 'parked') result.parked.push(n.name);
        else result.failed.push(n.name);
      }
    }
    this.lastTickAt = now;
    if (this.options.policy === 'off') return result;

    const views = await this.views();
    // Nodes up since the scheduling pass that measured the shortfall (`shortAt`) have not been offered
    // the queued work yet: to the policy they are still on their way, so the same shortfall does not
    // wake more nodes.
    const shortAt = input.shortAt ?? (result.awake.length > 0 ? now : undefined);
    if (input.shortGpus > 0 && shortAt !== undefined) {
      for (const v of views.nodes) if (v.state === 'on' && v.sinceMs >= shortAt) Object.assign(v, { state: 'waking', freeGpus: 0 });
    }
    const policy = await this.policy(now);
    const busyGpus = views.busyGpus;
    // Each pool's forecast rise is kept in that pool: work for one model cannot run on another's GPUs.
    const poolForecasts = policy.name === 'unidle' ? await this.poolForecasts(now, views.pools) : undefined;
    const parkingInput = {
      nowMs: now,
      nodes: views.nodes,
      queuedGpus: input.shortGpus,
      ...(input.short ? { queued: input.short } : {}),
      busyGpus,
      ...(poolForecasts ? { poolForecasts } : {}),
    };
    const decision = policy.decide(parkingInput);
    checkDecision(parkingInput, decision);
    decision.park = await this.keepReservationsAwake(decision.park, views.nodes);
    this.lastDecision = decision;
    const names = new Map(nodes.map((n) => [n.id, n.name]));
    for (const id of decision.wake) {
      const outcome = await this.wakeNode(id, null, input.shortGpus > 0 ? `for ${input.shortGpus} queued GPUs` : 'for the forecast warm reserve');
      (outcome === 'waking' ? result.woken : result.failed).push(names.get(id) ?? id);
    }
    for (const id of decision.park) {
      const outcome = await this.parkNode(id, null, `by the ${policy.name} policy`);
      if (outcome === 'parked') result.parked.push(names.get(id) ?? id);
      else if (!outcome.startsWith('skipped')) result.failed.push(names.get(id) ?? id);
    }
    if (result.parked.length + result.woken.length + result.awake.length + result.failed.length > 0) this.log?.info(result, 'node parking');
    return result;
  }

  private async policy(now: number): Promise<ParkingPolicy> {
    if (this.policyImpl) return this.policyImpl;
    // Seed the hysteresis with the parks of the last day, so a restart does not reset it.
    const recent = await this.db
      .selectFrom('events')
      .select(['subject_id', 'at'])
      .where('type', '=', 'node.parked')
      .where('at', '>', now - DAY)
      .execute();
    const history = new Map<string, number[]>();
    for (const e of recent) {
      if (!e.subject_id) continue;
      const list = history.get(e.subject_id) ?? [];
      list.push(Number(e.at));
      history.set(e.subject_id, list);
    }
    const o = this.options;
    this.policyImpl =
      o.policy === 'unidle'
        ? createParkingPolicy('unidle', {
            unidle: {
              marginGpus: o.marginGpus,
              minEmptyMs: o.idleMs,
              maxCyclesPerDay: this.cycleBudget().perDay,
              maxCyclesPer24h: this.cycleBudget().per24h,
              utcOffsetMinutes: (id, at) => this.offsetOf(id, at),
              history,
            },
          })
        : createParkingPolicy(o.policy === 'idle-timer' ? 'idle-timer' : 'always-on', { idleTimer: { idleMs: o.idleMs } });
    return this.policyImpl;
  }

  /** The unidle hysteresis: parks per node per calendar day, and in any 24 h (default one more). */
  private cycleBudget(): { perDay: number; per24h: number } {
    return { perDay: this.options.maxCyclesPerDay, per24h: this.options.maxCyclesPer24h ?? this.options.maxCyclesPerDay + 1 };
  }

  /** Minutes the node's center is ahead of UTC at `at` (0 when unknown), cached a minute per zone. */
  private offsetOf(nodeId: string, at: number): number {
    const zone = this.nodeZones.get(nodeId);
    if (!zone) return 0;
    const hit = this.zoneOffsets.get(zone);
    if (hit && Math.abs(at - hit.at) < 60_000) return hit.minutes;
    let minutes = 0;
    try {
      minutes = utcOffsetMinutes(zone, at);
    } catch {
      // A zone this platform does not know: UTC days, as before the zone was set.
    }
    this.zoneOffsets.set(zone, { at, minutes });
    return minutes;
  }

  private async forecastStatus(): Promise<{ forecastUpperGpus: number | null; forecastByPool: PoolForecast[] }> {
    if (this.options.policy !== 'unidle') return { forecastUpperGpus: null, forecastByPool: [] };
    const forecasts = await this.poolForecasts(this.clock.now(), (await this.views()).pools);
    return { forecastUpperGpus: forecasts.length > 0 ? forecasts.reduce((sum, f) => sum + f.upperGpus, 0) : null, forecastByPool: forecasts };
  }

  /**
   * The policy's view of every node that is up (or powered down by us), and every GPU node's pool
   * (its center and model: `mixed` for a node of several models) with the milli-GPUs allocated there.
   */
  private async views(): Promise<{ nodes: ParkingNodeView[]; busyGpus: number; pools: PoolMap }> {
    const [nodes, devices, holding, lastRelease, centers] = await Promise.all([
      this.db.selectFrom('nodes').selectAll().execute(),
      this.db.selectFrom('devices').select(['node_id', 'allocated_milli', 'model']).execute(),
      this.db.selectFrom('allocations').select(['node_id', (eb) => eb.fn.countAll<number>().as('n')]).where('released_at', 'is', null).groupBy('node_id').execute(),
      this.db.selectFrom('allocations').select(['node_id', (eb) => eb.fn.max<number>('released_at').as('at')]).groupBy('node_id').execute(),
      this.db.selectFrom('centers').select(['id', 'timezone']).execute(),
    ]);
    const zoneOfCenter = new Map(centers.map((c) => [c.id, c.timezone]));
    for (const n of nodes) {
      const zone = zoneOfCenter.get(n.center_id);
      if (zone) this.nodeZones.set(n.id, zone);
    }
    const held = new Set(holding.filter((h) => Number(h.n) > 0).map((h) => h.node_id));
    const released = new Map(lastRelease.map((r) => [r.node_id, r.at === null ? null : Number(r.at)]));
    const byNode = new Map<string, { gpus: number; free: number; milli: number; models: Set<string> }>();
    for (const d of devices) {
      const s = byNode.get(d.node_id) ?? { gpus: 0, free: 0, milli: 0, models: new Set<string>() };
      s.gpus++;
      s.models.add(d.model);
      if (d.allocated_milli === 0) s.free++;
      s.milli += d.allocated_milli;
      byNode.set(d.node_id, s);
    }
    let busyMilli = 0;
    const views: ParkingNodeView[] = [];
    const pools: PoolMap = { ofNode: new Map(), busyMilli: new Map() };
    for (const n of nodes) {
      const d = byNode.get(n.id) ?? { gpus: 0, free: 0, milli: 0, models: new Set<string>() };
      if (d.gpus === 0) continue;
      const pool = `${n.center_id}/${d.models.size === 1 ? [...d.models][0]! : 'mixed'}`;
      pools.ofNode.set(n.id, pool);
      pools.busyMilli.set(pool, (pools.busyMilli.get(pool) ?? 0) + d.milli);
    }
    for (const n of nodes) {
      const state = n.power_state as NodePowerState;
      if (n.status !== 'up' && state === 'on') continue;
      const d = byNode.get(n.id) ?? { gpus: 0, free: 0, milli: 0, models: new Set<string>() };
      busyMilli += d.milli;
      if (d.gpus === 0) continue; // CPU-only nodes are not the policy's business
      const empty = !held.has(n.id) && d.milli === 0 && n.allocated_cpu_milli === 0;
      const veto = n.park_veto === 1 || n.cordoned === 1 || n.draining === 1;
      const emptySince = empty ? Math.max(released.get(n.id) ?? 0, n.power_changed_at ?? 0, n.registered_at) : null;
      views.push({
        id: n.id,
        state,
        sinceMs: n.power_changed_at ?? n.registered_at,
        empty,
        emptySinceMs: emptySince,
        gpus: d.gpus,
        freeGpus: state === 'on' && !veto ? d.free : 0,
        veto,
        // A node of mixed models serves any queued work (the policy then does not filter it).
        ...(d.models.size === 1 ? { model: [...d.models][0]! } : {}),
        // The warm empty node and the forecast rise are kept per center and model: work for one cannot start on another.
        pool: pools.ofNode.get(n.id)!,
      });
    }
    return { nodes: views, busyGpus: Math.ceil(busyMilli / 1000), pools };
  }

  /** Drops parks that would leave an active reservation's unused GPUs without free awake devices of its model. */
  private async keepReservationsAwake(park: string[], views: ParkingNodeView[]): Promise<string[]> {
    if (park.length === 0) return park;
    const now = this.clock.now();
    const reservations = await this.db
      .selectFrom('reservations')
      .select(['id', 'model', 'gpu_milli'])
      .where('start_at', '<=', now)
      .where('end_at', '>', now)
      .where('status', '=', 'active')
      .execute();
    if (reservations.length === 0) return park;
    const used = await this.db
      .selectFrom('jobs')
      .innerJoin('allocations', 'allocations.job_id', 'jobs.id')
      .select(['jobs.reservation_id', (eb) => eb.fn.sum<number>('allocations.gpu_milli').as('milli')])
      .where('jobs.reservation_id', 'in', reservations.map((r) => r.id))
      .where('allocations.released_at', 'is', null)
      .groupBy('jobs.reservation_id')
      .execute();
    const usedBy = new Map(used.map((u) => [u.reservation_id, Number(u.milli)]));
    const needMilli = new Map<string, number>();
    for (const r of reservations) needMilli.set(r.model, (needMilli.get(r.model) ?? 0) + Math.max(0, r.gpu_milli - (usedBy.get(r.id) ?? 0)));
    const devices = await this.db.selectFrom('devices').select(['node_id', 'model', 'allocated_milli']).execute();
    const awake = new Set(views.filter((v) => v.state === 'on' && !v.veto).map((v) => v.id));
    const freeMilli = (model: string, without: Set<string>) =>
      devices.filter((d) => d.model === model && awake.has(d.node_id) && !without.has(d.node_id)).reduce((s, d) => s + 1000 - d.allocated_milli, 0);
    const kept: string[] = [];
    const leaving = new Set<string>();
    for (const id of park) {
      leaving.add(id);
      const short = [...needMilli].some(([model, need]) => need > 0 && freeMilli(model, leaving) < need);
      if (short) leaving.delete(id);
      else kept.push(id);
    }
    return kept;
  }

  /**
   * Marks the node `parking` if it is still up, on and empty (one transaction, the node row locked on
   * PostgreSQL so a placement in flight either lands first and blocks this, or sees `parking` and
   * fails), runs the driver, then marks it `parked`; a driver failure puts it back `on`.
   */
  private async parkNode(nodeId: string, actor: string | null, why: string, retry = false): Promise<'parked' | string> {
    const now = this.clock.now();
    const claimed = await this.db.transaction().execute(async (tx) => {
      const node = await lockNode(tx, this.dialect, nodeId);
      if (!node) return 'skipped: the node is gone';
      if (!retry && node.power_state !== 'on') return `skipped: node ${node.name} is ${node.power_state}`;
      if (node.status !== 'up' && !retry) return `skipped: node ${node.name} is ${node.status}`;
      const work = await tx.selectFrom('allocations').select('id').where('node_id', '=', nodeId).where('released_at', 'is', null).limit(1).executeTakeFirst();
      const jobs = await tx.selectFrom('jobs').select('id').where('node_id', '=', nodeId).where('state', 'in', ['scheduled', 'running', 'stopping']).limit(1).executeTakeFirst();
      if (work || jobs || node.allocated_cpu_milli > 0) return `node ${node.name} holds work; only an empty node can be parked`;
      await tx.updateTable('nodes').set({ power_state: 'parking', power_changed_at: now, updated_at: now }).where('id', '=', nodeId).execute();
      return node;
    });
    if (typeof claimed === 'string') return claimed;
    try {
      await this.options.driver.park(target(claimed));
    } catch (err) {
      const message = (err as Error).message;
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('nodes').set({ power_state: 'on', power_changed_at: this.clock.now(), updated_at: this.clock.now() }).where('id', '=', nodeId).where('power_state', '=', 'parking').execute();
        await appendEvent(tx, { at: this.clock.now(), type: 'node.park-failed', subjectKind: 'node', subjectId: nodeId, actor, message });
      });
      this.log?.warn({ node: claimed.name, err: message }, 'parking a node failed; it stays on');
      return message;
    }
    const at = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('nodes').set({ power_state: 'parked', power_changed_at: at, updated_at: at }).where('id', '=', nodeId).where('power_state', '=', 'parking').execute();
      await appendEvent(tx, { at, type: 'node.parked', subjectKind: 'node', subjectId: nodeId, actor, message: `node ${claimed.name} parked ${why} (driver ${this.options.driver.name})` });
    });
    return 'parked';
  }

  private async wakeNode(nodeId: string, actor: string | null, why: string): Promise<'waking' | string> {
    const now = this.clock.now();
    const claimed = await this.db.transaction().execute(async (tx) => {
      const node = await lockNode(tx, this.dialect, nodeId);
      if (!node) return 'the node is gone';
      if (node.power_state !== 'parked' && node.power_state !== 'parking') return `node ${node.name} is ${node.power_state}; only a parked node can be woken`;
      await tx.updateTable('nodes').set({ power_state: 'waking', power_changed_at: now, updated_at: now }).where('id', '=', nodeId).execute();
      await appendEvent(tx, { at: now, type: 'node.waking', subjectKind: 'node', subjectId: nodeId, actor, message: `node ${node.name} waking ${why}` });
      return node;
    });
    if (typeof claimed === 'string') return claimed;
    try {
      await this.options.driver.wake(target(claimed));
    } catch (err) {
      const message = (err as Error).message;
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('nodes').set({ power_state: 'parked', power_changed_at: this.clock.now(), updated_at: this.clock.now() }).where('id', '=', nodeId).where('power_state', '=', 'waking').execute();
        await appendEvent(tx, { at: this.clock.now(), type: 'node.wake-failed', subjectKind: 'node', subjectId: nodeId, actor, message });
      });
      this.log?.warn({ node: claimed.name, err: message }, 'waking a node failed; it stays parked');
      return message;
    }
    return 'waking';
  }

  /** true: the node is up now; 'timeout': it missed the wake deadline and is marked down. */
  private async finishWake(n: NodesTable, now: number): Promise<true | false | 'timeout'> {
    const started = n.power_changed_at ?? now;
    let up: boolean | undefined;
    try {
      up = await this.options.driver.isAwake(target(n), started, now);
    } catch (err) {
      this.log?.warn({ node: n.name, err: (err as Error).message }, 'power status check failed');
      up = false;
    }
    // Without a status from the driver, the agent's first heartbeat after the wake says it is up.
    if (up === undefined) up = n.executor === 'agent' && n.last_heartbeat_at !== null && n.last_heartbeat_at > started;
    if (up) {
      await this.db.transaction().execute(async (tx) => {
        const moved = await tx.updateTable('nodes').set({ power_state: 'on', power_changed_at: now, status: 'up', status_reason: null, last_heartbeat_at: now, updated_at: now }).where('id', '=', n.id).where('power_state', '=', 'waking').executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 1) await appendEvent(tx, { at: now, type: 'node.awake', subjectKind: 'node', subjectId: n.id, message: `node ${n.name} is up after ${Math.round((now - started) / 1000)} s` });
      });
      return true;
    }
    if (now - started < this.options.wakeTimeoutMs) return false;
    const reason = `node ${n.name} did not come up within ${Math.round(this.options.wakeTimeoutMs / 1000)} s of being woken`;
    await this.db.transaction().execute(async (tx) => {
      const moved = await tx.updateTable('nodes').set({ power_state: 'on', power_changed_at: now, status: 'down', status_reason: reason, updated_at: now }).where('id', '=', n.id).where('power_state', '=', 'waking').executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) await appendEvent(tx, { at: now, type: 'node.wake-timeout', subjectKind: 'node', subjectId: n.id, message: reason });
    });
    this.log?.warn({ node: n.name }, reason);
    return 'timeout';
  }

  /** Per pool with a forecast: busy GPUs now and the upper 95 % bound of busy GPUs over the next hour. */
  private async poolForecasts(now: number, pools: PoolMap): Promise<PoolForecast[]> {
    const models = await this.poolModels(now, pools);
    const out: PoolForecast[] = [];
    for (const [pool, model] of [...models].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!model) continue;
      const f = model.forecast(1);
      out.push({ pool, busyGpus: Math.ceil((pools.busyMilli.get(pool) ?? 0) / 1000), upperGpus: Math.max(0, Math.ceil(f.upper95[0] ?? 0)) });
    }
    return out;
  }

  /**
   * An hourly Holt-Winters model (daily and weekly seasons) of busy GPUs per pool, refitted every hour
   * on the last five weeks; a pool needs two whole weeks since its first allocation.
   */
  private async poolModels(now: number, pools: PoolMap): Promise<Map<string, FittedModel | null>> {
    if (this.forecastModels && now - this.forecastModels.fittedAt < HOUR && now >= this.forecastModels.fittedAt) return this.forecastModels.models;
    const models = new Map<string, FittedModel | null>();
    const from = Math.floor((now - FORECAST_WINDOW) / HOUR) * HOUR;
    const end = from + Math.floor((now - from) / HOUR) * HOUR;
    const firsts = await this.db.selectFrom('allocations').select(['node_id', (eb) => eb.fn.min<number>('created_at').as('at')]).groupBy('node_id').execute();
    const firstOfPool = new Map<string, number>();
    for (const r of firsts) {
      const pool = pools.ofNode.get(r.node_id);
      if (pool === undefined || r.at === null) continue;
      firstOfPool.set(pool, Math.min(firstOfPool.get(pool) ?? Infinity, Number(r.at)));
    }
    const eligible = [...firstOfPool].filter(([, first]) => now - first >= FORECAST_MIN_HISTORY);
    if (eligible.length > 0) {
      const allocs = await this.db
        .selectFrom('allocations')
        .select(['node_id', 'gpu_milli', 'created_at', 'released_at'])
        .where('created_at', '<', end)
        .where((eb) => eb.or([eb('released_at', 'is', null), eb('released_at', '>', from)]))
        .execute();
      const byPool = new Map<string, AllocationInterval[]>();
      for (const a of allocs) {
        const pool = pools.ofNode.get(a.node_id);
        if (pool === undefined) continue;
        const list = byPool.get(pool) ?? [];
        list.push({ gpuMilli: a.gpu_milli, createdAt: Number(a.created_at), releasedAt: a.released_at === null ? null : Number(a.released_at) });
        byPool.set(pool, list);
      }
      for (const [pool, first] of eligible) {
        const start = Math.max(from, Math.floor(first / HOUR) * HOUR);
        const series = busyGpuSeries(byPool.get(pool) ?? [], start, HOUR, Math.floor((end - start) / HOUR), now);
        let model: FittedModel | null = null;
        try {
          model = new HoltWinters({ dailyPeriod: 24, weeklyPeriod: 168, intervalHorizon: 6 }).fit(series);
        } catch (err) {
          this.log?.warn({ pool, err: (err as Error).message }, 'demand forecast unavailable for this pool; parking uses its current demand');
        }
        models.set(pool, model);
      }
    }
    this.forecastModels = { fittedAt: now, models };
    return models;
  }
}

/** Each GPU node's pool (center/model) and the milli-GPUs allocated per pool now. */
interface PoolMap {
  ofNode: Map<string, string>;
  busyMilli: Map<string, number>;
}

function target(n: Pick<NodesTable, 'id' | 'name' | 'hostname'>): PowerTarget {
  return { id: n.id, name: n.name, hostname: n.hostname };
}

async function lockNode(tx: Db, dialect: Dialect, nodeId: string): Promise<NodesTable | undefined> {
  if (dialect === 'postgres') {
    const r = await sql<NodesTable>`select * from nodes where id = ${nodeId} for update`.execute(tx);
    return r.rows[0];
  }
  // SQLite: the write transaction already excludes every other writer.
  return tx.selectFrom('nodes').selectAll().where('id', '=', nodeId).executeTakeFirst();
}
