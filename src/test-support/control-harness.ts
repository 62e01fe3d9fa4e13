import { ControlPlane } from '../control/control-plane.js';
import { seedDemo, type SeedResult } from '../control/demo-seed.js';
import type { Principal } from '../control/principal.js';
import { ManualClock } from '../domain/clock.js';
import { resolveConfig } from '../server/config.js';
import { controlOptions } from '../server/server.js';
import type { DeviceReport, RegisterRequest } from '../agent/protocol.js';
import { createTestStore, type TestStore } from './databases.js';
import type { Dialect } from '../store/database.js';

export const silentLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface Harness {
  ts: TestStore;
  control: ControlPlane;
  clock: ManualClock;
  seed: SeedResult;
  operator: Principal;
  demo: Principal;
  agent: Principal;
  dispose(): Promise<void>;
}

export function simulatedDevices(count: number, model = 'H100', memoryMib = 81_559): DeviceReport[] {
  return Array.from({ length: count }, (_, index) => ({ index, uuid: `GPU-test-${model}-${index}`, name: `NVIDIA ${model}`, model, memoryMib }));
}

export function registration(nodeName: string, devices: DeviceReport[], extra: Partial<RegisterRequest> = {}): RegisterRequest {
  return { nodeName, hostname: nodeName, agentVersion: 'test', cpuMilli: 64_000, memoryMib: 512 * 1024, devices, runningJobIds: [], ...extra };
}

/** A control plane on a real database with a hand-driven clock; loops are not started, tests call passes. */
export async function createHarness(dialect: Dialect, options: { start?: number } = {}): Promise<Harness> {
  const ts = await createTestStore(dialect);
  const clock = new ManualClock(options.start ?? Date.UTC(2026, 10, 28, 12, 0, 0));
  // Short grace so cancel tests read clearly; everything else as configured by default.
  const control = new ControlPlane(ts.store, clock, controlOptions(resolveConfig({}, { UNIDLE_GRACE_MS: '2000' })), silentLogger);
  const seed = await seedDemo(control, {});
  const operator = await control.keys.authenticate(seed.operatorKey!);
  const demo = await control.keys.authenticate(seed.demoKey!);
  const agent = await control.keys.authenticate(seed.agentToken);
  return {
    ts,
    control,
    clock,
    seed,
    operator,
    demo,
    agent,
    async dispose() {
      await control.stop();
      await ts.dispose();
    },
  };
}
