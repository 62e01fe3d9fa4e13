import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../src/control/control-plane.js';
import { seedDemo } from '../src/control/demo-seed.js';
import { systemClock } from '../src/domain/clock.js';
import { resolveConfig } from '../src/server/config.js';
import { controlOptions } from '../src/server/server.js';
import { createTestStore, testDialects, type TestStore } from '../src/test-support/databases.js';
import { silentLogger } from '../src/test-support/control-harness.js';
import { freePort, runCli, waitUntil, type Proc } from './support/processes.js';

const dialects = await testDialects();

/**
 * SIGKILL the control plane while jobs run on a real agent, restart it, and check that every job ends
 * in the right state and that usage equals what the agent recorded: nothing lost, nothing twice.
 */
describe.each(dialects)('crash recovery on %s', (dialect) => {
  let ts: TestStore | undefined;
  const procs: Proc[] = [];
  let stateDir: string | undefined;

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGKILL');
    await ts?.dispose();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('loses no job and no usage when the server is SIGKILLed mid-run', async () => {
    ts = await createTestStore(dialect);
    const seeding = new ControlPlane(ts.store, systemClock, controlOptions(resolveConfig({}, {})), silentLogger);
    const seed = await seedDemo(seeding, {});
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const serverEnv = {
      ...ts.env,
      UNIDLE_PORT: String(port),
      UNIDLE_HEARTBEAT_MS: '200',
      UNIDLE_METERING_MS: '300',
      UNIDLE_LOG_LEVEL: 'warn',
    };
    const startServer = async () => {
      const p = runCli(['serve'], serverEnv);
      procs.push(p);
      await waitUntil('the server to answer', async () => (await fetch(`${url}/healthz`)).ok);
      return p;
    };
    let server = await startServer();
    stateDir = mkdtempSync(join(tmpdir(), 'unidle-agent-'));
    const agent = runCli(['agent', '--server', url, '--token', seed.agentToken, '--node-name', 'crash-node', '--simulate', '8xH100', '--state-dir', stateDir], {
      UNIDLE_LOG_LEVEL: 'warn',
    });
    procs.push(agent);

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${seed.demoKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await waitUntil('the node to register', async () => {
      const r = await fetch(`${url}/v1/nodes`, { headers: { authorization: `Bearer ${seed.operatorKey}` } });
      return ((await r.json()) as { items: unknown[] }).items.length === 1;
    });

    // Jobs that end while the server is down, and one that outlives the restart.
    const specs = [
      { gpuMilli: 500, seconds: 2 },
      { gpuMilli: 250, seconds: 3 },
      { gpus: 2, seconds: 3 },
      { gpus: 1, seconds: 7 },
    ];
    const ids: string[] = [];
    for (const [i, s] of specs.entries()) {
      const { seconds, ...shape } = s;
      const r = await api('POST', '/v1/jobs', { ...shape, command: ['sh', '-c', `echo job ${i} start; sleep ${seconds}; echo job ${i} done`] });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids.push(r.body.id as string);
    }
    await waitUntil('all jobs to run', async () => {
      const states = await Promise.all(ids.map(async (id) => (await api('GET', `/v1/jobs/${id}`)).body.state));
      return states.every((s) => s === 'running');
    });
    await new Promise((r) => setTimeout(r, 800)); // let some usage be metered before the crash

    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3500)); // the short jobs end while nobody listens
    server = await startServer();

    const finals = await waitUntil(
      'all jobs to end',
      async () => {
        const jobs = await Promise.all(ids.map(async (id) => (await api('GET', `/v1/jobs/${id}`)).body));
        return jobs.every((j) => ['succeeded', 'failed', 'cancelled', 'lost'].includes(j.state as string)) && jobs;
      },
      30_000,
    );

    for (const [i, job] of finals.entries()) {
      expect(job.state, `job ${i}: ${String(job.stateReason)}`).toBe('succeeded');
      const recorded = JSON.parse(readFileSync(join(stateDir, 'jobs', job.id as string, 'state.json'), 'utf8')) as { startedAt: number; endedAt: number };
      const milli = (specs[i]!.gpuMilli ?? 0) + (specs[i]!.gpus ?? 0) * 1000;
      const usage = job.usage as { gpuMilliSeconds: number };
      const expectedMilliMs = milli * (Math.round(recorded.endedAt) - Math.round(recorded.startedAt));
      // Exact to the millisecond: the spans telescope from the agent's recorded start to its recorded end.
      const rows = await ts.store.db.selectFrom('usage').select(['start_at', 'end_at', 'gpu_milli_ms']).where('job_id', '=', job.id as string).orderBy('start_at').execute();
      const total = rows.reduce((sum, r) => sum + r.gpu_milli_ms, 0);
      expect(total, `job ${i} usage`).toBe(expectedMilliMs);
      for (let k = 1; k < rows.length; k++) expect(rows[k]!.start_at).toBe(rows[k - 1]!.end_at);
      expect(usage.gpuMilliSeconds).toBe(Math.round(expectedMilliMs / 1000));
      const logs = await api('GET', `/v1/jobs/${job.id as string}/logs`);
      const text = (logs.body.entries as { text: string }[]).map((e) => e.text).join('');
      expect(text).toBe(`job ${i} start\njob ${i} done\n`);
    }
    const nodes = await fetch(`${url}/v1/nodes`, { headers: { authorization: `Bearer ${seed.operatorKey}` } });
    const node = ((await nodes.json()) as { items: { allocatedGpuMilli: number; status: string }[] }).items[0]!;
    expect(node).toMatchObject({ allocatedGpuMilli: 0, status: 'up' });
  }, 90_000);
});
