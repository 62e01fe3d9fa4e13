import type { Principal } from '../control/principal.js';
import type { StopOrder } from '../agent/protocol.js';
import type { Harness } from './control-harness.js';

/** A tenant with an admin key, as the API would make it. */
export async function addTenant(h: Harness, name: string, billing: { paymentMode?: 'prepaid' | 'postpaid'; topUpMicros?: number; budgetMicros?: number } = {}): Promise<{ id: string; p: Principal }> {
  const tenant = await h.control.tenants.create(h.operator, { name });
  const member = await h.control.tenants.addMember(h.operator, tenant.id, { name: `${name}-admin`, role: 'tenant-admin' });
  const key = await h.control.keys.create(h.operator, { memberId: member.id });
  const p = await h.control.keys.authenticate(key.key);
  if (billing.paymentMode) await h.control.billing.updateTenantBilling(h.operator, tenant.id, { paymentMode: billing.paymentMode });
  if (billing.topUpMicros) await h.control.billing.topUp(h.operator, tenant.id, { amount: { amountMicros: billing.topUpMicros, currency: 'CNY' } });
  if (billing.budgetMicros !== undefined) await h.control.billing.updateTenantBilling(h.operator, tenant.id, { budgetLimit: { amountMicros: billing.budgetMicros, currency: 'CNY' } });
  return { id: tenant.id, p };
}

/**
 * A node agent driven by the test: every beat confirms its running jobs, starts what it is told to
 * start and remembers stop orders (with their notices); `exit` reports a job's end like the real
 * agent does after SIGTERM/SIGKILL or a normal exit.
 */
export class ScriptedAgent {
  readonly running = new Map<string, number>();
  readonly stops: StopOrder[] = [];

  constructor(
    private readonly h: Harness,
    readonly nodeId: string,
  ) {}

  async beat(): Promise<{ started: string[]; stops: StopOrder[] }> {
    const now = this.h.clock.now();
    const res = await this.h.control.agents.heartbeat(this.h.agent, {
      nodeId: this.nodeId,
      at: now,
      running: [...this.running].map(([jobId, startedAt]) => ({ jobId, pid: 1000, startedAt })),
    });
    const started: string[] = [];
    for (const a of res.start) {
      await this.h.control.agents.started(this.h.agent, a.jobId, { nodeId: this.nodeId, startedAt: now, pid: 1000 });
      this.running.set(a.jobId, now);
      started.push(a.jobId);
    }
    this.stops.push(...res.stop);
    return { started, stops: res.stop };
  }

  /** The job's process ended: `stopped` after a stop order, or an exit code. */
  async exit(jobId: string, how: { cause: 'stopped' } | { exitCode: number } = { exitCode: 0 }): Promise<string> {
    const startedAt = this.running.get(jobId) ?? null;
    this.running.delete(jobId);
    const now = this.h.clock.now();
    const r = await this.h.control.agents.finished(this.h.agent, jobId, {
      nodeId: this.nodeId,
      startedAt,
      endedAt: now,
      cause: 'cause' in how ? 'stopped' : 'exited',
      exitCode: 'cause' in how ? null : how.exitCode,
      signal: 'cause' in how ? 'SIGTERM' : null,
      message: null,
    });
    return r.state;
  }
}
