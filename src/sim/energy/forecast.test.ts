import { describe, expect, it } from 'vitest';
import { holtWintersDemandForecast } from './forecast.js';

describe('Holt-Winters demand forecast for the replay', () => {
  it('gives nothing before two weeks, then an upper bound above the daily wave', () => {
    const f = holtWintersDemandForecast({ capacityGpus: 1000 });
    const wave = (t: number) => 500 + 200 * Math.sin((2 * Math.PI * t) / 144) + ((t * 7919) % 13);
    for (let t = 0; t < 2 * 1008 - 1; t++) f.observe(wave(t));
    expect(f.upperOver(1)).toBeUndefined();
    f.observe(wave(2 * 1008 - 1));
    expect(f.fits).toBe(1);
    for (let t = 2 * 1008; t < 2 * 1008 + 50; t++) f.observe(wave(t));
    const upper = f.upperOver(2)!;
    const next = Math.max(wave(2 * 1008 + 50), wave(2 * 1008 + 51));
    expect(upper).toBeGreaterThanOrEqual(next - 1);
    expect(upper).toBeLessThan(next + 60);
    expect(upper).toBeLessThanOrEqual(1000);
  });
});
