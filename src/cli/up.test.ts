import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobDetail, UsageReport } from './api-client.js';
import { main } from './main.js';
import { runCli } from './test-io.js';

/** `unidle up` in-process (server, demo seed, one local agent), then a job run end to end through the CLI. */
describe('unidle up + submit --follow', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts the demo, runs a job with its output and exit code, meters it, and stops on signal', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unidle-up-'));
    let banner = '';
    let upErr = '';
    const stdout = new Writable({ write: (c, _e, cb) => ((banner += c.toString()), cb()) });
    const stderr = new Writable({ write: (c, _e, cb) => ((upErr += c.toString()), cb()) });
    const stop = new AbortController();
    const env = { UNIDLE_LOG_LEVEL: 'silent', UNIDLE_SCHEDULE_MS: '50', UNIDLE_GRACE_MS: '500', UNIDLE_TELEMETRY_MS: '200', XDG_CONFIG_HOME: join(dir, 'config') };
    const up = main(['up', '--port', '0', '--data-dir', join(dir, 'data'), '--nodes', '1', '--simulate', '2xH100'], { stdout, stderr, env, signal: stop.signal, from: 'user' });
    try {
      const deadline = Date.now() + 20_000;
      while (!banner.includes('is up') && Date.now() < deadline) {
        const early = await Promise.race([up, new Promise((r) => setTimeout(r, 50))]);
        if (typeof early === 'number') throw new Error(`up exited ${early}: ${upErr}`);
      }
      expect(banner).toContain('is up');
      expect(banner).toContain('demo-node-1');
      const url = /export UNIDLE_SERVER=(\S+)/.exec(banner)?.[1];
      const key = /export UNIDLE_API_KEY=(unk_\S+)/.exec(banner)?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(key).toBeTruthy();
      expect(banner).toMatch(/Operator key\s+unk_/);
      const cli = { ...env, UNIDLE_SERVER: url, UNIDLE_API_KEY: key };

      const run = await runCli(['submit', '--gpu-milli', '500', '--follow', '--', 'sh', '-c', 'echo hello; echo oops >&2; sleep 1; exit 3'], cli);
      expect(run.stdout).toBe('hello\n');
      expect(run.stderr).toContain('oops');
      expect(run.code).toBe(3);
      const id = /submitted (job_\S+)/.exec(run.stderr)![1]!;

      const logs = await runCli(['logs', id], cli);
      expect(logs.stdout).toBe('hello\n');
      expect(logs.stderr).toBe('oops\n');
      const job = (await runCli(['job', id, '--json'], cli)).json<JobDetail>();
      expect(job).toMatchObject({ state: 'failed', exitCode: 3 });
      expect(job.allocations).toEqual([expect.objectContaining({ model: 'H100', gpuMilli: 500 })]);
      const usage = (await runCli(['usage', '--json', '--job', id], cli)).json<UsageReport>();
      // ~1 s at 500 milli-GPU
      expect(usage.total.gpuMilliSeconds).toBeGreaterThan(300);
      expect(usage.total.gpuMilliSeconds).toBeLessThan(3000);

      const ok = await runCli(['submit', '--json', '--gpus', '1', '--wait', '--', 'true'], cli);
      expect(ok.code).toBe(0);
      expect(ok.json<JobDetail>().state).toBe('succeeded');

      // The simulated devices report power as the catalog says (idle H100: 69.9 W), and /metrics shows it.
      const operatorKey = /Operator key\s+(unk_\S+)/.exec(banner)![1]!;
      let metrics = '';
      for (let i = 0; i < 50 && !metrics.includes('DCGM_FI_DEV_POWER_USAGE{'); i++) {
        metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${operatorKey}` } })).text();
        if (!metrics.includes('DCGM_FI_DEV_POWER_USAGE{')) await new Promise((r) => setTimeout(r, 100));
      }
      expect(metrics).toMatch(/DCGM_FI_DEV_POWER_USAGE\{gpu="1",[^}]*modelName="H100"[^}]*\} 69\.9\b/);
    } finally {
      stop.abort();
      expect(await up).toBe(0);
    }
    expect(upErr).toContain('stopped');
  });
});
