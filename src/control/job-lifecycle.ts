import { canTransition, type JobState } from '../domain/job.js';
import { newId } from '../domain/ids.js';
import type { Db } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import { appendEvent } from './events.js';

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

/** Gives a job's devices, CPU and memory back to its node. Idempotent: released allocations are skipped. */
export async function releaseAllocations(db: Db, job: Pick<JobsTable, 'id' | 'node_id' | 'cpu_milli' | 'memory_mib'>, at: number): Promise<void> {
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
  if (job.node_id) {
    await db
      .updateTable('nodes')
      .set((eb) => ({
        allocated_cpu_milli: eb('allocated_cpu_milli', '-', job.cpu_milli),
        allocated_memory_mib: eb('allocated_memory_mib', '-', job.memory_mib),
      }))
      .where('id', '=', job.node_id)
      .execute();
  }
}

export type MeterableJob = Pick<JobsTable, 'id' | 'tenant_id' | 'node_id' | 'tier' | 'cpu_milli' | 'memory_mib' | 'metered_until'>;

/**
 * Writes the usage of [metered_until, until) and advances the cursor in the same transaction. The
 * conditional update plus the unique (job, start) key mean a span is written once even if two passes
 * race or one is replayed after a crash.
 */
export async function meterUpTo(db: Db, job: MeterableJob, until: number, now: number): Promise<boolean> {
  const from = job.metered_until;
  if (from === null || until <= from || !job.node_id) return false;
  const allocs = await db.selectFrom('allocations').select(['gpu_milli', 'model']).where('job_id', '=', job.id).execute();
  if (allocs.length === 0) return false;
  const gpuMilli = allocs.reduce((s, a) => s + a.gpu_milli, 0);
  const model = allocs[0]!.model;
  const center = await db.selectFrom('nodes').select('center_id').where('id', '=', job.node_id).executeTakeFirst();
  const advanced = await db
    .updateTable('jobs')
    .set({ metered_until: until })
    .where('id', '=', job.id)
    .where('metered_until', '=', from)
    .executeTakeFirst();
  if (Number(advanced.numUpdatedRows) !== 1) return false;
  const span = until - from;
  await db
    .insertInto('usage')
    .values({
      id: newId('use', now),
      job_id: job.id,
      tenant_id: job.tenant_id,
      center_id: center?.center_id ?? '',
      node_id: job.node_id,
      gpu_model: model,
      tier: job.tier,
      start_at: from,
      end_at: until,
      gpu_milli: gpuMilli,
      cpu_milli: job.cpu_milli,
      memory_mib: job.memory_mib,
      gpu_milli_ms: gpuMilli * span,
      cpu_milli_ms: job.cpu_milli * span,
      memory_mib_ms: job.memory_mib * span,
      created_at: now,
    })
    .execute();
  return true;
}
