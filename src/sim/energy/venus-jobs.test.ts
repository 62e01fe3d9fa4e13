import { describe, expect, it } from 'vitest';
import { createRandom } from '../../domain/random.js';
import { nextSize, parsePhillyRuntimes, splitGpus, synthesizeJobs } from './venus-jobs.js';

describe('Venus job synthesis', () => {
  it('splits GPUs on the size ladder, summing exactly', () => {
    expect([1, 2, 3, 4, 8, 9, 16, 17].map(nextSize)).toEqual([2, 4, 4, 8, 16, 16, 24, 24]);
    const rng = createRandom(1);
    for (const [jobs, gpus] of [[1, 1], [3, 3], [5, 40], [2, 7], [10, 5], [1, 64], [4, 33]] as const) {
      const sizes = splitGpus(jobs, gpus, rng);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(gpus);
      expect(sizes.length).toBe(Math.min(jobs, gpus));
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    }
    expect(splitGpus(0, 5, rng)).toEqual([]);
    const capped = splitGpus(2, 40, rng, 16);
    expect(capped.reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...capped)).toBe(20);
  });

  it('keeps the per-bucket GPU sums and hits the target mean busy GPUs', () => {
    const rng = createRandom(7);
    const startGpuJob: number[] = [];
    const startGpuNum: number[] = [];
    for (let b = 0; b < 144 * 14; b++) {
      const j = rng.int(4);
      startGpuJob.push(j);
      startGpuNum.push(j === 0 ? 0 : j + rng.int(20));
    }
    const runtimes = Array.from({ length: 500 }, (_, i) => 60 + ((i * 37) % 500) * 12);
    const { jobs, info } = synthesizeJobs({ stepMin: 10, startGpuJob, startGpuNum }, runtimes, { seed: 3, targetMeanBusyGpus: 300 });
    const perBucket = new Array<number>(startGpuNum.length).fill(0);
    for (const j of jobs) perBucket[Math.floor(j.arrivalMin / 10)]! += j.gpus;
    expect(perBucket).toEqual(startGpuNum);
    expect(info.offeredMeanBusyGpus).toBeCloseTo(300, 0);
    expect(info.jobs).toBe(jobs.length);
    // Same seed, same jobs.
    expect(synthesizeJobs({ stepMin: 10, startGpuJob, startGpuNum }, runtimes, { seed: 3, targetMeanBusyGpus: 300 }).jobs).toEqual(jobs);
  });

  it('turns restart storms into quick jobs, as many GPUs as ended in the same bucket', () => {
    const n = 100;
    const startGpuJob = new Array<number>(n).fill(1);
    const startGpuNum = new Array<number>(n).fill(4);
    const endGpuNum = new Array<number>(n).fill(4);
    startGpuJob[50] = 20;
    startGpuNum[50] = 400;
    endGpuNum[50] = 300;
    const runtimes = [600, 1200, 3600];
    const { jobs, info } = synthesizeJobs({ stepMin: 10, startGpuJob, startGpuNum, endGpuNum }, runtimes, { seed: 5, targetMeanBusyGpus: 20 });
    const storm = jobs.filter((j) => Math.floor(j.arrivalMin / 10) === 50);
    expect(storm.reduce((a, j) => a + j.gpus, 0)).toBe(400);
    // Threshold: the 95th percentile of starts (4); quick GPUs at most min(400 - 4, 300).
    expect(info.quickThresholdGpus).toBe(4);
    expect(info.quickGpus).toBeLessThanOrEqual(300);
    expect(info.quickGpus).toBeGreaterThan(0);
    expect(storm.filter((j) => j.durationMin <= 10).reduce((a, j) => a + j.gpus, 0)).toBeGreaterThanOrEqual(info.quickGpus);
    expect(info.offeredMeanBusyGpus).toBeCloseTo(20, 0);
  });

  it('parses the runtime CSV and rejects garbage', () => {
    expect(parsePhillyRuntimes('runtime\n0.0\n12.5\n\n', 'x.csv')).toEqual([0, 12.5]);
    expect(() => parsePhillyRuntimes('runtime\nabc\n', 'x.csv')).toThrow(/x.csv line 2/);
  });
});
