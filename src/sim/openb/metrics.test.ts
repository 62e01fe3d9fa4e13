import { describe, expect, it } from 'vitest';
import {
  allocationPctAtCrossing,
  allocationPctWindowed,
  allocationPctWindowedColumns,
  pairwiseSum,
  roundHalfEven,
  roundHalfEvenTo2Decimals,
  roundLikeNumpyTo2Decimals,
  type AllocationCurve,
} from './metrics.js';

const curve = (arrived: number[], allocated: number[]): AllocationCurve => ({
  arrivedMilli: Float64Array.from(arrived),
  allocatedMilli: Float64Array.from(allocated),
});

describe('roundings', () => {
  it('roundHalfEven rounds ties to even', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999999999999996, 2.5000000000000004, 100.5, 101.5].map(roundHalfEven)).toEqual([
      0, 2, 2, 4, 0, -2, 2, 3, 100, 102,
    ]);
  });

  it('roundHalfEvenTo2Decimals is Python\'s round(x, 2): exact value, ties to even', () => {
    // Expected values from CPython 3.11 round(v, 2).
    const cases: Array<[number, number]> = [
      [0.125, 0.12], // exact tie -> even
      [0.375, 0.38], // exact tie -> even
      [2.675, 2.67], // stored just below 2.675
      [1.005, 1.0],
      [1.115, 1.11],
      [12.345, 12.35], // stored just above 12.345, although 12.345 * 100 evaluates to exactly 1234.5
      [0.615, 0.61],
      [90.125, 90.12],
      [-2.675, -2.67],
      [129.995, 130.0],
      [8.165, 8.16],
    ];
    for (const [v, expected] of cases) expect(roundHalfEvenTo2Decimals(v), String(v)).toBe(expected);
  });

  it('roundLikeNumpyTo2Decimals is numpy.round(x, 2): rint of the rounded product', () => {
    // Expected values from numpy 2.4 np.round(np.float64(v), 2).
    const cases: Array<[number, number]> = [
      [0.125, 0.12],
      [0.375, 0.38],
      [2.675, 2.68],
      [1.115, 1.12],
      [12.345, 12.34],
      [0.615, 0.62],
      [-2.675, -2.68],
      [8.165, 8.16],
    ];
    for (const [v, expected] of cases) expect(roundLikeNumpyTo2Decimals(v), String(v)).toBe(expected);
  });

  it('pairwiseSum matches numpy.sum bit for bit, where a plain loop does not', () => {
    // v_k = ((k * 7919) mod 12893) / 100; expected sums from numpy 2.4 np.sum.
    const values = (n: number) => Float64Array.from({ length: n }, (_, k) => ((k * 7919) % 12893) / 100);
    const expected: Array<[number, number]> = [
      [0, 0],
      [7, 373.69000000000005],
      [8, 412.29999999999995],
      [17, 1100.0900000000001],
      [100, 6489.800000000001],
      [128, 8160.35],
      [129, 8240.13],
      [1000, 64532.79],
      [3001, 193522.34],
    ];
    for (const [n, sum] of expected) expect(pairwiseSum(values(n)), `n=${n}`).toBe(sum);
    // The plain running sum differs (412.30000000000007), so the order matters.
    expect(values(8).reduce((a, b) => a + b, 0)).not.toBe(412.29999999999995);
    // A sub-range is summed like an array of its own.
    expect(pairwiseSum(values(20), 3, 11)).toBe(pairwiseSum(values(20).slice(3, 11)));
  });
});

describe('allocationPctWindowed', () => {
  // totalGpus = 1: capacity 1000 milli, so A_j / 10 is the arrived % directly.
  //           j:   0    1    2     3     4     5     6
  const c = curve([5, 15, 25, 1000, 1004, 1005, 1006], [1, 3, 7, 900, 905, 910, 915]);
  // a_j = [0 (0.5 -> even), 2 (1.5), 2 (2.5 -> even), 100, 100, 100 (100.5 -> even), 101]
  // u_j = [0.1, 0.3, 0.7, 90, 90.5, 91, 91.5]

  it('averages the arrivals whose arrived % rounds to X', () => {
    expect(allocationPctWindowed(c, 1, 100)).toBe(90.5);
    expect(allocationPctWindowed(c, 1, 2)).toBe(0.5);
    expect(allocationPctWindowed(c, 1, 0)).toBe(0.1);
    expect(allocationPctWindowed(c, 1, 101)).toBe(91.5);
  });

  it('falls back to X-1..X+1 when no arrival rounds to X, and to null when none is near', () => {
    expect(allocationPctWindowed(c, 1, 1)).toBe(0.37); // mean(0.1, 0.3, 0.7) = 0.3666...
    expect(allocationPctWindowed(c, 1, 99)).toBe(90.5); // a = 100 only
    expect(allocationPctWindowed(c, 1, 102)).toBe(91.5); // a = 101 only
    expect(allocationPctWindowed(c, 1, 50)).toBeNull();
    expect(allocationPctWindowed(curve([], []), 1, 0)).toBeNull();
  });

  it('rounds each arrival like Python and the mean like numpy', () => {
    // totalGpus 4: U = 107 gives 107/4/10 = 2.675 (stored below the tie): u = 2.67, where
    // Math.round(x * 100) / 100 would say 2.68.
    expect(allocationPctWindowed(curve([40], [107]), 4, 1)).toBe(2.67);
    // totalGpus 100: u = 2.67 and 2.68, mean 2.675: numpy rounds it to 2.68 (Python would say 2.67).
    expect(allocationPctWindowed(curve([5000, 5000], [2670, 2680]), 100, 5)).toBe(2.68);
  });

  it('computes many columns at once, the same as one by one', () => {
    const columns = [0, 1, 2, 50, 99, 100, 101, 102];
    expect(allocationPctWindowedColumns(c, 1, columns)).toEqual(columns.map((x) => allocationPctWindowed(c, 1, x)));
  });

  it('rejects a bad GPU count or curve', () => {
    expect(() => allocationPctWindowed(c, 0, 1)).toThrow(RangeError);
    expect(() => allocationPctWindowed(c, 1.5, 1)).toThrow(RangeError);
    expect(() => allocationPctWindowed(curve([1, 2], [1]), 1, 1)).toThrow(RangeError);
  });
});

describe('allocationPctAtCrossing', () => {
  const c = curve([100, 400, 600, 1000, 1200], [100, 400, 550, 900, 950]);

  it('reads the allocation at the first arrival reaching X% of capacity', () => {
    expect(allocationPctAtCrossing(c, 1, 50)).toBe(55);
    expect(allocationPctAtCrossing(c, 1, 100)).toBe(90);
    expect(allocationPctAtCrossing(c, 1, 120)).toBe(95);
    expect(allocationPctAtCrossing(c, 1, 10)).toBe(10);
    expect(allocationPctAtCrossing(c, 1, 0)).toBe(10);
  });

  it('decides the crossing exactly on the milli values', () => {
    // 6,211,999 of 6,212,000 is below 100% however the division rounds.
    const openb = curve([6_211_999, 6_212_000], [5_000_000, 5_590_800]);
    expect(allocationPctAtCrossing(openb, 6212, 100)).toBe(90);
  });

  it('uses the last point when the curve stops short of X but rounds to it, else null', () => {
    expect(allocationPctAtCrossing(curve([1000, 1296], [900, 1000]), 1, 130)).toBe(100); // 129.6% rounds to 130
    expect(allocationPctAtCrossing(curve([1000, 1295], [900, 1000]), 1, 130)).toBe(100); // 129.5% -> 130 (even)
    expect(allocationPctAtCrossing(curve([1000, 1285], [900, 1000]), 1, 129)).toBeNull(); // 128.5% -> 128
    expect(allocationPctAtCrossing(c, 1, 130)).toBeNull(); // 120%
    expect(allocationPctAtCrossing(curve([], []), 1, 0)).toBeNull();
  });

  it('rounds the allocation half-even to 2 decimals on its exact value', () => {
    expect(allocationPctAtCrossing(curve([40], [107]), 4, 1)).toBe(2.67);
    expect(allocationPctAtCrossing(curve([40], [5]), 4, 1)).toBe(0.12);
  });

  it('rejects a bad GPU count, curve or column', () => {
    expect(() => allocationPctAtCrossing(c, -1, 1)).toThrow(RangeError);
    expect(() => allocationPctAtCrossing(curve([1], []), 1, 1)).toThrow(RangeError);
    expect(() => allocationPctAtCrossing(c, 1, Number.NaN)).toThrow(RangeError);
  });
});
