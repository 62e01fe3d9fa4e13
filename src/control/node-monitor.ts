import type { Clock } from '../domain/clock.js';
import type { DB, Db } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import { appendEvent } from './events.js';
import { meterUpTo, releaseAllocations, StaleJobError, transition } from './job-lifecycle.js';

export interface NodeMonitorOptions {
  /** A node silent for this long is down and its jobs are lost. */
  heartbeatTimeoutMs: number;
  /** A running job its agent has stopped listing for this long is lost (covers a restarted agent that lost its state). */
  unconfirmedJobTimeoutMs: number;
}

/**
 * Level-triggered liveness: compares when each node and job was last confirmed with now. Timeouts
 * count from this process's start at the earliest, so a control plane that was itself down does
 * not blame the nodes for its own silence.
 */
export class NodeMonitor {
  private readonly since: number;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly options: NodeMonitorOptions,
  ) {
    this.since = clock.now();
  }

  async check(): Promise<{ nodesDown: number; jobsLost: number }> {
    const now = this.clock.now();
    const cutoff = now - this.options.heartbeatTimeoutMs;
    let nodesDown = 0;
    let jobsLost = 0;
    if (this.since <= cutoff) {
      const silent = await this.db
        .selectFrom('nodes')
        .selectAll()
        .where('status', '=', 'up')
        .where('executor', '=', 'agent')
        // A parked node is silent by design; a waking one answers to the wake deadline instead.
        .where('power_state', '=', 'on')
        .where((eb) => eb.or([eb('last_heartbeat_at', 'is', null), eb('last_heartbeat_at', '<', cutoff)]))
        .execute();
      for (const node of silent) {
        const silentFor = Math.round((now - (node.last_heartbeat_at ?? node.registered_at)) / 1000);
        const reason = `node ${node.name} missed heartbeats for ${silentFor} s`;
        jobsLost += await this.db.transaction().execute(async (tx) => {
          const moved = await tx
            .updateTable('nodes')
            .set({ status: 'down', status_reason: reason, updated_at: now })
            .where('id', '=', node.id)
            .where('status', '=', 'up')
            .executeTakeFirst();
          if (Number(moved.numUpdatedRows) !== 1) return 0;
          await appendEvent(tx, { at: now, type: 'node.down', subjectKind: 'node', subjectId: node.id, message: reason });
          const jobs = await tx.selectFrom('jobs').selectAll().where('node_id', '=', node.id).where('state', 'in', ['scheduled', 'running']).execute();
          for (const job of jobs) await this.loseJob(tx, job, reason, now);
          return jobs.length;
        });
        nodesDown++;
      }
    }
    const jobCutoff = now - this.options.unconfirmedJobTimeoutMs;
    if (this.since <= jobCutoff) {
      const orphans = await this.db
        .selectFrom('jobs')
        .innerJoin('nodes', 'nodes.id', 'jobs.node_id')
        .selectAll('jobs')
        .where('jobs.state', '=', 'running')
        .where('nodes.status', '=', 'up')
        .where((eb) => eb.or([eb('jobs.last_seen_at', 'is', null), eb('jobs.last_seen_at', '<', jobCutoff)]))
        .where('nodes.last_heartbeat_at', '>', jobCutoff)
        .execute();
      for (const job of orphans) {
        try {
          await this.db.transaction().execute((tx) => this.loseJob(tx, job, 'its agent stopped reporting it (agent restarted without its state?)', now));
          jobsLost++;
        } catch (err) {
          if (!(err instanceof StaleJobError)) throw err;
        }
      }
    }
    return { nodesDown, jobsLost };
  }

  private async loseJob(tx: Db, job: JobsTable, reason: string, now: number): Promise<void> {
    if (job.state === 'running' && job.confirmed_until !== null) await meterUpTo(tx, job, job.confirmed_until, now);
    await transition(tx, job, { to: 'lost', reason, at: now, set: { ended_at: job.confirmed_until ?? now } });
    await releaseAllocations(tx, job, now);
  }
}
