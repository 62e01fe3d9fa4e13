import { canTransition, type JobState } from '../domain/job.js';
import type { Db } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import { appendEvent } from './events.js';
import { closeOpenLeases } from './lease-store.js';

/**
 * The transactional building blocks every path that moves a job uses (API, scheduler, agent reports,
 * node monitor), so a transition, its allocation release, its last usage span and its audit event
 * always commit together or not at all.
 */
export class StaleJobError extends Error {
  constructor(jobId: string, expected: string) {
    super(`job ${jobId} is no longer ${expected}`);
  }
}

export interface TransitionInput {
  to: JobState;
  reason: string;
  at: number;
  actor?: string;
  set?: Partial<Omit<JobsTable, 'id' | 'state' | 'state_reason' | 'updated_at'>>;
}

/** Moves a job from the state the caller read to `to`; throws StaleJobError if someone else moved it first. */
export async function transition(db: Db, job: Pick<JobsTable, 'id' | 'state' | 'tenant_id'>, input: TransitionInput): Promise<void> {
  const from = job.state as JobState;
  if (!canTransition(from, input.to)) throw new Error(`illegal job transition ${from} → ${input.to} for ${job.id}`);
  const result = await db
    .updateTable('jobs')
    .set({ ...input.set, state: input.to, state_reason: input.reason, updated_at: input.at })
    .where('id', '=', job.id)
    .where('state', '=', from)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new StaleJobError(job.id, from);
  await appendEvent(db, {
    at: input.at,
    type: 'job.state',
    subjectKind: 'job',
    subjectId: job.id,
    tenantId: job.tenant_id,
    actor: input.actor ?? 'system',
    message: `${from} → ${input.to}: ${input.reason}`,
    data: { from, to: input.to, reason: input.reason },
  });
}

/**
 * Gives a job's devices, CPU and memory back to its node and closes its lease where its metering
 * stopped (callers meter up to the job's end first). Idempotent: released allocations are skipped.
 */
export async function releaseAllocations(db: Db, job: Pick<JobsTable, 'id' | 'node_id' | 'cpu_milli' | 'memory_mib'>, at: number): Promise<void> {
  const metered = await db.selectFrom('jobs').select('metered_until').where('id', '=', job.id).executeTakeFirst();
  if (metered?.metered_until != null) await closeOpenLeases(db, job.id, metered.metered_until);
  const allocations = await db.selectFrom('allocations').selectAll().where('job_id', '=', job.id).where('released_at', 'is', null).execute();
  if (allocations.length === 0) return;
  for (const a of allocations) {
    await db
      .updateTable('devices')
      .set((eb) => ({ allocated_milli: eb('allocated_milli', '-', a.gpu_milli) }))
      .where('id', '=', a.device_id)
      .execute();
  }
  await db.updateTable('allocations').set({ released_at: at }).where('job_id', '=', job.id).where('released_at', 'is', null).execute();
  // CPU and memory were taken on every node the job spans (a gang job: several; its shape is per node).
  const nodes = new Set(allocations.map((a) => a.node_id));
  if (job.node_id) nodes.add(job.node_id);
  for (const nodeId of nodes) {
    await db
      .updateTable('nodes')
      .set((eb) => ({
        allocated_cpu_milli: eb('allocated_cpu_milli', '-', job.cpu_milli),
        allocated_memory_mib: eb('allocated_memory_mib', '-', job.memory_mib),
      }))
      .where('id', '=', nodeId)
      .execute();
  }
}

export { meterUpTo, type MeterableJob } from './lease-store.js';

/**
 * The end of a preemption: the job's usage is metered to its end by the caller; here its lease
 * closes, its capacity returns, and it goes back to the queue (keeping its place by submission time)
 * or, if its tenant opted out of requeueing, ends as `preempted`.
 */
export async function endPreempted(
  db: Db,
  job: JobsTable,
  end: { endedAt: number; exitCode: number | null; signal: string | null } | null,
  now: number,
): Promise<JobState> {
  const why = job.preempt_reason ?? 'preempted';
  await releaseAllocations(db, job, now);
  if (job.requeue_on_preempt === 1) {
    // The next placement may pick the same devices, and allocations are unique per (job, device):
    // the run that ended is remembered by its leases and events, not by released allocation rows.
    await db.deleteFrom('allocations').where('job_id', '=', job.id).where('released_at', 'is not', null).execute();
    await transition(db, job, {
      to: 'queued',
      reason: `requeued after preemption: ${why}`,
      at: now,
      set: {
        node_id: null,
        scheduled_at: null,
        started_at: null,
        ended_at: null,
        exit_code: null,
        signal: null,
        confirmed_until: null,
        last_seen_at: null,
        metered_until: null,
        executor_ref: null,
        price_micros: null,
        reservation_id: null,
        preempt_requested_at: null,
        preempt_deadline_at: null,
        preempt_kind: null,
        preempt_reason: null,
        preemptions: job.preemptions + 1,
        idle_since: null,
      },
    });
    return 'queued';
  }
  await transition(db, job, {
    to: 'preempted',
    reason: why,
    at: now,
    set: { ended_at: end?.endedAt ?? now, exit_code: end?.exitCode ?? null, signal: end?.signal ?? null, preemptions: job.preemptions + 1 },
  });
  return 'preempted';
}

/**
 * Tells a job to leave: the notice is recorded (and shown on the job and in its events); the agent
 * hands it to the job, sends SIGTERM, and SIGKILL after `graceMs`. Conditional, so a job already
 * leaving or already ended is left alone (returns false).
 */
export async function requestPreemption(
  db: Db,
  job: Pick<JobsTable, 'id' | 'tenant_id' | 'requeue_on_preempt'>,
  input: { kind: 'preemption' | 'budget'; reason: string; graceMs: number; at: number; actor?: string },
): Promise<boolean> {
  const deadline = input.at + input.graceMs;
  const r = await db
    .updateTable('jobs')
    .set({
      preempt_requested_at: input.at,
      preempt_deadline_at: deadline,
      preempt_kind: input.kind,
      preempt_reason: input.reason,
      state_reason: `leaving: ${input.reason} (notice given, SIGKILL at the latest ${new Date(deadline).toISOString()})`,
      updated_at: input.at,
    })
    .where('id', '=', job.id)
    .where('state', 'in', ['scheduled', 'running'])
    .where('preempt_requested_at', 'is', null)
    .where('cancel_requested_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await appendEvent(db, {
    at: input.at,
    type: 'job.preempt-notice',
    subjectKind: 'job',
    subjectId: job.id,
    tenantId: job.tenant_id,
    actor: input.actor ?? 'system',
    message: `${input.reason}; ${job.requeue_on_preempt === 1 ? 'it will be requeued' : 'it will not be requeued'}; SIGTERM now, SIGKILL after ${Math.round(input.graceMs / 1000)} s`,
    data: { kind: input.kind, reason: input.reason, graceMs: input.graceMs, deadlineAt: deadline, requeue: job.requeue_on_preempt === 1 },
  });
  return true;
}
