import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './config.js';
import { controlOptions } from './server.js';

describe('allocated-but-idle settings', () => {
  it('default to 5 %, 30 minutes and no reclaim, and reach the control plane', () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({ idleThresholdPct: 5, idleMinutes: 30, reclaimIdleSpot: false });
    expect(controlOptions(config).idle).toEqual({ thresholdPct: 5, idleForMs: 30 * 60_000, reclaimSpot: false });
  });

  it('are read from UNIDLE_IDLE_THRESHOLD_PCT, UNIDLE_IDLE_MINUTES and UNIDLE_RECLAIM_IDLE_SPOT', () => {
    const config = resolveConfig({}, { UNIDLE_IDLE_THRESHOLD_PCT: '2.5', UNIDLE_IDLE_MINUTES: '15', UNIDLE_RECLAIM_IDLE_SPOT: 'true' });
    expect(controlOptions(config).idle).toEqual({ thresholdPct: 2.5, idleForMs: 15 * 60_000, reclaimSpot: true });
    expect(resolveConfig({}, { UNIDLE_RECLAIM_IDLE_SPOT: 'false' }).reclaimIdleSpot).toBe(false);
  });

  it('refuse nonsense with a message naming the setting', () => {
    expect(() => resolveConfig({}, { UNIDLE_IDLE_THRESHOLD_PCT: '150' })).toThrow(ConfigError);
    expect(() => resolveConfig({}, { UNIDLE_IDLE_THRESHOLD_PCT: 'low' })).toThrow(/UNIDLE_IDLE_THRESHOLD_PCT must be a utilization percentage from 0 to below 100/);
    expect(() => resolveConfig({}, { UNIDLE_IDLE_MINUTES: '0' })).toThrow(/UNIDLE_IDLE_MINUTES must be a whole number ≥ 1 \(got "0"\)/);
    expect(() => resolveConfig({}, { UNIDLE_IDLE_MINUTES: '2.5' })).toThrow(ConfigError);
    expect(() => resolveConfig({}, { UNIDLE_RECLAIM_IDLE_SPOT: 'maybe' })).toThrow(/UNIDLE_RECLAIM_IDLE_SPOT must be true or false \(got "maybe"\)/);
  });
});
