import { describe, expect, it } from 'vitest';
import { createRandom, createRandomFromState, randomPermutation, shuffleInPlace, type Random } from './random.js';

const TWO_POW_32 = 2 ** 32;

/** Pearson's statistic of observed counts against equal expected counts. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('createRandom', () => {
  it('matches the xoshiro128** reference implementation (state 1,2,3,4 and another)', () => {
    // Outputs of the reference C code (prng.di.unimi.it/xoshiro128starstar.c) from these states.
    const a = createRandomFromState([1, 2, 3, 4]);
    expect(Array.from({ length: 8 }, () => a.int(TWO_POW_32))).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
    ]);
    const b = createRandomFromState([0x9e3779b9, 0x12345678, 0xdeadbeef, 0xcafebabe]);
    expect(Array.from({ length: 4 }, () => b.int(TWO_POW_32))).toEqual([2576977301, 1472368062, 3841728070, 1492763831]);
  });

  it('pins the stream of seed 42 so it cannot change silently', () => {
    const raw = createRandom(42);
    expect(Array.from({ length: 4 }, () => raw.int(TWO_POW_32))).toEqual([2837322924, 544945897, 479756282, 3500138142]);
    const mixed = createRandom(42);
    expect([mixed.float(), mixed.float(), mixed.float()]).toEqual([0.6606157208001621, 0.1117019639532224, 0.0791056456144914]);
    expect([mixed.int(10), mixed.int(1000), mixed.int(7)]).toEqual([6, 688, 2]);
    expect(Array.from(randomPermutation(10, createRandom(42)))).toEqual([3, 6, 8, 7, 5, 0, 9, 2, 1, 4]);
  });

  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const draw = (seed: number) => {
      const r = createRandom(seed);
      return Array.from({ length: 16 }, () => r.int(1_000_000));
    };
    expect(draw(7)).toEqual(draw(7));
    const seeds = [0, 1, 2, 42, -1, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const firsts = new Set(seeds.map((s) => createRandom(s).int(TWO_POW_32)));
    // Seeds differing only above bit 32 must not share their first outputs.
    expect(firsts.size).toBe(seeds.length);
  });

  it('rejects seeds that are not safe integers', () => {
    for (const bad of [1.5, Number.NaN, Infinity, 2 ** 53]) expect(() => createRandom(bad)).toThrow(RangeError);
  });

  it('rejects an all-zero or malformed state', () => {
    expect(() => createRandomFromState([0, 0, 0, 0])).toThrow(RangeError);
    expect(() => createRandomFromState([1, 2, 3, TWO_POW_32])).toThrow(RangeError);
    expect(() => createRandomFromState([1, 2, -3, 4])).toThrow(RangeError);
  });
});

describe('Random.float', () => {
  it('stays in [0, 1) with a mean near 1/2', () => {
    const r = createRandom(1);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 100_000; i++) {
      const x = r.float();
      sum += x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Standard error of the mean is 1/sqrt(12 * 1e5) ~ 0.0009; 0.005 is > 5 sigma.
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.005);
  });
});

describe('Random.int', () => {
  it('stays in 0..n-1 and returns integers', () => {
    const r = createRandom(2);
    for (const n of [1, 2, 3, 7, 1000, 3 * 2 ** 30, TWO_POW_32]) {
      const draws = Array.from({ length: 200 }, () => r.int(n));
      expect(draws.every((x) => Number.isInteger(x) && x >= 0 && x < n)).toBe(true);
    }
    expect(r.int(1)).toBe(0);
  });

  it('is roughly uniform (chi-square bound with a fixed seed)', () => {
    const r = createRandom(3);
    for (const n of [10, 6]) {
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < 60_000; i++) counts[r.int(n)]! += 1;
      // 99.9th percentile of chi-square with 9 df is 27.9 (5 df: 20.5).
      expect(chiSquare(counts)).toBeLessThan(n === 10 ? 27.9 : 20.5);
    }
  });

  it('is unbiased where plain modulo would not be (n = 3 * 2^30)', () => {
    // With n = 3 * 2^30, `x mod n` maps two of the 2^32 draws onto each value below 2^30 and one onto
    // the rest, so the first third of the range would get half the draws; rejection keeps it at 1/3.
    const r = createRandom(4);
    const n = 3 * 2 ** 30;
    let firstThird = 0;
    for (let i = 0; i < 20_000; i++) if (r.int(n) < 2 ** 30) firstThird += 1;
    expect(Math.abs(firstThird / 20_000 - 1 / 3)).toBeLessThan(0.02);
  });

  it('rejects n that is not an integer from 1 to 2^32', () => {
    const r = createRandom(5);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, TWO_POW_32 + 1]) expect(() => r.int(bad)).toThrow(RangeError);
  });
});

describe('shuffleInPlace and randomPermutation', () => {
  it('draws int(i + 1) for i = n-1 down to 1 and swaps i with the draw', () => {
    const asked: number[] = [];
    const zeroes: Random = {
      float: () => 0,
      int: (n) => {
        asked.push(n);
        return 0;
      },
    };
    const items = ['a', 'b', 'c', 'd'];
    shuffleInPlace(items, zeroes);
    expect(asked).toEqual([4, 3, 2]);
    // i=3 swaps with 0: d b c a; i=2 with 0: c b d a; i=1 with 0: b c d a.
    expect(items).toEqual(['b', 'c', 'd', 'a']);
  });

  it('leaves empty and one-element arrays alone without drawing', () => {
    const never: Random = {
      float: () => {
        throw new Error('drew');
      },
      int: () => {
        throw new Error('drew');
      },
    };
    const empty: number[] = [];
    shuffleInPlace(empty, never);
    shuffleInPlace([1], never);
    expect(empty).toEqual([]);
    expect(randomPermutation(0, never)).toEqual(new Int32Array(0));
  });

  it('returns a permutation of 0..n-1, all 6 orders of 3 about equally often', () => {
    const r = createRandom(6);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const key = Array.from(randomPermutation(3, r)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['012', '021', '102', '120', '201', '210']);
    expect(chiSquare([...counts.values()])).toBeLessThan(20.5);
    const big = randomPermutation(1000, r);
    expect(Array.from(big).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('rejects a bad size', () => {
    expect(() => randomPermutation(-1, createRandom(1))).toThrow(RangeError);
    expect(() => randomPermutation(2.5, createRandom(1))).toThrow(RangeError);
  });
});
