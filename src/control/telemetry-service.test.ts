import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import type { TelemetryReading } from './telemetry-service.js';

const dialects = await testDialects();
const MIN = 60_000;

describe.each(dialects)('GPU telemetry storage on %s', (dialect) => {
  let h: Harness;
  let nodeId: string;
  beforeEach(async () => {
    // Start on a minute boundary so buckets are easy to reason about.
    h = await createHarness(dialect, { start: Date.UTC(2026, 10, 28, 12, 0, 0) });
    nodeId = (await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2, 'H200', 143_771)))).nodeId;
  });
  afterEach(async () => {
    await h.dispose();
  });

  const reading = (deviceIndex: number, at: number, powerW: number, energyMj: number): TelemetryReading => ({
    deviceIndex,
    at,
    utilizationPct: powerW > 100 ? 100 : 0,
    memoryUsedMib: 1024,
    powerMilliwatts: powerW * 1000,
    energyMillijoules: energyMj,
    temperatureC: 40,
    smClockMhz: 1980,
    pstate: 'P0',
  });

  it('keeps each sample once, rolls minutes and hours up exactly, and drops raw data after a day', async () => {
    const t0 = h.clock.now();
    // Two hours of 10 s samples on two devices: device 0 idles at 80 W, device 1 runs at 690 W.
    const samples: TelemetryReading[] = [];
    for (let k = 0; k < 720; k++) {
      const at = t0 + k * 10_000;
      samples.push(reading(0, at, 80, 80 * 10_000 * k), reading(1, at, 690, 690 * 10_000 * k));
    }
    h.clock.advance(2 * 3_600_000);
    const first = await h.control.telemetry.ingest(h.agent, { nodeId, samples: samples.slice(0, 1000) });
    expect(first).toEqual({ accepted: 1000, duplicates: 0 });
    // A retry of the same report (lost acknowledgement) and the rest.
    expect(await h.control.telemetry.ingest(h.agent, { nodeId, samples })).toEqual({ accepted: 440, duplicates: 1000 });

    h.clock.advance(5 * MIN);
    const r = await h.control.telemetry.rollup();
    expect(r.minuteRows).toBe(2 * 120);
    expect(r.hourRows).toBe(2 * 2);
    const hours = await h.ts.store.db.selectFrom('gpu_samples_1h').selectAll().orderBy('device_id').orderBy('bucket_at').execute();
    const busy = hours.filter((x) => x.power_max_mw === 690_000);
    expect(busy).toHaveLength(2);
    for (const b of busy) {
      expect(b.samples).toBe(360);
      expect(b.power_sum_mw / b.power_n).toBe(690_000);
      expect(b.utilization_sum / b.utilization_n).toBe(100);
    }
    // The energy counter's span inside the first hour: 359 intervals of 10 s at 690 W.
    expect(busy[0]!.energy_last_mj! - busy[0]!.energy_first_mj!).toBe(690 * 10_000 * 359);
    // Running it again finds nothing new to roll.
    expect((await h.control.telemetry.rollup()).minuteRows).toBe(0);

    h.clock.advance(24 * 3_600_000);
    const later = await h.control.telemetry.rollup();
    expect(later.rawDeleted).toBe(1440);
    expect(await h.ts.store.db.selectFrom('gpu_samples_1h').select('device_id').execute()).toHaveLength(4);
  });

  it('refuses readings for devices the node does not have, or out of range, naming the field, and stores none', async () => {
    const now = h.clock.now();
    await expect(h.control.telemetry.ingest(h.agent, { nodeId, samples: [reading(0, now, 80, 0), reading(7, now, 80, 0)] })).rejects.toMatchObject({
      code: 'validation_failed',
      problems: [{ field: 'samples[1].deviceIndex' }],
    });
    await expect(h.control.telemetry.ingest(h.agent, { nodeId, samples: [{ ...reading(0, now, 80, 0), utilizationPct: 140 }] })).rejects.toMatchObject({ problems: [{ field: 'samples[0].utilizationPct' }] });
    await expect(h.control.telemetry.ingest(h.agent, { nodeId, samples: [reading(0, now + 3 * 86_400_000, 80, 0)] })).rejects.toMatchObject({ problems: [{ field: 'samples[0].at' }] });
    await expect(h.control.telemetry.ingest(h.agent, { nodeId, samples: [{ ...reading(0, now, 80, 0), uuid: 'GPU-someone-else' }] })).rejects.toMatchObject({ problems: [{ field: 'samples[0].uuid' }] });
    expect((await h.control.telemetry.ingest(h.agent, { nodeId, samples: [{ ...reading(0, now, 80, 0), uuid: 'GPU-test-H200-0' }] })).accepted).toBe(1);
    await h.ts.store.db.deleteFrom('gpu_samples').execute();
    await expect(h.control.telemetry.ingest(h.demo, { nodeId, samples: [] })).rejects.toMatchObject({ code: 'forbidden' });
    expect(await h.ts.store.db.selectFrom('gpu_samples').select('at').execute()).toHaveLength(0);
  });
});
