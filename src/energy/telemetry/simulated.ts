import { activeCatalog, findGpuModelIn, type GpuModel } from '../../domain/gpu-catalog.js';
import { createRandom, type Random } from '../../domain/random.js';
import { MILLI_PER_GPU } from '../../domain/units.js';
import type { DeviceSample, TelemetrySource } from './sample.js';

/** A device of a simulated node: its catalog model id, index on the node and UUID. */
export interface SimulatedDevice {
  model: string;
  index: number;
  uuid: string;
}

/** The milli-GPU share (0–1000) allocated on a device at time `now`, e.g. from the scheduler's state. */
export type AllocatedMilliFn = (device: SimulatedDevice, now: number) => number;

export interface SimulatedSourceOptions {
  devices: readonly SimulatedDevice[];
  allocatedMilli: AllocatedMilliFn;
  /** Seeds the utilisation jitter (src/domain/random.ts); same seed and calls → same samples. Default 1. */
  seed?: number;
  /** Jitter on the utilisation of allocated devices, ± percentage points (uniform); 0 for exact. Default 2. */
  jitterPct?: number;
  /** Catalog to look models up in; default the active catalog. */
  catalog?: readonly GpuModel[];
  /** Each device's energy counter at the first sample, mJ; default 0. */
  initialEnergyMillijoules?: number;
}

/**
 * Illustrative temperature and SM clock, from the H200 recordings in test/fixtures/nvidia-smi/h200:
 * 40 °C and 345 MHz idle, about 64 °C and 1,485 MHz at 99 % (used for every model; nothing bills them).
 */
const IDLE_TEMP_C = 40;
const BUSY_TEMP_RISE_C = 24;
const IDLE_SM_MHZ = 345;
const BUSY_SM_MHZ = 1485;

interface DeviceState {
  device: SimulatedDevice;
  model: GpuModel;
  /** Power drawn since the last sample, mW (zero-order hold). */
  powerMilliwatts: number;
  energyMillijoules: number;
  /** Energy below 1 mJ not yet on the counter, µJ (0–999), so integration never drifts. */
  remainderMicrojoules: bigint;
}

/**
 * Simulated telemetry for the demo and for tests: each device's utilisation follows its allocated
 * share (1000 milli-GPU → 100 %, 250 → 25 %, plus seeded jitter of ±`jitterPct` points while anything
 * is allocated, clamped to 0–100; exactly 0 % when nothing is), and its power follows the catalog:
 *
 *   power = idleMilliwatts + (tdpMilliwatts − idleMilliwatts) × utilisation / 100   (rounded to mW)
 *
 * The energy counter integrates power exactly in integer mJ: the power reported at one sample is held
 * until the next (zero-order hold), so the counter at sample k+1 = counter at k + power_k × (t_k+1 − t_k),
 * carried in µJ so that no rounding accumulates (1 h at 700 W is 2,520,000,000 mJ exactly). Memory used
 * is the allocated share of the device's memory.
 *
 * One jitter draw is made per device per sample, allocated or not, so a device's allocation does not
 * shift the other devices' jitter.
 */
export class SimulatedTelemetrySource implements TelemetrySource {
  readonly name = 'simulated';
  private readonly states: DeviceState[];
  private readonly allocatedMilli: AllocatedMilliFn;
  private readonly rng: Random;
  private readonly jitterPct: number;
  private lastAt: number | null = null;
  private powered = true;

  constructor(options: SimulatedSourceOptions) {
    const catalog = options.catalog ?? activeCatalog();
    const initial = options.initialEnergyMillijoules ?? 0;
    if (!Number.isSafeInteger(initial) || initial < 0) throw new RangeError(`initialEnergyMillijoules must be a non-negative integer, got ${initial}`);
    this.jitterPct = options.jitterPct ?? 2;
    if (!Number.isFinite(this.jitterPct) || this.jitterPct < 0 || this.jitterPct > 100) throw new RangeError(`jitterPct must be within 0–100, got ${this.jitterPct}`);
    const seen = new Set<number>();
    this.states = options.devices.map((device) => {
      const model = findGpuModelIn(catalog, device.model);
      if (model === undefined) throw new RangeError(`simulated device ${device.index}: unknown GPU model ${JSON.stringify(device.model)}`);
      if (!Number.isSafeInteger(device.index) || device.index < 0) throw new RangeError(`simulated device index must be a non-negative integer, got ${device.index}`);
      if (seen.has(device.index)) throw new RangeError(`simulated device index ${device.index} appears twice`);
      seen.add(device.index);
      return { device, model, powerMilliwatts: model.idleMilliwatts, energyMillijoules: initial, remainderMicrojoules: 0n };
    });
    this.states.sort((a, b) => a.device.index - b.device.index);
    this.allocatedMilli = options.allocatedMilli;
    this.rng = createRandom(options.seed ?? 1);
  }

  async sample(now: number): Promise<DeviceSample[]> {
    return this.sampleSync(now);
  }

  /**
   * Powers the simulated host off (parked) or on at `now`. Off, it draws nothing and gives no
   * readings, as a host whose power is cut: the energy counters integrate up to `now` at the power
   * last read, then stand still until it is on again.
   */
  setPowered(powered: boolean, now: number): void {
    if (powered === this.powered) return;
    this.advance(now);
    this.powered = powered;
    for (const s of this.states) s.powerMilliwatts = powered ? s.model.idleMilliwatts : 0;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** Integrates each device's held power from the last sample (or power change) to `now`. */
  private advance(now: number): void {
    if (!Number.isSafeInteger(now)) throw new RangeError(`sample time must be an integer of ms, got ${now}`);
    if (this.lastAt !== null) {
      if (now < this.lastAt) throw new RangeError(`sample time went backwards: ${now} < ${this.lastAt}`);
      const dt = BigInt(now - this.lastAt);
      for (const s of this.states) {
        const microjoules = BigInt(s.powerMilliwatts) * dt + s.remainderMicrojoules; // mW × ms = µJ
        s.energyMillijoules += Number(microjoules / 1000n);
        s.remainderMicrojoules = microjoules % 1000n;
        if (!Number.isSafeInteger(s.energyMillijoules)) throw new RangeError(`simulated energy counter of device ${s.device.index} overflowed`);
      }
    }
    this.lastAt = now;
  }

  /** `sample` without the promise, for simulations that step time themselves. */
  sampleSync(now: number): DeviceSample[] {
    this.advance(now);
    if (!this.powered) return [];

    return this.states.map((s): DeviceSample => {
      const milli = this.allocatedMilli(s.device, now);
      if (!Number.isInteger(milli) || milli < 0 || milli > MILLI_PER_GPU) {
        throw new RangeError(`allocated share of device ${s.device.index} must be an integer from 0 to ${MILLI_PER_GPU} milli-GPU, got ${milli}`);
      }
      const jitter = (this.rng.float() * 2 - 1) * this.jitterPct;
      const utilizationPct = milli === 0 ? 0 : Math.min(100, Math.max(0, Math.round((milli * 100) / MILLI_PER_GPU + jitter)));
      const { idleMilliwatts, tdpMilliwatts, memoryMib } = s.model;
      s.powerMilliwatts = idleMilliwatts + Math.round(((tdpMilliwatts - idleMilliwatts) * utilizationPct) / 100);
      return {
        at: now,
        deviceIndex: s.device.index,
        uuid: s.device.uuid,
        utilizationPct,
        memoryUsedMib: Math.floor((memoryMib * milli) / MILLI_PER_GPU),
        powerMilliwatts: s.powerMilliwatts,
        energyMillijoules: s.energyMillijoules,
        temperatureC: IDLE_TEMP_C + Math.round((BUSY_TEMP_RISE_C * utilizationPct) / 100),
        smClockMhz: utilizationPct === 0 ? IDLE_SM_MHZ : BUSY_SM_MHZ,
        pstate: s.model.vendor === 'nvidia' ? 'P0' : null,
      };
    });
  }
}
