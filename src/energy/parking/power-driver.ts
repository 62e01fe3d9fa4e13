/**
 * Carries out parking decisions. `simulated` flips states on the caller's clock: parking is
 * immediate, waking takes `wakeMs`. A real driver (operator shell commands: ipmitool, Redfish) is
 * not built yet.
 */
import type { NodePowerState } from './policy.js';

export interface PowerDriver {
  readonly name: string;
  /** Starts powering the node down. */
  park(nodeId: string, nowMs: number): void;
  /** Starts powering the node up. */
  wake(nodeId: string, nowMs: number): void;
  /** The node's state at `nowMs` (advances waking nodes whose latency has passed). */
  state(nodeId: string, nowMs: number): { state: NodePowerState; sinceMs: number };
}

export function simulatedPowerDriver(options: { wakeMs: number; startMs?: number }): PowerDriver {
  if (!(options.wakeMs >= 0)) throw new RangeError(`wakeMs must be >= 0, got ${options.wakeMs}`);
  const states = new Map<string, { state: NodePowerState; sinceMs: number }>();
  const get = (id: string) => {
    let s = states.get(id);
    if (!s) {
      s = { state: 'on', sinceMs: options.startMs ?? 0 };
      states.set(id, s);
    }
    return s;
  };
  return {
    name: 'simulated',
    park(id, now) {
      const s = get(id);
      if (s.state !== 'on') throw new Error(`cannot park node ${id}: it is ${s.state}`);
      states.set(id, { state: 'parked', sinceMs: now });
    },
    wake(id, now) {
      const s = get(id);
      if (s.state !== 'parked') throw new Error(`cannot wake node ${id}: it is ${s.state}`);
      states.set(id, { state: 'waking', sinceMs: now });
    },
    state(id, now) {
      const s = get(id);
      if (s.state === 'waking' && now - s.sinceMs >= options.wakeMs) {
        const on = { state: 'on' as const, sinceMs: s.sinceMs + options.wakeMs };
        states.set(id, on);
        return { ...on };
      }
      return { ...s };
    },
  };
}
