import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { PG_URL, testDialects } from '../src/test-support/databases.js';
import { CLI, freePort, runCli, type Proc } from './support/processes.js';

const run = promisify(execFile);
const dialects = await testDialects();

const ADMIN_KEY = 'unk_0123456789ab_operator-key-for-the-e2e-test';
const DEMO_KEY = 'unk_ba9876543210_demo-tenant-key-for-the-e2e-test';

/** The issue's own check, through the real `unidle up` and the real CLI. */
describe.each(dialects)('unidle up end to end on %s', (dialect) => {
  const procs: Proc[] = [];
  let dataDir: string | undefined;
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a half-GPU job, shows its output and meters about 1,000 milli-GPU-seconds', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'unidle-up-'));
    const port = await freePort();
    const schema = `t_${process.env.UNIDLE_TEST_RUN ?? 'adhoc'}_up_${port}`;
    const env: Record<string, string | undefined> = {
      UNIDLE_ADMIN_KEY: ADMIN_KEY,
      UNIDLE_DEMO_KEY: DEMO_KEY,
      UNIDLE_METERING_MS: '500',
      DATABASE_URL: dialect === 'postgres' ? PG_URL : '',
      UNIDLE_PG_SCHEMA: dialect === 'postgres' ? schema : '',
    };
    const up = runCli(['up', '--port', String(port), '--data-dir', dataDir], env);
    procs.push(up);
    await up.waitFor(/unidle submit/, 60_000);

    const cli = async (...args: string[]) => {
      const { stdout } = await run(process.execPath, [CLI, ...args], {
        env: { ...process.env, UNIDLE_SERVER: `http://127.0.0.1:${port}`, UNIDLE_API_KEY: DEMO_KEY, DATABASE_URL: '' },
      });
      return stdout;
    };
    const submitted = JSON.parse(await cli('submit', '--gpu-milli', '500', '--json', '--', 'sh', '-c', 'echo hello; sleep 2')) as { id: string };
    const deadline = Date.now() + 30_000;
    let job: { state: string; usage: { gpuMilliSeconds: number } } | undefined;
    while (Date.now() < deadline) {
      job = JSON.parse(await cli('job', submitted.id, '--json')) as typeof job;
      if (job && ['succeeded', 'failed', 'cancelled', 'lost'].includes(job.state)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(job?.state).toBe('succeeded');
    expect(await cli('logs', submitted.id)).toContain('hello');
    const usage = JSON.parse(await cli('usage', '--json', '--by', 'job')) as { rows: { jobId: string; gpuMilliSeconds: number }[] };
    const mine = usage.rows.find((r) => r.jobId === submitted.id)!;
    // 500 milli-GPU for the ~2 s the process ran, plus shell start-up and exit.
    expect(mine.gpuMilliSeconds).toBeGreaterThanOrEqual(1000);
    expect(mine.gpuMilliSeconds).toBeLessThan(1500); // generous: a loaded CI machine starts processes slowly

    // Ctrl-C stops everything `up` started.
    await up.kill('SIGINT');
    expect(up.child.exitCode === 0 || up.child.signalCode === 'SIGINT').toBe(true);
  }, 120_000);
});
