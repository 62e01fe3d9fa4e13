import { describe, expect, it } from 'vitest';
import { costFloor, marginPermille, type CostInputs } from './cost-floor.js';

// A worked example (docs/pricing.md): an H100 bought for ¥250,000 with its share of the server,
// written off over 48 months, 700 W busy and 70 W idle, PUE 1.3, ¥0.65/kWh, ¥1.50 overhead per
// GPU-hour, 60% of hours sold.
const h100: CostInputs = {
  purchasePriceMicros: 250_000_000_000,
  depreciationMonths: 48,
  busyMilliwatts: 700_000,
  idleMilliwatts: 70_000,
  pueMilli: 1300,
  tariffMicrosPerKwh: 650_000,
  overheadMicrosPerGpuHour: 1_500_000,
  expectedUtilizationPermille: 600,
};

describe('cost floor', () => {
  it('spreads the fixed costs over the hours sold and adds the energy of a busy hour', () => {
    const floor = costFloor(h100);
    // depreciation: 250,000 / (48 × 730.5) = ¥7.129820 per hour, / 0.6 = ¥11.883033 per sold hour
    expect(floor.depreciationMicros).toBeCloseTo(11_883_032.93, 1);
    // overhead: 1.5 / 0.6 = ¥2.50
    expect(floor.overheadMicros).toBeCloseTo(2_500_000, 6);
    // idle: 0.07 kW × 1.3 × 0.65 = ¥0.05915 per hour, × 0.4 / 0.6 = ¥0.039433
    expect(floor.idleEnergyMicros).toBeCloseTo(39_433.33, 1);
    // busy: 0.7 kW × 1.3 × 0.65 = ¥0.5915
    expect(floor.busyEnergyMicros).toBeCloseTo(591_500, 6);
    expect(floor.perGpuHourMicros).toBe(15_013_967);
  });

  it('rises as fewer hours are sold', () => {
    const busy = costFloor({ ...h100, expectedUtilizationPermille: 900 }).perGpuHourMicros;
    const quiet = costFloor({ ...h100, expectedUtilizationPermille: 300 }).perGpuHourMicros;
    expect(quiet).toBeGreaterThan(2 * busy);
  });

  it('rejects inputs that are not whole numbers in range, naming them', () => {
    expect(() => costFloor({ ...h100, pueMilli: 900 })).toThrow(/pueMilli must be a whole number from 1000/);
    expect(() => costFloor({ ...h100, expectedUtilizationPermille: 0 })).toThrow(/expectedUtilizationPermille/);
    expect(() => costFloor({ ...h100, purchasePriceMicros: 1.5 })).toThrow(/purchasePriceMicros/);
  });

  it('reports margin per mille of the price', () => {
    expect(marginPermille(20_000_000, 15_000_000)).toBe(250);
    expect(marginPermille(10_000_000, 15_000_000)).toBe(-500);
  });
});
