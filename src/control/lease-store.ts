import { sql } from 'kysely';
import { newId } from '../domain/ids.js';
import { chargeSpans, type ChargedSpan, type LeaseCursor } from '../market/lease-spans.js';
import { chargeTransaction } from '../market/ledger.js';
import type { Db, Dialect } from '../store/database.js';
import type { JobsTable, LeasesTable, UsageTable } from '../store/schema.js';
import { ledgerTransactionId, postLedger } from './ledger-store.js';

/**
 * Leases, metering and charging, written together: a pass's usage spans, the leases' charge cursors
 * and the ledger postings commit in the caller's one transaction, so a crash at any point leaves
 * either all of a pass or none of it. The lease cursors are the meter (a job's own `metered_until`
 * is set when it starts and when it ends); their updates are conditional on the values read, so a
 * pass that raced another (or is replayed) fails instead of charging twice.
 */

export type MeterableJob = Pick<JobsTable, 'id' | 'tenant_id' | 'node_id' | 'tier' | 'cpu_milli' | 'memory_mib' | 'metered_until'>;

export class MeterConflictError extends Error {
  constructor(what: string) {
    super(`metering raced another writer (${what}); the pass is rolled back and runs again`);
  }
}

export interface MeterResult {
  jobs: number;
  spans: number;
  chargedMicros: number;
  /** Rows inserted or updated, for the billing benchmark. */
  rowsWritten: number;
}

const CHUNK = 400;
const USAGE_CHUNK = 1500;
const MOVE_CHUNK = 2000;

export interface OpenLeaseInput {
  job: Pick<JobsTable, 'id' | 'tenant_id' | 'tier' | 'reservation_id'>;
  centerId: string;
  nodeId: string;
  model: string;
  gpuMilli: number;
  priceMicros: number;
  floorMicros: number;
  currency: string;
  at: number;
  now: number;
}

export async function openLease(db: Db, input: OpenLeaseInput): Promise<LeasesTable> {
  const row: LeasesTable = {
    id: newId('lease', input.now),
    job_id: input.job.id,
    tenant_id: input.job.tenant_id,
    center_id: input.centerId,
    node_id: input.nodeId,
    model: input.model,
    tier: input.job.tier,
    gpu_milli: input.gpuMilli,
    price_micros: input.priceMicros,
    floor_micros: input.floorMicros,
    currency: input.currency,
    reservation_id: input.job.reservation_id,
    start_at: input.at,
    end_at: null,
    charged_until: input.at,
    charged_micros: 0,
    created_at: input.now,
  };
  await db.insertInto('leases').values(row).execute();
  return row;
}

/**
 * Closes a job's open lease at `endAt` (never before the point it is charged to). Paths that end a job
 * meter it to its end first and close at that point, so charged time = leased time; a spot re-price
 * closes at "now" and the next pass charges the old lease up to there at its old price.
 */
export async function closeOpenLeases(db: Db, jobId: string, endAt: number): Promise<void> {
  const open = await db.selectFrom('leases').select(['id', 'charged_until']).where('job_id', '=', jobId).where('end_at', 'is', null).execute();
  for (const l of open) await db.updateTable('leases').set({ end_at: Math.max(l.charged_until, endAt) }).where('id', '=', l.id).execute();
}

function cursorOf(l: Pick<LeasesTable, 'id' | 'start_at' | 'end_at' | 'charged_until' | 'price_micros' | 'gpu_milli'>): LeaseCursor {
  return { id: l.id, startAt: l.start_at, endAt: l.end_at, chargedUntil: l.charged_until, priceMicros: l.price_micros, gpuMilli: l.gpu_milli };
}

/**
 * Meters one job up to `until` (its end, or the last moment it was seen) and records that point as
 * the job's final meter reading; see meterJobs.
 */
export async function meterUpTo(db: Db, job: MeterableJob, until: number, now: number): Promise<boolean> {
  const r = await meterJobs(db, [{ job, until }], now);
  await db.updateTable('jobs').set({ metered_until: until }).where('id', '=', job.id).where('metered_until', '<=', until).execute();
  return r.spans > 0;
}

/**
 * Meters many jobs in one go: usage rows per lease span, lease and job cursors moved, and one ledger
 * transaction per tenant and currency for the pass. Written in bulk (a few statements per 400 rows),
 * which is what keeps a pass over 10,000 running leases well under a second on either database.
 */
export async function meterJobs(
  db: Db,
  targets: ReadonlyArray<{ job: MeterableJob; until: number }>,
  now: number,
  /** Spans of still-open leases shorter than this wait for a later pass (no slivers); closed leases are always finished. */
  minSpanMs = 0,
  /** On PostgreSQL whole columns go as arrays (`unnest`), far cheaper than thousands of bound parameters. */
  dialect?: Dialect,
): Promise<MeterResult> {
  const due = targets.filter((t) => t.job.metered_until !== null && t.until > t.job.metered_until);
  const result: MeterResult = { jobs: due.length, spans: 0, chargedMicros: 0, rowsWritten: 0 };
  if (due.length === 0) return result;

  const leasesByJob = new Map<string, LeasesTable[]>();
  const wanted = new Set(due.map((t) => t.job.id));
  const unfinished = db.selectFrom('leases').selectAll().where((eb) => eb.or([eb('end_at', 'is', null), eb('charged_until', '<', eb.ref('end_at'))]));
  // Many jobs: one read of every running job's unfinished leases; a few: by id.
  const rows =
    due.length > CHUNK
      ? await unfinished.where('job_id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('state', '=', 'running')).execute()
      : await unfinished.where('job_id', 'in', [...wanted]).execute();
  for (const r of rows) {
    if (!wanted.has(r.job_id)) continue;
    const list = leasesByJob.get(r.job_id) ?? [];
    list.push(r);
    leasesByJob.set(r.job_id, list);
  }

  const usageRows: UsageRow[] = [];
  const leaseMoves: Array<{ id: string; expected: number; until: number; add: number }> = [];
  // tenant → currency → tier → amount
  const owed = new Map<string, Map<string, Map<string, number>>>();
  for (const { job, until } of due) {
    const leases = leasesByJob.get(job.id) ?? [];
    const byId = new Map(leases.map((l) => [l.id, l]));
    // The leases' own charge cursors say where each stands; the job's start bounds them from below.
    const spans: ChargedSpan[] = chargeSpans(leases.map(cursorOf), job.metered_until!, until).filter((s) => byId.get(s.leaseId)!.end_at !== null || s.to - s.from >= minSpanMs);
    for (const s of spans) {
      const lease = byId.get(s.leaseId)!;
      const length = s.to - s.from;
      usageRows.push({
        id: newId('use', now),
        job_id: job.id,
        tenant_id: job.tenant_id,
        center_id: lease.center_id,
        node_id: lease.node_id,
        gpu_model: lease.model,
        tier: lease.tier,
        start_at: s.from,
        end_at: s.to,
        gpu_milli: s.gpuMilli,
        cpu_milli: job.cpu_milli,
        memory_mib: job.memory_mib,
        gpu_milli_ms: s.gpuMilli * length,
        cpu_milli_ms: job.cpu_milli * length,
        memory_mib_ms: job.memory_mib * length,
        created_at: now,
        lease_id: s.leaseId,
        price_micros: s.priceMicros,
        charge_micros: s.amountMicros,
        currency: lease.currency,
      });
      leaseMoves.push({ id: s.leaseId, expected: lease.charged_until, until: s.to, add: s.amountMicros });
      lease.charged_until = s.to;
      result.spans++;
      result.chargedMicros += s.amountMicros;
      if (s.amountMicros > 0) {
        const byCurrency = owed.get(job.tenant_id) ?? new Map<string, Map<string, number>>();
        const byTier = byCurrency.get(lease.currency) ?? new Map<string, number>();
        byTier.set(lease.tier, (byTier.get(lease.tier) ?? 0) + s.amountMicros);
        byCurrency.set(lease.currency, byTier);
        owed.set(job.tenant_id, byCurrency);
      }
    }
  }

  if (dialect === 'postgres') {
    await moveLeaseCursorsPg(db, leaseMoves);
    await insertUsagePg(db, usageRows);
  } else {
    await bulkMove(db, 'leases', 'charged_until', leaseMoves);
    // 20 columns per row: 1,500 rows stay under both databases' limits on bound parameters.
    for (let i = 0; i < usageRows.length; i += USAGE_CHUNK) await db.insertInto('usage').values(usageRows.slice(i, i + USAGE_CHUNK) as never).execute();
  }

  const entries = [];
  for (const [tenantId, byCurrency] of owed) {
    for (const [currency, byTier] of byCurrency) {
      const total = [...byTier.values()].reduce((a, b) => a + b, 0);
      const id = ledgerTransactionId(now);
      const tx = chargeTransaction({ id, at: now, tenantId, tier: 'on-demand', amountMicros: total, currency, memo: 'metered usage' });
      // One debit for the tenant, one credit per tier's revenue account.
      tx.postings = [tx.postings[0]!, ...[...byTier].map(([tier, amount]) => ({ account: `revenue:${tier}`, amountMicros: -amount, currency }))];
      entries.push({ tx, meta: { kind: 'charge' as const, tenantId } });
    }
  }
  await postLedger(db, entries, now);
  result.rowsWritten = leaseMoves.length + usageRows.length + entries.reduce((n, e) => n + 1 + e.tx.postings.length, 0);
  return result;
}

/**
 * Moves many cursors at once (`set column = until [, charged_micros += add] where id = ? and column = expected`),
 * as one UPDATE … FROM (VALUES …) per chunk on both SQLite (≥ 3.33) and PostgreSQL. The redundant
 * `id IN (SELECT id FROM v)` makes SQLite drive the update from the primary key instead of scanning
 * the whole table once per chunk (its planner otherwise joins on the non-unique cursor value). Fewer rows
 * updated than asked means someone else moved a cursor first: the caller's transaction rolls back.
 */
async function bulkMove(db: Db, table: 'leases', column: 'charged_until', moves: ReadonlyArray<{ id: string; expected: number; until: number; add: number | null }>): Promise<void> {
  for (let i = 0; i < moves.length; i += MOVE_CHUNK) {
    const chunk = moves.slice(i, i + MOVE_CHUNK);
    const values = sql.join(chunk.map((m) => sql`(cast(${m.id} as text), cast(${m.expected} as bigint), cast(${m.until} as bigint), cast(${m.add ?? 0} as bigint))`));
    const setCharge = sql`, charged_micros = ${sql.ref(table)}.charged_micros + v.add_micros`;
    const r = await sql`with v(id, expected, until_at, add_micros) as (values ${values})
      update ${sql.table(table)} set ${sql.ref(column)} = v.until_at${setCharge}
      from v where ${sql.ref(table)}.id in (select id from v) and ${sql.ref(table)}.id = v.id and ${sql.ref(table)}.${sql.ref(column)} = v.expected`.execute(db);
    if (Number(r.numAffectedRows ?? 0) !== chunk.length) throw new MeterConflictError(`${table}.${column}: ${Number(r.numAffectedRows ?? 0)} of ${chunk.length} cursors moved`);
  }
}

type UsageRow = Omit<UsageTable, never>;

const USAGE_COLUMNS: Array<[keyof UsageRow, 'text' | 'bigint']> = [
  ['id', 'text'],
  ['job_id', 'text'],
  ['tenant_id', 'text'],
  ['center_id', 'text'],
  ['node_id', 'text'],
  ['gpu_model', 'text'],
  ['tier', 'text'],
  ['start_at', 'bigint'],
  ['end_at', 'bigint'],
  ['gpu_milli', 'bigint'],
  ['cpu_milli', 'bigint'],
  ['memory_mib', 'bigint'],
  ['gpu_milli_ms', 'bigint'],
  ['cpu_milli_ms', 'bigint'],
  ['memory_mib_ms', 'bigint'],
  ['created_at', 'bigint'],
  ['lease_id', 'text'],
  ['price_micros', 'bigint'],
  ['charge_micros', 'bigint'],
  ['currency', 'text'],
];

/** PostgreSQL: all usage rows in one statement, one array per column. */
async function insertUsagePg(db: Db, rows: readonly UsageRow[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = sql.join(USAGE_COLUMNS.map(([c]) => sql.ref(c)));
  const arrays = sql.join(USAGE_COLUMNS.map(([c, type]) => sql`${rows.map((r) => r[c])}::${sql.raw(type)}[]`));
  await sql`insert into usage (${columns}) select * from unnest(${arrays})`.execute(db);
}

/** PostgreSQL: every lease cursor in one conditional UPDATE over unnested arrays. */
async function moveLeaseCursorsPg(db: Db, moves: ReadonlyArray<{ id: string; expected: number; until: number; add: number }>): Promise<void> {
  if (moves.length === 0) return;
  const r = await sql`update leases as l set charged_until = v.until_at, charged_micros = l.charged_micros + v.add_micros
    from unnest(${moves.map((m) => m.id)}::text[], ${moves.map((m) => m.expected)}::bigint[], ${moves.map((m) => m.until)}::bigint[], ${moves.map((m) => m.add)}::bigint[])
      as v(id, expected, until_at, add_micros)
    where l.id = v.id and l.charged_until = v.expected`.execute(db);
  if (Number(r.numAffectedRows ?? 0) !== moves.length) throw new MeterConflictError(`leases.charged_until: ${Number(r.numAffectedRows ?? 0)} of ${moves.length} cursors moved`);
}
