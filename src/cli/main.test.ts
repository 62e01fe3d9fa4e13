import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulateSpec } from '../agent/gpu-discovery.js';
import { seedDemo } from '../control/demo-seed.js';
import { resolveConfig } from '../server/config.js';
import { startServer, type RunningServer } from '../server/server.js';
import type { ApiKey, CreatedApiKey, Job, JobDetail, JobPage, Member, Tenant, UsageReport } from './api-client.js';
import { runCli } from './test-io.js';

/**
 * The CLI end to end against a real server on SQLite. No agent runs: a node is registered directly (so
 * jobs are schedulable at all) and then cordoned with the CLI, so submitted jobs stay queued.
 */
describe('unidle CLI against a running server', () => {
  let dir: string;
  let server: RunningServer;
  let demo: NodeJS.ProcessEnv;
  let operator: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'unidle-cli-'));
    server = await startServer(resolveConfig({ port: '0', dataDir: join(dir, 'data') }, {}), { logger: pino({ level: 'silent' }) });
    const seed = await seedDemo(server.control, {});
    const base = { UNIDLE_SERVER: server.url, XDG_CONFIG_HOME: join(dir, 'config') };
    demo = { ...base, UNIDLE_API_KEY: seed.demoKey! };
    operator = { ...base, UNIDLE_API_KEY: seed.operatorKey! };
    const agent = await server.control.keys.authenticate(seed.agentToken);
    await server.control.agents.register(agent, {
      nodeName: 'cli-node',
      hostname: 'cli-node',
      agentVersion: 'test',
      cpuMilli: 16_000,
      memoryMib: 65_536,
      devices: parseSimulateSpec('8xH100', 'cli-node'),
      runningJobIds: [],
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('nodes (operator): list, show, cordon, uncordon, drain', async () => {
    const nodes = await runCli(['nodes', '--json'], operator);
    expect(nodes.code).toBe(0);
    expect(nodes.json<{ items: { name: string }[] }>().items.map((n) => n.name)).toEqual(['cli-node']);
    const human = await runCli(['nodes'], operator);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/NAME\s+STATUS\s+POWER\s+CORDON/);
    expect(human.stdout).toContain('0/8 H100');
    const show = await runCli(['nodes', 'show', 'cli-node'], operator);
    expect(show.stdout).toContain('Devices:');
    expect(show.stdout.match(/H100/g)!.length).toBeGreaterThanOrEqual(8);
    expect((await runCli(['nodes', 'show', 'nope'], operator)).code).toBe(1);
    expect((await runCli(['nodes', 'drain', 'cli-node'], operator)).stdout).toContain('draining');
    expect((await runCli(['nodes', 'uncordon', 'cli-node'], operator)).stdout).toContain('schedulable');
    const cordoned = await runCli(['nodes', 'cordon', 'cli-node', '--reason', 'cli test', '--json'], operator);
    expect(cordoned.json()).toMatchObject({ cordoned: true, cordonReason: 'cli test' });
  });

  it('submits, lists, shows and cancels a job', async () => {
    const empty = await runCli(['jobs', '--json'], demo);
    expect(empty.code).toBe(0);
    expect(empty.json<JobPage>()).toEqual({ items: [], nextCursor: null });

    const submitted = await runCli(['submit', '--json', '--gpu-milli', '500', '--model', 'H100', '--memory', '4Gi', '--name', 'hello', '--', 'sh', '-c', 'echo hello'], demo);
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    const job = submitted.json<Job>();
    expect(job).toMatchObject({ state: 'queued', gpuMilli: 500, models: ['H100'], memoryMib: 4096, name: 'hello', command: ['sh', '-c', 'echo hello'] });

    const plain = await runCli(['submit', '--gpus', '1', '--', 'true'], demo);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^job_[0-9A-Z]{26}$/);

    const list = await runCli(['jobs', '--json', '--state', 'queued'], demo);
    expect(list.json<JobPage>().items.map((j) => j.id)).toEqual([plain.stdout.trim(), job.id]);
    const paged = await runCli(['jobs', '--json', '--limit', '1', '--all'], demo);
    expect(paged.json<JobPage>().items).toHaveLength(2);
    const table = await runCli(['jobs'], demo);
    expect(table.stdout).toMatch(/ID\s+NAME\s+STATE\s+GPU/);
    expect(table.stdout).toContain('0.5 GPU');
    expect(table.stdout).toContain('1 GPU');

    const detail = await runCli(['job', job.id], demo);
    expect(detail.code).toBe(0);
    expect(detail.stdout).toContain('State:');
    expect(detail.stdout).toContain('queued');
    expect(detail.stdout).toMatch(/State:\s+queued — \S/); // why it is pending
    expect(detail.stdout).toContain('Transitions:');
    expect((await runCli(['job', job.id, '--json'], demo)).json<JobDetail>().transitions[0]).toMatchObject({ to: 'queued' });

    const logs = await runCli(['logs', job.id], demo);
    expect(logs).toMatchObject({ code: 0, stdout: '', stderr: '' });

    const cancelled = await runCli(['cancel', job.id, '--reason', 'changed my mind', '--json'], demo);
    expect(cancelled.code).toBe(0);
    expect(cancelled.json<Job>()).toMatchObject({ id: job.id, state: 'cancelled' });
    expect((await runCli(['cancel', plain.stdout.trim()], demo)).stdout).toContain('cancelled');

    // cancelling again is a state conflict (409): exit 2 with the server's explanation
    const again = await runCli(['cancel', job.id], demo);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already ended');
  });

  it('the same --idempotency-key twice makes one job', async () => {
    const argv = ['submit', '--json', '--gpu-milli', '100', '--idempotency-key', 'cli-test-1', '--', 'true'];
    const a = (await runCli(argv, demo)).json<Job>();
    const b = (await runCli(argv, demo)).json<Job>();
    expect(b.id).toBe(a.id);
  });

  it('bad input: exit 2 with a message, nothing created', async () => {
    const before = (await runCli(['jobs', '--json', '--all'], demo)).json<JobPage>().items.length;
    const local = await runCli(['submit', '--gpu-milli', '0', '--', 'x'], demo);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--gpu-milli');
    const remote = await runCli(['submit', '--gpus', '1', '--model', 'B999', '--', 'x'], demo);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('unknown GPU model "B999"');
    const huge = await runCli(['submit', '--gpus', '64', '--', 'x'], demo);
    expect(huge.code).toBe(2);
    expect((await runCli(['jobs', '--json', '--all'], demo)).json<JobPage>().items.length).toBe(before);
  });

  it('auth and permission errors exit 1', async () => {
    const forbidden = await runCli(['nodes'], demo);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('operator');
    const badKey = await runCli(['jobs'], { ...demo, UNIDLE_API_KEY: 'unk_000000000000_aaaaaaaaaaaaaaaaaaaa' });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('not valid');
    const missing = await runCli(['job', 'job_nope'], demo);
    expect(missing.code).toBe(1);
  });

  it('tenants, members and keys', async () => {
    const created = await runCli(['tenants', 'create', 'acme', '--display-name', 'ACME', '--json'], operator);
    expect(created.code).toBe(0);
    expect(created.json<Tenant>()).toMatchObject({ name: 'acme', displayName: 'ACME' });
    expect((await runCli(['tenants', 'create', 'acme'], operator)).code).toBe(2); // 409 conflict

    const tenants = await runCli(['tenants'], operator);
    expect(tenants.stdout).toContain('acme');
    expect(tenants.stdout).toContain('demo');
    expect((await runCli(['tenants', '--json'], demo)).json<{ items: Tenant[] }>().items.map((t) => t.name)).toEqual(['demo']);

    const member = (await runCli(['tenants', 'add-member', 'acme', 'alice', '--role', 'tenant-admin', '--json'], operator)).json<Member>();
    expect(member).toMatchObject({ name: 'alice', role: 'tenant-admin' });
    expect((await runCli(['tenants', 'members', 'acme'], operator)).stdout).toContain('alice');

    const key = await runCli(['keys', 'create', '--member', member.id, '--name', 'ci'], operator);
    expect(key.code).toBe(0);
    const secret = key.stdout.trim();
    expect(secret).toMatch(/^unk_[0-9a-f]{12}_/);
    const alice = { ...demo, UNIDLE_API_KEY: secret };
    const aliceKeys = (await runCli(['keys', '--json'], alice)).json<{ items: ApiKey[] }>().items;
    expect(aliceKeys.map((k) => k.memberName)).toEqual(['alice']);
    // alice (acme) cannot see demo's jobs
    expect((await runCli(['jobs', '--json'], alice)).json<JobPage>().items).toEqual([]);

    const own = (await runCli(['keys', 'create', '--json'], alice)).json<CreatedApiKey>();
    const revoked = await runCli(['keys', 'revoke', own.id], alice);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked');
  });

  it('usage: JSON and a table', async () => {
    const usage = await runCli(['usage', '--json'], demo);
    expect(usage.code).toBe(0);
    const report = usage.json<UsageReport>();
    expect(report.total).toMatchObject({ gpuMilliSeconds: 0 });
    const grouped = await runCli(['usage', '--json', '--by', 'tenant,model,period', '--period', 'hour', '--from', '2020-01-01T00:00:00Z'], operator);
    expect(grouped.json<UsageReport>()).toMatchObject({ groupBy: ['tenant', 'model', 'period'], period: 'hour', from: Date.UTC(2020, 0, 1) });
    expect((await runCli(['usage', '--tenant', 'demo'], operator)).code).toBe(0);
  });

  it('login checks the key and saves it for later commands (mode 0600)', async () => {
    const env = { UNIDLE_SERVER: server.url, XDG_CONFIG_HOME: join(dir, 'login-config') };
    const bad = await runCli(['login', '--key', 'unk_000000000000_aaaaaaaaaaaaaaaaaaaa'], env);
    expect(bad.code).toBe(1);
    const login = await runCli(['login', '--key', demo.UNIDLE_API_KEY!], env);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('demo-admin');
    expect(login.stdout).toContain('tenant demo');
    const file = join(dir, 'login-config', 'unidle', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // a later command with neither flag nor environment uses the saved server and key
    const jobs = await runCli(['jobs', '--json'], { XDG_CONFIG_HOME: env.XDG_CONFIG_HOME });
    expect(jobs.code).toBe(0);
    expect(jobs.json<JobPage>().items.length).toBeGreaterThan(0);
  });
});
