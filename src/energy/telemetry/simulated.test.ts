import { describe, expect, it } from 'vitest';
import { GPU_CATALOG, findGpuModel } from '../../domain/gpu-catalog.js';
import { SimulatedTelemetrySource, type SimulatedDevice } from './simulated.js';

const HOUR = 3_600_000;
const h200 = (index: number): SimulatedDevice => ({ model: 'H200', index, uuid: `GPU-sim-${index}` });

describe('SimulatedTelemetrySource', () => {
  it('integrates 1 h at 700 W into exactly 2,520,000,000 mJ', async () => {
    const source = new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => 1000, jitterPct: 0 });
    expect(source.name).toBe('simulated');
    const [first] = await source.sample(10 * HOUR);
    expect(first).toEqual({
      at: 10 * HOUR,
      deviceIndex: 0,
      uuid: 'GPU-sim-0',
      utilizationPct: 100,
      memoryUsedMib: 143_771,
      powerMilliwatts: 700_000,
      energyMillijoules: 0,
      temperatureC: 64,
      smClockMhz: 1485,
      pstate: 'P0',
    });
    const [later] = await source.sample(11 * HOUR);
    expect(later!.energyMillijoules).toBe(2_520_000_000);
  });

  it('powered off (a parked node) it draws nothing and gives no readings; on again, it idles', () => {
    const idle = findGpuModel('H200')!.idleMilliwatts;
    const source = new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => 0, jitterPct: 0 });
    expect(source.sampleSync(0)[0]!.energyMillijoules).toBe(0);
    // Off half an hour in: the counter takes that half hour at idle power, then stands still.
    source.setPowered(false, HOUR / 2);
    expect(source.isPowered).toBe(false);
    expect(source.sampleSync(HOUR)).toEqual([]);
    source.setPowered(true, 3 * HOUR);
    const [back] = source.sampleSync(3 * HOUR);
    expect(back!.energyMillijoules).toBe((idle * HOUR) / 2 / 1000);
    expect(back!.powerMilliwatts).toBe(idle);
    expect(source.sampleSync(4 * HOUR)[0]!.energyMillijoules).toBe((idle * 1.5 * HOUR) / 1000);
  });

  it('draws the catalog idle power when nothing is allocated, with no jitter on idle devices', () => {
    const source = new SimulatedTelemetrySource({
      devices: [h200(0), { model: '910B', index: 1, uuid: 'NPU-sim-1' }],
      allocatedMilli: () => 0,
      jitterPct: 5,
    });
    const samples = source.sampleSync(0);
    expect(samples.map((s) => [s.utilizationPct, s.powerMilliwatts, s.memoryUsedMib, s.temperatureC, s.smClockMhz, s.pstate])).toEqual([
      [0, findGpuModel('H200')!.idleMilliwatts, 0, 40, 345, 'P0'],
      [0, 90_000, 0, 40, 345, null],
    ]);
    // 24 h idle on an H200: 80.3 W × 86,400 s.
    expect(source.sampleSync(24 * HOUR)[0]!.energyMillijoules).toBe(80_300 * 86_400);
  });

  it('follows the allocated share: power = idle + (tdp − idle) × utilisation', () => {
    let milli = 250;
    const source = new SimulatedTelemetrySource({ devices: [h200(3)], allocatedMilli: () => milli, jitterPct: 0 });
    const quarter = source.sampleSync(0)[0]!;
    expect(quarter).toMatchObject({ deviceIndex: 3, utilizationPct: 25, powerMilliwatts: 80_300 + 154_925, memoryUsedMib: 35_942 });
    milli = 1;
    expect(source.sampleSync(1)[0]).toMatchObject({ utilizationPct: 0, powerMilliwatts: 80_300, memoryUsedMib: 143 });
    milli = 995;
    expect(source.sampleSync(2)[0]).toMatchObject({ utilizationPct: 100, powerMilliwatts: 700_000 });
  });

  it('holds each sample’s power until the next, carrying sub-millijoule energy exactly', () => {
    let milli = 0;
    const source = new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => milli, jitterPct: 0, initialEnergyMillijoules: 5 });
    expect(source.sampleSync(0)[0]!.energyMillijoules).toBe(5);
    // 80.3 W for 1 ms is 80.3 mJ: a thousand 1-ms steps must add exactly 80,300 mJ, not 80,000.
    let last = 0;
    for (let t = 1; t <= 1000; t++) last = source.sampleSync(t)[0]!.energyMillijoules!;
    expect(last).toBe(5 + 80_300);
    milli = 1000; // the new power applies from this sample on
    expect(source.sampleSync(1000)[0]).toMatchObject({ powerMilliwatts: 700_000, energyMillijoules: 5 + 80_300 });
    expect(source.sampleSync(2000)[0]!.energyMillijoules).toBe(5 + 80_300 + 700_000);
  });

  it('is deterministic from its seed, jitters allocated devices only, and its counter adds up exactly', () => {
    const devices = [h200(0), h200(1), h200(2), h200(3)];
    const share = (d: SimulatedDevice, now: number) => (d.index === 3 ? 0 : ((d.index + 1) * 250 + Math.floor(now / 60_000) * 10) % 1001);
    const run = (seed: number) => {
      const source = new SimulatedTelemetrySource({ devices, allocatedMilli: share, seed, jitterPct: 3 });
      const series = [];
      for (let t = 0; t <= 60 * 60_000; t += 10_000) series.push(source.sampleSync(t));
      return series;
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);

    // Jitter stays within ±3 points of the allocation, never touches the idle device.
    for (const samples of a) {
      for (const s of samples) {
        const milli = share(devices[s.deviceIndex]!, s.at);
        if (milli === 0) expect(s.utilizationPct).toBe(0);
        else expect(Math.abs(s.utilizationPct! - milli / 10)).toBeLessThanOrEqual(3.5);
        expect(s.powerMilliwatts).toBe(80_300 + Math.round((619_700 * s.utilizationPct!) / 100));
      }
    }
    expect(new Set(a.map((samples) => samples[0]!.utilizationPct)).size).toBeGreaterThan(3);

    // The counter is exactly Σ power × Δt (mW × ms = µJ), floored to mJ.
    for (let d = 0; d < devices.length; d++) {
      let microjoules = 0n;
      for (let k = 1; k < a.length; k++) {
        const prev = a[k - 1]![d]!;
        const cur = a[k]![d]!;
        microjoules += BigInt(prev.powerMilliwatts!) * BigInt(cur.at - prev.at);
        expect(cur.energyMillijoules).toBe(Number(microjoules / 1000n));
      }
    }
  });

  it('samples devices in index order and uses the given catalog', () => {
    const custom = GPU_CATALOG.map((m) => (m.id === 'H200' ? { ...m, idleMilliwatts: 75_000 } : m));
    const source = new SimulatedTelemetrySource({ devices: [h200(5), h200(2)], allocatedMilli: () => 0, catalog: custom });
    expect(source.sampleSync(0).map((s) => [s.deviceIndex, s.powerMilliwatts])).toEqual([
      [2, 75_000],
      [5, 75_000],
    ]);
  });

  it('rejects bad configuration, bad shares and time going backwards', () => {
    expect(() => new SimulatedTelemetrySource({ devices: [{ model: 'B300', index: 0, uuid: 'x' }], allocatedMilli: () => 0 })).toThrow(/unknown GPU model "B300"/);
    expect(() => new SimulatedTelemetrySource({ devices: [h200(0), h200(0)], allocatedMilli: () => 0 })).toThrow(/index 0 appears twice/);
    expect(() => new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => 0, jitterPct: -1 })).toThrow(/jitterPct/);
    const over = new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => 1001 });
    expect(() => over.sampleSync(0)).toThrow(/allocated share of device 0 must be an integer from 0 to 1000 milli-GPU, got 1001/);
    const source = new SimulatedTelemetrySource({ devices: [h200(0)], allocatedMilli: () => 0 });
    source.sampleSync(1000);
    expect(() => source.sampleSync(999)).toThrow(/went backwards/);
    expect(source.sampleSync(1000)[0]!.energyMillijoules).toBe(0);
  });
});
