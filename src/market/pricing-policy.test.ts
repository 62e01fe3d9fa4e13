import { describe, expect, it } from 'vitest';
import { createPricingPolicy, fixedPricing, timeOfUsePricing, utilizationPricing, type PriceContext } from './pricing-policy.js';

const base: PriceContext = {
  model: 'H100',
  tier: 'on-demand',
  listMicros: 20_000_000,
  floorMicros: 15_000_000,
  utilizationPermille: 500,
  at: Date.UTC(2026, 10, 28, 4, 0, 0), // 12:00 in Beijing (UTC+8)
  utcOffsetMinutes: 480,
};

describe('pricing policies', () => {
  it('fixed: the list price', () => {
    expect(fixedPricing().pricePerGpuHour(base)).toBe(20_000_000);
  });

  it('utilization: cheaper when idle, dearer when full, between the floor and the cap', () => {
    const policy = utilizationPricing({ idleMultiplierPermille: 500, fullMultiplierPermille: 2000, capPermille: 1500 });
    // half busy: 0.5 + 1.5 × 0.5 = 1.25× → ¥25
    expect(policy.pricePerGpuHour(base)).toBe(25_000_000);
    // idle: 0.5× = ¥10, below the ¥15 floor → the floor
    expect(policy.pricePerGpuHour({ ...base, utilizationPermille: 0 })).toBe(15_000_000);
    // full: 2× = ¥40, above the 1.5× cap → ¥30
    expect(policy.pricePerGpuHour({ ...base, utilizationPermille: 1000 })).toBe(30_000_000);
  });

  it('time-of-use: the off-peak window in the center’s local time, wrapping past midnight', () => {
    const policy = timeOfUsePricing([{ startHour: 23, hours: 8, multiplierPermille: 800 }]);
    expect(policy.pricePerGpuHour(base)).toBe(20_000_000); // noon
    const at = (localHour: number) => Date.UTC(2026, 10, 28, localHour, 30) - 8 * 3_600_000; // h:30 in Beijing
    expect(policy.pricePerGpuHour({ ...base, at: at(23) })).toBe(16_000_000);
    expect(policy.pricePerGpuHour({ ...base, at: at(3) })).toBe(16_000_000);
    expect(policy.pricePerGpuHour({ ...base, at: at(7) })).toBe(20_000_000);
    // never below the floor
    expect(timeOfUsePricing([{ startHour: 0, hours: 24, multiplierPermille: 100 }]).pricePerGpuHour(base)).toBe(15_000_000);
  });

  it('is chosen by name, with a clear error for an unknown one', () => {
    expect(createPricingPolicy('utilization').name).toBe('utilization');
    expect(() => createPricingPolicy('surge')).toThrow(/unknown pricing policy "surge"; choose one of fixed, utilization, time-of-use/);
    expect(() => timeOfUsePricing([{ startHour: 24, hours: 1, multiplierPermille: 1 }])).toThrow(/startHour/);
  });
});
