import type { Clock } from '../domain/clock.js';
import type { DB, Dialect } from '../store/database.js';
import type { BillingService } from './billing-service.js';
import { meterJobs, MeterConflictError, type MeterResult } from './lease-store.js';

export interface MeteringPassResult extends MeterResult {
  /** Running jobs looked at. */
  running: number;
  recognizedMicros: number;
  stopsRequested: number;
}

/**
 * Turns running time into usage rows and charges. A pass bills each running job from where its
 * meter stopped up to the last moment its agent confirmed it running, never beyond: a job whose
 * agent went quiet is not billed for the silence. The whole pass (usage, lease cursors, job cursors,
 * ledger postings, reservation revenue) is one transaction: a crash loses or repeats none of it.
 */
export class Metering {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly billing: BillingService,
    private readonly dialect: Dialect,
    /** Spans shorter than this wait for the next pass, to keep the usage table from filling with slivers. */
    private readonly minSpanMs = 1000,
  ) {}

  async pass(): Promise<MeteringPassResult> {
    const now = this.clock.now();
    const running = await this.db
      .selectFrom('jobs')
      .select(['id', 'tenant_id', 'node_id', 'tier', 'cpu_milli', 'memory_mib', 'metered_until', 'confirmed_until'])
      .where('state', '=', 'running')
      .where('metered_until', 'is not', null)
      .where('confirmed_until', 'is not', null)
      .execute();
    const due = running.filter((j) => j.confirmed_until! > j.metered_until!);
    let result: MeterResult & { recognizedMicros: number };
    try {
      result = await this.db.transaction().execute(async (tx) => {
        const r = await meterJobs(tx, due.map((job) => ({ job, until: job.confirmed_until! })), now, this.minSpanMs, this.dialect);
        const recognizedMicros = await this.billing.recognizeReservations(tx, now);
        return { ...r, recognizedMicros };
      });
    } catch (err) {
      // Another writer moved a lease cursor (a job ended mid-pass): nothing was written; the next pass reads afresh.
      if (!(err instanceof MeterConflictError)) throw err;
      result = { jobs: 0, spans: 0, chargedMicros: 0, rowsWritten: 0, recognizedMicros: 0 };
    }
    const stopsRequested = await this.billing.enforceBalances(now);
    return { running: running.length, ...result, stopsRequested };
  }
}
