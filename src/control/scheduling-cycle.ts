import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { createRandom, type Random } from '../domain/random.js';
import { PlacementEngine } from '../scheduler/placement-engine.js';
import { describePending, type PlacementPolicy } from '../scheduler/policy.js';
import type { ClusterSnapshot, Placement, PlacementRequest } from '../scheduler/snapshot.js';
import type { DB, Tx } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import type { InventoryService } from './inventory-service.js';
import { StaleJobError, transition } from './job-lifecycle.js';

export interface CycleResult {
  considered: number;
  placed: number;
  conflicts: number;
}

const COMMIT_CHUNK = 64;

/** A placement lost a race in the database (another scheduler took the capacity first). */
class CapacityConflict extends Error {}

/** Another scheduler took the capacity or the job first: not an error, the next cycle decides again. */
function lostRace(err: unknown): boolean {
  return err instanceof CapacityConflict || err instanceof StaleJobError;
}

/**
 * One scheduling pass: read the queue oldest first, place what fits against one snapshot, and commit
 * each placement in its own transaction whose conditional updates re-check capacity in the database.
 * The snapshot only speeds decisions up; the database is what prevents over-allocation, even if
 * several schedulers run at once.
 */
export class SchedulingCycle {
  /** Jobs the policy has already seen arrive, so a job waiting many cycles is learned from once. */
  private readonly observed = new Set<string>();
  private readonly random: Random;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly inventory: InventoryService,
    private readonly policy: PlacementPolicy,
    private readonly batchSize = 500,
  ) {
    this.random = createRandom(clock.now());
  }

  async run(): Promise<CycleResult> {
    const queued = await this.db.selectFrom('jobs').selectAll().where('state', '=', 'queued').orderBy('created_at').orderBy('id').limit(this.batchSize).execute();
    const result: CycleResult = { considered: queued.length, placed: 0, conflicts: 0 };
    if (queued.length === 0) return result;
    const snapshot = await this.inventory.snapshot();
    const decisions: Array<{ job: JobsTable; request: PlacementRequest; placement: Placement; nodeName: string }> = [];
    const engine = new PlacementEngine(this.policy, snapshot.nodes, { random: this.random });
    const pending: Array<{ id: string; reason: string }> = [];
    if (this.observed.size > 100_000) this.observed.clear();
    for (const job of queued) {
      const request = requestOf(job);
      if (!this.observed.has(job.id)) {
        this.observed.add(job.id);
        engine.observe(request);
      }
      const decision = engine.place(request);
      if (decision) {
        decisions.push({ job, request, placement: decision.placement, nodeName: decision.node.name });
      } else {
        const reason = `pending: ${describePending(engine.explain(request))}`;
        if (reason !== job.state_reason) pending.push({ id: job.id, reason });
      }
    }
    // Commits are the dominant cost on SQLite: write a cycle's decisions in a few transactions. A
    // conflict (another scheduler won the capacity) rolls back its chunk; those jobs stay queued for
    // the next cycle, which sees the database as it now is.
    for (let i = 0; i < decisions.length; i += COMMIT_CHUNK) {
      const chunk = decisions.slice(i, i + COMMIT_CHUNK);
      try {
        await this.db.transaction().execute(async (tx) => {
          for (const d of chunk) await this.commit(tx, d.job, d.request, d.placement, d.nodeName);
        });
        result.placed += chunk.length;
      } catch (err) {
        if (!lostRace(err)) throw err;
        result.conflicts++;
        if (chunk.length > 1) {
          for (const d of chunk) {
            try {
              await this.db.transaction().execute((tx) => this.commit(tx, d.job, d.request, d.placement, d.nodeName));
              result.placed++;
            } catch (inner) {
              if (!lostRace(inner)) throw inner;
            }
          }
        }
      }
    }
    if (pending.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        for (const p of pending) await tx.updateTable('jobs').set({ state_reason: p.reason }).where('id', '=', p.id).where('state', '=', 'queued').execute();
      });
    }
    return result;
  }

  private async commit(tx: Tx, job: JobsTable, request: PlacementRequest, placement: Placement, nodeName: string): Promise<void> {
    const now = this.clock.now();
    for (const grant of placement.devices) {
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
          node_id: placement.nodeId,
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
      .where('id', '=', placement.nodeId)
      .where('status', '=', 'up')
      .where((eb) => eb(eb('allocated_cpu_milli', '+', request.cpuMilli), '<=', eb.ref('cpu_milli')))
      .where((eb) => eb(eb('allocated_memory_mib', '+', request.memoryMib), '<=', eb.ref('memory_mib')))
      .executeTakeFirst();
    if (Number(node.numUpdatedRows) !== 1) throw new CapacityConflict();
    const devices = placement.devices.map((d) => (d.milli === 1000 ? `${d.model}#${d.index}` : `${d.milli}m of ${d.model}#${d.index}`)).join(', ');
    await transition(tx, job, {
      to: 'scheduled',
      reason: `placed on ${nodeName}: ${devices}`,
      at: now,
      set: { node_id: placement.nodeId, scheduled_at: now },
    });
  }
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
