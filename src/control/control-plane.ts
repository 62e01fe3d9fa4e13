import { sql } from 'kysely';
import type { Clock } from '../domain/clock.js';
import type { QueuedDemand } from '../energy/parking/policy.js';
import type { PlacementPolicy } from '../scheduler/policy.js';
import type { StoreHandle } from '../store/database.js';
import { AgentService, type AgentServiceOptions } from './agent-service.js';
import { EventService } from './event-service.js';
import { InventoryService } from './inventory-service.js';
import { JobService } from './job-service.js';
import { KeyService } from './key-service.js';
import { MarketService } from './market-service.js';
import { BillingService } from './billing-service.js';
import { TelemetryService } from './telemetry-service.js';
import { EnergyService } from './energy-service.js';
import { MetricsService } from './metrics-service.js';
import { IdleDetector, type IdleDetectorOptions } from './idle-detector.js';
import { DEFAULT_PARKING, ParkingService, type ParkingOptions } from './parking-service.js';
import { simulatedNodePowerDriver } from './power/node-power-driver.js';
import type { Executor } from '../executors/executor.js';

const TELEMETRY_ROLLUP_MS = 30_000;
/** Allocated-but-idle detection looks at the last `idleForMs` of samples once a minute. */
const IDLE_CHECK_MS = 60_000;
import { Metering } from './metering.js';
import { NodeMonitor, type NodeMonitorOptions } from './node-monitor.js';
import { SchedulingCycle } from './scheduling-cycle.js';
import { TenantService } from './tenant-service.js';
import { UsageService } from './usage-service.js';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface ControlPlaneOptions {
  policy: PlacementPolicy;
  agent: AgentServiceOptions;
  monitor: NodeMonitorOptions;
  scheduleIntervalMs: number;
  meteringIntervalMs: number;
  monitorIntervalMs: number;
  /** Allocated-but-idle detection; defaults: 5 %, 30 min, no reclaim. */
  idle?: Partial<IdleDetectorOptions>;
  /** Node parking; default: policy off, simulated driver with a 60 s wake. */
  parking?: Partial<ParkingOptions>;
  /** How often the parking policy runs; default 30 s. */
  parkingIntervalMs?: number;
}

/**
 * The PostgreSQL advisory lock whose holder runs the loops. Advisory locks are database-wide, so the
 * second key is the schema: two Unidle deployments in one database (or parallel test runs) each elect
 * their own leader.
 */
const LEADER_LOCK_CLASS = 0x756e6964; // "unid"

/**
 * The live control plane: the services the API calls, and the level-triggered loops (schedule, meter,
 * watch nodes) that move the world toward what the database says it should be. With PostgreSQL many
 * API processes may run; one at a time holds the leader lock and runs the loops.
 */
export class ControlPlane {
  readonly tenants: TenantService;
  readonly keys: KeyService;
  readonly inventory: InventoryService;
  readonly jobs: JobService;
  readonly agents: AgentService;
  readonly usage: UsageService;
  readonly market: MarketService;
  readonly billing: BillingService;
  readonly telemetry: TelemetryService;
  readonly energy: EnergyService;
  readonly metrics: MetricsService;
  readonly idle: IdleDetector;
  readonly events: EventService;
  readonly scheduling: SchedulingCycle;
  readonly metering: Metering;
  readonly monitor: NodeMonitor;
  readonly parking: ParkingService;
  /** What the last scheduling pass (started `at`) could not place for lack of capacity: parking wakes nodes for it. */
  private short: { gpus: number; demands: QueuedDemand[]; at: number } | undefined;

  private timers: NodeJS.Timeout[] = [];
  private scheduleRunning = false;
  private scheduleAgain = false;
  private kickTimer: NodeJS.Timeout | undefined;
  private leader = false;
  private releaseLeadership: (() => void) | undefined;
  private stopped = false;
  private inFlight = new Set<Promise<unknown>>();
  private readonly executors: Array<{ executor: Executor; intervalMs: number; running: boolean; again: boolean; soon?: NodeJS.Timeout }> = [];

  constructor(
    readonly store: StoreHandle,
    readonly clock: Clock,
    private readonly options: ControlPlaneOptions,
    private readonly log: Logger,
  ) {
    const db = store.db;
    this.tenants = new TenantService(db, clock);
    this.keys = new KeyService(db, clock);
    this.inventory = new InventoryService(db, clock);
    this.market = new MarketService(db, clock, this.inventory, store.dialect);
    this.billing = new BillingService(db, clock, this.market);
    this.telemetry = new TelemetryService(db, clock);
    this.metrics = new MetricsService(db, this.telemetry);
    this.idle = new IdleDetector(db, clock, options.idle);
    this.jobs = new JobService(db, clock, this.inventory, this.market);
    this.energy = new EnergyService(db, clock);
    this.jobs.useEnergy(this.energy);
    this.billing.useEnergy(this.energy);
    this.agents = new AgentService(db, clock, this.inventory, options.agent, this.market);
    this.usage = new UsageService(db);
    this.events = new EventService(db);
    this.scheduling = new SchedulingCycle(db, clock, options.policy, this.market);
    this.metering = new Metering(db, clock, this.billing, store.dialect);
    this.monitor = new NodeMonitor(db, clock, options.monitor);
    this.parking = new ParkingService(db, clock, store.dialect, this.inventory, { ...DEFAULT_PARKING, driver: simulatedNodePowerDriver({ wakeMs: 60_000 }), ...options.parking }, log);
    this.jobs.onQueueChanged = () => this.kick();
    this.agents.onCapacityFreed = () => this.kick();
    this.agents.onInventoryChanged = () => this.jobs.invalidateCapacity();
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Adds an engine-driving executor (Slurm) whose reconcile pass runs with the other loops; call before start(). */
  useExecutor(executor: Executor, intervalMs: number): void {
    this.executors.push({ executor, intervalMs, running: false, again: false });
  }

  /**
   * One reconcile pass of an executor; passes never overlap (a kick during one runs another after it).
   * After a pass that submitted or signalled work, another follows shortly: the engine starts or stops
   * it within about a second, and waiting for the regular interval would add that interval to every
   * job's start.
   */
  private executorPass(entry: (typeof this.executors)[number]): void {
    if (this.stopped || !this.leader) return;
    if (entry.running) {
      entry.again = true;
      return;
    }
    entry.running = true;
    entry.again = false;
    void this.guard(`${entry.executor.name} executor`, async () => {
      const r = await entry.executor.sync();
      if (r.finished > 0 || r.lost > 0) this.kick();
      if (r.submitted + r.started + r.finished + r.signalled + r.lost > 0) this.log.debug({ executor: entry.executor.name, ...r }, 'executor pass');
      return r;
    }).then((r) => {
      entry.running = false;
      if (entry.again) this.executorPass(entry);
      else if (r && (r.submitted > 0 || r.signalled > 0 || r.waiting > 0) && !entry.soon) {
        entry.soon = setTimeout(() => {
          entry.soon = undefined;
          this.executorPass(entry);
        }, 250);
        entry.soon.unref();
      }
    });
  }

  /** The executors in use and their health, for the API. */
  executorHealth(): Array<{ name: string } & ReturnType<Executor['health']>> {
    return this.executors.map((e) => ({ name: e.executor.name, ...e.executor.health() }));
  }

  /** Starts the loops (after winning leadership on PostgreSQL). */
  async start(): Promise<void> {
    await this.acquireLeadership();
    this.every(this.options.scheduleIntervalMs, () => this.kick());
    this.every(this.options.meteringIntervalMs, () =>
      this.guard('metering', async () => {
        const started = performance.now();
        const r = await this.metering.pass();
        if (r.spans > 0 || r.stopsRequested > 0) this.log.debug({ ...r, ms: Math.round(performance.now() - started) }, 'metering pass');
        return r;
      }),
    );
    this.every(this.options.monitorIntervalMs, () => this.guard('node monitor', () => this.monitor.check()));
    // Telemetry rollups: minutes close every minute; running more often only finds nothing to do.
    this.every(TELEMETRY_ROLLUP_MS, () => this.guard('telemetry rollup', () => this.telemetry.rollup()));
    this.every(IDLE_CHECK_MS, () =>
      this.guard('idle detection', async () => {
        const r = await this.idle.check();
        if (r.flagged > 0 || r.cleared > 0 || r.reclaimed > 0) this.log.info(r, 'allocated-but-idle jobs');
        return r;
      }),
    );
    for (const entry of this.executors) {
      this.every(entry.intervalMs, () => this.executorPass(entry));
      this.executorPass(entry);
    }
    this.every(this.options.parkingIntervalMs ?? 30_000, () =>
      this.guard('node parking', async () => {
        const r = await this.parking.tick(this.short ? { shortGpus: this.short.gpus, short: this.short.demands, shortAt: this.short.at } : { shortGpus: 0 });
        // Woken nodes take work as soon as they are up.
        if (r.awake.length > 0) this.kick();
        return r;
      }),
    );
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.kickTimer) clearTimeout(this.kickTimer);
    for (const e of this.executors) if (e.soon) clearTimeout(e.soon);
    await Promise.allSettled([...this.inFlight]);
    this.releaseLeadership?.();
    this.leader = false;
  }

  /** Asks for a scheduling pass soon; many kicks in a burst coalesce into one pass. */
  kick(): void {
    if (this.stopped || !this.leader) return;
    if (this.scheduleRunning) {
      this.scheduleAgain = true;
      return;
    }
    if (this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      void this.runSchedule();
    }, 5);
  }

  private async runSchedule(): Promise<void> {
    if (this.scheduleRunning || this.stopped) return;
    this.scheduleRunning = true;
    try {
      do {
        this.scheduleAgain = false;
        const startedAt = this.clock.now();
        const r = await this.guard('scheduler', () => this.scheduling.run());
        if (r) this.short = { gpus: r.shortGpus, demands: r.short, at: startedAt };
        // Placed work goes to its engine now, not at the executor's next tick.
        if (r && r.placed > 0) for (const e of this.executors) this.executorPass(e);
      } while (this.scheduleAgain && !this.stopped);
    } finally {
      this.scheduleRunning = false;
    }
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.stopped || !this.leader) return undefined;
    const p = fn();
    this.inFlight.add(p);
    try {
      return await p;
    } catch (err) {
      this.log.error({ err }, `${what} pass failed; it will run again`);
      return undefined;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async acquireLeadership(): Promise<void> {
    if (this.store.dialect === 'sqlite') {
      this.leader = true;
      return;
    }
    // Hold one pooled connection for as long as we lead: the advisory lock lives and dies with it.
    const won = await new Promise<boolean>((resolveWon) => {
      const held = this.store.db.connection().execute(async (conn) => {
        const r = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LEADER_LOCK_CLASS}, hashtext(current_schema())) as locked`.execute(conn);
        const locked = r.rows[0]?.locked === true;
        resolveWon(locked);
        if (!locked) return;
        await new Promise<void>((release) => {
          this.releaseLeadership = release;
        });
        await sql`select pg_advisory_unlock(${LEADER_LOCK_CLASS}, hashtext(current_schema()))`.execute(conn);
      });
      held.catch((err) => {
        this.log.error({ err }, 'lost the scheduling lease connection');
        this.leader = false;
        resolveWon(false);
      });
    });
    this.leader = won;
    if (!won) {
      this.log.info('another Unidle process holds the scheduling lease; serving the API only and retrying in 5 s');
      const retry = setTimeout(() => {
        if (!this.stopped) void this.acquireLeadership().then(() => this.leader && this.kick());
      }, 5000);
      retry.unref();
      this.timers.push(retry);
    } else {
      this.log.info('holding the scheduling lease');
    }
  }
}
