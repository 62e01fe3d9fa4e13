import type { Clock } from '../domain/clock.js';
import { findGpuModel } from '../domain/gpu-catalog.js';
import { utcOffsetMinutes } from '../domain/timezone.js';
import {
  attributeDeviceEnergy,
  attributeNodeIdleEnergy,
  minObservedPowerMilliwatts,
  type AllocationSpan,
  type DeviceEnergyAttribution,
  type NodeAllocationSpan,
  type PowerReading,
} from '../energy/attribution.js';
import { CHINA_GRID_2023_MG_PER_KWH, co2Milligrams } from '../energy/carbon.js';
import { energyCostOfIntervals, flatTariff, tariffSegments, type EnergyInterval, type Tariff } from '../energy/tariff.js';
import { MJ_PER_KWH } from '../energy/units.js';
import type { Money } from '../market/money.js';
import type { DB } from '../store/database.js';
import type { CentersTable } from '../store/schema.js';

/**
 * Energy per job, from the stored telemetry (docs/energy.md, "Who used the energy").
 *
 * A job's energy is computed over its **running spans** on each of its devices: the time its
 * allocation on the device (`allocations`: device, milli share, created → released) overlaps its
 * leases (`leases`: start → end, i.e. the time it was running and billed). Every other job whose
 * running span touches the same device in that time takes its share too, and each device's measured
 * energy is split by `attributeDeviceEnergy` (src/energy/attribution.ts): dynamic energy by milli
 * share among the jobs present, idle energy by held share with the unheld share left to the operator.
 * Time a job held a device while it was not running (scheduled, pulling, stopping) counts as nobody's:
 * the same time the meter does not bill.
 *
 * When `nodeIdleMilliwatts` is given (an operator's figure for a node's non-GPU idle power: CPUs,
 * memory, fans, NICs — there is no telemetry for it), it is split by the same policy over the node's
 * GPU capacity (`attributeNodeIdleEnergy`) and added to the job's idle energy (`nodeIdleMj`). The
 * default is 0: only measured device energy is attributed.
 *
 * ## Telemetry used
 *
 * Raw samples (`gpu_samples`, kept 24 h) where they exist. Before the first raw sample still stored
 * for a device (raw data past retention is deleted only once rolled up), the one-minute rollups
 * (`gpu_samples_1m`, 30 days) stand in: each minute is taken at its mean power (power_sum / power_n)
 * held over the minute. Counters are not used from rollups. One-hour rollups are not used: energy of
 * work older than 30 days reads as unmeasured. `source` names the coarsest data that measured any of
 * the job's time (`raw`, `1m`), or `none` when nothing did.
 *
 * Gaps: between two readings further apart than `MAX_GAP_MS` the energy is taken only from the energy
 * counter (which integrates the real power, e.g. DCGM's); without one the gap is unmeasured, never
 * interpolated. `measuredShare` is the fraction of the job's device-time covered by measurements; the
 * device-time of runs before a requeue (whose allocation rows are gone: only their leases remain)
 * counts as unmeasured.
 *
 * ## Cost and carbon
 *
 * kWh is the attributed device (IT) energy. Cost = energy × PUE × the center's tariff: flat at the
 * center's `tariff_micros_per_kwh` unless a (time-of-use) `tariff` is configured, in which case the
 * energy of every span is split at the tariff's band changes (local time at the center's time zone,
 * one UTC offset per job) and priced per band (`energyCostOfIntervals`, rounded once). CO₂ = energy ×
 * PUE × carbon intensity (default China's 2023 grid average, 530.6 g/kWh; src/energy/carbon.ts).
 * Energy is informational: the GPU-hour price already covers it.
 */

export type EnergySource = 'raw' | '1m' | 'none';

export interface EnergyUse {
  /** The coarsest telemetry that measured any of the time: raw samples, one-minute rollups, or none. */
  source: EnergySource;
  /** dynamicMj + idleMj, integer mJ. */
  energyMj: number;
  dynamicMj: number;
  /** The job's share of its devices' idle energy, plus `nodeIdleMj`. */
  idleMj: number;
  /** The job's share of its nodes' non-GPU idle power (0 unless the operator configured it). */
  nodeIdleMj: number;
  /** energyMj in kWh (six decimals), for people. */
  kWh: number;
  pueMilli: number;
  /** energy × PUE × tariff, rounded once. */
  cost: Money;
  /** The tariff's name: `flat` (the center's tariff_micros_per_kwh) or the configured time-of-use one. */
  tariff: string;
  /** energy × PUE × carbon intensity, in grams (to the milligram). */
  co2Grams: number;
  carbonIntensityGPerKwh: number;
  /** Fraction (0–1) of the device-time that telemetry covered. */
  measuredShare: number;
}

export interface JobEnergyUse extends EnergyUse {
  jobId: string;
}

export interface TenantEnergyUse extends EnergyUse {
  tenantId: string;
  from: number;
  to: number;
  /** One entry per job that ran in [from, to), by first start. */
  jobs: JobEnergyUse[];
  /** More jobs ran than `maxJobs`: the totals cover the first `maxJobs` only. */
  truncated: boolean;
}

export interface DeviceEnergyReport extends DeviceEnergyAttribution {
  deviceId: string;
  source: EnergySource;
}

export interface EnergyServiceOptions {
  /** A time-of-use tariff; default: flat at the center's `tariff_micros_per_kwh`, in its currency. */
  tariff?: Tariff;
  /** mg CO₂ per kWh; default China's 2023 national grid average (530,600). */
  carbonIntensityMgPerKwh?: number;
  /** A node's non-GPU idle power, mW, split among the jobs by held GPU share; default 0 (off). */
  nodeIdleMilliwatts?: number;
  /** Jobs counted in one tenant total (an invoice); the rest are left out and `truncated` set. Default 500. */
  maxJobs?: number;
}

/** Readings further apart than this are measured only by an energy counter, never interpolated. */
export const MAX_GAP_MS = 5 * 60_000;
const MINUTE = 60_000;
const CHUNK = 500;

interface Span {
  jobId: string;
  deviceId: string;
  nodeId: string;
  deviceIndex: number;
  milli: number;
  from: number;
  to: number;
}

interface AllocationRow {
  job_id: string;
  node_id: string;
  device_id: string;
  device_index: number;
  gpu_milli: number;
  created_at: number;
  released_at: number | null;
}

interface LeaseRow {
  job_id: string;
  start_at: number;
  end_at: number | null;
  gpu_milli: number;
}

interface MeasuredInterval {
  from: number;
  to: number;
  /** Measured from one-minute rollups rather than raw samples. */
  rollup: boolean;
}

interface Series {
  readings: PowerReading[];
  measured: MeasuredInterval[];
}

interface JobAccumulator {
  dynamicMj: number;
  idleMj: number;
  nodeIdleMj: number;
  intervals: EnergyInterval[];
  deviceMs: number;
  measuredMs: number;
  rollup: boolean;
}

interface Pricing {
  tariff: Tariff;
  pueMilli: number;
  intensityMgPerKwh: number;
  timezone: string;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Sorted, non-overlapping union of intervals. */
function mergeIntervals(intervals: ReadonlyArray<{ from: number; to: number }>): { from: number; to: number }[] {
  const sorted = intervals.filter((i) => i.to > i.from).sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ from: i.from, to: i.to });
  }
  return out;
}

function overlapMs(a: { from: number; to: number }, list: readonly { from: number; to: number }[]): number {
  let total = 0;
  for (const b of list) total += Math.max(0, Math.min(a.to, b.to) - Math.max(a.from, b.from));
  return total;
}

/** Index of the first element of sorted `xs` with key(x) ≥ v (xs.length when none). */
function lowerBound<T>(xs: readonly T[], v: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(xs[mid]!) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The readings that bear on `[from, to)`: from the last one at or before `from` to the first at or after `to`. */
function readingsFor(readings: readonly PowerReading[], from: number, to: number): PowerReading[] {
  const start = Math.max(0, lowerBound(readings, from + 1, (r) => r.at) - 1);
  const end = Math.min(readings.length, lowerBound(readings, to, (r) => r.at) + 1);
  return readings.slice(start, end);
}

/** Measured device-time of `[from, to)`. */
function measuredWithin(measured: readonly MeasuredInterval[], from: number, to: number): { ms: number; rollup: boolean } {
  let ms = 0;
  let rollup = false;
  for (let k = lowerBound(measured, from + 1, (m) => m.to); k < measured.length; k++) {
    const m = measured[k]!;
    if (m.from >= to) break;
    const o = Math.min(to, m.to) - Math.max(from, m.from);
    if (o > 0) {
      ms += o;
      if (m.rollup) rollup = true;
    }
  }
  return { ms, rollup };
}

/** The span each allocation was running: its life [created, released) within the job's leases. */
function runningSpans(allocations: readonly AllocationRow[], leases: readonly LeaseRow[], now: number): Span[] {
  const leaseSpans = new Map<string, { from: number; to: number }[]>();
  for (const l of leases) {
    const list = leaseSpans.get(l.job_id) ?? [];
    list.push({ from: l.start_at, to: Math.min(l.end_at ?? now, now) });
    leaseSpans.set(l.job_id, list);
  }
  for (const [job, list] of leaseSpans) leaseSpans.set(job, mergeIntervals(list));
  const spans: Span[] = [];
  for (const a of allocations) {
    const aTo = Math.min(a.released_at ?? now, now);
    for (const l of leaseSpans.get(a.job_id) ?? []) {
      const from = Math.max(a.created_at, l.from);
      const to = Math.min(aTo, l.to);
      if (to > from) spans.push({ jobId: a.job_id, deviceId: a.device_id, nodeId: a.node_id, deviceIndex: a.device_index, milli: a.gpu_milli, from, to });
    }
  }
  return spans;
}

/**
 * Device-time of leased (running) time not covered by any allocation row of the job: runs before a
 * requeue, whose allocations were deleted. Counted as unmeasured.
 */
function uncoveredDeviceMs(allocations: readonly AllocationRow[], leases: readonly LeaseRow[], now: number, clip: { from: number; to: number }): number {
  const covered = mergeIntervals(allocations.map((a) => ({ from: a.created_at, to: Math.min(a.released_at ?? now, now) })));
  let total = 0;
  for (const l of leases) {
    const span = { from: Math.max(l.start_at, clip.from), to: Math.min(l.end_at ?? now, now, clip.to) };
    if (span.to <= span.from) continue;
    total += (span.to - span.from - overlapMs(span, covered)) * Math.max(1, Math.ceil(l.gpu_milli / 1000));
  }
  return total;
}

function chunks<T>(xs: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const ENERGY_CACHE_MS = 5_000;
const ENERGY_CACHE_ENTRIES = 10_000;
/** Samples may arrive this late (agent retries); after it a finished job's energy is final. */
const FINAL_AFTER_MS = 5 * 60_000;

export class EnergyService {
  private readonly intensityMgPerKwh: number;
  private readonly nodeIdleMilliwatts: number;
  readonly maxJobs: number;

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly options: EnergyServiceOptions = {},
  ) {
    this.intensityMgPerKwh = options.carbonIntensityMgPerKwh ?? CHINA_GRID_2023_MG_PER_KWH;
    this.nodeIdleMilliwatts = options.nodeIdleMilliwatts ?? 0;
    this.maxJobs = options.maxJobs ?? 500;
    for (const [name, v] of [['carbonIntensityMgPerKwh', this.intensityMgPerKwh], ['nodeIdleMilliwatts', this.nodeIdleMilliwatts], ['maxJobs', this.maxJobs]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative whole number, got ${v}`);
    }
  }

  /** A job's energy over its running spans, priced at its center's tariff and PUE. */
  /**
   * A job's energy, recomputed at most every few seconds while it runs and once after it ends: job
   * detail is polled (`unidle submit --wait`), and each computation reads the samples of its devices.
   */
  async jobEnergy(jobId: string): Promise<JobEnergyUse> {
    const now = this.clock.now();
    const cached = this.cache.get(jobId);
    if (cached && (cached.final || (now >= cached.at && now - cached.at < ENERGY_CACHE_MS))) return cached.value;
    const value = await this.computeJobEnergy(jobId, now);
    const job = await this.db.selectFrom('jobs').select(['state', 'ended_at']).where('id', '=', jobId).executeTakeFirst();
    // A finished job's samples no longer change once the late-arrival allowance has passed.
    const final = job !== undefined && job.ended_at !== null && now - job.ended_at > FINAL_AFTER_MS;
    if (this.cache.size >= ENERGY_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(jobId, { at: now, final, value });
    return value;
  }

  private readonly cache = new Map<string, { at: number; final: boolean; value: JobEnergyUse }>();

  private async computeJobEnergy(jobId: string, now: number): Promise<JobEnergyUse> {
    const [allocations, leases] = await Promise.all([
      this.db.selectFrom('allocations').select(['job_id', 'node_id', 'device_id', 'device_index', 'gpu_milli', 'created_at', 'released_at']).where('job_id', '=', jobId).execute(),
      this.db.selectFrom('leases').select(['job_id', 'start_at', 'end_at', 'gpu_milli', 'center_id']).where('job_id', '=', jobId).orderBy('start_at').execute(),
    ]);
    const pricing = this.pricingOf(await this.centerOf(leases[0]?.center_id));
    const spans = runningSpans(allocations, leases, now);
    const extra = uncoveredDeviceMs(allocations, leases, now, { from: 0, to: Number.MAX_SAFE_INTEGER });
    const acc = await this.attribute(spans, now, pricing);
    return { jobId, ...this.view(acc.get(jobId), extra, pricing, spans[0]?.from ?? now) };
  }

  /**
   * The energy of a tenant's jobs in [from, to) (an invoice's month): every job with a lease in the
   * window, its running spans clipped to it. At most `maxJobs` jobs (by first start); the rest are
   * left out and `truncated` is set. Samples are read once for all the devices involved.
   */
  async tenantEnergy(tenantId: string, from: number, to: number): Promise<TenantEnergyUse> {
    const now = this.clock.now();
    const clip = { from, to: Math.min(to, now) };
    const firstStarts = await this.db
      .selectFrom('leases')
      .select(['job_id', (eb) => eb.fn.min<number>('start_at').as('first')])
      .where('tenant_id', '=', tenantId)
      .where('start_at', '<', clip.to)
      .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', clip.from)]))
      .groupBy('job_id')
      .orderBy('first')
      .orderBy('job_id')
      .limit(this.maxJobs + 1)
      .execute();
    const truncated = firstStarts.length > this.maxJobs;
    const jobIds = firstStarts.slice(0, this.maxJobs).map((r) => r.job_id);
    const allocations: AllocationRow[] = [];
    const leases: (LeaseRow & { center_id: string })[] = [];
    for (const ids of chunks(jobIds)) {
      allocations.push(...(await this.db.selectFrom('allocations').select(['job_id', 'node_id', 'device_id', 'device_index', 'gpu_milli', 'created_at', 'released_at']).where('job_id', 'in', ids).execute()));
      leases.push(...(await this.db.selectFrom('leases').select(['job_id', 'start_at', 'end_at', 'gpu_milli', 'center_id']).where('job_id', 'in', ids).execute()));
    }
    const pricing = this.pricingOf(await this.centerOf(leases[0]?.center_id));
    const spans = runningSpans(allocations, leases, now)
      .map((s) => ({ ...s, from: Math.max(s.from, clip.from), to: Math.min(s.to, clip.to) }))
      .filter((s) => s.to > s.from);
    const acc = await this.attribute(spans, now, pricing);
    const jobs = jobIds.map((jobId) => {
      const extra = uncoveredDeviceMs(
        allocations.filter((a) => a.job_id === jobId),
        leases.filter((l) => l.job_id === jobId),
        now,
        clip,
      );
      const first = spans.find((s) => s.jobId === jobId)?.from ?? from;
      return { jobId, ...this.view(acc.get(jobId), extra, pricing, first), extra };
    });
    // Totals from the jobs' sums, priced once over all their intervals.
    const total: JobAccumulator = { dynamicMj: 0, idleMj: 0, nodeIdleMj: 0, intervals: [], deviceMs: 0, measuredMs: 0, rollup: false };
    for (const j of jobIds) {
      const a = acc.get(j);
      if (!a) continue;
      total.dynamicMj += a.dynamicMj;
      total.idleMj += a.idleMj;
      total.nodeIdleMj += a.nodeIdleMj;
      total.intervals.push(...a.intervals);
      total.deviceMs += a.deviceMs;
      total.measuredMs += a.measuredMs;
      total.rollup ||= a.rollup;
    }
    const extraTotal = jobs.reduce((s, j) => s + j.extra, 0);
    return {
      tenantId,
      from,
      to,
      ...this.view(total, extraTotal, pricing, from),
      jobs: jobs.map(({ extra: _extra, ...j }) => j),
      truncated,
    };
  }

  /**
   * One device's measured energy over [from, to) split among every job that ran on it and the
   * operator (unallocated): the check that attribution adds up, and the operator's view of a device.
   */
  async deviceEnergy(deviceId: string, from: number, to: number): Promise<DeviceEnergyReport> {
    const now = this.clock.now();
    const device = await this.db.selectFrom('devices').select(['id', 'node_id', 'model']).where('id', '=', deviceId).executeTakeFirstOrThrow();
    const context = (await this.contextSpans([device.node_id], from, to, now)).filter((s) => s.deviceId === deviceId);
    const series = (await this.loadSeries([deviceId], from, to)).get(deviceId) ?? { readings: [], measured: [] };
    const attribution = attributeDeviceEnergy({
      readings: readingsFor(series.readings, from, to),
      allocations: context.map((s): AllocationSpan => ({ jobId: s.jobId, milli: s.milli, from: s.from, to: s.to })),
      idleMilliwatts: this.idleMilliwatts(device.model, series.readings),
      fromMs: from,
      toMs: to,
    });
    const m = measuredWithin(series.measured, from, to);
    return { deviceId, source: m.ms === 0 ? 'none' : m.rollup ? '1m' : 'raw', ...attribution };
  }

  // -------------------------------------------------------------------------------------------------

  private async centerOf(centerId: string | undefined): Promise<CentersTable | undefined> {
    if (centerId !== undefined) {
      const c = await this.db.selectFrom('centers').selectAll().where('id', '=', centerId).executeTakeFirst();
      if (c) return c;
    }
    return this.db.selectFrom('centers').selectAll().orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
  }

  private pricingOf(center: CentersTable | undefined): Pricing {
    const tariff = this.options.tariff ?? flatTariff(center?.tariff_micros_per_kwh ?? 650_000, center?.currency ?? 'CNY');
    return { tariff, pueMilli: center?.pue_milli ?? 1300, intensityMgPerKwh: this.intensityMgPerKwh, timezone: center?.timezone ?? 'UTC' };
  }

  private offsetAt(pricing: Pricing, at: number): number {
    try {
      return utcOffsetMinutes(pricing.timezone, at);
    } catch {
      return 0;
    }
  }

  private segments(pricing: Pricing, from: number, to: number): { fromMs: number; toMs: number }[] {
    if (pricing.tariff.windows.length === 0) return [{ fromMs: from, toMs: to }];
    return tariffSegments(pricing.tariff, from, to, this.offsetAt(pricing, from));
  }

  private view(acc: JobAccumulator | undefined, extraDeviceMs: number, pricing: Pricing, at: number): EnergyUse {
    const a = acc ?? { dynamicMj: 0, idleMj: 0, nodeIdleMj: 0, intervals: [], deviceMs: 0, measuredMs: 0, rollup: false };
    const energyMj = a.dynamicMj + a.idleMj + a.nodeIdleMj;
    const cost = energyCostOfIntervals(a.intervals, pricing.pueMilli, pricing.tariff, this.offsetAt(pricing, at));
    const deviceMs = a.deviceMs + extraDeviceMs;
    return {
      source: a.measuredMs === 0 ? 'none' : a.rollup ? '1m' : 'raw',
      energyMj,
      dynamicMj: a.dynamicMj,
      idleMj: a.idleMj + a.nodeIdleMj,
      nodeIdleMj: a.nodeIdleMj,
      kWh: round6(energyMj / MJ_PER_KWH),
      pueMilli: pricing.pueMilli,
      cost: { amountMicros: cost.costMicros, currency: pricing.tariff.currency },
      tariff: pricing.tariff.name,
      co2Grams: co2Milligrams(energyMj, pricing.pueMilli, pricing.intensityMgPerKwh) / 1000,
      carbonIntensityGPerKwh: pricing.intensityMgPerKwh / 1000,
      measuredShare: deviceMs > 0 ? round6(a.measuredMs / deviceMs) : 0,
    };
  }

  /** Every job's running spans on the devices of `nodeIds` overlapping [from, to). */
  private async contextSpans(nodeIds: readonly string[], from: number, to: number, now: number): Promise<Span[]> {
    if (nodeIds.length === 0 || to <= from) return [];
    const allocations = await this.db
      .selectFrom('allocations')
      .select(['job_id', 'node_id', 'device_id', 'device_index', 'gpu_milli', 'created_at', 'released_at'])
      .where('node_id', 'in', [...nodeIds])
      .where('created_at', '<', to)
      .where((eb) => eb.or([eb('released_at', 'is', null), eb('released_at', '>', from)]))
      .execute();
    const jobIds = [...new Set(allocations.map((a) => a.job_id))];
    const leases: LeaseRow[] = [];
    for (const ids of chunks(jobIds)) {
      leases.push(
        ...(await this.db
          .selectFrom('leases')
          .select(['job_id', 'start_at', 'end_at', 'gpu_milli'])
          .where('job_id', 'in', ids)
          .where('start_at', '<', to)
          .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', from)]))
          .execute()),
      );
    }
    return runningSpans(allocations, leases, now);
  }

  private idleMilliwatts(model: string, readings: readonly PowerReading[]): number {
    return findGpuModel(model)?.idleMilliwatts ?? minObservedPowerMilliwatts(readings) ?? 0;
  }

  /**
   * Each device's readings around [from, to): raw samples, preceded by one-minute rollups for the
   * time before the first raw sample still stored; gaps without a counter broken so they read as
   * unmeasured.
   */
  private async loadSeries(deviceIds: readonly string[], from: number, to: number): Promise<Map<string, Series>> {
    const raw = new Map<string, PowerReading[]>();
    for (const ids of chunks(deviceIds)) {
      const rows = await this.db
        .selectFrom('gpu_samples')
        .select(['device_id', 'at', 'power_mw', 'energy_mj'])
        .where('device_id', 'in', ids)
        .where('at', '>=', from - MAX_GAP_MS)
        .where('at', '<=', to + MAX_GAP_MS)
        .orderBy('device_id')
        .orderBy('at')
        .execute();
      for (const r of rows) {
        const list = raw.get(r.device_id) ?? [];
        list.push({ at: Number(r.at), powerMilliwatts: r.power_mw === null ? null : Number(r.power_mw), energyMillijoules: r.energy_mj === null ? null : Number(r.energy_mj) });
        raw.set(r.device_id, list);
      }
    }
    // Rollups only where raw samples do not reach back to `from`.
    const firstRaw = new Map<string, number>();
    for (const [id, list] of raw) firstRaw.set(id, list[0]!.at);
    const needRollups = deviceIds.filter((id) => (firstRaw.get(id) ?? Infinity) > from);
    const rollups = new Map<string, PowerReading[]>();
    for (const ids of chunks(needRollups)) {
      const rows = await this.db
        .selectFrom('gpu_samples_1m')
        .select(['device_id', 'bucket_at', 'power_sum_mw', 'power_n'])
        .where('device_id', 'in', ids)
        .where('bucket_at', '>=', Math.floor(from / MINUTE) * MINUTE - MINUTE)
        .where('bucket_at', '<=', to + MAX_GAP_MS)
        .orderBy('device_id')
        .orderBy('bucket_at')
        .execute();
      const last = new Map<string, number>();
      for (const r of rows) {
        const bucket = Number(r.bucket_at);
        const list = rollups.get(r.device_id) ?? [];
        const prevEnd = last.get(r.device_id);
        // A missing minute: the previous minute ends unmeasured.
        if (prevEnd !== undefined && bucket > prevEnd) list.push({ at: prevEnd, powerMilliwatts: null, energyMillijoules: null });
        const n = Number(r.power_n);
        const power = n > 0 ? Math.round(Number(r.power_sum_mw) / n) : null;
        // The minute's mean power held over the minute (two readings; the next minute starts 1 ms later).
        list.push({ at: bucket, powerMilliwatts: power, energyMillijoules: null }, { at: bucket + MINUTE - 1, powerMilliwatts: power, energyMillijoules: null });
        last.set(r.device_id, bucket + MINUTE);
        rollups.set(r.device_id, list);
      }
      for (const [id, end] of last) rollups.get(id)!.push({ at: end, powerMilliwatts: null, energyMillijoules: null });
    }
    const out = new Map<string, Series>();
    for (const id of deviceIds) {
      const rawList = raw.get(id) ?? [];
      const cut = rawList[0]?.at ?? Infinity;
      const rollupList = (rollups.get(id) ?? []).filter((r) => r.at < cut);
      const rollupUntil = rollupList.length > 0 ? rollupList[rollupList.length - 1]!.at : -Infinity;
      const joined = [...rollupList, ...rawList];
      const readings: PowerReading[] = [];
      const measured: MeasuredInterval[] = [];
      for (let k = 0; k < joined.length; k++) {
        const r1 = joined[k]!;
        const r0 = readings[readings.length - 1];
        if (r0 !== undefined) {
          const e0 = r0.energyMillijoules ?? null;
          const e1 = r1.energyMillijoules ?? null;
          const counter = e0 !== null && e1 !== null && e1 >= e0;
          const power = r0.powerMilliwatts !== null && r1.powerMilliwatts !== null;
          if (!counter && r1.at - r0.at > MAX_GAP_MS) {
            // Too long to interpolate power across: unmeasured (a reading with nothing in it 1 ms later).
            readings.push({ at: r0.at + 1, powerMilliwatts: null, energyMillijoules: null });
          } else if (counter || power) {
            const m = { from: r0.at, to: r1.at, rollup: r0.at <= rollupUntil };
            const prev = measured[measured.length - 1];
            if (prev && prev.to === m.from && prev.rollup === m.rollup) prev.to = m.to;
            else measured.push(m);
          }
        }
        readings.push(r1);
      }
      out.set(id, { readings, measured });
    }
    return out;
  }

  /** Attributes the devices (and nodes) of `targets` over the targets' spans; returns the targets' parts. */
  private async attribute(targets: readonly Span[], now: number, pricing: Pricing): Promise<Map<string, JobAccumulator>> {
    const acc = new Map<string, JobAccumulator>();
    const accOf = (jobId: string) => {
      let a = acc.get(jobId);
      if (!a) acc.set(jobId, (a = { dynamicMj: 0, idleMj: 0, nodeIdleMj: 0, intervals: [], deviceMs: 0, measuredMs: 0, rollup: false }));
      return a;
    };
    if (targets.length === 0) return acc;
    const targetJobs = new Set(targets.map((s) => s.jobId));
    const lo = targets.reduce((m, s) => Math.min(m, s.from), Infinity);
    const hi = targets.reduce((m, s) => Math.max(m, s.to), -Infinity);
    const deviceIds = [...new Set(targets.map((s) => s.deviceId))];
    const nodeIds = [...new Set(targets.map((s) => s.nodeId))];
    const [context, devices, series] = await Promise.all([
      this.contextSpans(nodeIds, lo, hi, now),
      this.db.selectFrom('devices').select(['id', 'node_id', 'idx', 'model']).where('node_id', 'in', nodeIds).execute(),
      this.loadSeries(deviceIds, lo, hi),
    ]);
    const modelOf = new Map(devices.map((d) => [d.id, d.model]));

    for (const deviceId of deviceIds) {
      const s = series.get(deviceId)!;
      const onDevice = targets.filter((t) => t.deviceId === deviceId);
      for (const t of onDevice) {
        const a = accOf(t.jobId);
        const m = measuredWithin(s.measured, t.from, t.to);
        a.deviceMs += t.to - t.from;
        a.measuredMs += m.ms;
        a.rollup ||= m.rollup;
      }
      if (s.measured.length === 0) continue;
      const allocations = context.filter((c) => c.deviceId === deviceId).map((c): AllocationSpan => ({ jobId: c.jobId, milli: c.milli, from: c.from, to: c.to }));
      const idleMw = this.idleMilliwatts(modelOf.get(deviceId) ?? '', s.readings);
      for (const w of mergeIntervals(onDevice)) {
        for (const seg of this.segments(pricing, w.from, w.to)) {
          let result: DeviceEnergyAttribution;
          try {
            result = attributeDeviceEnergy({
              readings: readingsFor(s.readings, seg.fromMs, seg.toMs),
              allocations: allocations.filter((c) => c.from < seg.toMs && c.to > seg.fromMs),
              idleMilliwatts: idleMw,
              fromMs: seg.fromMs,
              toMs: seg.toMs,
            });
          } catch (err) {
            // Inconsistent shares in the records (over 1000 milli at once): leave this stretch unattributed rather than fail the job view.
            if (err instanceof RangeError) continue;
            throw err;
          }
          for (const j of result.jobs) {
            if (!targetJobs.has(j.jobId)) continue;
            const a = accOf(j.jobId);
            a.dynamicMj += j.dynamicMj;
            a.idleMj += j.idleMj;
            if (j.energyMj > 0) a.intervals.push({ fromMs: seg.fromMs, toMs: seg.toMs, energyMj: j.energyMj });
          }
        }
      }
    }

    if (this.nodeIdleMilliwatts > 0) {
      for (const nodeId of nodeIds) {
        const nodeDevices = devices.filter((d) => d.node_id === nodeId);
        if (nodeDevices.length === 0) continue;
        const allocations = context
          .filter((c) => c.nodeId === nodeId)
          .map((c): NodeAllocationSpan => ({ jobId: c.jobId, milli: c.milli, from: c.from, to: c.to }));
        for (const w of mergeIntervals(targets.filter((t) => t.nodeId === nodeId))) {
          for (const seg of this.segments(pricing, w.from, w.to)) {
            let result;
            try {
              result = attributeNodeIdleEnergy({
                nodeIdleMilliwatts: this.nodeIdleMilliwatts,
                deviceCount: nodeDevices.length,
                allocations: allocations.filter((c) => c.from < seg.toMs && c.to > seg.fromMs),
                fromMs: seg.fromMs,
                toMs: seg.toMs,
              });
            } catch (err) {
              if (err instanceof RangeError) continue;
              throw err;
            }
            for (const j of result.jobs) {
              if (!targetJobs.has(j.jobId)) continue;
              const a = accOf(j.jobId);
              a.nodeIdleMj += j.idleMj;
              if (j.idleMj > 0) a.intervals.push({ fromMs: seg.fromMs, toMs: seg.toMs, energyMj: j.idleMj });
            }
          }
        }
      }
    }
    return acc;
  }

}
