import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { apportion, divRound, formatKwh, MJ_PER_KWH, requirePueMilli } from './units.js';

describe('divRound', () => {
  it('rounds half away from zero', () => {
    expect(divRound(5n, 2n)).toBe(3n);
    expect(divRound(4n, 3n)).toBe(1n);
    expect(divRound(5n, 3n)).toBe(2n);
    expect(divRound(-5n, 2n)).toBe(-3n);
    expect(divRound(7n, 7n)).toBe(1n);
    expect(() => divRound(1n, 0n)).toThrow(/positive/);
  });
});

describe('apportion (largest remainder)', () => {
  it('splits into whole parts that add up exactly, ties to the earlier index', () => {
    expect(apportion(10n, [1n, 1n, 1n])).toEqual([4n, 3n, 3n]);
    expect(apportion(2n, [1n, 1n, 1n])).toEqual([1n, 1n, 0n]);
    expect(apportion(100n, [3n, 0n, 1n])).toEqual([75n, 0n, 25n]);
    expect(apportion(0n, [0n, 0n])).toEqual([0n, 0n]);
    expect(() => apportion(1n, [0n, 0n])).toThrow(/all zero/);
    expect(() => apportion(-1n, [1n])).toThrow(/negative/);
  });

  it('always adds up and never moves a part by a whole unit or more (seeded)', () => {
    const rng = createRandom(42);
    for (let c = 0; c < 500; c++) {
      const weights = Array.from({ length: 1 + rng.int(8) }, () => BigInt(rng.int(1_000_000)));
      if (!weights.some((w) => w > 0n)) weights[0] = 1n;
      const total = BigInt(rng.int(2_000_000_000)) * 1000n + BigInt(rng.int(1000));
      const parts = apportion(total, weights);
      expect(parts.reduce((s, p) => s + p, 0n)).toBe(total);
      const sum = weights.reduce((s, w) => s + w, 0n);
      parts.forEach((p, i) => {
        const exactTimesSum = total * weights[i]!;
        // |p − total·w/sum| < 1  ⇔  |p·sum − total·w| < sum
        const diff = p * sum - exactTimesSum;
        expect(diff < sum && diff > -sum).toBe(true);
      });
    }
  });
});

describe('formatKwh and PUE checks', () => {
  it('shows kWh with six decimals', () => {
    expect(formatKwh(MJ_PER_KWH)).toBe('1.000000 kWh');
    expect(formatKwh(2_484_000_000)).toBe('0.690000 kWh');
    expect(formatKwh(1800)).toBe('0.000001 kWh'); // 0.5 µkWh rounds up
    expect(formatKwh(12_345 * MJ_PER_KWH)).toBe('12,345.000000 kWh');
  });

  it('accepts PUE 1.0–5.0 in milli and names it otherwise', () => {
    expect(requirePueMilli(1300)).toBe(1300);
    expect(() => requirePueMilli(999)).toThrow(/pueMilli must be a whole number from 1000 to 5000/);
    expect(() => requirePueMilli(1.3)).toThrow(/pueMilli/);
  });
});
