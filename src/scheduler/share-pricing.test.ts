import { describe, expect, it } from 'vitest';
import { SharePricing } from './share-pricing.js';

function priced(sizes: Record<number, number>): SharePricing {
  const pricing = new SharePricing();
  for (const [size, count] of Object.entries(sizes)) for (let i = 0; i < count; i++) pricing.observe(Number(size));
  pricing.solve();
  return pricing;
}

describe('SharePricing', () => {
  it('loses nothing before it has learned anything', () => {
    const pricing = new SharePricing();
    expect(pricing.loss(470, 1000)).toBe(0);
    expect(pricing.loss(220, 350)).toBe(0);
  });

  it('prices sizes by the packing LP: perfect pairs share a GPU', () => {
    const pricing = priced({ 650: 10, 350: 10 });
    expect(pricing.prices.get(650)! + pricing.prices.get(350)!).toBeCloseTo(1, 9);
    expect(pricing.loss(350, 350)).toBeCloseTo(0, 6);
    expect(pricing.loss(650, 1000)).toBeCloseTo(0, 6);
  });

  it('keeps a gap for the size that fills it when fillers are scarce', () => {
    // 650 + 320 packs well (the spare 320s go three to a GPU); a 220 in a 350 gap wastes 130 and
    // leaves a 320 without its partner.
    const pricing = priced({ 650: 20, 320: 30, 220: 10 });
    expect(pricing.loss(320, 350)).toBeCloseTo(0, 6);
    expect(pricing.loss(220, 350)).toBeGreaterThan(50);
  });

  it('gives abundant gaps a worthless filler: 810s outnumber everything that fits beside them', () => {
    const pricing = priced({ 810: 100, 160: 5 });
    expect(pricing.prices.get(810)).toBeCloseTo(1, 9);
    expect(pricing.prices.get(160)).toBeCloseTo(0, 9);
    expect(pricing.loss(160, 190)).toBeCloseTo(0, 6);
  });
});

describe('SharePricing on many distinct sizes', () => {
  it('prices only the most common sizes and stays fast', () => {
    const pricing = new SharePricing();
    for (let size = 1; size < 1000; size++) for (let i = 0; i < 1 + (size % 7); i++) pricing.observe(size);
    const started = performance.now();
    pricing.solve();
    expect(pricing.prices.size).toBeLessThanOrEqual(64);
    expect(performance.now() - started).toBeLessThan(20_000);
    // an unpriced size loses nothing by default
    expect(pricing.loss(1, 1000)).toBeGreaterThanOrEqual(0);
  });
});
