import { sql } from 'kysely';
import { invalid, invalidMany, notFound, type FieldProblem } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import type { DB, Db } from '../store/database.js';
import type { GpuSamplesTable } from '../store/schema.js';
import { requireAgent, type Principal } from './principal.js';

/** One device's reading as an agent reports it (units as DESIGN.md: mW, mJ, MiB, ms). */
export interface TelemetryReading {
  deviceIndex: number;
  at: number;
  /** When given, must be the device's: indexes can change across reboots, UUIDs do not. */
  uuid?: string | null;
  utilizationPct: number | null;
  memoryUsedMib: number | null;
  powerMilliwatts: number | null;
  energyMillijoules: number | null;
  temperatureC: number | null;
  smClockMhz: number | null;
  pstate: string | null;
}

export interface TelemetryReport {
  nodeId: string;
  samples: TelemetryReading[];
}

export interface RetentionPolicy {
  rawMs: number;
  minuteMs: number;
  /** Samples may arrive this late (agent buffering, retries); a bucket is rolled up only after it. */
  lateMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { rawMs: 24 * 3_600_000, minuteMs: 30 * 24 * 3_600_000, lateMs: 120_000 };

const MINUTE = 60_000;
const HOUR = 3_600_000;
const MAX_SAMPLES_PER_REPORT = 10_000;
/** Readings stamped further than this from the server's clock are refused (a broken agent clock). */
const MAX_SKEW_MS = 24 * HOUR;
const CHUNK = 500;

export interface RollupResult {
  minuteRows: number;
  hourRows: number;
  rawDeleted: number;
  minuteDeleted: number;
}

/**
 * GPU telemetry: agents report samples; they are kept raw for a day, as one-minute rollups for a
 * month and as one-hour rollups for good. Rollups keep sums and counts, so each level is computed
 * exactly from the one below, and watermarks make every rollup step idempotent (a crash mid-way
 * repeats nothing: the step and its watermark commit together).
 */
export class TelemetryService {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    readonly retention: RetentionPolicy = DEFAULT_RETENTION,
  ) {}

  async ingest(p: Principal, report: TelemetryReport): Promise<{ accepted: number; duplicates: number }> {
    requireAgent(p);
    const node = await this.db.selectFrom('nodes').select(['id', 'center_id']).where('id', '=', report.nodeId).executeTakeFirst();
    if (!node || node.center_id !== p.centerId) throw notFound('node', report.nodeId);
    if (report.samples.length > MAX_SAMPLES_PER_REPORT) throw invalid('samples', `at most ${MAX_SAMPLES_PER_REPORT} samples per report; send the rest in another`);
    const devices = new Map((await this.db.selectFrom('devices').select(['id', 'idx', 'uuid']).where('node_id', '=', node.id).execute()).map((d) => [d.idx, d]));
    const now = this.clock.now();
    const problems: FieldProblem[] = [];
    const rows: GpuSamplesTable[] = [];
    const seen = new Set<string>();
    report.samples.forEach((s, i) => {
      const bad = (field: string, message: string) => problems.push({ field: `samples[${i}].${field}`, message });
      const device = devices.get(s.deviceIndex);
      if (device === undefined) return bad('deviceIndex', `node ${node.id} has no device ${s.deviceIndex}`);
      if (s.uuid && s.uuid !== device.uuid) return bad('uuid', `device ${s.deviceIndex} of node ${node.id} is ${device.uuid}, not ${s.uuid}; the devices changed: restart the agent so it registers them again`);
      const deviceId = device.id;
      if (!Number.isSafeInteger(s.at) || Math.abs(s.at - now) > MAX_SKEW_MS) return bad('at', 'must be ms since the epoch within a day of the server clock');
      const range = (field: keyof TelemetryReading, v: number | null, max: number) => {
        if (v !== null && (!Number.isSafeInteger(v) || v < 0 || v > max)) bad(field, `must be a whole number from 0 to ${max} or null`);
      };
      range('utilizationPct', s.utilizationPct, 100);
      range('memoryUsedMib', s.memoryUsedMib, 16 * 1024 * 1024);
      range('powerMilliwatts', s.powerMilliwatts, 10_000_000);
      range('energyMillijoules', s.energyMillijoules, Number.MAX_SAFE_INTEGER);
      range('temperatureC', s.temperatureC, 200);
      range('smClockMhz', s.smClockMhz, 10_000);
      const key = `${deviceId}@${s.at}`;
      if (seen.has(key)) return;
      seen.add(key);
      rows.push({
        device_id: deviceId,
        at: s.at,
        node_id: node.id,
        utilization_pct: s.utilizationPct,
        memory_used_mib: s.memoryUsedMib,
        power_mw: s.powerMilliwatts,
        energy_mj: s.energyMillijoules,
        temperature_c: s.temperatureC,
        sm_clock_mhz: s.smClockMhz,
        pstate: s.pstate === null ? null : String(s.pstate).slice(0, 8),
      });
    });
    if (problems.length > 0) throw invalidMany(problems.slice(0, 20));
    let accepted = 0;
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        // A retried report (lost acknowledgement) adds nothing: one sample per device and instant.
        const r = await tx
          .insertInto('gpu_samples')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['at', 'device_id']).doNothing())
          .executeTakeFirst();
        accepted += Number(r.numInsertedOrUpdatedRows ?? 0);
      }
    });
    return { accepted, duplicates: report.samples.length - accepted };
  }

  /**
   * Rolls complete minutes (older than the lateness allowance) into one-minute rows and complete
   * hours into one-hour rows, then drops what is past retention. Safe to run at any time, often.
   */
  async rollup(): Promise<RollupResult> {
    const now = this.clock.now();
    const result: RollupResult = { minuteRows: 0, hourRows: 0, rawDeleted: 0, minuteDeleted: 0 };
    const minuteUntil = Math.floor((now - this.retention.lateMs) / MINUTE) * MINUTE;
    result.minuteRows = await this.rollLevel('1m', minuteUntil, MINUTE, 'gpu_samples', 'gpu_samples_1m', now - this.retention.rawMs);
    const hourUntil = Math.floor(minuteUntil / HOUR) * HOUR;
    result.hourRows = await this.rollLevel('1h', hourUntil, HOUR, 'gpu_samples_1m', 'gpu_samples_1h', now - this.retention.minuteMs);
    // Only what has been rolled up may go.
    const marks = await this.watermarks(this.db);
    const rawCut = Math.min(now - this.retention.rawMs, marks.get('1m') ?? 0);
    const minuteCut = Math.min(now - this.retention.minuteMs, marks.get('1h') ?? 0);
    result.rawDeleted = Number((await this.db.deleteFrom('gpu_samples').where('at', '<', rawCut).executeTakeFirst()).numDeletedRows);
    result.minuteDeleted = Number((await this.db.deleteFrom('gpu_samples_1m').where('bucket_at', '<', minuteCut).executeTakeFirst()).numDeletedRows);
    return result;
  }

  private async watermarks(db: Db): Promise<Map<string, number>> {
    return new Map((await db.selectFrom('telemetry_rollups').selectAll().execute()).map((r) => [r.level, r.done_until]));
  }

  private async rollLevel(level: '1m' | '1h', until: number, bucketMs: number, from: 'gpu_samples' | 'gpu_samples_1m', to: 'gpu_samples_1m' | 'gpu_samples_1h', oldest: number): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const marks = await this.watermarks(tx);
      // First run: start from the oldest data the finer level still holds.
      let start = marks.get(level);
      if (start === undefined) {
        const timeColumn = from === 'gpu_samples' ? 'at' : 'bucket_at';
        const first = await tx.selectFrom(from).select((eb) => eb.fn.min<number>(timeColumn).as('t')).executeTakeFirst();
        start = first?.t !== null && first?.t !== undefined ? Math.floor(Number(first.t) / bucketMs) * bucketMs : until;
        start = Math.max(start, Math.floor(oldest / bucketMs) * bucketMs - bucketMs);
      }
      if (until <= start) return 0;
      // Literal, not a parameter: SQLite binds JS numbers as REAL, which would make this a float division.
      const bucket = sql<number>`(${sql.ref(from === 'gpu_samples' ? 'at' : 'bucket_at')} / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
      const inserted =
        from === 'gpu_samples'
          ? await sql`insert into gpu_samples_1m (device_id, bucket_at, node_id, samples, utilization_sum, utilization_n, power_sum_mw, power_n, power_max_mw, memory_used_max_mib, temperature_max_c, energy_first_mj, energy_last_mj)
              select device_id, ${bucket}, min(node_id), count(*), coalesce(sum(utilization_pct), 0), count(utilization_pct), coalesce(sum(power_mw), 0), count(power_mw), max(power_mw), max(memory_used_mib), max(temperature_c), min(energy_mj), max(energy_mj)
              from gpu_samples where at >= ${start} and at < ${until} group by device_id, ${bucket}
              on conflict (bucket_at, device_id) do nothing`.execute(tx)
          : await sql`insert into ${sql.table(to)} (device_id, bucket_at, node_id, samples, utilization_sum, utilization_n, power_sum_mw, power_n, power_max_mw, memory_used_max_mib, temperature_max_c, energy_first_mj, energy_last_mj)
              select device_id, ${bucket}, min(node_id), sum(samples), sum(utilization_sum), sum(utilization_n), sum(power_sum_mw), sum(power_n), max(power_max_mw), max(memory_used_max_mib), max(temperature_max_c), min(energy_first_mj), max(energy_last_mj)
              from gpu_samples_1m where bucket_at >= ${start} and bucket_at < ${until} group by device_id, ${bucket}
              on conflict (bucket_at, device_id) do nothing`.execute(tx);
      await tx.deleteFrom('telemetry_rollups').where('level', '=', level).execute();
      await tx.insertInto('telemetry_rollups').values({ level, done_until: until }).execute();
      return Number(inserted.numAffectedRows ?? 0);
    });
  }

  /** The newest sample of every device heard from in the last `withinMs` (for /metrics and the console). */
  async latest(withinMs = 5 * MINUTE): Promise<GpuSamplesTable[]> {
    const since = this.clock.now() - withinMs;
    return this.db
      .selectFrom('gpu_samples as s')
      .innerJoin(
        (eb) => eb.selectFrom('gpu_samples').select(['device_id', (e) => e.fn.max<number>('at').as('at')]).where('at', '>=', since).groupBy('device_id').as('m'),
        (join) => join.onRef('m.device_id', '=', 's.device_id').onRef('m.at', '=', 's.at'),
      )
      .selectAll('s')
      .execute();
  }
}
