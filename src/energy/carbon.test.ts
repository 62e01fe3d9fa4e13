import { describe, expect, it } from 'vitest';
import { CHINA_GRID_2023_MG_PER_KWH, CHINA_REGIONAL_GRID_2023_MG_PER_KWH, co2Grams, co2Milligrams, formatCo2 } from './carbon.js';
import { MJ_PER_KWH } from './units.js';

describe('carbon', () => {
  it('defaults to China’s 2023 grid factor, 530.6 g/kWh', () => {
    expect(CHINA_GRID_2023_MG_PER_KWH).toBe(530_600);
    expect(co2Milligrams(MJ_PER_KWH, 1000)).toBe(530_600);
  });

  it('1 kWh at PUE 1.3 emits 689.78 g', () => {
    const mg = co2Milligrams(MJ_PER_KWH, 1300);
    expect(mg).toBe(689_780);
    expect(co2Grams(mg)).toBe(690);
    expect(formatCo2(mg)).toBe('689.78 g');
  });

  it('takes a center’s own intensity, e.g. the southwest grid', () => {
    expect(co2Milligrams(MJ_PER_KWH, 1300, CHINA_REGIONAL_GRID_2023_MG_PER_KWH.southwest)).toBe(321_360);
  });

  it('rounds once, half away from zero, to a whole milligram', () => {
    // 1 mg per 6,784.6… mJ at 530.6 g/kWh and PUE 1.0; with 1 g/kWh: 1 mg per 3.6e6 mJ.
    expect(co2Milligrams(1_800_000, 1000, 1000)).toBe(1); // 0.5 mg → 1
    expect(co2Milligrams(1_799_999, 1000, 1000)).toBe(0);
    expect(co2Milligrams(0, 1300)).toBe(0);
  });

  it('shows sizes people read', () => {
    expect(formatCo2(999)).toBe('999 mg');
    expect(formatCo2(12_345_678)).toBe('12.35 kg');
    // 8 idle H200 (78 W) for a year ≈ 5.47 MWh ≈ 2.90 t at 530.6 g/kWh (the notes' §3.4 estimate).
    expect(formatCo2(co2Milligrams(8 * 78_000 * 8_760 * 3_600, 1000))).toBe('2.90 t');
  });

  it('rejects what is not a whole, in-range number', () => {
    expect(() => co2Milligrams(-1, 1300)).toThrow(/energy \(mJ\)/);
    expect(() => co2Milligrams(1, 1300, 530.6)).toThrow(/intensityMgPerKwh/);
    expect(() => co2Milligrams(1, 800)).toThrow(/pueMilli/);
  });
});
