import { createHash } from 'node:crypto';
import { invalid, notFound, UnidleError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Clock } from '../domain/clock.js';
import { isTerminal, JOB_STATES, type JobState, type JobTransition } from '../domain/job.js';
import { normalizeJobSubmission, type JobSubmission } from '../domain/job-spec.js';
import { couldEverFit } from '../scheduler/policy-registry.js';
import type { ClusterSnapshot } from '../scheduler/snapshot.js';
import type { DB } from '../store/database.js';
import type { AllocationsTable, JobsTable } from '../store/schema.js';
import type { InventoryService } from './inventory-service.js';
import { transition } from './job-lifecycle.js';
import { chargeMicros, formatMoney, scaleMicros, type Money } from '../market/money.js';
import { reservationFor } from '../market/tier-capacity.js';
import { shapeGpuMilli } from '../domain/job.js';
import { assertCanSpend, priceNow, type MarketService } from './market-service.js';
import { appendEvent } from './events.js';
import type { EnergyService, JobEnergyUse } from './energy-service.js';
import { scopeTenant, type Principal } from './principal.js';

export interface JobAllocationView {
  nodeId: string;
  nodeName: string;
  deviceIndex: number;
  model: string;
  gpuMilli: number;
}

export interface JobView {
  id: string;
  tenantId: string;
  memberId: string;
  name: string | null;
  state: JobState;
  stateReason: string;
  tier: string;
  gpuMilli: number | null;
  gpus: number | null;
  nodeCount: number;
  models: string[];
  minGpuMemoryMib: number | null;
  cpuMilli: number;
  memoryMib: number;
  maxDurationMs: number;
  command: string[];
  env: Record<string, string>;
  workingDir: string | null;
  nodeId: string | null;
  nodeName: string | null;
  executorRef: string | null;
  exitCode: number | null;
  signal: string | null;
  createdAt: number;
  scheduledAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  cancelRequestedAt: number | null;
  maxPricePerHour: Money | null;
  requeueOnPreemption: boolean;
  pricePerHour: Money | null;
  reservationId: string | null;
  preemptRequestedAt: number | null;
  preemptReason: string | null;
  preemptions: number;
}

export interface LeaseView {
  id: string;
  model: string;
  tier: string;
  gpuMilli: number;
  pricePerGpuHour: Money;
  floorPerGpuHour: Money;
  startAt: number;
  endAt: number | null;
  chargedUntil: number;
  charged: Money;
}

export interface JobDetail extends JobView {
  allocations: JobAllocationView[];
  transitions: JobTransition[];
  usage: { gpuMilliSeconds: number; cpuMilliSeconds: number; memoryMibSeconds: number; meteredUntil: number | null };
  cost: { charged: Money; leases: LeaseView[] };
  /** Energy attributed to the job (src/control/energy-service.ts); null when energy metering is off. */
  energy: Omit<JobEnergyUse, 'jobId'> | null;
}

export interface JobPage {
  items: JobView[];
  nextCursor: string | null;
}

export interface JobFilter {
  state?: JobState[];
  tenantId?: string;
  nodeId?: string;
  createdAfter?: number;
  createdBefore?: number;
  limit?: number;
  cursor?: string;
}

export interface LogEntry {
  id: number;
  stream: string;
  offset: number;
  text: string;
}

/** Milli-GPU a job's shape takes, for prices per hour of the whole shape. */
export function jobMilli(row: Pick<JobsTable, 'gpu_milli' | 'gpus'> & { node_count?: number }): number {
  return (row.gpu_milli ?? (row.gpus ?? 0) * 1000) * (row.node_count ?? 1);
}

export function toJobView(row: JobsTable & { node_name?: string | null }, currency: string): JobView {
  const milli = jobMilli(row);
  const perHour = (perGpuHour: number | null): Money | null => (perGpuHour === null ? null : { amountMicros: scaleMicros(perGpuHour, milli, 1000), currency });
  return {
    id: row.id,
    tenantId: row.tenant_id,
    memberId: row.member_id,
    name: row.name,
    state: row.state as JobState,
    stateReason: row.state_reason,
    tier: row.tier,
    gpuMilli: row.gpu_milli,
    gpus: row.gpus,
    nodeCount: row.node_count ?? 1,
    models: JSON.parse(row.models) as string[],
    minGpuMemoryMib: row.min_gpu_memory_mib,
    cpuMilli: row.cpu_milli,
    memoryMib: row.memory_mib,
    maxDurationMs: row.max_duration_ms,
    command: JSON.parse(row.command) as string[],
    env: JSON.parse(row.env) as Record<string, string>,
    workingDir: row.working_dir,
    nodeId: row.node_id,
    nodeName: row.node_name ?? null,
    executorRef: row.executor_ref ?? null,
    exitCode: row.exit_code,
    signal: row.signal,
    createdAt: row.created_at,
    scheduledAt: row.scheduled_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    cancelRequestedAt: row.cancel_requested_at,
    maxPricePerHour: perHour(row.max_price_micros),
    requeueOnPreemption: row.requeue_on_preempt === 1,
    pricePerHour: perHour(row.price_micros),
    reservationId: row.reservation_id,
    preemptRequestedAt: row.preempt_requested_at,
    preemptReason: row.preempt_reason,
    preemptions: row.preemptions,
  };
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^job_[0-9A-Z]{26}$/.test(id)) throw invalid('cursor', 'is not a cursor this server handed out; drop it to start from the newest job');
  return id;
}

const MAX_IDEMPOTENCY_KEY = 255;
const CAPACITY_CACHE_MS = 2000;

export class JobService {
  /** Called after a submit or cancel commits so the scheduler looks at the queue now, not at its next tick. */
  onQueueChanged: () => void = () => {};
  private capacityCache: { at: number; snapshot: ClusterSnapshot } | undefined;
  private currencyCache: { at: number; currency: string } | undefined;
  private energy: EnergyService | undefined;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly inventory: InventoryService,
    private readonly market: MarketService,
  ) {}

  /** Turns on energy per job in `get` (the control plane wires it; without it `energy` is null). */
  useEnergy(energy: EnergyService): void {
    this.energy = energy;
  }

  /**
   * Queues a job. With an idempotency key, a retry of the same request returns the job the first
   * call made (`created: false`); the same key with a different request is a conflict, as at Stripe.
   */
  async submit(p: Principal, input: JobSubmission, idempotencyKey?: string): Promise<{ job: JobView; created: boolean }> {
    const tenantId = scopeTenant(p);
    if (!tenantId) throw invalid('tenant', 'operators submit on behalf of a tenant by using that tenant\'s key');
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY))
      throw invalid('Idempotency-Key', `must be 1–${MAX_IDEMPOTENCY_KEY} characters`);
    const spec = normalizeJobSubmission(input);
    const requestHash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');

    if (idempotencyKey !== undefined) {
      const prior = await this.findByIdempotencyKey(tenantId, idempotencyKey);
      if (prior) return this.replay(prior, requestHash);
    }

    const request = { ...spec.shape };
    if (!couldEverFit(request, await this.capacity())) {
      const field = spec.shape.gpus !== null ? 'gpus' : spec.shape.models.length > 0 ? 'models' : 'gpuMilli';
      throw new UnidleError(
        'unschedulable',
        `no node in this center could ever hold this job (${describeShape(spec.shape)}); ask for fewer GPUs, other models, or less CPU/memory`,
        [{ field, message: 'no node has this much capacity of the allowed models' }],
      );
    }

    const pricing = await this.priceCheck(tenantId, spec);
    const now = this.clock.now();
    const row: JobsTable = {
      id: newId('job', now),
      tenant_id: tenantId,
      member_id: p.memberId,
      name: spec.name,
      state: 'queued',
      state_reason: 'waiting for the scheduler',
      tier: spec.tier,
      gpu_milli: spec.shape.gpuMilli,
      gpus: spec.shape.gpus,
      models: JSON.stringify(spec.shape.models),
      min_gpu_memory_mib: spec.shape.minGpuMemoryMib,
      cpu_milli: spec.shape.cpuMilli,
      memory_mib: spec.shape.memoryMib,
      max_duration_ms: spec.maxDurationMs,
      command: JSON.stringify(spec.command),
      env: JSON.stringify(spec.env),
      working_dir: spec.workingDir,
      idempotency_key: idempotencyKey ?? null,
      request_hash: requestHash,
      node_id: null,
      exit_code: null,
      signal: null,
      created_at: now,
      scheduled_at: null,
      started_at: null,
      ended_at: null,
      cancel_requested_at: null,
      confirmed_until: null,
      last_seen_at: null,
      metered_until: null,
      updated_at: now,
      max_price_micros: pricing.bidPerGpuHour,
      requeue_on_preempt: spec.requeueOnPreemption ? 1 : 0,
      price_micros: null,
      reservation_id: null,
      preempt_requested_at: null,
      preempt_deadline_at: null,
      preempt_kind: null,
      preempt_reason: null,
      preemptions: 0,
      idle_since: null,
      idle_flagged_at: null,
      executor_ref: null,
      node_count: spec.nodes,
    };
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('jobs').values(row).execute();
        await appendEvent(tx, {
          at: now,
          type: 'job.state',
          subjectKind: 'job',
          subjectId: row.id,
          tenantId,
          actor: p.memberId,
          message: `submitted: ${describeShape(spec.shape)}`,
          data: { from: null, to: 'queued', reason: 'submitted' },
        });
      });
    } catch (err) {
      // Two retries raced past the lookup: the unique (tenant, key) index let one in; answer with it.
      if (idempotencyKey !== undefined) {
        const prior = await this.findByIdempotencyKey(tenantId, idempotencyKey);
        if (prior) return this.replay(prior, requestHash);
      }
      throw err;
    }
    this.onQueueChanged();
    return { job: toJobView(row, pricing.currency), created: true };
  }

  /**
   * The money rules a submission must pass before it is queued: a spot bid in the center's currency
   * and at or above the spot floor; a reserved job only with a reservation; and the worst case of
   * what the job could cost (its price for its max duration) within the tenant's budget.
   */
  private async priceCheck(tenantId: string, spec: ReturnType<typeof normalizeJobSubmission>): Promise<{ bidPerGpuHour: number | null; currency: string }> {
    const tenant = await this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirstOrThrow();
    // The common case (on-demand, post-paid, no budget) has no money rule to check: skip the market read.
    if (spec.tier === 'on-demand' && tenant.payment_mode !== 'prepaid' && tenant.budget_limit_micros === null) return { bidPerGpuHour: null, currency: await this.currency() };
    const view = await this.market.view(this.db, await this.capacity());
    const currency = view.settings.currency;
    const milli = shapeGpuMilli(spec.shape) * spec.nodes;
    const candidates = [...view.models.values()].filter((m) => m.totalMilli > 0 && (spec.shape.models.length === 0 || spec.shape.models.includes(m.prices.model)));
    if (candidates.length === 0) return { bidPerGpuHour: null, currency };
    let bid: number | null = null;
    if (spec.tier === 'spot') {
      const lowestFloor = Math.min(...candidates.map((m) => m.prices.spotFloorMicros));
      if (spec.maxPricePerHour) {
        if (spec.maxPricePerHour.currency !== currency)
          throw invalid('maxPricePerHour.currency', `this center sells in ${currency}, not ${spec.maxPricePerHour.currency}; give the bid in ${currency}`);
        bid = Math.floor((spec.maxPricePerHour.amountMicros * 1000) / milli);
        if (bid < lowestFloor) {
          const floorForShape = scaleMicros(lowestFloor, milli, 1000);
          throw new UnidleError('validation_failed', `maxPricePerHour: the bid is below the spot floor of ${formatMoney({ amountMicros: floorForShape, currency })} per hour for this shape; bid at least that`, [
            { field: 'maxPricePerHour.amountMicros', message: `at least ${floorForShape}` },
          ]);
        }
      } else {
        bid = Math.max(...candidates.map((m) => priceNow(view, m.prices.model, 'on-demand')));
      }
    }
    if (spec.tier === 'reserved') {
      // Whether any of its reservations could ever hold it (current use aside: that only makes it wait).
      const own = view.reservations.filter((r) => r.tenantId === tenantId && (spec.shape.models.length === 0 || spec.shape.models.includes(r.model)));
      const pick = reservationFor(own.map((r) => ({ ...r, usedMilli: 0 })), tenantId, spec.shape.models, milli);
      if ('reason' in pick) {
        const largest = own.reduce<(typeof own)[number] | undefined>((a, r) => (!a || r.quotaMilli > a.quotaMilli ? r : a), undefined);
        const reason = largest
          ? `no reservation of this tenant is big enough: the largest holds a quota of ${largest.quotaMilli} milli-GPU of ${largest.model}, this job needs ${milli}; buy a larger reservation or submit as on-demand or spot`
          : pick.reason;
        throw new UnidleError('validation_failed', `tier: ${reason}`, [{ field: 'tier', message: reason }]);
      }
    }
    if (spec.tier !== 'reserved') {
      const worstPerGpuHour = bid ?? Math.max(...candidates.map((m) => priceNow(view, m.prices.model, spec.tier)));
      await assertCanSpend(this.db, tenant, currency, chargeMicros(worstPerGpuHour, milli, spec.maxDurationMs), this.clock.now(), 'this job');
    }
    return { bidPerGpuHour: bid, currency };
  }

  /**
   * The inventory for the "could this ever fit?" check. Inventory changes rarely (a node registers), so
   * a few seconds of staleness only delays accepting a shape that just became possible.
   */
  private async capacity(): Promise<ClusterSnapshot> {
    const now = this.clock.now();
    if (!this.capacityCache || now - this.capacityCache.at > CAPACITY_CACHE_MS || now < this.capacityCache.at) {
      this.capacityCache = { at: now, snapshot: await this.inventory.snapshot() };
    }
    return this.capacityCache.snapshot;
  }

  /** Forget the cached inventory (a node registered or changed its devices). */
  invalidateCapacity(): void {
    this.capacityCache = undefined;
  }

  private async findByIdempotencyKey(tenantId: string, key: string): Promise<JobsTable | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', key).executeTakeFirst();
  }

  /** Prices are shown in the center's currency (read at most every few seconds: it changes only before money moves). */
  private async currency(): Promise<string> {
    const now = this.clock.now();
    if (!this.currencyCache || now - this.currencyCache.at > CAPACITY_CACHE_MS || now < this.currencyCache.at) {
      this.currencyCache = { at: now, currency: (await this.market.center()).currency };
    }
    return this.currencyCache.currency;
  }

  private async replay(prior: JobsTable, requestHash: string): Promise<{ job: JobView; created: boolean }> {
    if (prior.request_hash !== requestHash)
      throw new UnidleError('idempotency_conflict', `Idempotency-Key was already used for a different request (job ${prior.id}); use a new key for a new job`, [
        { field: 'Idempotency-Key', message: 'reused with a different body' },
      ]);
    return { job: toJobView(prior, await this.currency()), created: false };
  }

  private async visibleRow(p: Principal, id: string): Promise<JobsTable & { node_name: string | null }> {
    const row = await this.db
      .selectFrom('jobs')
      .leftJoin('nodes', 'nodes.id', 'jobs.node_id')
      .selectAll('jobs')
      .select('nodes.name as node_name')
      .where('jobs.id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('job', id);
    if (p.role !== 'operator' && row.tenant_id !== p.tenantId) throw notFound('job', id);
    return row;
  }

  async get(p: Principal, id: string): Promise<JobDetail> {
    const row = await this.visibleRow(p, id);
    const [allocations, events, usage, leases] = await Promise.all([
      this.db.selectFrom('allocations').selectAll().where('job_id', '=', id).orderBy('device_index').execute(),
      this.db.selectFrom('events').select(['at', 'data']).where('subject_kind', '=', 'job').where('subject_id', '=', id).where('type', '=', 'job.state').orderBy('id').execute(),
      this.db
        .selectFrom('usage')
        .select((eb) => [
          eb.fn.coalesce(eb.fn.sum<number>('gpu_milli_ms'), eb.lit(0)).as('gpu'),
          eb.fn.coalesce(eb.fn.sum<number>('cpu_milli_ms'), eb.lit(0)).as('cpu'),
          eb.fn.coalesce(eb.fn.sum<number>('memory_mib_ms'), eb.lit(0)).as('mem'),
        ])
        .where('job_id', '=', id)
        .executeTakeFirstOrThrow(),
      this.db.selectFrom('leases').selectAll().where('job_id', '=', id).orderBy('start_at').execute(),
    ]);
    const energy = this.energy ? await this.energy.jobEnergy(id) : null;
    const currency = leases[0]?.currency ?? (await this.market.center()).currency;
    const m = (amountMicros: number, c = currency): Money => ({ amountMicros, currency: c });
    return {
      ...toJobView(row, currency),
      allocations: allocations.map((a: AllocationsTable) => ({ nodeId: a.node_id, nodeName: row.node_name ?? a.node_id, deviceIndex: a.device_index, model: a.model, gpuMilli: a.gpu_milli })),
      transitions: events.map((e) => {
        const d = JSON.parse(e.data) as { from: JobState | null; to: JobState; reason: string };
        return { from: d.from, to: d.to, reason: d.reason, at: e.at };
      }),
      usage: {
        gpuMilliSeconds: Math.round(Number(usage.gpu) / 1000),
        cpuMilliSeconds: Math.round(Number(usage.cpu) / 1000),
        memoryMibSeconds: Math.round(Number(usage.mem) / 1000),
        meteredUntil: leases.length > 0 ? Math.max(...leases.map((l) => l.charged_until)) : row.metered_until,
      },
      cost: {
        charged: m(leases.reduce((sum, l) => sum + l.charged_micros, 0)),
        leases: leases.map((l) => ({
          id: l.id,
          model: l.model,
          tier: l.tier,
          gpuMilli: l.gpu_milli,
          pricePerGpuHour: m(l.price_micros, l.currency),
          floorPerGpuHour: m(l.floor_micros, l.currency),
          startAt: l.start_at,
          endAt: l.end_at,
          chargedUntil: l.charged_until,
          charged: m(l.charged_micros, l.currency),
        })),
      },
      energy: energy === null ? null : (({ jobId: _jobId, ...rest }) => rest)(energy),
    };
  }

  async list(p: Principal, filter: JobFilter): Promise<JobPage> {
    const tenantId = scopeTenant(p, filter.tenantId);
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalid('limit', 'must be 1–500');
    for (const s of filter.state ?? []) if (!(JOB_STATES as readonly string[]).includes(s)) throw invalid('state', `unknown state "${s}"; states are ${JOB_STATES.join(', ')}`);
    let q = this.db
      .selectFrom('jobs')
      .leftJoin('nodes', 'nodes.id', 'jobs.node_id')
      .selectAll('jobs')
      .select('nodes.name as node_name')
      .orderBy('jobs.id', 'desc')
      .limit(limit + 1);
    if (tenantId) q = q.where('jobs.tenant_id', '=', tenantId);
    if (filter.state && filter.state.length > 0) q = q.where('jobs.state', 'in', filter.state);
    if (filter.nodeId) q = q.where('jobs.node_id', '=', filter.nodeId);
    if (filter.createdAfter !== undefined) q = q.where('jobs.created_at', '>=', filter.createdAfter);
    if (filter.createdBefore !== undefined) q = q.where('jobs.created_at', '<', filter.createdBefore);
    if (filter.cursor) q = q.where('jobs.id', '<', decodeCursor(filter.cursor));
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const currency = await this.currency();
    return { items: page.map((r) => toJobView(r, currency)), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
  }

  /**
   * A queued job is cancelled at once. A scheduled or running one is marked; its agent stops it
   * (SIGTERM, grace, SIGKILL) and the cancel completes when the agent reports the exit, so usage
   * covers exactly the time it really ran.
   */
  async cancel(p: Principal, id: string, reason?: string): Promise<JobView> {
    const row = await this.visibleRow(p, id);
    const now = this.clock.now();
    const why = reason ? `cancelled by ${p.name}: ${reason}` : `cancelled by ${p.name}`;
    if (isTerminal(row.state as JobState)) throw new UnidleError('invalid_state', `job ${id} already ended (${row.state}); nothing to cancel`);
    await this.db.transaction().execute(async (tx) => {
      const fresh = await tx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (fresh.state === 'queued') {
        await transition(tx, fresh, { to: 'cancelled', reason: why, at: now, actor: p.memberId, set: { ended_at: now } });
      } else if (!isTerminal(fresh.state as JobState) && fresh.cancel_requested_at === null) {
        await tx.updateTable('jobs').set({ cancel_requested_at: now, state_reason: `${why}; stopping`, updated_at: now }).where('id', '=', id).execute();
        await appendEvent(tx, { at: now, type: 'job.cancel-requested', subjectKind: 'job', subjectId: id, tenantId: fresh.tenant_id, actor: p.memberId, message: why });
      }
    });
    this.onQueueChanged();
    return toJobView(await this.visibleRow(p, id), await this.currency());
  }

  async logs(p: Principal, id: string, options: { after?: number; limit?: number; stream?: string }): Promise<{ entries: LogEntry[]; next: number; state: JobState }> {
    const row = await this.visibleRow(p, id);
    const limit = options.limit ?? 1000;
    let q = this.db.selectFrom('job_logs').selectAll().where('job_id', '=', id).orderBy('id').limit(limit);
    if (options.after !== undefined) q = q.where('id', '>', options.after);
    if (options.stream) {
      if (options.stream !== 'stdout' && options.stream !== 'stderr') throw invalid('stream', 'is stdout or stderr');
      q = q.where('stream', '=', options.stream);
    }
    const rows = await q.execute();
    const decoder = new TextDecoder();
    return {
      entries: rows.map((r) => ({ id: r.id, stream: r.stream, offset: r.offset, text: decoder.decode(r.data) })),
      next: rows.length > 0 ? rows[rows.length - 1]!.id : (options.after ?? 0),
      state: row.state as JobState,
    };
  }
}

export function describeShape(shape: { gpuMilli: number | null; gpus: number | null; models: string[]; cpuMilli: number; memoryMib: number }): string {
  const gpu = shape.gpuMilli !== null ? `${shape.gpuMilli} milli-GPU` : `${shape.gpus} GPU${shape.gpus === 1 ? '' : 's'}`;
  const models = shape.models.length > 0 ? ` of ${shape.models.join('/')}` : '';
  return `${gpu}${models}, ${shape.cpuMilli} milli-CPU, ${shape.memoryMib} MiB`;
}
