import { describe, expect, it } from 'vitest';
import { findGpuModel } from '../domain/gpu-catalog.js';
import { createRandom, type Random } from '../domain/random.js';
import {
  attributeDeviceEnergy,
  attributeNodeIdleEnergy,
  minObservedPowerMilliwatts,
  sumJobEnergies,
  type AllocationSpan,
  type DeviceEnergyAttribution,
  type PowerReading,
} from './attribution.js';
import { energyOfSteps, expectedPowerMilliwatts } from './power-model.js';

const H200 = findGpuModel('H200')!;
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

function steadyReadings(powerMw: number, fromMs: number, toMs: number, stepMs: number): PowerReading[] {
  const out: PowerReading[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) out.push({ at: t, powerMilliwatts: powerMw });
  return out;
}

function expectAddsUp(r: DeviceEnergyAttribution): void {
  const jobs = r.jobs.reduce((s, j) => s + j.energyMj, 0);
  expect(jobs + r.unallocatedMj).toBe(r.measuredMj);
  expect(r.unallocatedIdleMj + r.unallocatedDynamicMj).toBe(r.unallocatedMj);
  expect(r.idleMj + r.dynamicMj).toBe(r.measuredMj);
  expect(r.jobs.reduce((s, j) => s + j.idleMj, r.unallocatedIdleMj)).toBe(r.idleMj);
  for (const j of r.jobs) {
    expect(j.energyMj).toBe(j.idleMj + j.dynamicMj);
    expect(j.idleMj).toBeGreaterThanOrEqual(0);
    expect(j.dynamicMj).toBeGreaterThanOrEqual(0);
    expect(Number.isSafeInteger(j.energyMj)).toBe(true);
  }
  expect(r.unallocatedIdleMj).toBeGreaterThanOrEqual(0);
  expect(r.unallocatedDynamicMj).toBeGreaterThanOrEqual(0);
}

describe('device energy attribution: the H200 example', () => {
  // An H200 drawing a steady 690 W (busy) for an hour, with one job holding half of it.
  // Idle power from the catalog: 80.3 W.
  const r = attributeDeviceEnergy({
    readings: steadyReadings(690_000, T0, T0 + HOUR, 10_000),
    allocations: [{ jobId: 'job-a', milli: 500, from: T0, to: T0 + HOUR }],
    idleMilliwatts: H200.idleMilliwatts,
  });

  it('measures 690 Wh', () => {
    expect(H200.idleMilliwatts).toBe(80_300);
    expect(r.measuredMj).toBe(2_484_000_000); // 690 W × 3600 s = 2,484,000 J
    expect(r.trapezoidMs).toBe(HOUR);
    expect(r.counterMs).toBe(0);
    expect(r.unmeasuredMs).toBe(0);
  });

  it('splits 80.3 Wh of idle half to the job and half to the unsold share, and all 609.7 Wh of dynamic to the job', () => {
    expect(r.idleMj).toBe(289_080_000); // 80.3 W × 3600 s
    expect(r.dynamicMj).toBe(2_194_920_000); // (690 − 80.3) W × 3600 s
    expect(r.jobs).toEqual([{ jobId: 'job-a', energyMj: 2_339_460_000, dynamicMj: 2_194_920_000, idleMj: 144_540_000 }]);
    expect(r.unallocatedIdleMj).toBe(144_540_000);
    expect(r.unallocatedDynamicMj).toBe(0);
    expectAddsUp(r);
  });
});

describe('device energy attribution: the rule', () => {
  it('splits dynamic energy by milli share and idle by share held, the rest idle to the operator', () => {
    // 400 W for 1000 s with idle 100 W: idle 100 kJ, dynamic 300 kJ. Jobs 500 + 250 milli.
    const r = attributeDeviceEnergy({
      readings: steadyReadings(400_000, 0, 1_000_000, 1000),
      allocations: [
        { jobId: 'b', milli: 250, from: 0, to: 1_000_000 },
        { jobId: 'a', milli: 500, from: 0, to: 1_000_000 },
      ],
      idleMilliwatts: 100_000,
    });
    expect(r.measuredMj).toBe(400_000_000);
    expect(r.jobs).toEqual([
      { jobId: 'a', energyMj: 250_000_000, dynamicMj: 200_000_000, idleMj: 50_000_000 },
      { jobId: 'b', energyMj: 125_000_000, dynamicMj: 100_000_000, idleMj: 25_000_000 },
    ]);
    expect(r.unallocatedIdleMj).toBe(25_000_000);
    expect(r.unallocatedDynamicMj).toBe(0);
  });

  it('follows shares that change mid-window and jobs that join and leave between readings', () => {
    // 200 W flat, idle 100 W, readings every 10 s over 100 s. Job a holds 1000 for the first 35 s,
    // then 400 until 100 s; job b joins at 35 s with 600 and leaves at 75 s.
    const r = attributeDeviceEnergy({
      readings: steadyReadings(200_000, 0, 100_000, 10_000),
      allocations: [
        { jobId: 'a', milli: 1000, from: 0, to: 35_000 },
        { jobId: 'a', milli: 400, from: 35_000, to: 100_000 },
        { jobId: 'b', milli: 600, from: 35_000, to: 75_000 },
      ],
      idleMilliwatts: 100_000,
    });
    // Each second: 100 J idle + 100 J dynamic.
    // a: 0–35 s all of it (200 J/s); 35–75 s 40 % of idle and 40 % of dynamic (80 J/s); 75–100 s alone with
    //    400 milli: 40 % of idle, all the dynamic (140 J/s) → 7,000 + 3,200 + 3,500 = 13,700 J
    // b: 35–75 s 60 % of both (120 J/s) → 4,800 J; unsold: 75–100 s, 60 % of idle → 1,500 J
    expect(r.measuredMj).toBe(20_000_000);
    expect(r.jobs).toEqual([
      { jobId: 'a', energyMj: 13_700_000, dynamicMj: 35_000 * 100 + 40_000 * 40 + 25_000 * 100, idleMj: 35_000 * 100 + 65_000 * 40 },
      { jobId: 'b', energyMj: 4_800_000, dynamicMj: 2_400_000, idleMj: 2_400_000 },
    ]);
    expect(r.unallocatedIdleMj).toBe(1_500_000);
    expectAddsUp(r);
  });

  it('caps idle at what was measured: no negative dynamic energy when the device draws under its catalog idle', () => {
    const r = attributeDeviceEnergy({
      readings: steadyReadings(77_700, 0, 60_000, 10_000), // the H200 idle capture, under the catalog's 80.3 W
      allocations: [{ jobId: 'a', milli: 1000, from: 0, to: 60_000 }],
      idleMilliwatts: H200.idleMilliwatts,
    });
    expect(r.measuredMj).toBe(4_662_000);
    expect(r.jobs).toEqual([{ jobId: 'a', energyMj: 4_662_000, dynamicMj: 0, idleMj: 4_662_000 }]);
    expect(r.dynamicMj).toBe(0);
  });

  it('gives everything to the operator while nobody holds the device', () => {
    const r = attributeDeviceEnergy({ readings: steadyReadings(300_000, 0, 10_000, 1000), allocations: [], idleMilliwatts: 100_000 });
    expect(r.jobs).toEqual([]);
    expect(r.unallocatedIdleMj).toBe(1_000_000);
    expect(r.unallocatedDynamicMj).toBe(2_000_000);
    expect(r.unallocatedMj).toBe(r.measuredMj);
  });

  it('prefers the energy counter to the trapezoid, and falls back when the counter resets or is missing', () => {
    const readings: PowerReading[] = [
      { at: 0, powerMilliwatts: 100_000, energyMillijoules: 5_000_000 },
      { at: 10_000, powerMilliwatts: 100_000, energyMillijoules: 7_500_000 }, // counter: 2,500,000 mJ; the trapezoid would say 1,000,000
      { at: 20_000, powerMilliwatts: 300_000, energyMillijoules: 1_000 }, // driver reloaded: counter went back → trapezoid 2,000,000
      { at: 30_000, powerMilliwatts: 300_000, energyMillijoules: null }, // no counter → trapezoid 3,000,000
      { at: 40_000, powerMilliwatts: null, energyMillijoules: null }, // nothing → unmeasured
    ];
    const r = attributeDeviceEnergy({ readings, allocations: [{ jobId: 'a', milli: 1000, from: 0, to: 40_000 }], idleMilliwatts: 0 });
    expect(r.measuredMj).toBe(2_500_000 + 2_000_000 + 3_000_000);
    expect(r.counterMs).toBe(10_000);
    expect(r.trapezoidMs).toBe(20_000);
    expect(r.unmeasuredMs).toBe(10_000);
    expectAddsUp(r);
  });

  it('attributes only the window asked for, spreading an interval cut by the window by duration', () => {
    const r = attributeDeviceEnergy({
      readings: steadyReadings(100_000, 0, 100_000, 30_000), // readings at 0, 30, 60, 90 s
      allocations: [{ jobId: 'a', milli: 1000, from: 0, to: 200_000 }],
      idleMilliwatts: 0,
      fromMs: 15_000,
      toMs: 75_000,
    });
    expect(r.measuredMj).toBe(6_000_000); // 60 s × 100 W
    expect(r.jobs[0]!.energyMj).toBe(6_000_000);
    expect(r.unmeasuredMs).toBe(0);
    // A window reaching past the last reading reports the rest as unmeasured.
    expect(attributeDeviceEnergy({ readings: steadyReadings(100_000, 0, 100_000, 30_000), allocations: [], idleMilliwatts: 0, toMs: 120_000 }).unmeasuredMs).toBe(30_000);
  });

  it('accepts readings in any order and gives the same answer', () => {
    const readings = steadyReadings(250_000, 0, 60_000, 7_000).map((r, i) => ({ ...r, powerMilliwatts: 100_000 + 13_000 * i }));
    const allocations = [{ jobId: 'x', milli: 300, from: 5_000, to: 41_000 }];
    const inOrder = attributeDeviceEnergy({ readings, allocations, idleMilliwatts: 90_000 });
    const shuffled = attributeDeviceEnergy({ readings: [...readings].reverse(), allocations, idleMilliwatts: 90_000 });
    expect(shuffled).toEqual(inOrder);
  });

  it('rejects bad input with a clear error', () => {
    const readings = steadyReadings(100_000, 0, 10_000, 5_000);
    expect(() =>
      attributeDeviceEnergy({
        readings,
        allocations: [
          { jobId: 'a', milli: 600, from: 0, to: 10_000 },
          { jobId: 'b', milli: 600, from: 4_000, to: 10_000 },
        ],
        idleMilliwatts: 0,
      }),
    ).toThrow(/add up to 1200 milli \(over 1000\) during \[4000, 5000\) ms: a=600, b=600/);
    expect(() => attributeDeviceEnergy({ readings: [...readings, { at: 5_000, powerMilliwatts: 1 }], allocations: [], idleMilliwatts: 0 })).toThrow(/same time \(5000 ms\)/);
    expect(() => attributeDeviceEnergy({ readings: [{ at: 0, powerMilliwatts: -5 }], allocations: [], idleMilliwatts: 0 })).toThrow(/readings\[0\]\.powerMilliwatts/);
    expect(() => attributeDeviceEnergy({ readings, allocations: [{ jobId: 'a', milli: 0, from: 0, to: 1 }], idleMilliwatts: 0 })).toThrow(/allocations\[0\]\.milli/);
    expect(() => attributeDeviceEnergy({ readings, allocations: [{ jobId: 'a', milli: 1, from: 9, to: 1 }], idleMilliwatts: 0 })).toThrow(/ends before it starts/);
  });

  it('measures idle power Kepler-style as the lowest reading', () => {
    expect(minObservedPowerMilliwatts([{ at: 0, powerMilliwatts: 90_000 }, { at: 1, powerMilliwatts: null }, { at: 2, powerMilliwatts: 77_700 }])).toBe(77_700);
    expect(minObservedPowerMilliwatts([{ at: 0, powerMilliwatts: null }])).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// Randomised: exact additivity, and agreement with a straightforward floating-point reading of the rule
// ---------------------------------------------------------------------------------------------------

interface RandomCase {
  readings: PowerReading[];
  allocations: AllocationSpan[];
  idleMilliwatts: number;
  fromMs?: number;
  toMs?: number;
}

function randomCase(rng: Random): RandomCase {
  const n = 2 + rng.int(120);
  const withCounter = rng.int(2) === 0;
  const readings: PowerReading[] = [];
  let t = T0 + rng.int(10_000);
  let counter = rng.int(1_000_000_000);
  let power = 60_000 + rng.int(640_000);
  for (let i = 0; i < n; i++) {
    const p = rng.int(20) === 0 ? null : power;
    let e: number | null = null;
    if (withCounter && rng.int(15) !== 0) e = rng.int(40) === 0 ? rng.int(1000) : counter; // sometimes a reset
    readings.push({ at: t, powerMilliwatts: p, energyMillijoules: e });
    const dt = 1 + rng.int(20_000);
    counter += Math.floor(((power + 60_000 + rng.int(640_000)) / 2) * (dt / 1000));
    power = 60_000 + rng.int(640_000);
    t += dt;
  }
  const start = readings[0]!.at;
  const end = readings[readings.length - 1]!.at;
  // Allocation stretches: at random cut times, a random set of jobs with random shares adding up to ≤ 1000.
  const cuts = [start - rng.int(5_000)];
  while (cuts[cuts.length - 1]! < end) cuts.push(cuts[cuts.length - 1]! + 1 + rng.int(Math.max(2, Math.floor((end - start) / 3))));
  const allocations: AllocationSpan[] = [];
  const pool = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5'];
  for (let k = 1; k < cuts.length; k++) {
    let left = 1000;
    for (const jobId of pool) {
      if (left === 0 || rng.int(2) === 0) continue;
      const milli = 1 + rng.int(left);
      left -= milli;
      allocations.push({ jobId, milli, from: cuts[k - 1]!, to: cuts[k]! });
    }
  }
  const c: RandomCase = { readings, allocations, idleMilliwatts: rng.int(3) === 0 ? 0 : 30_000 + rng.int(90_000) };
  if (rng.int(3) === 0) {
    c.fromMs = start + rng.int(Math.max(1, Math.floor((end - start) / 2)));
    c.toMs = c.fromMs + rng.int(end - c.fromMs + 10_000);
  }
  // Shuffle the readings' order: the function must sort them.
  for (let i = c.readings.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [c.readings[i], c.readings[j]] = [c.readings[j]!, c.readings[i]!];
  }
  return c;
}

/** The rule in plain floating point, per millisecond stretch, as a reference. */
function reference(c: RandomCase): { measured: number; jobs: Map<string, { idle: number; dynamic: number }>; unallocated: number } {
  const readings = [...c.readings].sort((a, b) => a.at - b.at);
  const from = c.fromMs ?? readings[0]!.at;
  const to = c.toMs ?? readings[readings.length - 1]!.at;
  const jobs = new Map<string, { idle: number; dynamic: number }>();
  let measured = 0;
  let unallocated = 0;
  for (let i = 1; i < readings.length; i++) {
    const r0 = readings[i - 1]!;
    const r1 = readings[i]!;
    const e0 = r0.energyMillijoules ?? null;
    const e1 = r1.energyMillijoules ?? null;
    let energy: number;
    if (e0 !== null && e1 !== null && e1 >= e0) energy = e1 - e0;
    else if (r0.powerMilliwatts !== null && r1.powerMilliwatts !== null) energy = ((r0.powerMilliwatts + r1.powerMilliwatts) / 2) * ((r1.at - r0.at) / 1000);
    else continue;
    const lo = Math.max(r0.at, from);
    const hi = Math.min(r1.at, to);
    if (hi <= lo) continue;
    const cuts = [lo, ...[...new Set(c.allocations.flatMap((a) => [a.from, a.to]))].filter((x) => x > lo && x < hi).sort((a, b) => a - b), hi];
    for (let k = 1; k < cuts.length; k++) {
      const p = cuts[k - 1]!;
      const q = cuts[k]!;
      const e = (energy * (q - p)) / (r1.at - r0.at);
      measured += e;
      const idle = Math.min(e, (c.idleMilliwatts * (q - p)) / 1000);
      const dynamic = e - idle;
      const shares = new Map<string, number>();
      for (const a of c.allocations) if (a.from < q && a.to > p) shares.set(a.jobId, (shares.get(a.jobId) ?? 0) + a.milli);
      const held = [...shares.values()].reduce((s, m) => s + m, 0);
      for (const [j, m] of shares) {
        const acc = jobs.get(j) ?? { idle: 0, dynamic: 0 };
        acc.idle += (idle * m) / 1000;
        acc.dynamic += (dynamic * m) / held;
        jobs.set(j, acc);
      }
      unallocated += (idle * (1000 - held)) / 1000 + (held === 0 ? dynamic : 0);
    }
  }
  return { measured, jobs, unallocated };
}

describe('device energy attribution: randomised (seeded)', () => {
  it('adds up to the measured energy to the millijoule, and agrees with the plain rule within 2 mJ', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const c = randomCase(createRandom(seed));
      const r = attributeDeviceEnergy(c);
      expectAddsUp(r);
      const ref = reference(c);
      expect(Math.abs(r.measuredMj - ref.measured), `seed ${seed}: measured`).toBeLessThanOrEqual(0.5 + 1e-6);
      for (const j of r.jobs) {
        const want = ref.jobs.get(j.jobId) ?? { idle: 0, dynamic: 0 };
        expect(Math.abs(j.idleMj - want.idle), `seed ${seed}: ${j.jobId} idle`).toBeLessThan(2);
        expect(Math.abs(j.dynamicMj - want.dynamic), `seed ${seed}: ${j.jobId} dynamic`).toBeLessThan(2);
      }
      expect(Math.abs(r.unallocatedMj - ref.unallocated), `seed ${seed}: unallocated`).toBeLessThan(3);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The "done" check: a shared GPU driven by the power model (what the simulated source reports)
// ---------------------------------------------------------------------------------------------------

describe('a shared H200 driven by the power model', () => {
  it('job energies + attributed idle = the device energy, exactly, and the measured energy matches the model within 1%', () => {
    const rng = createRandom(2023);
    // Two hours in 10 s steps. Job a (500 milli) runs throughout; job b joins at 20 min with 250 milli,
    // grows to 500 at 1 h and leaves at 1 h 40. Utilisation follows the jobs with noise.
    const step = 10_000;
    const end = T0 + 2 * HOUR;
    const allocations: AllocationSpan[] = [
      { jobId: 'a', milli: 500, from: T0, to: end },
      { jobId: 'b', milli: 250, from: T0 + HOUR / 3, to: T0 + HOUR },
      { jobId: 'b', milli: 500, from: T0 + HOUR, to: T0 + (5 * HOUR) / 3 },
    ];
    const curve = { ...H200, busyMilliwatts: 690_000 };
    const readings: PowerReading[] = [];
    const steps: { durationMs: number; utilizationPermille: number }[] = [];
    let counter = 123_456_789;
    for (let t = T0; t <= end; t += step) {
      const held = allocations.filter((a) => a.from <= t && a.to > t).reduce((s, a) => s + a.milli, 0);
      const util = Math.min(1000, Math.max(0, held - 100 + rng.int(200)));
      const power = expectedPowerMilliwatts(curve, util);
      readings.push({ at: t, powerMilliwatts: power, energyMillijoules: counter });
      if (t < end) {
        // The device's own energy counter integrates the power held over the step (as DCGM's does).
        counter += (power * step) / 1000;
        steps.push({ durationMs: step, utilizationPermille: util });
      }
    }
    const r = attributeDeviceEnergy({ readings, allocations, idleMilliwatts: H200.idleMilliwatts });
    expectAddsUp(r);
    const modelled = energyOfSteps(curve, steps);
    expect(Math.abs(r.measuredMj - modelled) / modelled).toBeLessThan(0.01);
    expect(r.counterMs).toBe(2 * HOUR);
    // Both jobs bear idle by the share they held: a half the device for two hours.
    expect(r.jobs.find((j) => j.jobId === 'a')!.idleMj).toBe(80_300 * 3_600);
    // b: 250 milli for 40 min + 500 milli for 40 min.
    expect(r.jobs.find((j) => j.jobId === 'b')!.idleMj).toBe(Math.round(80_300 * 2_400 * 0.25 + 80_300 * 2_400 * 0.5));
    // Unsold: 500 for 20 min, 250 for 40 min, 0 for 40 min, 500 for 20 min.
    expect(r.unallocatedIdleMj).toBe(80_300 * (1_200 * 0.5 + 2_400 * 0.25 + 1_200 * 0.5));
  });
});

describe('node idle attribution', () => {
  it('splits the non-GPU idle power by the share of the node’s GPUs held, exactly', () => {
    // An 8-GPU node whose CPUs, fans and NICs idle at 400 W, for an hour: 1.44 MJ.
    const r = attributeNodeIdleEnergy({
      nodeIdleMilliwatts: 400_000,
      deviceCount: 8,
      allocations: [
        { jobId: 'two-gpus', milli: 1000, from: T0, to: T0 + HOUR, deviceIndex: 0 },
        { jobId: 'two-gpus', milli: 1000, from: T0, to: T0 + HOUR, deviceIndex: 1 },
        { jobId: 'half', milli: 500, from: T0 + HOUR / 2, to: T0 + 2 * HOUR, deviceIndex: 2 },
      ],
      fromMs: T0,
      toMs: T0 + HOUR,
    });
    expect(r.totalMj).toBe(1_440_000_000);
    expect(r.jobs).toEqual([
      { jobId: 'half', idleMj: 1_440_000_000 / 2 / 16 },
      { jobId: 'two-gpus', idleMj: 1_440_000_000 / 4 },
    ]);
    expect(r.unallocatedIdleMj + r.jobs.reduce((s, j) => s + j.idleMj, 0)).toBe(r.totalMj);
  });

  it('adds up exactly with awkward numbers, and rejects an over-full device', () => {
    const rng = createRandom(7);
    for (let c = 0; c < 100; c++) {
      const allocations = Array.from({ length: 1 + rng.int(6) }, (_, i) => {
        const from = rng.int(100_000);
        return { jobId: `j${i}`, milli: 1 + rng.int(999), from, to: from + rng.int(100_000), deviceIndex: i };
      });
      const r = attributeNodeIdleEnergy({ nodeIdleMilliwatts: 1 + rng.int(1_000_000), deviceCount: 8, allocations, fromMs: rng.int(50_000), toMs: 50_000 + rng.int(100_000) });
      expect(r.unallocatedIdleMj + r.jobs.reduce((s, j) => s + j.idleMj, 0)).toBe(r.totalMj);
    }
    expect(() =>
      attributeNodeIdleEnergy({
        nodeIdleMilliwatts: 1,
        deviceCount: 2,
        allocations: [
          { jobId: 'a', milli: 800, from: 0, to: 10, deviceIndex: 1 },
          { jobId: 'b', milli: 800, from: 0, to: 10, deviceIndex: 1 },
        ],
        fromMs: 0,
        toMs: 10,
      }),
    ).toThrow(/device 1 add up to 1600 milli/);
  });

  it('sums a job over its devices and its node share', () => {
    const totals = sumJobEnergies([
      { jobs: [{ jobId: 'a', energyMj: 10, dynamicMj: 7, idleMj: 3 }] },
      { jobs: [{ jobId: 'a', energyMj: 5, dynamicMj: 4, idleMj: 1 }, { jobId: 'b', energyMj: 2, dynamicMj: 0, idleMj: 2 }] },
      { jobs: [{ jobId: 'a', idleMj: 6 }] },
    ]);
    expect(totals).toEqual([
      { jobId: 'a', energyMj: 21, dynamicMj: 11, idleMj: 10 },
      { jobId: 'b', energyMj: 2, dynamicMj: 0, idleMj: 2 },
    ]);
  });
});
