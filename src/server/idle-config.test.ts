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

describe('parking settings', () => {
  it('default to no parking with the simulated driver, and reach the control plane', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject({ parkingPolicy: 'off', powerDriver: 'simulated', parkAfterMinutes: 30, wakeTimeoutMs: 600_000, simulatedWakeMs: 60_000, parkingMarginGpus: 8, parkingMaxCyclesPerDay: 2, parkingMaxCyclesPer24h: 3 });
    expect(resolveConfig({}, { UNIDLE_PARKING_MAX_CYCLES: '4' })).toMatchObject({ parkingMaxCyclesPerDay: 4, parkingMaxCyclesPer24h: 5 });
    expect(controlOptions(resolveConfig({}, { UNIDLE_PARKING_MAX_CYCLES_24H: '2' })).parking).toMatchObject({ maxCyclesPerDay: 2, maxCyclesPer24h: 2 });
    const o = controlOptions(resolveConfig({}, { UNIDLE_PARKING: 'unidle', UNIDLE_PARK_AFTER_MINUTES: '20' }));
    expect(o.parking).toMatchObject({ policy: 'unidle', idleMs: 20 * 60_000 });
    expect(o.parking?.driver?.name).toBe('simulated');
  });

  it('refuse an unknown policy or driver, and a command driver without its commands', () => {
    expect(() => resolveConfig({}, { UNIDLE_PARKING: 'sometimes' })).toThrow(/UNIDLE_PARKING must be one of off, idle-timer, unidle/);
    expect(() => resolveConfig({}, { UNIDLE_PARKING_MAX_CYCLES: '3', UNIDLE_PARKING_MAX_CYCLES_24H: '2' })).toThrow(/UNIDLE_PARKING_MAX_CYCLES_24H must be a whole number ≥ 3/);
    expect(() => resolveConfig({}, { UNIDLE_POWER_DRIVER: 'ipmi' })).toThrow(/UNIDLE_POWER_DRIVER must be simulated or command/);
    expect(() => resolveConfig({}, { UNIDLE_POWER_DRIVER: 'command', UNIDLE_POWER_PARK_CMD: 'true' })).toThrow(/needs UNIDLE_POWER_PARK_CMD and UNIDLE_POWER_WAKE_CMD/);
    expect(controlOptions(resolveConfig({}, { UNIDLE_POWER_DRIVER: 'command', UNIDLE_POWER_PARK_CMD: 'true', UNIDLE_POWER_WAKE_CMD: 'true' })).parking?.driver?.name).toBe('command');
  });
});
