import type { Clock } from '../domain/clock.js';
import type { DB } from '../store/database.js';
import { appendEvent } from './events.js';
import { requestPreemption } from './job-lifecycle.js';
import { scopeTenant, type Principal } from './principal.js';

/**
 * Allocated-but-idle detection: a running job that holds GPUs and does nothing with them.
 *
 * **The rule.** At each check (every minute on the leader), every running job that has held its
 * devices for at least `idleForMs` (since the later of its start and its allocations) is judged on
 * its devices' raw samples in the window W = [now − idleForMs, now]; samples without a utilization
 * reading are ignored:
 *
 * - **busy** when any sample of any of its devices in W is above `thresholdPct`;
 * - **idle** when none is, and every device's samples *cover* W: at least 3 samples, the first no
 *   more than 2 sampling gaps after W's start and the last no more than 2 sampling gaps before now,
 *   where a device's sampling gap is its mean interval in W, (last − first) / (n − 1). Holes inside
 *   the window are tolerated (missing telemetry is no evidence of work, and both sides of the hole
 *   read idle); a device whose telemetry started late in W, or stopped, is not covered;
 * - **unknown** otherwise (too few samples): nothing changes, neither flag nor clear.
 *
 * Utilization is the **device's**, not the job's (nvidia-smi and DCGM report per device): a device
 * shared with a busy job is busy, so a job on it is never flagged, and a multi-GPU job is flagged
 * only when all of its devices are idle. Both err towards not flagging.
 *
 * **Actions.** An idle job not yet flagged gets `idle_since` = W's start and `idle_flagged_at` = now,
 * and one `job.idle` event to its tenant saying what it holds, for how long, that it keeps being
 * charged and how to stop it. It is never flagged again in the same episode; the episode ends when
 * the job is busy again (`idle_since` cleared, a `job.active-again` event), and a later idle spell
 * is a new episode. With `reclaimSpot`, an idle spot job is also told to leave (a preemption notice
 * with the center's spot grace, reason `idle: …`); on-demand and reserved work is never reclaimed.
 * A flag from an earlier run of a requeued job (`idle_since` < `started_at`) is ignored.
 *
 * **Cost.** One query lists the candidates with their held allocations and one aggregate query
 * reads all their devices' samples in W (count, first, last, max utilization per device), so a
 * check costs a scan of W's raw samples whatever the number of jobs.
 */
export interface IdleDetectorOptions {
  /** A sample at or below this utilization (percent) counts as idle. Default 5. */
  thresholdPct: number;
  /** How long a job must sit idle before it is flagged (and the window it is judged on). Default 30 min. */
  idleForMs: number;
  /** Tell idle spot jobs to leave (preemption with notice). Default off. */
  reclaimSpot: boolean;
}

export const DEFAULT_IDLE_OPTIONS: IdleDetectorOptions = { thresholdPct: 5, idleForMs: 30 * 60_000, reclaimSpot: false };

export interface IdleCheckResult {
  flagged: number;
  cleared: number;
  reclaimed: number;
}

export interface IdleDevice {
  deviceId: string;
  index: number;
  gpuMilli: number;
}

export interface IdleAllocation {
  jobId: string;
  jobName: string | null;
  tenantId: string;
  tenantName: string;
  tier: string;
  nodeId: string | null;
  nodeName: string | null;
  model: string;
  gpuMilli: number;
  devices: IdleDevice[];
  idleSince: number;
  flaggedAt: number | null;
  idleMs: number;
  /** gpu milli × idle time: milli-GPU × ms / 1000 / 3.6e6. */
  idleGpuHours: number;
  /**
   * What the job was charged for its idle time so far: each of its leases' `charged_micros` pro rata
   * of the part of its charged span after `idle_since` (a lease has one price, so this is exact up to
   * rounding). Time not metered yet (after the lease's `charged_until`) is not in it.
   */
  idleCost: Array<{ amountMicros: number; currency: string }>;
  /** Set when the job has been told to leave (reclaimed or cancelled) and has not left yet. */
  leavingSince: number | null;
}

export interface IdleReport {
  at: number;
  thresholdPct: number;
  idleForMs: number;
  reclaimSpot: boolean;
  items: IdleAllocation[];
  totalIdleGpuHours: number;
}

interface Candidate {
  id: string;
  name: string | null;
  tenantId: string;
  tier: string;
  requeue: number;
  nodeId: string | null;
  startedAt: number;
  idleSince: number | null;
  leaving: boolean;
  heldSince: number;
  devices: Array<{ deviceId: string; index: number; gpuMilli: number; model: string }>;
}

interface DeviceWindow {
  n: number;
  first: number;
  last: number;
  maxUtil: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function describeGpus(gpuMilli: number, model: string): string {
  const n = gpuMilli / 1000;
  return `${Number.isInteger(n) ? n : round(n, 3)} GPU${n === 1 ? '' : 's'} of ${model}`;
}

function describeDuration(ms: number): string {
  const min = Math.round(ms / 60_000);
  return min >= 120 && min % 60 === 0 ? `${min / 60} h` : `${min} min`;
}

export class IdleDetector {
  readonly options: IdleDetectorOptions;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    options: Partial<IdleDetectorOptions> = {},
  ) {
    this.options = { ...DEFAULT_IDLE_OPTIONS, ...options };
  }

  async check(): Promise<IdleCheckResult> {
    const now = this.clock.now();
    const { thresholdPct, idleForMs } = this.options;
    const windowStart = now - idleForMs;
    const result: IdleCheckResult = { flagged: 0, cleared: 0, reclaimed: 0 };

    const rows = await this.db
      .selectFrom('jobs as j')
      .innerJoin('allocations as a', 'a.job_id', 'j.id')
      .select([
        'j.id',
        'j.name',
        'j.tenant_id',
        'j.tier',
        'j.requeue_on_preempt',
        'j.node_id',
        'j.started_at',
        'j.idle_since',
        'j.preempt_requested_at',
        'j.cancel_requested_at',
        'a.device_id',
        'a.device_index',
        'a.gpu_milli',
        'a.model',
        'a.created_at',
      ])
      .where('j.state', '=', 'running')
      .where('j.started_at', '<=', windowStart)
      .where('a.released_at', 'is', null)
      .execute();
    const candidates = new Map<string, Candidate>();
    for (const r of rows) {
      let c = candidates.get(r.id);
      if (!c) {
        const startedAt = r.started_at ?? now;
        const idleSince = r.idle_since ?? null;
        c = {
          id: r.id,
          name: r.name,
          tenantId: r.tenant_id,
          tier: r.tier,
          requeue: r.requeue_on_preempt,
          nodeId: r.node_id,
          startedAt,
          // A flag from an earlier run (before a requeue) is not this run's.
          idleSince: idleSince !== null && idleSince >= startedAt ? idleSince : null,
          leaving: r.preempt_requested_at !== null || r.cancel_requested_at !== null,
          heldSince: startedAt,
          devices: [],
        };
        candidates.set(r.id, c);
      }
      c.heldSince = Math.max(c.heldSince, r.created_at);
      c.devices.push({ deviceId: r.device_id, index: r.device_index, gpuMilli: r.gpu_milli, model: r.model });
    }
    const eligible = [...candidates.values()].filter((c) => c.heldSince <= windowStart);
    if (eligible.length === 0) return result;

    // One aggregate over the window's raw samples, one row per device. Not filtered to the candidates'
    // devices in SQL on purpose: samples are keyed (at, device_id), so the window is one range scan
    // either way, and a device filter invites PostgreSQL into one range scan per device when its
    // statistics are off. The rows of devices no candidate holds are dropped here.
    const wanted = new Set(eligible.flatMap((c) => c.devices.map((d) => d.deviceId)));
    const windows = new Map<string, DeviceWindow>();
    const samples = await this.db
      .selectFrom('gpu_samples')
      .select([
        'device_id',
        (eb) => eb.fn.countAll<number>().as('n'),
        (eb) => eb.fn.min<number>('at').as('first'),
        (eb) => eb.fn.max<number>('at').as('last'),
        (eb) => eb.fn.max<number>('utilization_pct').as('max_util'),
      ])
      .where('at', '>=', windowStart)
      .where('at', '<=', now)
      .where('utilization_pct', 'is not', null)
      .groupBy('device_id')
      .execute();
    for (const s of samples) if (wanted.has(s.device_id)) windows.set(s.device_id, { n: Number(s.n), first: Number(s.first), last: Number(s.last), maxUtil: Number(s.max_util) });

    const covers = (w: DeviceWindow | undefined): boolean => {
      if (!w || w.n < 3) return false;
      const gap = (w.last - w.first) / (w.n - 1);
      return w.first - windowStart <= 2 * gap && now - w.last <= 2 * gap;
    };

    const graceByNode = await this.spotGraceByNode(eligible.filter((c) => c.tier === 'spot' && this.options.reclaimSpot));
    for (const c of eligible) {
      const ws = c.devices.map((d) => windows.get(d.deviceId));
      const peak = Math.max(0, ...ws.map((w) => w?.maxUtil ?? 0));
      const busy = ws.some((w) => w !== undefined && w.maxUtil > thresholdPct);
      const idle = !busy && ws.every(covers);
      if (busy && c.idleSince !== null) {
        if (await this.clear(c, now, peak)) result.cleared++;
      } else if (idle && (c.idleSince === null || (this.options.reclaimSpot && c.tier === 'spot' && !c.leaving))) {
        const outcome = await this.flag(c, now, windowStart, graceByNode.get(c.nodeId ?? ''));
        if (outcome.flagged) result.flagged++;
        if (outcome.reclaimed) result.reclaimed++;
      }
    }
    return result;
  }

  private async spotGraceByNode(jobs: Candidate[]): Promise<Map<string, number>> {
    const nodeIds = [...new Set(jobs.map((j) => j.nodeId).filter((n): n is string => n !== null))];
    if (nodeIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('nodes as n')
      .innerJoin('centers as c', 'c.id', 'n.center_id')
      .select(['n.id', 'c.spot_grace_ms'])
      .where('n.id', 'in', nodeIds)
      .execute();
    return new Map(rows.map((r) => [r.id, r.spot_grace_ms]));
  }

  /** Flags a job idle once per episode; with reclaimSpot, tells an idle spot job to leave. */
  private async flag(c: Candidate, now: number, windowStart: number, spotGraceMs: number | undefined): Promise<{ flagged: boolean; reclaimed: boolean }> {
    const { thresholdPct, idleForMs, reclaimSpot } = this.options;
    const gpuMilli = c.devices.reduce((s, d) => s + d.gpuMilli, 0);
    const model = c.devices[0]!.model;
    const what = `${describeGpus(gpuMilli, model)} at ≤${thresholdPct}% utilization for ${describeDuration(idleForMs)}`;
    const reclaim = reclaimSpot && c.tier === 'spot' && !c.leaving && spotGraceMs !== undefined;
    return this.db.transaction().execute(async (tx) => {
      let flagged = false;
      if (c.idleSince === null) {
        // Conditional: a concurrent check (or a requeue in between) cannot flag the same episode twice.
        const r = await tx
          .updateTable('jobs')
          .set({ idle_since: windowStart, idle_flagged_at: now })
          .where('id', '=', c.id)
          .where('state', '=', 'running')
          .where((eb) => eb.or([eb('idle_since', 'is', null), eb('idle_since', '<', c.startedAt)]))
          .executeTakeFirst();
        flagged = Number(r.numUpdatedRows) === 1;
        if (flagged) {
          const charged = c.tier === 'reserved' ? 'it keeps using your reserved quota' : 'it keeps being charged for them';
          const fix = reclaim
            ? `this center reclaims idle spot work, so it has been told to leave${c.requeue === 1 ? ' (it will be requeued)' : ''}`
            : `cancel it (unidle cancel ${c.id}) if it is stuck, or let it finish if it is waiting on purpose`;
          await appendEvent(tx, {
            at: now,
            type: 'job.idle',
            subjectKind: 'job',
            subjectId: c.id,
            tenantId: c.tenantId,
            actor: 'system',
            message: `job ${c.id}${c.name ? ` (${c.name})` : ''} has held ${what}; ${charged}; ${fix}`,
            data: {
              gpuMilli,
              model,
              tier: c.tier,
              nodeId: c.nodeId,
              devices: c.devices.map((d) => ({ deviceId: d.deviceId, index: d.index, gpuMilli: d.gpuMilli })),
              thresholdPct,
              idleForMs,
              idleSince: windowStart,
              reclaim,
            },
          });
        }
      }
      let reclaimed = false;
      if (reclaim && (flagged || c.idleSince !== null)) {
        reclaimed = await requestPreemption(tx, { id: c.id, tenant_id: c.tenantId, requeue_on_preempt: c.requeue }, { kind: 'preemption', reason: `idle: held ${what}`, graceMs: spotGraceMs, at: now });
      }
      return { flagged, reclaimed };
    });
  }

  /** Ends an idle episode: the job is using its devices again. */
  private async clear(c: Candidate, now: number, peakPct: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('jobs')
        .set({ idle_since: null })
        .where('id', '=', c.id)
        .where('idle_since', '=', c.idleSince!)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await appendEvent(tx, {
        at: now,
        type: 'job.active-again',
        subjectKind: 'job',
        subjectId: c.id,
        tenantId: c.tenantId,
        actor: 'system',
        message: `job ${c.id}${c.name ? ` (${c.name})` : ''} is using its GPUs again (up to ${peakPct}% utilization); it was idle from ${new Date(c.idleSince!).toISOString()}`,
        data: { idleSince: c.idleSince, peakUtilizationPct: peakPct, idleMs: now - c.idleSince! },
      });
      return true;
    });
  }

  /**
   * Running jobs flagged idle, with what they hold and what their idle time has cost so far.
   * Operators see every tenant's (or one, with `tenantId`); tenant members their own tenant's.
   */
  async list(p: Principal, query: { tenantId?: string } = {}): Promise<IdleReport> {
    const tenantId = scopeTenant(p, query.tenantId);
    const now = this.clock.now();
    let q = this.db
      .selectFrom('jobs as j')
      .innerJoin('tenants as t', 't.id', 'j.tenant_id')
      .leftJoin('nodes as n', 'n.id', 'j.node_id')
      .select([
        'j.id',
        'j.name',
        'j.tenant_id',
        't.name as tenant_name',
        'j.tier',
        'j.node_id',
        'n.name as node_name',
        'j.idle_since',
        'j.idle_flagged_at',
        'j.preempt_requested_at',
        'j.cancel_requested_at',
      ])
      .where('j.state', '=', 'running')
      .where('j.idle_since', 'is not', null)
      .where((eb) => eb('j.idle_since', '>=', eb.ref('j.started_at')));
    if (tenantId !== undefined) q = q.where('j.tenant_id', '=', tenantId);
    const jobs = await q.orderBy('j.idle_since').orderBy('j.id').execute();
    if (jobs.length === 0) return { at: now, ...this.options, items: [], totalIdleGpuHours: 0 };
    const ids = jobs.map((j) => j.id);
    const [allocations, leases] = await Promise.all([
      this.db.selectFrom('allocations').select(['job_id', 'device_id', 'device_index', 'gpu_milli', 'model']).where('job_id', 'in', ids).where('released_at', 'is', null).orderBy('device_index').execute(),
      this.db.selectFrom('leases').select(['job_id', 'start_at', 'charged_until', 'charged_micros', 'currency']).where('job_id', 'in', ids).execute(),
    ]);
    const items: IdleAllocation[] = jobs.map((j) => {
      const idleSince = j.idle_since!;
      const devices = allocations.filter((a) => a.job_id === j.id);
      const gpuMilli = devices.reduce((s, d) => s + d.gpu_milli, 0);
      const idleMs = Math.max(0, now - idleSince);
      const cost = new Map<string, number>();
      for (const l of leases) {
        if (l.job_id !== j.id || l.charged_until <= idleSince || l.charged_until <= l.start_at) continue;
        const share = (l.charged_until - Math.max(l.start_at, idleSince)) / (l.charged_until - l.start_at);
        cost.set(l.currency, (cost.get(l.currency) ?? 0) + Math.round(l.charged_micros * share));
      }
      return {
        jobId: j.id,
        jobName: j.name,
        tenantId: j.tenant_id,
        tenantName: j.tenant_name,
        tier: j.tier,
        nodeId: j.node_id,
        nodeName: j.node_name ?? null,
        model: devices[0]?.model ?? 'unknown',
        gpuMilli,
        devices: devices.map((d) => ({ deviceId: d.device_id, index: d.device_index, gpuMilli: d.gpu_milli })),
        idleSince,
        flaggedAt: j.idle_flagged_at ?? null,
        idleMs,
        idleGpuHours: round((gpuMilli * idleMs) / 1000 / 3_600_000, 6),
        idleCost: [...cost].map(([currency, amountMicros]) => ({ amountMicros, currency })),
        leavingSince: j.preempt_requested_at ?? j.cancel_requested_at ?? null,
      };
    });
    return { at: now, ...this.options, items, totalIdleGpuHours: round(items.reduce((s, i) => s + i.idleGpuHours, 0), 6) };
  }
}
