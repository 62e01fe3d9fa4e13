import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { shapeGpuMilli, type JobTier } from '../domain/job.js';
import { createRandom, type Random } from '../domain/random.js';
import type { QueuedDemand } from '../energy/parking/policy.js';
import { fairShareOrder, type TenantUsage } from '../market/fair-share.js';
import { formatMoney, scaleMicros } from '../market/money.js';
import { clearSpotMarket, type SpotBid } from '../market/spot-market.js';
import { heldBack, reservationFor, type ReservationUse } from '../market/tier-capacity.js';
import { PlacementEngine } from '../scheduler/placement-engine.js';
import { bestFitPolicy } from '../scheduler/policies/best-fit.js';
import { describePending, type PlacementPolicy } from '../scheduler/policy.js';
import { chooseVictims, withoutPreemptible, type RunningWork } from '../scheduler/preemption.js';
import type { ClusterSnapshot, Placement, PlacementRequest } from '../scheduler/snapshot.js';
import type { DB, Tx } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import { StaleJobError, requestPreemption, transition } from './job-lifecycle.js';
import { closeOpenLeases, openLease } from './lease-store.js';
import { priceNow, type MarketService, type MarketView } from './market-service.js';

export interface CycleResult {
  considered: number;
  placed: number;
  conflicts: number;
  preempted: number;
  /** GPUs of queued work that found no capacity this pass (what waking parked nodes could serve)… */
  shortGpus: number;
  /** …the same by the models each piece of work accepts, so only parked nodes of those are woken. */
  short: QueuedDemand[];
}

const COMMIT_CHUNK = 64;
/** Preemption plans per cycle at most: each may rebuild a view of the cluster. */
const MAX_PREEMPTION_PLANS = 32;

/** A placement lost a race in the database (another scheduler took the capacity first). */
class CapacityConflict extends Error {}

/** Another scheduler took the capacity or the job first: not an error, the next cycle decides again. */
function lostRace(err: unknown): boolean {
  return err instanceof CapacityConflict || err instanceof StaleJobError;
}

interface Decision {
  job: JobsTable;
  request: PlacementRequest;
  placement: Placement;
  nodeName: string;
  priceMicros: number;
  reservationId: string | null;
  /** A gang job's other nodes (its first is `placement`). */
  gang?: Array<{ placement: Placement; nodeName: string }>;
}

interface SpotRunner {
  job: Pick<JobsTable, 'id' | 'tenant_id' | 'requeue_on_preempt' | 'max_price_micros' | 'started_at' | 'scheduled_at' | 'state' | 'price_micros'>;
  model: string;
  milli: number;
}

const money = (view: MarketView, micros: number) => formatMoney({ amountMicros: micros, currency: view.settings.currency });

/**
 * One scheduling pass over the three tiers with one placement engine:
 *  1. reserved work, inside its tenant's reservation quota, may preempt spot work;
 *  2. on-demand work, tenants interleaved by weighted dominant-resource fair share, may use what is
 *     neither reserved nor needed by reserved work, and may preempt spot work too;
 *  3. spot work: per model, a uniform-price auction over the capacity left (including what running
 *     spot work holds and reservations lend); running bids that lose are preempted with notice,
 *     winning queued bids are placed, and running winners' leases follow the clearing price.
 * Each placement commits in a transaction whose conditional updates re-check capacity, so the
 * snapshot only speeds decisions up; the database prevents over-allocation.
 */
export class SchedulingCycle {
  /** Jobs the policy has already seen arrive, so a job waiting many cycles is learned from once. */
  private readonly observed = new Set<string>();
  private readonly random: Random;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly policy: PlacementPolicy,
    private readonly market: MarketService,
    private readonly batchSize = 500,
  ) {
    this.random = createRandom(clock.now());
  }

  async run(): Promise<CycleResult> {
    const queued = await this.db.selectFrom('jobs').selectAll().where('state', '=', 'queued').orderBy('created_at').orderBy('id').limit(this.batchSize).execute();
    const active = await this.db
      .selectFrom('jobs')
      .select(['id', 'tenant_id', 'tier', 'state', 'requeue_on_preempt', 'max_price_micros', 'started_at', 'scheduled_at', 'price_micros', 'preempt_requested_at', 'cpu_milli', 'memory_mib', 'node_id'])
      .where('state', 'in', ['scheduled', 'running'])
      .where((eb) => eb.or([eb('tier', '=', 'spot'), eb('preempt_requested_at', 'is not', null)]))
      .execute();
    const result: CycleResult = { considered: queued.length, placed: 0, conflicts: 0, preempted: 0, shortGpus: 0, short: [] };
    // The models the work asked for (none: any), not those awake now: parked nodes are not in the view.
    // The shape per node lets parking tell work that waking nodes would help from work no node holds.
    const addShort = (perNodeGpus: number, models: readonly string[], nodes = 1) => {
      const gpus = perNodeGpus * nodes;
      result.shortGpus += gpus;
      result.short.push({ gpus, models: [...models], perNodeGpus, nodes });
    };
    const askedModels = (job: JobsTable) => JSON.parse(job.models) as string[];
    if (queued.length === 0 && active.length === 0) return result;

    const view = await this.market.view();
    const snapshot: ClusterSnapshot = view.snapshot;
    const now = view.at;
    const grants = active.length > 0 ? await this.db.selectFrom('allocations').select(['job_id', 'device_id', 'gpu_milli', 'model']).where('job_id', 'in', active.map((a) => a.id)).where('released_at', 'is', null).execute() : [];
    const work: RunningWork[] = active.map((a) => {
      const mine = grants.filter((g) => g.job_id === a.id);
      return {
        jobId: a.id,
        nodeId: a.node_id ?? '',
        preemptible: a.tier === 'spot',
        inNotice: a.preempt_requested_at !== null,
        bidMicros: a.max_price_micros ?? 0,
        startedAt: a.started_at ?? a.scheduled_at ?? now,
        cpuMilli: a.cpu_milli,
        memoryMib: a.memory_mib,
        grants: mine.map((g) => ({ deviceId: g.device_id, milli: g.gpu_milli })),
      };
    });
    const spotRunners: SpotRunner[] = active
      .filter((a) => a.tier === 'spot' && a.preempt_requested_at === null)
      .map((a) => {
        const mine = grants.filter((g) => g.job_id === a.id);
        return { job: a, model: mine[0]?.model ?? '', milli: mine.reduce((s, g) => s + g.gpu_milli, 0) };
      })
      .filter((r) => r.milli > 0);

    // Per-model counters this cycle moves as it decides.
    const free = new Map([...view.models].map(([m, s]) => [m, s.freeMilli]));
    const spotHeld = new Map<string, number>();
    for (const r of spotRunners) spotHeld.set(r.model, (spotHeld.get(r.model) ?? 0) + r.milli);
    const reservations: ReservationUse[] = view.reservations.map((r) => ({ ...r }));
    const exhausted = new Set((await this.db.selectFrom('tenants').select('id').where('balance_exhausted_at', 'is not', null).execute()).map((t) => t.id));

    const engine = new PlacementEngine(this.policy, snapshot.nodes, { random: this.random });
    const decisions: Decision[] = [];
    const pending = new Map<string, string>();
    const notices: Array<{ job: RunningWork & { tenantId: string; requeue: number }; reason: string }> = [];
    const activeById = new Map(active.map((a) => [a.id, a]));
    let plans = 0;
    const failedPlans = new Set<string>();
    if (this.observed.size > 100_000) this.observed.clear();

    const allModels = [...view.models.values()].filter((m) => m.totalMilli > 0).map((m) => m.prices.model);
    const modelsOf = (job: JobsTable) => {
      const asked = JSON.parse(job.models) as string[];
      return asked.length > 0 ? asked.filter((m) => view.models.has(m)) : allModels;
    };
    const placeOn = (job: JobsTable, request: PlacementRequest, models: string[]) => {
      if (models.length === 0) return undefined;
      return engine.place({ ...request, models });
    };
    const record = (job: JobsTable, request: PlacementRequest, d: NonNullable<ReturnType<typeof placeOn>>, priceMicros: number, reservationId: string | null) => {
      const model = d.placement.devices[0]?.model;
      const milli = shapeGpuMilli(request);
      if (model) free.set(model, (free.get(model) ?? 0) - milli);
      decisions.push({ job, request, placement: d.placement, nodeName: d.node.name, priceMicros, reservationId });
    };
    /** Plans room for `request` by asking spot work to leave; true when notices were given or are pending. */
    const deviceModel = new Map<string, string>();
    for (const n of snapshot.nodes) for (const d of n.devices) deviceModel.set(d.id, d.model);
    const modelOfWork = (w: RunningWork) => (w.grants[0] ? deviceModel.get(w.grants[0].deviceId) : undefined);
    const milliOf = (w: RunningWork) => w.grants.reduce((x, g) => x + g.milli, 0);
    /** Capacity per model that waiting reserved and on-demand jobs count on: spot work may not take it back. */
    const claimed = new Map<string, number>();
    /**
     * Plans room for `request` by asking spot work to leave; returns the pending reason when notices
     * were given (or are already running out). On-demand work must also leave reservations their
     * unused quota in aggregate, so its plan frees spot work elsewhere on the model if it must.
     */
    const preemptFor = (job: JobsTable, request: PlacementRequest, models: string[]): string | undefined => {
      const key = `${JSON.stringify(models)}|${request.gpuMilli}|${request.gpus}|${request.cpuMilli}|${request.memoryMib}`;
      if (models.length === 0 || plans >= MAX_PREEMPTION_PLANS || failedPlans.has(key)) return undefined;
      plans++;
      const planner = new PlacementEngine(bestFitPolicy(), withoutPreemptible(engine.nodes, work));
      const plan = planner.choose({ ...request, models });
      const node = plan ? engine.nodes.find((n) => n.id === plan.node.id) : undefined;
      const choice = plan && node ? chooseVictims(node, request, plan.placement, work) : undefined;
      if (!plan || !choice) {
        failedPlans.add(key);
        return undefined;
      }
      const model = plan.placement.devices[0]?.model;
      const victims = [...choice.victims];
      if (job.tier === 'on-demand' && model) {
        const milli = shapeGpuMilli(request);
        const held = heldBack(reservations, model).fromOnDemand + (claimed.get(model) ?? 0);
        const onModel = (w: RunningWork) => modelOfWork(w) === model;
        let freeAfter = (free.get(model) ?? 0) + work.filter((w) => onModel(w) && (w.inNotice || victims.includes(w.jobId))).reduce((x, w) => x + milliOf(w), 0);
        const more = work.filter((w) => onModel(w) && w.preemptible && !w.inNotice && !victims.includes(w.jobId)).sort((a, b) => a.bidMicros - b.bidMicros || b.startedAt - a.startedAt);
        for (const w of more) {
          if (freeAfter - milli >= held) break;
          victims.push(w.jobId);
          freeAfter += milliOf(w);
        }
        if (freeAfter - milli < held) {
          failedPlans.add(key);
          return undefined;
        }
      }
      for (const id of victims) {
        const w = work.find((x) => x.jobId === id)!;
        w.inNotice = true;
        const a = activeById.get(id)!;
        notices.push({ job: { ...w, tenantId: a.tenant_id, requeue: a.requeue_on_preempt }, reason: `preempted for ${job.tier} work (${job.id}) that needs its capacity` });
        const runner = spotRunners.findIndex((r) => r.job.id === id);
        if (runner >= 0) {
          const r = spotRunners[runner]!;
          spotHeld.set(r.model, (spotHeld.get(r.model) ?? 0) - r.milli);
          spotRunners.splice(runner, 1);
        }
      }
      // The capacity on its way back is this job's: later jobs in the cycle must not plan on it too.
      for (const id of [...victims, ...choice.waitingFor]) {
        const w = work.find((x) => x.jobId === id)!;
        w.preemptible = false;
        w.inNotice = false;
      }
      if (model) claimed.set(model, (claimed.get(model) ?? 0) + shapeGpuMilli(request));
      const leaving = [...victims, ...choice.waitingFor];
      return `pending: waiting for ${leaving.length} spot job${leaving.length === 1 ? '' : 's'} to leave (notice given; they get ${Math.round(view.center.spot_grace_ms / 1000)} s)`;
    };

    // 1 and 2: reserved, then on-demand in fair-share order.
    const byTier = (tier: JobTier) => queued.filter((j) => j.tier === tier);
    const onDemand = await this.fairShareOrder(byTier('on-demand'), snapshot, view, now);
    for (const job of [...byTier('reserved'), ...onDemand]) {
      const request = requestOf(job);
      if (!this.observed.has(job.id)) {
        this.observed.add(job.id);
        engine.observe(request);
      }
      const milli = shapeGpuMilli(request);
      if (job.tier !== 'reserved' && exhausted.has(job.tenant_id)) {
        pending.set(job.id, 'pending: the tenant\'s prepaid balance or monthly budget is used up; top up or raise the budget');
        continue;
      }
      if (job.tier === 'reserved') {
        const pick = reservationFor(reservations, job.tenant_id, modelsOf(job), milli);
        if ('reason' in pick) {
          pending.set(job.id, `pending: ${pick.reason}`);
          continue;
        }
        const models = [pick.reservation.model];
        const d = placeOn(job, request, models);
        if (d) {
          pick.reservation.usedMilli += milli;
          record(job, request, d, view.models.get(pick.reservation.model)!.prices.reservedMicros, pick.reservation.id);
          continue;
        }
        const waiting = preemptFor(job, request, models);
        // Room is being made for it: its quota is spoken for until it starts.
        if (waiting) pick.reservation.usedMilli += milli;
        if (!waiting) addShort(gpusOf(request), models);
        pending.set(job.id, waiting ?? `pending: ${describePending(engine.explain({ ...request, models }))}`);
        continue;
      }
      // On-demand may not take capacity reservations hold for their owners.
      const allowed = modelsOf(job);
      // Only where reservations hold capacity back does the aggregate matter; elsewhere the engine's own reasons say why.
      const fits = (m: string, extra: number, more = 0) => {
        const held = heldBack(reservations, m).fromOnDemand;
        return held === 0 || (free.get(m) ?? 0) + extra - milli - more >= held;
      };
      if (job.node_count > 1) {
        // Gang: all nodes at once or none; only an executor that starts multi-node work (Slurm) runs it.
        const direct = allowed.filter((m) => fits(m, 0, milli * (job.node_count - 1)));
        const gang = direct.length > 0 ? engine.placeGang({ ...request, models: direct }, job.node_count, (n) => n.executor === 'slurm') : undefined;
        if (gang) {
          const [first, ...rest] = gang;
          const model = first!.placement.devices[0]?.model ?? direct[0]!;
          free.set(model, (free.get(model) ?? 0) - milli * job.node_count);
          decisions.push({ job, request, placement: first!.placement, nodeName: first!.node.name, priceMicros: priceNow(view, model, 'on-demand', now), reservationId: null, gang: rest.map((d) => ({ placement: d.placement, nodeName: d.node.name })) });
        } else {
          addShort(gpusOf(request), askedModels(job), job.node_count);
          const slurmNodes = snapshot.nodes.filter((n) => n.executor === 'slurm').length;
          pending.set(
            job.id,
            slurmNodes < job.node_count
              ? `pending: a ${job.node_count}-node job runs on Slurm nodes, and this center has ${slurmNodes}`
              : `pending: ${job.node_count} Slurm nodes with ${request.gpus} free ${allowed.join('/')} GPUs each are not free at once (gang jobs do not preempt)`,
          );
        }
        continue;
      }
      const direct = allowed.filter((m) => fits(m, 0));
      const d = placeOn(job, request, direct);
      if (d) {
        record(job, request, d, priceNow(view, d.placement.devices[0]?.model ?? direct[0]!, 'on-demand', now), null);
        continue;
      }
      const reclaimable = allowed.filter((m) => (spotHeld.get(m) ?? 0) > 0 && fits(m, spotHeld.get(m) ?? 0));
      const waiting = preemptFor(job, request, reclaimable);
      if (waiting) pending.set(job.id, waiting);
      else if (direct.length === 0 && allowed.length > 0) pending.set(job.id, `pending: the free ${allowed.join('/')} capacity is reserved by other tenants; try another model or spot`);
      else {
        addShort(gpusOf(request), askedModels(job));
        pending.set(job.id, `pending: ${describePending(engine.explain({ ...request, models: allowed }))}`);
      }
    }

    // 3: spot, one auction per model, cheapest floors first.
    const spotQueued = byTier('spot').filter((j) => {
      if (exhausted.has(j.tenant_id)) {
        pending.set(j.id, 'pending: the tenant\'s prepaid balance or monthly budget is used up; top up or raise the budget');
        return false;
      }
      return true;
    });
    const won = new Set<string>();
    const spotPrices: Array<{ model: string; price: number; supply: number; demand: number }> = [];
    const reprice: Array<{ runner: SpotRunner; price: number }> = [];
    const models = [...view.models.values()].filter((m) => m.totalMilli > 0).sort((a, b) => a.prices.spotFloorMicros - b.prices.spotFloorMicros);
    for (const market of models) {
      const model = market.prices.model;
      // Spot may not take back what waiting reserved and on-demand jobs were promised.
      const held = heldBack(reservations, model).fromSpot + (claimed.get(model) ?? 0);
      const supply = Math.max(0, (free.get(model) ?? 0) + (spotHeld.get(model) ?? 0) - held);
      const runners = spotRunners.filter((r) => r.model === model);
      const candidates = spotQueued.filter((j) => !won.has(j.id) && modelsOf(j).includes(model));
      const bids: SpotBid[] = [
        ...runners.map((r, i) => ({ id: r.job.id, milli: r.milli, maxPriceMicros: r.job.max_price_micros ?? 0, order: i })),
        ...candidates.map((j, i) => ({ id: j.id, milli: shapeGpuMilli(requestOf(j)), maxPriceMicros: j.max_price_micros ?? 0, order: runners.length + i })),
      ];
      const clearing = clearSpotMarket({ capacityMilli: supply, floorMicros: market.prices.spotFloorMicros, bids });
      spotPrices.push({ model, price: clearing.priceMicros, supply, demand: bids.reduce((s, b) => s + b.milli, 0) });
      const winners = new Set(clearing.winners);
      for (const r of runners) {
        if (winners.has(r.job.id)) {
          if (r.job.state === 'running' && r.job.price_micros !== clearing.priceMicros) reprice.push({ runner: r, price: clearing.priceMicros });
          continue;
        }
        const w = work.find((x) => x.jobId === r.job.id)!;
        w.inNotice = true;
        notices.push({
          job: { ...w, tenantId: r.job.tenant_id, requeue: r.job.requeue_on_preempt },
          reason: `outbid: the ${model} spot price is ${money(view, clearing.priceMicros)}/GPU-h, this job bid ${money(view, r.job.max_price_micros ?? 0)}/GPU-h`,
        });
      }
      for (const j of candidates) {
        const request = requestOf(j);
        if (!this.observed.has(j.id)) {
          this.observed.add(j.id);
          engine.observe(request);
        }
        if (!winners.has(j.id)) {
          const bid = j.max_price_micros ?? 0;
          pending.set(
            j.id,
            bid < clearing.priceMicros
              ? `pending: the ${model} spot price is ${money(view, clearing.priceMicros)}/GPU-h, above this job's bid of ${money(view, bid)}/GPU-h`
              : `pending: no ${model} capacity free for spot work of this size`,
          );
          continue;
        }
        won.add(j.id);
        const milli = shapeGpuMilli(request);
        if (held > 0 && (free.get(model) ?? 0) - milli < held) {
          pending.set(j.id, `pending: won ${model} spot capacity at ${money(view, clearing.priceMicros)}/GPU-h; waiting for outbid work to leave`);
          continue;
        }
        const d = placeOn(j, request, [model]);
        if (d) {
          pending.delete(j.id);
          record(j, request, d, clearing.priceMicros, null);
        } else {
          addShort(gpusOf(request), [model]);
          pending.set(j.id, `pending: won ${model} spot capacity at ${money(view, clearing.priceMicros)}/GPU-h; ${describePending(engine.explain({ ...request, models: [model] }))}`);
        }
      }
    }

    // Notices first: capacity for reserved and on-demand work is on its way back.
    if (notices.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        for (const n of notices) {
          if (await requestPreemption(tx, { id: n.job.jobId, tenant_id: n.job.tenantId, requeue_on_preempt: n.job.requeue }, { kind: 'preemption', reason: n.reason, graceMs: view.center.spot_grace_ms, at: now })) result.preempted++;
        }
      });
    }
    await this.commitDecisions(decisions, result);
    await this.writeSpotPrices(view, spotPrices, reprice, now);
    const changed = queued.filter((j) => pending.has(j.id) && pending.get(j.id) !== j.state_reason && !decisions.some((d) => d.job.id === j.id));
    if (changed.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        for (const j of changed) await tx.updateTable('jobs').set({ state_reason: pending.get(j.id)! }).where('id', '=', j.id).where('state', '=', 'queued').execute();
      });
    }
    return result;
  }

  /**
   * On-demand jobs interleaved across tenants: each round takes one job from every tenant with work,
   * lowest weighted dominant share (usage over the window) first, so under contention capacity goes
   * to whoever has had the least of it.
   */
  private async fairShareOrder(jobs: JobsTable[], snapshot: ClusterSnapshot, view: MarketView, now: number): Promise<JobsTable[]> {
    const tenants = [...new Set(jobs.map((j) => j.tenant_id))];
    if (tenants.length <= 1) return jobs;
    const windowMs = view.center.fair_share_window_ms;
    const [usage, weights] = await Promise.all([
      this.db
        .selectFrom('usage')
        .select(['tenant_id', (eb) => eb.fn.sum<number>('gpu_milli_ms').as('g'), (eb) => eb.fn.sum<number>('cpu_milli_ms').as('c'), (eb) => eb.fn.sum<number>('memory_mib_ms').as('m')])
        .where('tenant_id', 'in', tenants)
        .where('start_at', '>=', now - windowMs)
        .groupBy('tenant_id')
        .execute(),
      this.db.selectFrom('tenants').select(['id', 'fair_share_weight_milli']).where('id', 'in', tenants).execute(),
    ]);
    const capacity = { gpuMilli: 0, cpuMilli: 0, memoryMib: 0, windowMs };
    for (const n of snapshot.nodes) {
      capacity.gpuMilli += n.devices.length * 1000;
      capacity.cpuMilli += n.cpuMilliTotal;
      capacity.memoryMib += n.memoryMibTotal;
    }
    const usages: TenantUsage[] = tenants.map((t) => {
      const u = usage.find((x) => x.tenant_id === t);
      return { tenantId: t, gpuMilliMs: Number(u?.g ?? 0), cpuMilliMs: Number(u?.c ?? 0), memoryMibMs: Number(u?.m ?? 0), weight: (weights.find((w) => w.id === t)?.fair_share_weight_milli ?? 1000) / 1000 };
    });
    const order = fairShareOrder(usages, capacity);
    const queues = new Map(order.map((t) => [t, jobs.filter((j) => j.tenant_id === t)]));
    const out: JobsTable[] = [];
    for (let round = 0; out.length < jobs.length; round++) for (const t of order) {
      const j = queues.get(t)![round];
      if (j) out.push(j);
    }
    return out;
  }

  private async commitDecisions(decisions: Decision[], result: CycleResult): Promise<void> {
    // Commits are the dominant cost on SQLite: write a cycle's decisions in a few transactions. A
    // conflict (another scheduler won the capacity) rolls back its chunk; those jobs stay queued for
    // the next cycle, which sees the database as it now is.
    for (let i = 0; i < decisions.length; i += COMMIT_CHUNK) {
      const chunk = decisions.slice(i, i + COMMIT_CHUNK);
      try {
        await this.db.transaction().execute(async (tx) => {
          for (const d of chunk) await this.commit(tx, d);
        });
        result.placed += chunk.length;
      } catch (err) {
        if (!lostRace(err)) throw err;
        result.conflicts++;
        if (chunk.length > 1) {
          for (const d of chunk) {
            try {
              await this.db.transaction().execute((tx) => this.commit(tx, d));
              result.placed++;
            } catch (inner) {
              if (!lostRace(inner)) throw inner;
            }
          }
        }
      }
    }
  }

  /**
   * The spot price each model cleared at, for quotes and the API; running spot jobs whose price
   * moved get a new lease at the new price from now (time already used keeps the old one).
   */
  private async writeSpotPrices(view: MarketView, prices: Array<{ model: string; price: number; supply: number; demand: number }>, reprice: Array<{ runner: SpotRunner; price: number }>, now: number): Promise<void> {
    const current = new Map([...view.models].map(([m, s]) => [m, s.spotMicros]));
    const changed = prices.filter((p) => current.get(p.model) !== p.price || reprice.length > 0);
    if (changed.length === 0 && reprice.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      for (const p of prices) {
        if (current.get(p.model) === p.price) continue;
        await tx.deleteFrom('spot_prices').where('center_id', '=', view.center.id).where('model', '=', p.model).execute();
        await tx.insertInto('spot_prices').values({ center_id: view.center.id, model: p.model, price_micros: p.price, supply_milli: p.supply, demand_milli: p.demand, at: now }).execute();
      }
      for (const { runner, price } of reprice) {
        const open = await tx.selectFrom('leases').selectAll().where('job_id', '=', runner.job.id).where('end_at', 'is', null).executeTakeFirst();
        const moved = await tx.updateTable('jobs').set({ price_micros: price }).where('id', '=', runner.job.id).where('state', '=', 'running').executeTakeFirst();
        if (!open || Number(moved.numUpdatedRows) !== 1 || open.price_micros === price || now <= open.start_at) continue;
        await closeOpenLeases(tx, runner.job.id, now);
        await openLease(tx, {
          job: { id: runner.job.id, tenant_id: open.tenant_id, tier: open.tier, reservation_id: open.reservation_id },
          centerId: open.center_id,
          nodeId: open.node_id,
          model: open.model,
          gpuMilli: open.gpu_milli,
          priceMicros: price,
          floorMicros: open.floor_micros,
          currency: open.currency,
          at: now,
          now,
        });
      }
    });
  }

  private async commit(tx: Tx, d: Decision): Promise<void> {
    const { job, request, placement, nodeName } = d;
    const now = this.clock.now();
    const all = [{ placement, nodeName }, ...(d.gang ?? [])];
    for (const part of all) {
      for (const grant of part.placement.devices) {
        const taken = await tx
          .updateTable('devices')
          .set((eb) => ({ allocated_milli: eb('allocated_milli', '+', grant.milli) }))
          .where('id', '=', grant.deviceId)
          .where((eb) => eb(eb('allocated_milli', '+', grant.milli), '<=', 1000))
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) !== 1) throw new CapacityConflict();
        await tx
          .insertInto('allocations')
          .values({
            id: newId('alloc', now),
            job_id: job.id,
            node_id: part.placement.nodeId,
            device_id: grant.deviceId,
            device_index: grant.index,
            model: grant.model,
            gpu_milli: grant.milli,
            created_at: now,
            released_at: null,
          })
          .execute();
      }
      const node = await tx
        .updateTable('nodes')
        .set((eb) => ({
          allocated_cpu_milli: eb('allocated_cpu_milli', '+', request.cpuMilli),
          allocated_memory_mib: eb('allocated_memory_mib', '+', request.memoryMib),
        }))
        .where('id', '=', part.placement.nodeId)
        .where('status', '=', 'up')
        // A node the parking service has claimed takes nothing more (src/control/parking-service.ts).
        .where('power_state', '=', 'on')
        .where((eb) => eb(eb('allocated_cpu_milli', '+', request.cpuMilli), '<=', eb.ref('cpu_milli')))
        .where((eb) => eb(eb('allocated_memory_mib', '+', request.memoryMib), '<=', eb.ref('memory_mib')))
        .executeTakeFirst();
      if (Number(node.numUpdatedRows) !== 1) throw new CapacityConflict();
    }
    const devices = placement.devices.map((g) => (g.milli === 1000 ? `${g.model}#${g.index}` : `${g.milli}m of ${g.model}#${g.index}`)).join(', ');
    const perHour = scaleMicros(d.priceMicros, shapeGpuMilli(request) * all.length, 1000);
    const price = job.tier === 'reserved' ? `under reservation ${d.reservationId}` : `at ${(perHour / 1_000_000).toFixed(4)}/h`;
    await transition(tx, job, {
      to: 'scheduled',
      reason: all.length > 1 ? `placed on ${all.map((a) => a.nodeName).join(', ')} (${all.length} nodes × ${devices}), ${price}` : `placed on ${nodeName}: ${devices}, ${price}`,
      at: now,
      set: { node_id: placement.nodeId, scheduled_at: now, price_micros: d.priceMicros, reservation_id: d.reservationId },
    });
  }
}

/** Whole GPUs a request occupies at least (a share counts as one GPU to wake). */
function gpusOf(request: PlacementRequest): number {
  return Math.max(1, Math.ceil(shapeGpuMilli(request) / 1000));
}

export function requestOf(job: Pick<JobsTable, 'gpu_milli' | 'gpus' | 'models' | 'min_gpu_memory_mib' | 'cpu_milli' | 'memory_mib'>): PlacementRequest {
  return {
    gpuMilli: job.gpu_milli,
    gpus: job.gpus,
    models: JSON.parse(job.models) as string[],
    minGpuMemoryMib: job.min_gpu_memory_mib,
    cpuMilli: job.cpu_milli,
    memoryMib: job.memory_mib,
  };
}

export type { ClusterSnapshot };
