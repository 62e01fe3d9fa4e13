import { apportion, divRound, MILLI, requireInt, toSafeNumber } from './units.js';

/**
 * Energy attribution: who used the energy a device drew.
 *
 * ## The rule (docs/energy.md quotes this)
 *
 * For one device over a window, the measured energy of every stretch of time in which the set of jobs
 * on the device (and their milli shares) does not change is split in two, after Kepler's idle/active
 * split:
 *
 * - **idle energy** = the device's idle power × the stretch's duration, but never more than was
 *   measured (a device that drew less than its nominal idle power has no dynamic energy then);
 * - **dynamic energy** = the rest, never negative.
 *
 * Dynamic energy is caused by work, so it goes to the jobs present **in proportion to their milli
 * shares** (a 500-milli job and a 250-milli job split it 2 : 1). Idle energy is the price of the device
 * being switched on: each job bears it **in proportion to the share of the device it holds** (a 500-milli
 * job bears half of it, whether or not the device is busy), and the share nobody holds — the unsold
 * capacity — goes to the **unallocated** bucket, which the operator bears. Dynamic energy drawn while no
 * job holds the device (a process nobody rented, or a device still cooling down after a job ended) also
 * goes to the unallocated bucket: no tenant is charged for work that is not theirs. Unlike Kepler,
 * which leaves idle power unattributed, Unidle charges the held share of idle to its holder: a tenant
 * who reserves half a GPU keeps half of it switched on.
 *
 * The same policy splits a node's non-GPU idle power (CPUs, memory, fans, NICs): by the share of the
 * node's GPU capacity each job holds (`attributeNodeIdleEnergy`).
 *
 * ## Measurement
 *
 * Between two consecutive readings the device's energy is the difference of its cumulative energy
 * counter when both readings have one and it did not go backwards (DCGM's
 * `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`, mJ; preferred: it integrates the real power between the
 * samples), otherwise the trapezoid of the two power readings, `(P₀ + P₁) / 2 × Δt`; with neither the
 * stretch is unmeasured and reported as such (never guessed). When the jobs change between two
 * readings, the interval's energy is spread over its parts in proportion to their durations.
 *
 * ## Exactness
 *
 * Everything is integer: power mW, energy mJ, time ms. Intermediate shares are kept in fixed point
 * (10⁻⁹ mJ), split with the largest-remainder method, and rounded to whole mJ once, at the end, so that
 * the parts add up exactly: Σ job energies + unallocated = measured energy, to the millijoule, and for
 * each job energy = dynamic + idle.
 */

/** One reading of one device: power (mW) and, where the source has one, its energy counter (mJ). */
export interface PowerReading {
  /** ms since the epoch. */
  at: number;
  /** Board power, mW; null when the source could not read it. */
  powerMilliwatts: number | null;
  /** Cumulative energy counter, mJ (DCGM: since the driver was loaded); null/absent when there is none. */
  energyMillijoules?: number | null;
}

/** A job's share of one device over `[from, to)` (ms). A change of share is two spans. */
export interface AllocationSpan {
  jobId: string;
  /** Milli-GPU held on this device, 1–1000. */
  milli: number;
  from: number;
  to: number;
}

export interface DeviceEnergyInput {
  /** The device's readings over (at least) the window, in any order; no two at the same ms. */
  readings: readonly PowerReading[];
  /** Who held the device when. Spans of one job may follow each other (share changes); at any moment the shares add up to at most 1000. */
  allocations: readonly AllocationSpan[];
  /** The device's idle power, mW: the catalog's `idleMilliwatts`, or a measured one (`minObservedPowerMilliwatts`). */
  idleMilliwatts: number;
  /** Attribute only `[fromMs, toMs)`; default: from the first reading to the last. */
  fromMs?: number;
  toMs?: number;
}

export interface JobEnergy {
  jobId: string;
  /** dynamicMj + idleMj. */
  energyMj: number;
  /** The job's part of the device's dynamic (above-idle) energy. */
  dynamicMj: number;
  /** The job's part of the device's idle energy (its held share). */
  idleMj: number;
}

export interface DeviceEnergyAttribution {
  fromMs: number;
  toMs: number;
  /** The device's measured energy over the window: Σ jobs' energyMj + unallocatedMj, exactly. */
  measuredMj: number;
  /** Idle and dynamic parts of `measuredMj` (they add up to it). */
  idleMj: number;
  dynamicMj: number;
  /** One entry per job present in the window, sorted by jobId. */
  jobs: JobEnergy[];
  /** Idle energy of the share nobody held: the operator's (unsold capacity). */
  unallocatedIdleMj: number;
  /** Dynamic energy drawn while no job held the device: the operator's too. */
  unallocatedDynamicMj: number;
  /** unallocatedIdleMj + unallocatedDynamicMj. */
  unallocatedMj: number;
  /** How much of the window was measured by energy counter, by trapezoid of power, or not at all. */
  counterMs: number;
  trapezoidMs: number;
  unmeasuredMs: number;
}

/** Fixed-point resolution of intermediate shares: units of 10⁻⁹ mJ. Divisible by 2000 so trapezoids are exact. */
const SCALE = 1_000_000_000n;
const MILLI_N = BigInt(MILLI);

interface Accumulator {
  idle: bigint;
  dynamic: bigint;
}

function checkAllocations<T extends AllocationSpan>(allocations: readonly T[], label: string): T[] {
  return allocations.map((a, i) => {
    if (typeof a.jobId !== 'string' || a.jobId === '') throw new RangeError(`${label}[${i}].jobId must be a non-empty string`);
    requireInt(`${label}[${i}].milli`, a.milli, 1);
    requireInt(`${label}[${i}].from`, a.from, 0);
    requireInt(`${label}[${i}].to`, a.to, 0);
    if (a.to < a.from) throw new RangeError(`${label}[${i}] (${a.jobId}) ends before it starts (${a.from} → ${a.to} ms)`);
    return a;
  });
}

/** The shares held during `[p, q)` (a stretch inside which no span starts or ends), by job. */
function sharesDuring(allocations: readonly AllocationSpan[], p: number, q: number): Map<string, number> {
  const shares = new Map<string, number>();
  for (const a of allocations) {
    if (a.from < q && a.to > p) shares.set(a.jobId, (shares.get(a.jobId) ?? 0) + a.milli);
  }
  return shares;
}

function sortedKeys(map: Map<string, unknown>): string[] {
  return [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Attributes one device's measured energy over a window to the jobs that held it (see the rule at the
 * top of this file). Pure; throws a RangeError naming the bad input (readings at the same ms, a
 * negative power, shares over 1000 at some moment, ...).
 */
export function attributeDeviceEnergy(input: DeviceEnergyInput): DeviceEnergyAttribution {
  const idleMw = requireInt('idleMilliwatts', input.idleMilliwatts, 0);
  const readings = input.readings.map((r, i) => {
    requireInt(`readings[${i}].at`, r.at, 0);
    if (r.powerMilliwatts !== null) requireInt(`readings[${i}].powerMilliwatts`, r.powerMilliwatts, 0);
    if (r.energyMillijoules !== undefined && r.energyMillijoules !== null) requireInt(`readings[${i}].energyMillijoules`, r.energyMillijoules, 0);
    return r;
  });
  readings.sort((a, b) => a.at - b.at);
  for (let i = 1; i < readings.length; i++) {
    if (readings[i]!.at === readings[i - 1]!.at) throw new RangeError(`two readings at the same time (${readings[i]!.at} ms); keep one per moment`);
  }
  const allocations = checkAllocations(input.allocations, 'allocations');

  const first = readings[0]?.at;
  const last = readings[readings.length - 1]?.at;
  const fromMs = input.fromMs ?? first ?? 0;
  const toMs = input.toMs ?? last ?? fromMs;
  requireInt('fromMs', fromMs, 0);
  requireInt('toMs', toMs, 0);
  if (toMs < fromMs) throw new RangeError(`the window ends before it starts (${fromMs} → ${toMs} ms)`);

  // Every moment at which the set of shares may change: cut points inside the readings' intervals.
  const cuts = [...new Set(allocations.flatMap((a) => [a.from, a.to]))].sort((a, b) => a - b);

  const perJob = new Map<string, Accumulator>();
  for (const a of allocations) {
    if (a.from < toMs && a.to > fromMs && a.to > a.from && !perJob.has(a.jobId)) perJob.set(a.jobId, { idle: 0n, dynamic: 0n });
  }
  let unallocatedIdle = 0n;
  let unallocatedDynamic = 0n;
  let measured = 0n;
  let counterMs = 0;
  let trapezoidMs = 0;
  let measuredMs = 0;

  for (let i = 1; i < readings.length; i++) {
    const r0 = readings[i - 1]!;
    const r1 = readings[i]!;
    const a = r0.at;
    const b = r1.at;
    const lo = Math.max(a, fromMs);
    const hi = Math.min(b, toMs);
    if (hi <= lo) continue;

    // The interval's energy in fixed point, by counter if possible, else by trapezoid.
    let energy: bigint;
    const e0 = r0.energyMillijoules ?? null;
    const e1 = r1.energyMillijoules ?? null;
    if (e0 !== null && e1 !== null && e1 >= e0) {
      energy = BigInt(e1 - e0) * SCALE;
      counterMs += hi - lo;
    } else if (r0.powerMilliwatts !== null && r1.powerMilliwatts !== null) {
      // mW × ms = µJ; (P0 + P1)/2 × Δt / 1000 mJ, times SCALE: exact because SCALE is a multiple of 2000.
      energy = (BigInt(r0.powerMilliwatts + r1.powerMilliwatts) * BigInt(b - a) * SCALE) / 2000n;
      trapezoidMs += hi - lo;
    } else {
      continue; // unmeasured: counted below as window time not measured
    }
    measuredMs += hi - lo;

    // Pieces of [a, b): outside-before, the stretches of [lo, hi) between share changes, outside-after.
    const bounds = [lo, ...cuts.filter((c) => c > lo && c < hi), hi];
    const weights: bigint[] = [BigInt(lo - a)];
    for (let k = 1; k < bounds.length; k++) weights.push(BigInt(bounds[k]! - bounds[k - 1]!));
    weights.push(BigInt(b - hi));
    const pieceEnergy = apportion(energy, weights);

    for (let k = 1; k < bounds.length; k++) {
      const p = bounds[k - 1]!;
      const q = bounds[k]!;
      const e = pieceEnergy[k]!;
      measured += e;
      const shares = sharesDuring(allocations, p, q);
      const jobs = sortedKeys(shares);
      const held = jobs.reduce((s, j) => s + shares.get(j)!, 0);
      if (held > MILLI) {
        throw new RangeError(
          `the shares on the device add up to ${held} milli (over 1000) during [${p}, ${q}) ms: ${jobs.map((j) => `${j}=${shares.get(j)}`).join(', ')}`,
        );
      }
      // Idle part: idle power × duration (in fixed point: mW × ms / 1000 × SCALE), at most what was measured.
      const nominalIdle = (BigInt(idleMw) * BigInt(q - p) * SCALE) / 1000n;
      const idle = nominalIdle < e ? nominalIdle : e;
      const dynamic = e - idle;

      const idleParts = apportion(idle, [...jobs.map((j) => BigInt(shares.get(j)!)), MILLI_N - BigInt(held)]);
      jobs.forEach((j, n) => {
        perJob.get(j)!.idle += idleParts[n]!;
      });
      unallocatedIdle += idleParts[jobs.length]!;

      if (held === 0) {
        unallocatedDynamic += dynamic;
      } else {
        const dynParts = apportion(dynamic, jobs.map((j) => BigInt(shares.get(j)!)));
        jobs.forEach((j, n) => {
          perJob.get(j)!.dynamic += dynParts[n]!;
        });
      }
    }
  }

  // Round once: the measured total to whole mJ, then every bucket by largest remainder so they add up.
  const measuredMj = divRound(measured, SCALE);
  const jobIds = sortedKeys(perJob);
  const buckets: bigint[] = [];
  for (const j of jobIds) buckets.push(perJob.get(j)!.idle, perJob.get(j)!.dynamic);
  buckets.push(unallocatedIdle, unallocatedDynamic);
  const whole = measured === 0n ? buckets.map(() => 0n) : apportion(measuredMj, buckets);

  const jobs: JobEnergy[] = jobIds.map((jobId, n) => {
    const idleMj = toSafeNumber(whole[2 * n]!, 'idle energy');
    const dynamicMj = toSafeNumber(whole[2 * n + 1]!, 'dynamic energy');
    return { jobId, energyMj: idleMj + dynamicMj, dynamicMj, idleMj };
  });
  const unallocatedIdleMj = toSafeNumber(whole[2 * jobIds.length]!, 'idle energy');
  const unallocatedDynamicMj = toSafeNumber(whole[2 * jobIds.length + 1]!, 'dynamic energy');
  const idleMj = jobs.reduce((s, j) => s + j.idleMj, unallocatedIdleMj);
  return {
    fromMs,
    toMs,
    measuredMj: toSafeNumber(measuredMj, 'measured energy'),
    idleMj,
    dynamicMj: toSafeNumber(measuredMj, 'measured energy') - idleMj,
    jobs,
    unallocatedIdleMj,
    unallocatedDynamicMj,
    unallocatedMj: unallocatedIdleMj + unallocatedDynamicMj,
    counterMs,
    trapezoidMs,
    unmeasuredMs: toMs - fromMs - measuredMs,
  };
}

/**
 * A measured idle power in Kepler's way: the lowest power the device reported (mW), or undefined when
 * it reported none. Only meaningful over a span that includes idle time (a device that was busy the
 * whole time reports its lowest busy power); prefer the catalog's `idleMilliwatts` otherwise.
 */
export function minObservedPowerMilliwatts(readings: readonly PowerReading[]): number | undefined {
  let min: number | undefined;
  for (const r of readings) {
    if (r.powerMilliwatts !== null && (min === undefined || r.powerMilliwatts < min)) min = r.powerMilliwatts;
  }
  return min;
}

// ---------------------------------------------------------------------------------------------------
// Node level: non-GPU idle power
// ---------------------------------------------------------------------------------------------------

/** A job's share of a node's GPUs: milli on one device (a whole-device job is 1000 on each of its devices). */
export interface NodeAllocationSpan extends AllocationSpan {
  /** The device the share is on; optional, used only to check no device is over 1000. */
  deviceIndex?: number;
}

export interface NodeIdleInput {
  /** The node's power that is not the GPUs' (CPUs, memory, fans, NICs, disks) when idle, mW: an operator-given figure. */
  nodeIdleMilliwatts: number;
  /** GPUs on the node; its GPU capacity is 1000 × deviceCount milli. */
  deviceCount: number;
  /** Every GPU share on the node over the window (spans on all its devices). */
  allocations: readonly NodeAllocationSpan[];
  fromMs: number;
  toMs: number;
}

export interface NodeIdleAttribution {
  fromMs: number;
  toMs: number;
  /** nodeIdleMilliwatts × window: Σ jobs' idleMj + unallocatedIdleMj, exactly. */
  totalMj: number;
  /** One entry per job present, sorted by jobId. */
  jobs: { jobId: string; idleMj: number }[];
  /** The share of the node's GPU capacity nobody held: the operator's. */
  unallocatedIdleMj: number;
}

/**
 * Splits a node's non-GPU idle energy by the same policy as a device's idle energy: each job bears it in
 * proportion to the share of the node's GPU capacity it holds (its milli on all the node's devices over
 * 1000 × deviceCount), the unheld share goes to the operator. A job holding 2 of 8 GPUs bears a quarter.
 */
export function attributeNodeIdleEnergy(input: NodeIdleInput): NodeIdleAttribution {
  const power = requireInt('nodeIdleMilliwatts', input.nodeIdleMilliwatts, 0);
  const devices = requireInt('deviceCount', input.deviceCount, 1);
  const fromMs = requireInt('fromMs', input.fromMs, 0);
  const toMs = requireInt('toMs', input.toMs, 0);
  if (toMs < fromMs) throw new RangeError(`the window ends before it starts (${fromMs} → ${toMs} ms)`);
  const allocations = checkAllocations(input.allocations, 'allocations');
  allocations.forEach((a, i) => {
    if (a.deviceIndex !== undefined) requireInt(`allocations[${i}].deviceIndex`, a.deviceIndex, 0, devices - 1);
  });
  const capacity = MILLI * devices;

  const cuts = [...new Set(allocations.flatMap((a) => [a.from, a.to]).filter((c) => c > fromMs && c < toMs))].sort((a, b) => a - b);
  const bounds = [fromMs, ...cuts, toMs];
  const perJob = new Map<string, bigint>();
  for (const a of allocations) {
    if (a.from < toMs && a.to > fromMs && a.to > a.from && !perJob.has(a.jobId)) perJob.set(a.jobId, 0n);
  }
  let unallocated = 0n;
  let total = 0n;
  for (let k = 1; k < bounds.length; k++) {
    const p = bounds[k - 1]!;
    const q = bounds[k]!;
    if (q <= p) continue;
    const shares = sharesDuring(allocations, p, q);
    const jobs = sortedKeys(shares);
    const held = jobs.reduce((s, j) => s + shares.get(j)!, 0);
    if (held > capacity) throw new RangeError(`the shares on the node add up to ${held} milli, over its ${capacity}, during [${p}, ${q}) ms`);
    const perDevice = new Map<number, number>();
    for (const a of allocations) {
      if (a.deviceIndex !== undefined && a.from < q && a.to > p) perDevice.set(a.deviceIndex, (perDevice.get(a.deviceIndex) ?? 0) + a.milli);
    }
    for (const [device, milli] of perDevice) {
      if (milli > MILLI) throw new RangeError(`the shares on device ${device} add up to ${milli} milli (over 1000) during [${p}, ${q}) ms`);
    }
    const energy = (BigInt(power) * BigInt(q - p) * SCALE) / 1000n;
    total += energy;
    const parts = apportion(energy, [...jobs.map((j) => BigInt(shares.get(j)!)), BigInt(capacity - held)]);
    jobs.forEach((j, n) => perJob.set(j, perJob.get(j)! + parts[n]!));
    unallocated += parts[jobs.length]!;
  }

  const totalMj = divRound(total, SCALE);
  const jobIds = sortedKeys(perJob);
  const whole = total === 0n ? [...jobIds.map(() => 0n), 0n] : apportion(totalMj, [...jobIds.map((j) => perJob.get(j)!), unallocated]);
  return {
    fromMs,
    toMs,
    totalMj: toSafeNumber(totalMj, 'node idle energy'),
    jobs: jobIds.map((jobId, n) => ({ jobId, idleMj: toSafeNumber(whole[n]!, 'idle energy') })),
    unallocatedIdleMj: toSafeNumber(whole[jobIds.length]!, 'idle energy'),
  };
}

/** A job's energy summed over several devices (and its node share): what a job detail or invoice shows. */
export interface JobEnergyTotal {
  jobId: string;
  energyMj: number;
  dynamicMj: number;
  idleMj: number;
}

/**
 * Adds up per-job energies from device attributions and node idle attributions (a multi-GPU job's
 * devices, a node's idle share), sorted by jobId. Whole mJ in, whole mJ out: the totals add up exactly.
 * A part's own `energyMj` is not read: each total's energyMj is its idleMj + dynamicMj.
 */
export function sumJobEnergies(parts: readonly { jobs: readonly { jobId: string; idleMj: number; dynamicMj?: number; energyMj?: number }[] }[]): JobEnergyTotal[] {
  const totals = new Map<string, JobEnergyTotal>();
  for (const part of parts) {
    for (const j of part.jobs) {
      const t = totals.get(j.jobId) ?? { jobId: j.jobId, energyMj: 0, dynamicMj: 0, idleMj: 0 };
      t.idleMj += j.idleMj;
      t.dynamicMj += j.dynamicMj ?? 0;
      t.energyMj = t.idleMj + t.dynamicMj;
      totals.set(j.jobId, t);
    }
  }
  return sortedKeys(totals).map((j) => totals.get(j)!);
}
