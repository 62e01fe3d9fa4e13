import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from './io.js';
import { buildSubmitRequest, parseTimeFlag, type SubmitFlags } from './submit-args.js';
import { formatDurationMs, formatGpuMilli, jobGpuText } from './format.js';
import { jobExitCode } from './commands/jobs.js';
import { gpuSummary } from './commands/nodes.js';
import { runCli } from './test-io.js';

describe('buildSubmitRequest', () => {
  it('turns the example from the issue into a body', () => {
    expect(buildSubmitRequest({ gpuMilli: '500', model: ['H100'] }, ['python', 'train.py'])).toEqual({
      body: { command: ['python', 'train.py'], gpuMilli: 500, models: ['H100'] },
      idempotencyKey: undefined,
    });
  });

  it('parses every flag into typed values in base units', () => {
    const { body, idempotencyKey } = buildSubmitRequest(
      {
        gpus: '2',
        model: ['H100,H800', 'H100'],
        minGpuMemory: '40Gi',
        cpu: '2.5',
        memory: '8Gi',
        maxDuration: '2h',
        env: ['EPOCHS=3', 'URL=http://x?a=b'],
        workdir: '/data',
        name: 'train',
        tier: 'on-demand',
        idempotencyKey: 'k-1',
      },
      ['sh', '-c', 'echo "$EPOCHS"'],
    );
    expect(body).toEqual({
      command: ['sh', '-c', 'echo "$EPOCHS"'],
      gpus: 2,
      models: ['H100', 'H800'],
      minGpuMemoryMib: 40 * 1024,
      cpuMilli: 2500,
      memoryMib: 8192,
      maxDurationMs: 7_200_000,
      env: { EPOCHS: '3', URL: 'http://x?a=b' },
      workingDir: '/data',
      name: 'train',
      tier: 'on-demand',
    });
    expect(idempotencyKey).toBe('k-1');
    expect(buildSubmitRequest({ gpuMilli: '1', cpuMilli: '250', memory: '512Mi', maxDuration: '90s' }, ['x']).body).toMatchObject({
      cpuMilli: 250,
      memoryMib: 512,
      maxDurationMs: 90_000,
    });
  });

  it.each<[SubmitFlags, string[], string]>([
    [{ gpuMilli: '0' }, ['x'], '--gpu-milli'],
    [{ gpuMilli: '1000' }, ['x'], '--gpu-milli'],
    [{ gpuMilli: '0.5' }, ['x'], '--gpu-milli'],
    [{ gpus: '1.5' }, ['x'], '--gpus'],
    [{ gpus: '-1' }, ['x'], '--gpus'],
    [{ gpus: '0' }, ['x'], '--gpus'],
    [{ gpus: '1', gpuMilli: '500' }, ['x'], 'not both'],
    [{}, ['x'], '--gpu-milli 500'],
    [{ gpus: '1', tier: 'gold' }, ['x'], '--tier'],
    [{ gpus: '1', memory: '8GB' }, ['x'], '--memory'],
    [{ gpus: '1', minGpuMemory: 'lots' }, ['x'], '--min-gpu-memory'],
    [{ gpus: '1', maxDuration: '2 weeks' }, ['x'], '--max-duration'],
    [{ gpus: '1', cpu: 'two' }, ['x'], '--cpu'],
    [{ gpus: '1', cpu: '0.0001' }, ['x'], '--cpu'],
    [{ gpus: '1', cpu: '1', cpuMilli: '1000' }, ['x'], 'not both'],
    [{ gpus: '1', env: ['NOEQUALS'] }, ['x'], '--env'],
    [{ gpus: '1' }, [], 'after --'],
  ])('rejects %j %j', (flags, command, fragment) => {
    expect(() => buildSubmitRequest(flags, command)).toThrowError(UsageError);
    expect(() => buildSubmitRequest(flags, command)).toThrowError(fragment);
  });

  it('reports every problem at once', () => {
    expect(() => buildSubmitRequest({ gpus: '1.5', tier: 'gold', memory: '8X' }, [])).toThrowError(/--gpus[\s\S]*--memory[\s\S]*--tier[\s\S]*after --/);
  });
});

describe('small helpers', () => {
  it('parses --from/--to', () => {
    expect(parseTimeFlag('--from', '1700000000000')).toBe(1_700_000_000_000);
    expect(parseTimeFlag('--from', '2025-03-01T00:00:00Z')).toBe(Date.UTC(2025, 2, 1));
    expect(() => parseTimeFlag('--from', 'yesterday')).toThrowError(UsageError);
  });

  it('formats GPUs, durations and node capacity for people', () => {
    expect(formatGpuMilli(500)).toBe('0.5 GPU');
    expect(formatGpuMilli(1000)).toBe('1 GPU');
    expect(formatGpuMilli(2000)).toBe('2 GPUs');
    expect(jobGpuText({ gpuMilli: null, gpus: 4 })).toBe('4 GPUs');
    expect(formatDurationMs(2_200)).toBe('2.2s');
    expect(formatDurationMs(192_000)).toBe('3m12s');
    expect(formatDurationMs(7_500_000)).toBe('2h05m');
    const device = (model: string, allocatedMilli: number) => ({ id: '', index: 0, uuid: '', name: '', model, memoryMib: 1, allocatedMilli });
    expect(gpuSummary({ devices: [device('H100', 1000), device('H100', 500), device('L40S', 0)] })).toBe('1.5/2 H100, 0/1 L40S');
  });

  it('maps a finished job to the exit code of `submit --wait`', () => {
    expect(jobExitCode({ state: 'succeeded', exitCode: 0 })).toBe(0);
    expect(jobExitCode({ state: 'failed', exitCode: 3 })).toBe(3);
    expect(jobExitCode({ state: 'failed', exitCode: null })).toBe(1);
    expect(jobExitCode({ state: 'cancelled', exitCode: null })).toBe(1);
    expect(jobExitCode({ state: 'lost', exitCode: null })).toBe(1);
  });
});

describe('bad input never reaches the server', () => {
  let server: Server;
  let requests = 0;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    env = { UNIDLE_SERVER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, UNIDLE_API_KEY: 'unk_000000000000_aaaaaaaaaaaaaaaaaaaa', XDG_CONFIG_HOME: '/nonexistent' };
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([
    ['submit', '--gpu-milli', '0', '--', 'x'],
    ['submit', '--gpus', '1.5', '--', 'x'],
    ['submit', '--gpus', '1', '--tier', 'gold', '--', 'x'],
    ['submit', '--gpus', '1', '--memory', 'lots', '--', 'x'],
    ['submit', '--gpus', '1', '--'],
    ['submit', '--gpus'],
    ['submit', '--no-such-flag', '--', 'x'],
    ['jobs', '--limit', '0'],
    ['jobs', '--state', 'sleeping'],
    ['logs', 'job_x', '--stream', 'stdin'],
    ['usage', '--from', 'yesterday'],
    ['usage', '--by', 'colour'],
    ['usage', '--period', 'week'],
    ['tenants', 'add-member', 'demo', 'bob', '--role', 'king'],
    ['nosuchcommand'],
    ['--server', 'not a url', 'jobs'],
  ])('%s %s %s → exit 2', async (...argv) => {
    const run = await runCli(argv, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error/);
    expect(requests).toBe(0);
  });

  it('without an API key it says how to get one (exit 2)', async () => {
    const run = await runCli(['jobs'], { UNIDLE_SERVER: env.UNIDLE_SERVER, XDG_CONFIG_HOME: '/nonexistent' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unidle login');
    expect(requests).toBe(0);
  });

  it('--help works everywhere and exits 0', async () => {
    for (const argv of [['--help'], ['submit', '--help'], ['nodes', 'cordon', '--help'], ['agent', '--help'], ['up', '--help']]) {
      const run = await runCli(argv, env);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: unidle');
    }
    expect((await runCli(['agent', '--help'], env)).stdout).toContain('--simulate 8xH100');
    expect(requests).toBe(0);
  });

  it('a 5xx is exit 1; an unreachable server says so (exit 1)', async () => {
    const run = await runCli(['jobs'], env);
    expect(run.code).toBe(1);
    expect(requests).toBeGreaterThan(0);
    const closed = await runCli(['jobs'], { ...env, UNIDLE_SERVER: 'http://127.0.0.1:9' });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('cannot reach the Unidle server at http://127.0.0.1:9');
    expect(closed.stderr).toContain('unidle up');
  });
});
