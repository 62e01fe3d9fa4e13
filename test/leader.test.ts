import { afterEach, describe, expect, it } from 'vitest';
import { createTestStore, postgresAvailable, type TestStore } from '../src/test-support/databases.js';
import { freePort, runCli, waitUntil, type Proc } from './support/processes.js';

const withPostgres = await postgresAvailable();

/** Several API processes on one PostgreSQL: exactly one holds the scheduling lease, and it moves on when its holder dies. */
describe.runIf(withPostgres)('scheduling lease on postgres', () => {
  let ts: TestStore | undefined;
  let other: TestStore | undefined;
  const procs: Proc[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGKILL');
    await ts?.dispose();
    await other?.dispose();
  });

  it('has exactly one leader among two servers, and a new one when the leader is killed', async () => {
    ts = await createTestStore('postgres');
    const servers = await Promise.all(
      [0, 1].map(async () => {
        const port = await freePort();
        const proc = runCli(['serve'], { ...ts!.env, UNIDLE_PORT: String(port), UNIDLE_LOG_LEVEL: 'warn' });
        procs.push(proc);
        return { port, proc };
      }),
    );
    const health = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { leader: boolean };
    const leaders = await waitUntil('both servers to answer', async () => {
      const states = await Promise.all(servers.map((s) => health(s.port)));
      return states.map((s) => s.leader);
    });
    expect(leaders.filter(Boolean)).toHaveLength(1);
    // Another deployment in another schema of the same database elects its own leader.
    other = await createTestStore('postgres');
    const otherPort = await freePort();
    procs.push(runCli(['serve'], { ...other.env, UNIDLE_PORT: String(otherPort), UNIDLE_LOG_LEVEL: 'warn' }));
    await waitUntil('the other deployment to lead', async () => (await health(otherPort)).leader);
    const leader = servers[leaders.indexOf(true)]!;
    const follower = servers[leaders.indexOf(false)]!;
    await leader.proc.kill('SIGKILL');
    // The lock dies with the leader's connection; the follower retries every 5 s.
    await waitUntil('the follower to take the lease', async () => (await health(follower.port)).leader, 20_000, 250);
  }, 40_000);
});
