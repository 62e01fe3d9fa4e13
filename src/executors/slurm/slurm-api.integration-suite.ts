/**
 * Both SlurmApi adapters against the running dev cluster (scripts/slurm-dev-cluster.sh: 4 nodes × 8 fake
 * H100, 4 shards per GPU). Reads SLURM_CONF, UNIDLE_SLURMRESTD_URL, UNIDLE_SLURM_JWT_KEY_FILE from the
 * environment (`eval "$(scripts/slurm-dev-cluster.sh env)"`). Without them the suite is skipped, or fails
 * when CI or UNIDLE_REQUIRE_SLURM=1 says the cluster must be there.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmCliClient, slurmCliClientFromEnv } from './slurm-cli-client.js';
import { TERMINAL_JOB_STATES, type SlurmAccountingRecord, type SlurmApi, type SlurmJob, type SlurmSubmit } from './slurm-api.js';
import { slurmRestClientFromEnv } from './slurmrestd-client.js';

const REQUIRED_ENV = ['SLURM_CONF', 'UNIDLE_SLURMRESTD_URL', 'UNIDLE_SLURM_JWT_KEY_FILE'] as const;
const missing = REQUIRED_ENV.filter((k) => !process.env[k]);
const truthy = (v: string | undefined) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
const mustRun = truthy(process.env.CI) || process.env.UNIDLE_REQUIRE_SLURM === '1';
const HOW =
  'Slurm dev cluster not configured (missing ' +
  missing.join(', ') +
  '): run `scripts/slurm-dev-cluster.sh start` and `eval "$(scripts/slurm-dev-cluster.sh env)"` first';

if (missing.length > 0 && mustRun) {
  describe('SlurmApi against the dev cluster', () => {
    it('needs the Slurm dev cluster', () => {
      throw new Error(`${HOW} (required because ${truthy(process.env.CI) ? 'CI is set' : 'UNIDLE_REQUIRE_SLURM=1'})`);
    });
  });
} else if (missing.length > 0) {
  describe.skip(`SlurmApi against the dev cluster — skipped: ${HOW}`, () => {
    it('skipped', () => {});
  });
} else {
  const adapters: Array<[string, () => SlurmApi]> = [
    ['rest (slurmrestd v0.0.38, JWT)', () => slurmRestClientFromEnv(process.env, { requeueVia: new SlurmCliClient() })],
    ['cli (sbatch/squeue/sinfo/sacct)', () => slurmCliClientFromEnv(process.env)],
  ];

  describe.each(adapters)('SlurmApi %s against the dev cluster', (label, make) => {
    const api = make();
    const tag = `it-${api.kind}-${process.pid}`;
    let dir = '';
    const submitted: number[] = [];

    const job = (name: string, script: string, extra: Partial<SlurmSubmit> = {}): SlurmSubmit => ({
      name: `${tag}-${name}`,
      script: `#!/bin/bash\n${script}\n`,
      partition: 'batch',
      workDir: dir,
      stdoutPath: join(dir, `${name}-%j.out`),
      stderrPath: join(dir, `${name}-%j.err`),
      // no SLURM_CONF here: both adapters add theirs, which srun in the 2-node job needs
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      timeLimitMinutes: 5,
      ...extra,
    });
    const submit = async (req: SlurmSubmit) => {
      const { jobId } = await api.submit(req);
      submitted.push(jobId);
      return jobId;
    };
    const output = (name: string, jobId: number) => readFileSync(join(dir, `${name}-${jobId}.out`), 'utf8');
    /** The output once it contains `marker` (slurmstepd creates the file when the job starts, not at submit). */
    const outputWith = (name: string, jobId: number, marker: string) =>
      waitFor(`output of job ${jobId} to contain ${marker}`, async () => {
        try {
          const text = output(name, jobId);
          return text.includes(marker) ? text : undefined;
        } catch {
          return undefined;
        }
      });

    async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`${label}: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    const jobWhere = (jobId: number, ok: (j: SlurmJob) => boolean, what: string) =>
      waitFor(`job ${jobId} ${what}`, async () => (await api.listJobs()).find((j) => j.jobId === jobId && ok(j)));
    const finished = (jobId: number) => jobWhere(jobId, (j) => TERMINAL_JOB_STATES.has(j.state), 'to finish');
    const running = (jobId: number) => jobWhere(jobId, (j) => j.state === 'RUNNING', 'to run');
    const accounted = (jobId: number, ok: (r: SlurmAccountingRecord) => boolean, what: string) =>
      waitFor(`accounting of job ${jobId} ${what}`, async () => (await api.accounting({ jobIds: [jobId] })).find((r) => r.jobId === jobId && ok(r)));

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), `unidle-slurm-${api.kind}-`));
    });

    afterAll(async () => {
      for (const id of submitted) await api.cancel(id).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('pings the controller', async () => {
      const ping = await api.ping();
      expect(ping.controllers.some((c) => c.up)).toBe(true);
    });

    it('lists 4 nodes × 8 H100 with 32 shards each', async () => {
      const nodes = await api.listNodes();
      expect(nodes.map((n) => n.name).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
      for (const n of nodes) {
        expect(n.gpus).toEqual({ type: 'h100', count: 8 });
        expect(n.shardsTotal).toBe(32);
        expect(n).toMatchObject({ cpus: 16, realMemoryMiB: 64000 });
        expect(n.partitions).toEqual(expect.arrayContaining(['batch', 'urgent']));
        expect(n.states[0]).toMatch(/^(IDLE|MIXED|ALLOCATED)$/);
      }
    });

    it('runs a 2-GPU job pinned to n2, which sees two devices', async () => {
      const id = await submit(job('gpu2', 'echo "CVD=$CUDA_VISIBLE_DEVICES node=$SLURMD_NODENAME"', { nodeList: ['n2'], gres: 'gpu:h100:2' }));
      const done = await finished(id);
      expect(done).toMatchObject({ state: 'COMPLETED', exitCode: 0, signal: null, nodes: ['n2'] });
      expect(done.startTimeMs).not.toBeNull();
      expect(done.endTimeMs!).toBeGreaterThanOrEqual(done.startTimeMs!);
      const m = /CVD=(\S+) node=(\S+)/.exec(await outputWith('gpu2', id, 'CVD='));
      expect(m?.[1]?.split(',')).toHaveLength(2);
      expect(m?.[2]).toBe('n2');

      const rec = await accounted(id, (r) => r.state === 'COMPLETED' && r.endMs !== null, 'to complete');
      expect(rec).toMatchObject({ exitCode: 0, nodes: ['n2'], restarts: 0, user: 'root' });
      expect(rec.allocated.gpus).toBe(2);
      expect(rec.startMs).not.toBeNull();
      expect(rec.endMs!).toBeGreaterThanOrEqual(rec.startMs!);
    });

    it('puts two shard:2 jobs on one GPU, then cancels them', async () => {
      const script = 'echo "CVD=$CUDA_VISIBLE_DEVICES shards=$SLURM_SHARDS_ON_NODE"; sleep 60';
      const a = await submit(job('shardA', script, { nodeList: ['n3'], gres: 'shard:2' }));
      const b = await submit(job('shardB', script, { nodeList: ['n3'], gres: 'shard:2' }));
      const [ja, jb] = [await running(a), await running(b)];
      expect(ja.nodes).toEqual(['n3']);
      expect(jb.nodes).toEqual(['n3']);
      const idx = (j: SlurmJob) => /^shard(?::h100)?:2\(IDX:(\d+)\)$/.exec(j.gresDetail[0] ?? '')?.[1];
      expect(idx(ja)).toBeDefined();
      expect(idx(ja)).toBe(idx(jb));
      const cvd = (s: string) => /CVD=(\S+) shards=(\d+)/.exec(s)?.slice(1);
      const [outA, outB] = [await outputWith('shardA', a, 'CVD='), await outputWith('shardB', b, 'CVD=')];
      expect(cvd(outA)).toEqual(cvd(outB));
      expect(cvd(outA)?.[1]).toBe('2');

      await api.cancel(a);
      await api.cancel(b);
      expect((await finished(a)).state).toBe('CANCELLED');
      expect((await finished(b)).state).toBe('CANCELLED');
      await api.cancel(a); // already over: no-op
    });

    it('runs a 2-node job on two nodes', async () => {
      const id = await submit(job('multi', 'srun bash -c \'echo "host=$SLURMD_NODENAME"\'', { nodes: 2, gres: 'gpu:h100:1' }));
      const done = await finished(id);
      expect(done.state).toBe('COMPLETED');
      expect(done.nodes).toHaveLength(2);
      const hosts = [...(await outputWith('multi', id, 'host=')).matchAll(/host=(\S+)/g)].map((m) => m[1]).sort();
      expect(hosts).toEqual([...done.nodes].sort());
    });

    it('reports a failing job with its exit code, in the queue and in accounting', async () => {
      const id = await submit(job('fail', 'exit 3'));
      expect(await finished(id)).toMatchObject({ state: 'FAILED', exitCode: 3, signal: null });
      expect(await accounted(id, (r) => r.state === 'FAILED', 'to fail')).toMatchObject({ exitCode: 3, restarts: 0 });
    });

    it('requeues a running job (restartCount 1, back to pending) and accounts the earlier run', async () => {
      const id = await submit(job('requeue', 'sleep 60'));
      await running(id);
      await api.requeue(id);
      const back = await jobWhere(id, (j) => j.restartCount === 1 && j.state === 'PENDING', 'to be pending again');
      expect(back.startTimeMs).toBeNull();
      await api.cancel(id);
      const rec = await accounted(id, (r) => r.restarts === 1 && r.state === 'CANCELLED', 'to show the requeue');
      expect(rec.previousRuns[0]).toMatchObject({ state: 'REQUEUED' });
      expect(rec.previousRuns[0]!.startMs).not.toBeNull();
    });

    it('finds recent jobs by time as well as by id', async () => {
      const since = Date.now() - 60_000;
      const recent = await api.accounting({ sinceMs: since });
      const ids = new Set(recent.map((r) => r.jobId));
      for (const id of submitted) expect(ids.has(id)).toBe(true);
      for (const r of recent) expect(r.endMs === null || r.endMs >= since).toBe(true);
    });

    it('says when a job id is unknown', async () => {
      await expect(api.cancel(2_000_000_000)).rejects.toMatchObject({ reason: 'not_found' });
    });
  });
}
