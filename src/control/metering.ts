import type { Clock } from '../domain/clock.js';
import type { DB } from '../store/database.js';
import { meterUpTo } from './job-lifecycle.js';

/**
 * Turns running time into usage rows. A pass bills each running job from where its meter stopped up
 * to the last moment its agent confirmed it running, never beyond: a job whose agent went quiet is not
 * billed for the silence. Rows are per job and span, so prices can attach to them later.
 */
export class Metering {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    /** Spans shorter than this wait for the next pass, to keep the usage table from filling with slivers. */
    private readonly minSpanMs = 1000,
  ) {}

  async pass(): Promise<{ jobs: number; rows: number }> {
    const now = this.clock.now();
    const running = await this.db
      .selectFrom('jobs')
      .select(['id', 'tenant_id', 'node_id', 'tier', 'cpu_milli', 'memory_mib', 'metered_until', 'confirmed_until'])
      .where('state', '=', 'running')
      .where('metered_until', 'is not', null)
      .where('confirmed_until', 'is not', null)
      .execute();
    const due = running.filter((j) => j.confirmed_until! - j.metered_until! >= this.minSpanMs);
    if (due.length === 0) return { jobs: running.length, rows: 0 };
    let rows = 0;
    await this.db.transaction().execute(async (tx) => {
      for (const job of due) if (await meterUpTo(tx, job, job.confirmed_until!, now)) rows++;
    });
    return { jobs: running.length, rows };
  }
}
