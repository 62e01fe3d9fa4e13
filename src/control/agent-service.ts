import { invalid, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import { isTerminal, JOB_LIMITS, type JobState } from '../domain/job.js';
import type { DB, Db } from '../store/database.js';
import type { JobsTable, NodesTable } from '../store/schema.js';
import type {
  FinishedAck,
  FinishedReport,
  HeartbeatRequest,
  HeartbeatResponse,
  JobAssignment,
  LogAck,
  LogChunk,
  RegisterRequest,
  RegisterResponse,
  StartedReport,
  StopOrder,
} from '../agent/protocol.js';
import { appendEvent } from './events.js';
import type { InventoryService } from './inventory-service.js';
import { endPreempted, meterUpTo, releaseAllocations, StaleJobError, transition } from './job-lifecycle.js';
import { openLease } from './lease-store.js';
import type { MarketService } from './market-service.js';
import { requireAgent, type Principal } from './principal.js';

const MAX_DURATION_SLACK_MS = 5000;

export interface AgentServiceOptions {
  heartbeatIntervalMs: number;
  graceMs: number;
  /** Largest log chunk accepted, bytes. */
  maxLogChunkBytes: number;
  /** Output kept per job and stream; the rest is acknowledged and dropped. */
  maxLogBytesPerStream: number;
}

/** What happened to a finished job, decided from how its process ended. */
function outcome(job: JobsTable, r: FinishedReport): { state: JobState; reason: string } {
  switch (r.cause) {
    case 'exited':
      if (r.exitCode === 0) return { state: 'succeeded', reason: 'exited with code 0' };
      if (r.exitCode !== null) return { state: 'failed', reason: `exited with code ${r.exitCode}` };
      return { state: 'failed', reason: `killed by signal ${r.signal ?? 'unknown'}` };
    case 'stopped':
      return job.cancel_requested_at !== null
        ? { state: 'cancelled', reason: job.state_reason.replace(/; stopping$/, '') }
        : { state: 'failed', reason: `stopped by the agent${r.message ? `: ${r.message}` : ''}` };
    case 'max-duration':
      return { state: 'failed', reason: `ran past its max duration of ${Math.round(job.max_duration_ms / 1000)} s and was killed` };
    case 'start-failed':
      return { state: 'failed', reason: `could not start: ${r.message ?? 'unknown error'}` };
    case 'vanished':
      return { state: 'lost', reason: `its process vanished while the agent was down${r.message ? ` (${r.message})` : ''}` };
    case 'lost':
      return { state: 'lost', reason: r.message ?? 'its executor lost it' };
  }
}

export class AgentService {
  /** Called when capacity frees up, so the scheduler places waiting jobs at once. */
  onCapacityFreed: () => void = () => {};
  /** Called when a node registers or re-registers, since its devices may have changed. */
  onInventoryChanged: () => void = () => {};

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly inventory: InventoryService,
    private readonly options: AgentServiceOptions,
    private readonly market: MarketService,
  ) {}

  async register(p: Principal, req: RegisterRequest): Promise<RegisterResponse> {
    const node = await this.inventory.register(p, req);
    this.onInventoryChanged();
    this.onCapacityFreed();
    return { nodeId: node.id, centerId: node.centerId, heartbeatIntervalMs: this.options.heartbeatIntervalMs };
  }

  private async ownNode(p: Principal, nodeId: string, db: Db = this.db) {
    requireAgent(p);
    const node = await db.selectFrom('nodes').selectAll().where('id', '=', nodeId).executeTakeFirst();
    if (!node || node.center_id !== p.centerId) throw notFound('node', nodeId);
    return node;
  }

  private async ownJob(p: Principal, nodeId: string, jobId: string, db: Db): Promise<{ job: JobsTable; node: NodesTable }> {
    const node = await this.ownNode(p, nodeId, db);
    const job = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!job || job.node_id !== nodeId) throw notFound('job', jobId);
    return { job, node };
  }

  /**
   * The agent's pulse. Confirms its running jobs (metering never bills past the last confirmation)
   * and answers with what to start and what to stop.
   */
  async heartbeat(p: Principal, req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const now = this.clock.now();
    // The agent's clock stamps confirmations so usage spans line up with the start/end it records.
    const confirmedAt = Math.min(req.at, now);
    const node = await this.ownNode(p, req.nodeId);
    const wasDown = node.status !== 'up';
    const runningIds = req.running.map((r) => r.jobId);

    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('nodes').set({ last_heartbeat_at: now, status: 'up', status_reason: null, updated_at: now }).where('id', '=', node.id).execute();
      if (wasDown) {
        await appendEvent(tx, { at: now, type: 'node.up', subjectKind: 'node', subjectId: node.id, actor: p.memberId, message: `node ${node.name} is back` });
      }
      if (runningIds.length > 0) {
        await tx
          .updateTable('jobs')
          .set((eb) => ({
            // Never move the billing confirmation backwards (a delayed heartbeat arriving late).
            confirmed_until: eb
              .case()
              .when(eb.or([eb('confirmed_until', 'is', null), eb('confirmed_until', '<', confirmedAt)]))
              .then(confirmedAt)
              .else(eb.ref('confirmed_until'))
              .end(),
            last_seen_at: now,
          }))
          .where('id', 'in', runningIds)
          .where('node_id', '=', node.id)
          .where('state', '=', 'running')
          .execute();
      }
    });
    if (wasDown) this.onCapacityFreed();

    const active = await this.db.selectFrom('jobs').selectAll().where('node_id', '=', node.id).where('state', 'in', ['scheduled', 'running']).execute();
    const start: JobAssignment[] = [];
    const stop: StopOrder[] = [];
    const activeIds = new Set(active.map((j) => j.id));
    const toStart = active.filter((j) => j.state === 'scheduled' && j.cancel_requested_at === null && j.preempt_requested_at === null && !runningIds.includes(j.id));
    const allocations =
      toStart.length > 0 ? await this.db.selectFrom('allocations').selectAll().where('job_id', 'in', toStart.map((j) => j.id)).execute() : [];
    for (const job of toStart) {
      const mine = allocations.filter((a) => a.job_id === job.id).sort((a, b) => a.device_index - b.device_index);
      start.push({
        jobId: job.id,
        command: JSON.parse(job.command) as string[],
        env: JSON.parse(job.env) as Record<string, string>,
        workingDir: job.working_dir,
        deviceIndexes: mine.map((a) => a.device_index),
        gpuMilli: job.gpu_milli ?? 1000,
        maxDurationMs: job.max_duration_ms,
        graceMs: this.options.graceMs,
      });
    }
    for (const job of active) {
      if (!runningIds.includes(job.id)) continue;
      if (job.cancel_requested_at !== null)
        stop.push({
          jobId: job.id,
          reason: 'cancelled',
          graceMs: this.options.graceMs,
          notice: { kind: 'cancel', reason: job.state_reason.replace(/; stopping$/, ''), deadlineAt: now + this.options.graceMs, requeue: false },
        });
      else if (job.preempt_requested_at !== null) {
        const deadlineAt = job.preempt_deadline_at ?? now;
        stop.push({
          jobId: job.id,
          reason: job.preempt_reason ?? 'preempted',
          graceMs: Math.max(0, deadlineAt - now),
          notice: { kind: job.preempt_kind === 'budget' ? 'budget' : 'preemption', reason: job.preempt_reason ?? 'preempted', deadlineAt, requeue: job.requeue_on_preempt === 1 },
        });
      }
      // The agent enforces max duration itself; this catches an agent whose timer did not fire.
      else if (job.started_at !== null && now > job.started_at + job.max_duration_ms + this.options.graceMs + MAX_DURATION_SLACK_MS)
        stop.push({ jobId: job.id, reason: 'ran past its max duration', graceMs: this.options.graceMs });
    }
    for (const id of runningIds) {
      if (!activeIds.has(id)) stop.push({ jobId: id, reason: 'the control plane no longer runs this job here', graceMs: this.options.graceMs });
    }
    // A scheduled job cancelled before its agent started it never runs: finish the cancel here.
    const cancelledBeforeStart = active.filter((j) => j.state === 'scheduled' && j.cancel_requested_at !== null && !runningIds.includes(j.id));
    for (const job of cancelledBeforeStart) await this.finishWithoutRun(job, 'cancelled', job.state_reason.replace(/; stopping$/, ''), now);
    // Told to leave before it started: nothing to signal, give the capacity back now.
    for (const job of active.filter((j) => j.state === 'scheduled' && j.cancel_requested_at === null && j.preempt_requested_at !== null && !runningIds.includes(j.id))) {
      try {
        await this.db.transaction().execute((tx) => endPreempted(tx, job, null, now));
        this.onCapacityFreed();
      } catch (err) {
        if (!(err instanceof StaleJobError)) throw err;
      }
    }
    return { at: now, start, stop, parked: node.power_state === 'parked' || node.power_state === 'parking' };
  }

  private async finishWithoutRun(job: JobsTable, to: JobState, reason: string, now: number): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await transition(tx, job, { to, reason, at: now, set: { ended_at: now } });
        await releaseAllocations(tx, job, now);
      });
      this.onCapacityFreed();
    } catch (err) {
      if (!(err instanceof StaleJobError)) throw err;
    }
  }

  async started(p: Principal, jobId: string, r: StartedReport): Promise<{ state: JobState }> {
    return this.db.transaction().execute(async (tx) => {
      const { job, node } = await this.ownJob(p, r.nodeId, jobId, tx);
      if (job.state !== 'scheduled') return { state: job.state as JobState };
      const now = this.clock.now();
      const startedAt = Math.min(r.startedAt, now);
      await transition(tx, job, {
        to: 'running',
        reason: `started on ${node.name} (pid ${r.pid})`,
        at: now,
        set: { started_at: startedAt, confirmed_until: startedAt, metered_until: startedAt, last_seen_at: now },
      });
      await this.openJobLease(tx, job, node.center_id, node.id, startedAt, now);
      return { state: 'running' as JobState };
    });
  }

  /** The job's first lease, at the price fixed when it was placed (reserved work is prepaid: 0). */
  private async openJobLease(tx: Db, job: JobsTable, centerId: string, nodeId: string, at: number, now: number): Promise<void> {
    const allocs = await tx.selectFrom('allocations').select(['model', 'gpu_milli']).where('job_id', '=', job.id).where('released_at', 'is', null).execute();
    if (allocs.length === 0) return;
    const model = allocs[0]!.model;
    const { floorMicros, currency } = await this.market.floorOf(tx, centerId, model, job.tier);
    await openLease(tx, {
      job,
      centerId,
      nodeId,
      model,
      gpuMilli: allocs.reduce((sum, a) => sum + a.gpu_milli, 0),
      priceMicros: job.tier === 'reserved' ? 0 : (job.price_micros ?? 0),
      floorMicros,
      currency,
      at,
      now,
    });
  }

  /** Appends log bytes exactly once: bytes before the stored end are dropped, a gap is refused. */
  async appendLog(p: Principal, jobId: string, chunk: LogChunk): Promise<LogAck> {
    if (chunk.stream !== 'stdout' && chunk.stream !== 'stderr') throw invalid('stream', 'is stdout or stderr');
    const data = Buffer.from(chunk.dataBase64, 'base64');
    if (data.length > this.options.maxLogChunkBytes) throw invalid('dataBase64', `chunks are at most ${this.options.maxLogChunkBytes} bytes`);
    return this.db.transaction().execute(async (tx) => {
      await this.ownJob(p, chunk.nodeId, jobId, tx);
      const last = await tx
        .selectFrom('job_logs')
        .select(['offset', 'length'])
        .where('job_id', '=', jobId)
        .where('stream', '=', chunk.stream)
        .orderBy('offset', 'desc')
        .limit(1)
        .executeTakeFirst();
      const end = last ? last.offset + last.length : 0;
      // Past the cap the bytes are acknowledged and dropped, so a chatty job cannot fill the database
      // and its agent still moves on to report the finish.
      if (end >= this.options.maxLogBytesPerStream) {
        if (end === this.options.maxLogBytesPerStream) {
          const note = Buffer.from(`\n[unidle: output truncated after ${this.options.maxLogBytesPerStream} bytes]\n`);
          await tx.insertInto('job_logs').values({ job_id: jobId, stream: chunk.stream, offset: end, length: note.length, data: note, created_at: this.clock.now() }).execute();
        }
        return { nextOffset: Math.max(chunk.offset + data.length, end) };
      }
      if (chunk.offset > end) return { nextOffset: end };
      const skip = end - chunk.offset;
      if (skip >= data.length) return { nextOffset: end };
      const fresh = data.subarray(skip, skip + Math.min(data.length - skip, this.options.maxLogBytesPerStream - end));
      await tx
        .insertInto('job_logs')
        .values({ job_id: jobId, stream: chunk.stream, offset: end, length: fresh.length, data: fresh, created_at: this.clock.now() })
        .execute();
      return { nextOffset: end + fresh.length };
    });
  }

  /**
   * The end of a job: its state, the last usage span up to the agent's recorded end, the release of
   * its devices and the audit event, in one transaction. A repeat report changes nothing.
   */
  async finished(p: Principal, jobId: string, r: FinishedReport): Promise<FinishedAck> {
    const now = this.clock.now();
    const result = await this.db.transaction().execute(async (tx) => {
      const { job, node } = await this.ownJob(p, r.nodeId, jobId, tx);
      if (isTerminal(job.state as JobState)) return { state: job.state, freed: false };
      const endedAt = Math.min(r.endedAt, now);
      let meterFrom = job.metered_until;
      if (job.state === 'scheduled' && r.startedAt !== null) {
        // The started report never arrived (agent crashed in between): bill from the recorded start.
        meterFrom = Math.min(r.startedAt, endedAt);
        await tx.updateTable('jobs').set({ metered_until: meterFrom, started_at: meterFrom }).where('id', '=', job.id).execute();
        await this.openJobLease(tx, job, node.center_id, node.id, meterFrom, now);
      }
      if (meterFrom !== null && endedAt > meterFrom) {
        await meterUpTo(tx, { ...job, metered_until: meterFrom }, endedAt, now);
      }
      // Told to leave and then stopped (or killed by the stop's signals): preempted, not failed.
      if (job.preempt_requested_at !== null && job.cancel_requested_at === null && (r.cause === 'stopped' || (r.cause === 'exited' && r.exitCode !== 0))) {
        return { state: await endPreempted(tx, job, { endedAt, exitCode: r.exitCode, signal: r.signal }, now), freed: true };
      }
      const { state, reason } = outcome(job, r);
      await transition(tx, job, {
        to: state,
        reason,
        at: now,
        set: {
          ended_at: endedAt,
          exit_code: r.exitCode,
          signal: r.signal,
          started_at: job.started_at ?? r.startedAt,
          metered_until: meterFrom !== null ? Math.max(meterFrom, endedAt) : null,
        },
      });
      await releaseAllocations(tx, job, now);
      return { state, freed: true };
    });
    if (result.freed) this.onCapacityFreed();
    return { state: result.state };
  }

  static defaults(): AgentServiceOptions {
    return { heartbeatIntervalMs: 1000, graceMs: JOB_LIMITS.defaultGraceMs, maxLogChunkBytes: 1024 * 1024, maxLogBytesPerStream: 64 * 1024 * 1024 };
  }
}
