import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { clearSpotMarket, type SpotBid } from './spot-market.js';

const bid = (id: string, milli: number, maxPriceMicros: number, order = 0): SpotBid => ({ id, milli, maxPriceMicros, order });

describe('spot market', () => {
  it('serves everyone at the floor while capacity is idle', () => {
    const r = clearSpotMarket({ capacityMilli: 8000, floorMicros: 5_000_000, bids: [bid('a', 1000, 9_000_000), bid('b', 500, 6_000_000)] });
    expect(r).toEqual({ priceMicros: 5_000_000, winners: ['a', 'b'], losers: [] });
  });

  it('rises to the highest unserved bid when capacity runs out, and the outbid job loses', () => {
    const r = clearSpotMarket({ capacityMilli: 2000, floorMicros: 5_000_000, bids: [bid('a', 1000, 9_000_000), bid('b', 1000, 8_000_000), bid('c', 1000, 7_000_000)] });
    expect(r).toEqual({ priceMicros: 7_000_000, winners: ['a', 'b'], losers: ['c'] });
  });

  it('never charges a winner more than its bid, even when a bigger, higher bid lost on size', () => {
    const r = clearSpotMarket({ capacityMilli: 1000, floorMicros: 5_000_000, bids: [bid('big', 2000, 12_000_000), bid('small', 1000, 6_000_000)] });
    expect(r).toEqual({ priceMicros: 6_000_000, winners: ['small'], losers: ['big'] });
  });

  it('drops bids below the floor and breaks price ties by order', () => {
    const r = clearSpotMarket({ capacityMilli: 1000, floorMicros: 5_000_000, bids: [bid('late', 1000, 6_000_000, 2), bid('early', 1000, 6_000_000, 1), bid('cheap', 100, 4_000_000)] });
    expect(r.winners).toEqual(['early']);
    expect(r.losers).toEqual(['late', 'cheap']);
    expect(r.priceMicros).toBe(6_000_000);
  });

  it('holds its invariants on random markets: capacity respected, winners pay at most their bid, price ≥ floor', () => {
    const rng = createRandom(9);
    for (let trial = 0; trial < 300; trial++) {
      const bids = Array.from({ length: rng.int(20) }, (_, i) => bid(`b${i}`, 100 * (1 + rng.int(20)), 1_000_000 * (1 + rng.int(20)), i));
      const floor = 1_000_000 * (1 + rng.int(5));
      const capacity = 100 * rng.int(100);
      const r = clearSpotMarket({ capacityMilli: capacity, floorMicros: floor, bids });
      const byId = new Map(bids.map((b) => [b.id, b]));
      expect(r.winners.reduce((s, id) => s + byId.get(id)!.milli, 0)).toBeLessThanOrEqual(capacity);
      for (const id of r.winners) expect(byId.get(id)!.maxPriceMicros).toBeGreaterThanOrEqual(r.priceMicros);
      expect(r.priceMicros).toBeGreaterThanOrEqual(floor);
      expect(r.winners.length + r.losers.length).toBe(bids.length);
    }
  });
});
