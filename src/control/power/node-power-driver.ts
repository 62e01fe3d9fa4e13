/**
 * The port through which the live control plane powers nodes down and up. Parking decisions and
 * their bookkeeping live in ParkingService; a driver only carries out one action on one node and says
 * whether a node it woke is up yet. The simulator uses the synchronous `PowerDriver` of
 * src/energy/parking instead (virtual clock, no I/O).
 */
export interface PowerTarget {
  id: string;
  name: string;
  hostname: string;
}

export class PowerDriverError extends Error {
  constructor(
    readonly action: 'park' | 'wake' | 'status',
    readonly node: string,
    detail: string,
  ) {
    super(`power driver could not ${action === 'status' ? 'read the power status of' : action} node ${node}: ${detail}`);
  }
}

export interface NodePowerDriver {
  readonly name: string;
  /** Powers the node down; resolves once the request is accepted (throws PowerDriverError). */
  park(node: PowerTarget): Promise<void>;
  /** Powers the node up; resolves once the request is accepted (throws PowerDriverError). */
  wake(node: PowerTarget): Promise<void>;
  /**
   * Whether a node woken at `wakeStartedAt` is up by `now`; undefined when the driver cannot tell, in
   * which case the node counts as up once its agent heartbeats after the wake began.
   */
  isAwake(node: PowerTarget, wakeStartedAt: number, now: number): Promise<boolean | undefined>;
}

/**
 * For demos, tests and centers whose nodes cannot be switched: nothing is switched, and a woken node
 * counts as up `wakeMs` after the wake (the latency a real wake would have).
 */
export function simulatedNodePowerDriver(options: { wakeMs: number }): NodePowerDriver {
  if (!Number.isInteger(options.wakeMs) || options.wakeMs < 0) throw new RangeError(`wakeMs must be a whole number ≥ 0, got ${options.wakeMs}`);
  return {
    name: 'simulated',
    async park() {},
    async wake() {},
    async isAwake(_node, wakeStartedAt, now) {
      return now - wakeStartedAt >= options.wakeMs;
    },
  };
}
