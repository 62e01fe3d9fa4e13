import { describe, expect, it } from 'vitest';
import { findGpuModel } from '../domain/gpu-catalog.js';
import { energyMillijoules, energyOfSteps, expectedPowerForPct, expectedPowerMilliwatts, utilizationFromPower } from './power-model.js';

const h200 = findGpuModel('H200')!;

describe('power model: idle + (busy − idle) × utilisation', () => {
  it('follows the catalog for the H200: 80.3 W idle, 700 W TDP', () => {
    expect(expectedPowerMilliwatts(h200, 0)).toBe(80_300);
    expect(expectedPowerMilliwatts(h200, 1000)).toBe(700_000);
    expect(expectedPowerMilliwatts(h200, 500)).toBe(390_150);
    expect(expectedPowerForPct(h200, 25)).toBe(80_300 + 154_925);
  });

  it('uses a measured busy power when given', () => {
    const measured = { ...h200, busyMilliwatts: 690_000 };
    expect(expectedPowerMilliwatts(measured, 1000)).toBe(690_000);
    // 80,300 + 609,700 × 0.333 = 283,330.1
    expect(expectedPowerMilliwatts(measured, 333)).toBe(283_330);
  });

  it('rounds half up to a whole milliwatt', () => {
    expect(expectedPowerMilliwatts({ idleMilliwatts: 0, tdpMilliwatts: 1 }, 500)).toBe(1);
    expect(expectedPowerMilliwatts({ idleMilliwatts: 0, tdpMilliwatts: 1 }, 499)).toBe(0);
  });

  it('inverts: power back to utilisation, clamped to 0–1000', () => {
    expect(utilizationFromPower(h200, 390_150)).toBe(500);
    expect(utilizationFromPower(h200, 50_000)).toBe(0);
    expect(utilizationFromPower(h200, 750_000)).toBe(1000);
  });

  it('rejects utilisation out of range and busy below idle, naming the field', () => {
    expect(() => expectedPowerMilliwatts(h200, 1001)).toThrow(/utilizationPermille must be a whole number from 0 to 1000/);
    expect(() => expectedPowerForPct(h200, 101)).toThrow(/utilizationPct/);
    expect(() => expectedPowerMilliwatts({ idleMilliwatts: 100, tdpMilliwatts: 50 }, 0)).toThrow(/busy power .* below idle/);
  });
});

describe('energy from the model', () => {
  it('is mW × ms / 1000 mJ', () => {
    expect(energyMillijoules(700_000, 3_600_000)).toBe(2_520_000_000); // 0.7 kWh
    expect(energyMillijoules(1, 500)).toBe(1); // 0.5 mJ rounds up
  });

  it('sums steps before rounding', () => {
    const steps = Array.from({ length: 1000 }, () => ({ durationMs: 1, utilizationPermille: 0 }));
    // 1000 steps of 1 ms at 1 mW: 1 mJ in total, though each step alone is 0.001 mJ.
    expect(energyOfSteps({ idleMilliwatts: 1, tdpMilliwatts: 1 }, steps)).toBe(1);
    expect(energyOfSteps(h200, [{ durationMs: 1_800_000, utilizationPermille: 0 }, { durationMs: 1_800_000, utilizationPermille: 1000 }])).toBe(
      (80_300 * 1_800_000 + 700_000 * 1_800_000) / 1000,
    );
  });
});
