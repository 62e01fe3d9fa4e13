import { describe, expect, it } from 'vitest';
import { alwaysOnPolicy, idleTimerPolicy, unidleParkingPolicy, type ParkingPolicy } from '../../energy/parking/policy.js';
import { replayEnergy, type ReplayOptions } from './replay.js';
import type { SyntheticJob } from './venus-jobs.js';

const MIN = 60_000;

/** A day of demand: a daytime wave of 1-8 GPU jobs on 8 nodes x 4 GPUs. */
function dayJobs(): SyntheticJob[] {
  const jobs: SyntheticJob[] = [];
  for (let t = 0; t < 3 * 1440; t += 7) {
    const hour = (t / 60) % 24;
    if (hour >= 9 && hour < 18) jobs.push({ arrivalMin: t, gpus: 1 + (t % 4), durationMin: 30 + (t % 90) });
  }
  return jobs;
}

const base = (over: Partial<ReplayOptions> = {}): ReplayOptions => ({
  jobs: dayJobs(),
  nodes: 8,
  gpusPerNode: 4,
  horizonMin: 3 * 1440,
  wakeMin: 10,
  parking: alwaysOnPolicy(),
  idleMilliwatts: 80_000,
  busyMilliwatts: 700_000,
  pue: 1.3,
  ...over,
});

describe('energy replay', () => {
  it('always-on energy is exactly all-idle plus busy', () => {
    const r = replayEnergy(base());
    const gpuMin = 8 * 4 * 3 * 1440;
    const expected = ((gpuMin - r.busyGpuMinutes) * 80_000 + r.busyGpuMinutes * 700_000) * 1.3 / 6e7;
    expect(r.energyKWh).toBeCloseTo(expected, 9);
    expect(r.idleEnergySavedPct).toBeCloseTo(0, 9);
    expect(r.powerCyclesPerNodeDay).toBe(0);
    expect(r.busyGpuMinutes).toBeGreaterThan(0);
  });

  it('parking saves idle energy and counts the delay of waking', () => {
    const on = replayEnergy(base());
    const timer = replayEnergy(base({ parking: idleTimerPolicy({ idleMs: 30 * MIN }) }));
    expect(timer.energyKWh).toBeLessThan(on.energyKWh);
    expect(timer.idleEnergySavedPct).toBeGreaterThan(30);
    expect(timer.parks).toBeGreaterThan(0);
    // Overnight all nodes park, so the first morning jobs wait for a wake.
    expect(timer.delayedDemandPct).toBeGreaterThan(on.delayedDemandPct);
    expect(timer.meanDelayMin).toBeGreaterThan(0);
    const unidle = replayEnergy(base({ parking: unidleParkingPolicy({ marginGpus: 4, minEmptyMs: 10 * MIN, maxCyclesPerDay: 2 }) }));
    expect(unidle.idleEnergySavedPct).toBeGreaterThan(20);
    expect(unidle.powerCyclesPerNodeDay).toBeLessThanOrEqual(2);
    expect(unidle.maxCyclesPerNodeDay).toBeLessThanOrEqual(2);
    expect(unidle.maxCyclesPerNode24h).toBeLessThanOrEqual(3);
    expect(timer.maxCyclesPerNodeDay).toBeGreaterThanOrEqual(1);
    expect(timer.maxCyclesPerNode24h).toBeGreaterThanOrEqual(timer.maxCyclesPerNodeDay);
    // With a margin the warm reserve absorbs the morning: less delay than the timer.
    expect(unidle.delayedDemandPct).toBeLessThan(timer.delayedDemandPct);
  });

  it('never leaves a node parked while it holds work, and places whole-node pieces', () => {
    const jobs: SyntheticJob[] = [
      { arrivalMin: 0, gpus: 10, durationMin: 60 },
      { arrivalMin: 100, gpus: 4, durationMin: 10 },
    ];
    const r = replayEnergy(base({ jobs, horizonMin: 300, parking: idleTimerPolicy({ idleMs: 5 * MIN }) }));
    expect(r.busyGpuMinutes).toBe(10 * 60 + 4 * 10);
    expect(r.jobs).toBe(2);
    // The second job arrives when everything is parked: it waits the wake latency.
    expect(r.delayedJobs).toBe(1);
    expect(r.meanDelayMin).toBeCloseTo(10 / 2, 9);
  });

  it('reports the most parks of one node per calendar day and in any 24 h', () => {
    // One node; a 1-minute job at 23:00, 23:30, 00:30 and 01:00, parked 5 idle minutes after each.
    const at = [23 * 60, 23 * 60 + 30, 24 * 60 + 30, 25 * 60];
    const jobs: SyntheticJob[] = at.map((arrivalMin) => ({ arrivalMin, gpus: 1, durationMin: 1 }));
    const r = replayEnergy(base({ jobs, nodes: 1, horizonMin: 2 * 1440, wakeMin: 0, parking: idleTimerPolicy({ idleMs: 5 * MIN }) }));
    // Parks at 00:05 (empty from the start), 23:06, 23:36 | 00:36, 01:06: 3 on day 0, 2 on day 1, 4 within 24 h.
    expect(r.parks).toBe(5);
    expect(r.maxCyclesPerNodeDay).toBe(3);
    expect(r.maxCyclesPerNode24h).toBe(4);
  });

  it('consolidates beside older jobs, so nodes holding only young work empty out and park', () => {
    // 3 nodes x 2 GPUs. At minute 41 both n1 (a 21-minute-old job) and n2 (a 41-minute-old job) have
    // one GPU free; fullness alone ties them and the lower rank (n1) takes the new job, the age bonus
    // sends it beside the older job (n2), and n1 empties when its job ends at minute 60.
    const jobs: SyntheticJob[] = [
      { arrivalMin: 0, gpus: 2, durationMin: 1000 }, // n0
      { arrivalMin: 0, gpus: 2, durationMin: 10 }, // n1, gone at 10
      { arrivalMin: 0, gpus: 1, durationMin: 1000 }, // n2, old
      { arrivalMin: 0, gpus: 1, durationMin: 40 }, // n2, gone at 40
      { arrivalMin: 20, gpus: 1, durationMin: 40 }, // n1, young, gone at 60
      { arrivalMin: 41, gpus: 1, durationMin: 1000 }, // n1 or n2?
    ];
    // Parks any node empty for a minute, from minute 45 on.
    const late: ParkingPolicy = {
      name: 'late',
      decide: (input) => ({
        park: input.nowMs < 45 * MIN ? [] : input.nodes.filter((n) => n.state === 'on' && n.empty && input.nowMs - n.emptySinceMs! >= MIN).map((n) => n.id),
        wake: [],
      }),
    };
    const run = (consolidateByAge: boolean) => replayEnergy(base({ jobs, nodes: 3, gpusPerNode: 2, horizonMin: 120, parking: late, consolidateByAge }));
    const byAge = run(true);
    const flat = run(false);
    expect(byAge.busyGpuMinutes).toBe(flat.busyGpuMinutes);
    expect(flat.parks).toBe(0);
    expect(byAge.parks).toBe(1);
    expect(byAge.energyKWh).toBeLessThan(flat.energyKWh);
  });
});
