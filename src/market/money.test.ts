import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { addMoney, chargeBetween, chargeMicros, formatMoney, money, parseAmount, scaleMicros } from './money.js';

describe('money', () => {
  it('charges a share of a GPU per millisecond, exactly, rounded once', () => {
    // ¥20 per GPU-hour, half a GPU, 90 s → 20 × 0.5 × 90/3600 = ¥0.25
    expect(chargeMicros(20_000_000, 500, 90_000)).toBe(250_000);
    // 1 ms of 1 milli-GPU at ¥20/h = 0.0000000055… micros → 0
    expect(chargeMicros(20_000_000, 1, 1)).toBe(0);
    // no overflow: ¥100,000/h × 64 GPUs × a year
    expect(chargeMicros(100_000_000_000, 64_000, 365 * 24 * 3_600_000)).toBe(100_000_000_000 * 64 * 365 * 24);
  });

  it('charging in any number of passes adds up to the one-shot charge', () => {
    const rng = createRandom(5);
    for (let trial = 0; trial < 200; trial++) {
      const price = 1 + rng.int(50_000_000);
      const milli = 1 + rng.int(8000);
      const total = rng.int(10 * 3_600_000);
      let at = 0;
      let charged = 0;
      while (at < total) {
        const next = Math.min(total, at + 1 + rng.int(20_000));
        charged += chargeBetween(price, milli, at, next);
        at = next;
      }
      expect(charged).toBe(chargeMicros(price, milli, total));
    }
  });

  it('refuses floats, negatives and mixed currencies', () => {
    expect(() => chargeMicros(1.5, 1000, 1000)).toThrow(/whole number/);
    expect(() => chargeMicros(1, -1, 1000)).toThrow(/non-negative/);
    expect(() => money(0.1)).toThrow(/micro-units/);
    expect(() => addMoney(money(1, 'CNY'), money(1, 'USD'))).toThrow(/cannot add USD to CNY/);
    expect(() => chargeBetween(1, 1, 10, 5)).toThrow(/backwards/);
  });

  it('parses and formats decimal amounts without floats', () => {
    expect(parseAmount('12.5')).toBe(12_500_000);
    expect(parseAmount('0.000001')).toBe(1);
    expect(parseAmount('-3')).toBe(-3_000_000);
    expect(parseAmount('1.0000001')).toBeUndefined();
    expect(parseAmount('abc')).toBeUndefined();
    expect(formatMoney(money(12_500_000))).toBe('CNY 12.50');
    expect(formatMoney(money(125))).toBe('CNY 0.000125');
    expect(formatMoney(money(-1_234_567_000_000))).toBe('CNY -1,234,567.00');
  });

  it('scales with half-away-from-zero rounding', () => {
    expect(scaleMicros(1_000_001, 1, 2)).toBe(500_001);
    expect(scaleMicros(-3, 1, 2)).toBe(-2);
    expect(scaleMicros(10_000_000, 1300, 1000)).toBe(13_000_000);
  });
});
