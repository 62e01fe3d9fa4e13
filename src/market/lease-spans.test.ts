import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { chargeSpans, type LeaseCursor } from './lease-spans.js';
import { chargeMicros } from './money.js';

const lease = (over: Partial<LeaseCursor>): LeaseCursor => ({ id: 'l1', startAt: 0, endAt: null, chargedUntil: 0, priceMicros: 15_000_000, gpuMilli: 500, ...over });

describe('charging leases over a metering window', () => {
  it('splits a window at a price change', () => {
    const leases = [lease({ id: 'a', startAt: 0, endAt: 60_000 }), lease({ id: 'b', startAt: 60_000, priceMicros: 30_000_000 })];
    const spans = chargeSpans(leases, 0, 120_000);
    expect(spans.map((s) => [s.leaseId, s.from, s.to])).toEqual([
      ['a', 0, 60_000],
      ['b', 60_000, 120_000],
    ]);
    // 0.5 GPU × 1 min at ¥15/h = ¥0.125; at ¥30/h = ¥0.25
    expect(spans.map((s) => s.amountMicros)).toEqual([125_000, 250_000]);
  });

  it('never charges a lease twice or past its end, and skips time no lease covers', () => {
    const leases = [lease({ id: 'a', startAt: 10_000, endAt: 20_000, chargedUntil: 15_000 })];
    expect(chargeSpans(leases, 0, 30_000).map((s) => [s.from, s.to])).toEqual([[15_000, 20_000]]);
    expect(chargeSpans([lease({ id: 'a', endAt: 20_000, chargedUntil: 20_000 })], 0, 30_000)).toEqual([]);
  });

  it('adds up to the one-shot charge however the time is cut into passes', () => {
    const random = createRandom(7);
    for (let trial = 0; trial < 200; trial++) {
      const price = 1 + random.int(100_000_000);
      const milli = 1 + random.int(8000);
      const end = 1 + random.int(10 * 3_600_000);
      const cursor = lease({ priceMicros: price, gpuMilli: milli, endAt: end });
      let total = 0;
      let at = 0;
      while (at < end) {
        const next = Math.min(end, at + 1 + random.int(900_000));
        for (const s of chargeSpans([cursor], at, next)) total += s.amountMicros;
        cursor.chargedUntil = next;
        at = next;
      }
      expect(total).toBe(chargeMicros(price, milli, end));
    }
  });
});
