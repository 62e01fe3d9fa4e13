import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, silentLogger, type Harness } from '../../test-support/control-harness.js';
import { testDialects } from '../../test-support/databases.js';
import { addTenant } from '../../test-support/market-fixtures.js';
import type { Principal } from '../../control/principal.js';
import { SlurmCliClient } from './slurm-cli-client.js';
import { SlurmExecutor } from './slurm-executor.js';
import { SlurmRestClient } from './slurmrestd-client.js';
import type { SlurmApi } from './slurm-api.js';

/**
 * The Slurm executor against the project's dev cluster (scripts/slurm-dev-cluster.sh start; `.ci/run`
 * starts it). Unidle places, Slurm runs: each test drives real sbatch/squeue/sacct through the
 * executor's reconcile passes. Without a cluster the tests are skipped, except in CI where that is an error.
 */
const env = process.env;
const configured = Boolean(env.SLURM_CONF && env.UNIDLE_SLURMRESTD_URL && env.UNIDLE_SLURM_JWT_KEY_FILE);
const required = Boolean(env.CI) || env.UNIDLE_REQUIRE_SLURM === '1';
const HOW = 'run `scripts/slurm-dev-cluster.sh start` and `eval "$(scripts/slurm-dev-cluster.sh env)"` first';
if (!configured && required) throw new Error(`the Slurm integration tests need the dev cluster: ${HOW}`);

const dialects = await testDialects();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!configured)(`the Slurm executor on the dev cluster (${configured ? 'configured' : `skipped: ${HOW}`})`, () => {
  let api: SlurmApi;
  beforeAll(() => {
    api = new SlurmRestClient({ baseUrl: env.UNIDLE_SLURMRESTD_URL!, user: env.UNIDLE_SLURM_USER ?? 'root', jwtKeyFile: env.UNIDLE_SLURM_JWT_KEY_FILE!, requeueVia: new SlurmCliClient() });
  });

  describe.each(dialects)('on %s', (dialect) => {
    let h: Harness;
    let tenant: { id: string; p: Principal };
    let dir: string;
    let executor: SlurmExecutor;

    beforeEach(async () => {
      h = await createHarness(dialect, { start: Date.now() });
      tenant = await addTenant(h, 'slurm-user', { paymentMode: 'postpaid' });
      dir = await mkdtemp(join(tmpdir(), 'unidle-slurm-'));
      executor = make(api);
      await pass();
    });
    afterEach(async () => {
      // Leave the cluster as found: cancel whatever this test left running.
      const ours = (await api.listJobs()).filter((j) => j.name.startsWith('unidle-') && !['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT'].includes(j.state));
      const mine = new Set((await h.ts.store.db.selectFrom('jobs').select('id').execute()).map((j) => `unidle-${j.id}`));
      for (const j of ours.filter((j) => mine.has(j.name))) await api.cancel(j.jobId);
      await h.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    function make(client: SlurmApi): SlurmExecutor {
      return new SlurmExecutor(h.ts.store.db, h.clock, client, h.control.inventory, h.control.agents, { centerId: h.seed.centerId, partition: 'batch', logDir: dir, workDir: dir, lostAfterMs: 5_000 }, silentLogger);
    }

    /** One executor pass and one scheduling pass at the wall-clock time. */
    async function pass(e: SlurmExecutor = executor): Promise<void> {
      h.clock.set(Math.max(h.clock.now(), Date.now()));
      await e.sync();
      await h.control.scheduling.run();
    }

    async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await pass();
        const v = await check();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }

    const job = (id: string) => h.control.jobs.get(h.operator, id);
    const stateIs = (id: string, ...states: string[]) => async () => {
      const j = await job(id);
      return states.includes(j.state) ? j : undefined;
    };
    const output = async (id: string) => (await h.control.jobs.logs(h.operator, id, { stream: 'stdout' })).entries.map((e) => e.text).join('');

    it('syncs Slurm nodes as Unidle nodes, runs a 2-GPU job on the node Unidle chose, and its usage matches sacct within 1 s', async () => {
      const nodes = await h.control.inventory.listNodes();
      const slurmNodes = nodes.filter((n) => n.executor === 'slurm');
      expect(slurmNodes.map((n) => n.name).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
      expect(slurmNodes[0]!.devices).toHaveLength(8);
      expect(slurmNodes[0]!.devices[0]!.model).toBe('H100');

      const { job: submitted } = await h.control.jobs.submit(tenant.p, { command: ['sh', '-c', 'echo "CVD=$CUDA_VISIBLE_DEVICES NODE=$SLURMD_NODENAME JOB=$UNIDLE_JOB_ID"; sleep 2'], gpus: 2 });
      await h.control.scheduling.run();
      const placed = await job(submitted.id);
      expect(placed.state).toBe('scheduled');
      const chosen = (await h.control.inventory.getNode(placed.nodeId!)).name;
      const done = await until('the 2-GPU job to finish', stateIs(submitted.id, 'succeeded', 'failed', 'lost'));
      expect(done.state).toBe('succeeded');
      const text = await output(submitted.id);
      const m = /CVD=(\S+) NODE=(\S+) JOB=(\S+)/.exec(text);
      expect(m, text).not.toBeNull();
      expect(m![1]!.split(',')).toHaveLength(2);
      expect(m![2]).toBe(chosen);
      expect(m![3]).toBe(submitted.id);

      const slurmId = Number((await h.ts.store.db.selectFrom('jobs').select('executor_ref').where('id', '=', submitted.id).executeTakeFirstOrThrow()).executor_ref);
      // slurmdbd records the end a moment after slurmctld.
      const record = await until('sacct to record the job', async () => (await api.accounting({ jobIds: [slurmId] })).find((r) => r.name === `unidle-${submitted.id}` && r.state === 'COMPLETED'), 15_000);
      expect(record).toMatchObject({ name: `unidle-${submitted.id}`, state: 'COMPLETED' });
      const usage = await h.ts.store.db.selectFrom('usage').select(['start_at', 'end_at']).where('job_id', '=', submitted.id).execute();
      const meteredMs = usage.reduce((s, u) => s + (u.end_at - u.start_at), 0);
      expect(Math.abs(meteredMs / 1000 - record!.elapsedSec)).toBeLessThanOrEqual(1);
      expect(record!.elapsedSec).toBeGreaterThanOrEqual(2);
    });

    it('shares one GPU between two 500-milli jobs through shards', async () => {
      const cmd = ['sh', '-c', 'echo "CVD=$CUDA_VISIBLE_DEVICES NODE=$SLURMD_NODENAME SHARDS=$SLURM_SHARDS_ON_NODE"; sleep 4'];
      const a = (await h.control.jobs.submit(tenant.p, { command: cmd, gpuMilli: 500, models: ['H100'] })).job;
      const b = (await h.control.jobs.submit(tenant.p, { command: cmd, gpuMilli: 500, models: ['H100'] })).job;
      await h.control.scheduling.run();
      const [pa, pb] = [await job(a.id), await job(b.id)];
      expect(pa.nodeId).toBe(pb.nodeId); // Unidle packs the two halves onto one node (and one device)
      // Both run at once: sharing, not queueing behind each other.
      await until('both halves running', async () => (await job(a.id)).state === 'running' && (await job(b.id)).state === 'running');
      await until('both halves done', async () => (await stateIs(a.id, 'succeeded')()) && (await stateIs(b.id, 'succeeded')()));
      const [oa, ob] = [await output(a.id), await output(b.id)];
      const cvd = (t: string) => /CVD=(\S+)/.exec(t)?.[1];
      expect(cvd(oa)).toBe(cvd(ob));
      expect(cvd(oa)!.split(',')).toHaveLength(1);
      expect(oa).toMatch(/SHARDS=2/);
    });

    it('cancels a running job in Slurm, and a job Slurm does not know is lost with the reason', async () => {
      const { job: long } = await h.control.jobs.submit(tenant.p, { command: ['sleep', '300'], gpus: 1 });
      await until('the job to run', stateIs(long.id, 'running'));
      await h.control.jobs.cancel(tenant.p, long.id, 'no longer needed');
      const cancelled = await until('the cancel', stateIs(long.id, 'cancelled', 'failed'));
      expect(cancelled.state).toBe('cancelled');
      const slurmId = Number((await h.ts.store.db.selectFrom('jobs').select('executor_ref').where('id', '=', long.id).executeTakeFirstOrThrow()).executor_ref);
      const record = (await api.listJobs()).find((j) => j.jobId === slurmId);
      // SIGTERM (the notice) ends `sleep` before the scancel: Slurm records FAILED or CANCELLED.
      expect(['CANCELLED', 'FAILED']).toContain(record?.state);

      // A job whose Slurm id Slurm never heard of (slurmctld lost its state): lost, after lostAfterMs.
      const { job: ghost } = await h.control.jobs.submit(tenant.p, { command: ['true'], gpus: 1 });
      await h.control.scheduling.run();
      await h.ts.store.db.updateTable('jobs').set({ executor_ref: '99999999' }).where('id', '=', ghost.id).execute();
      const lost = await until('the ghost to be lost', stateIs(ghost.id, 'lost'), 20_000);
      expect(lost.stateReason).toMatch(/Slurm no longer knows job 99999999/);
    });

    it('keeps placed jobs waiting while Slurm is unreachable and submits each exactly once when it is back', async () => {
      const dead = make(new SlurmRestClient({ baseUrl: 'http://127.0.0.1:9', user: 'root', jwtKeyFile: env.UNIDLE_SLURM_JWT_KEY_FILE! }));
      const { job: waiting } = await h.control.jobs.submit(tenant.p, { command: ['sh', '-c', 'echo once'], gpus: 1 });
      await h.control.scheduling.run();
      await pass(dead);
      await pass(dead);
      expect(dead.health()).toMatchObject({ ok: false, message: expect.stringMatching(/.+/) });
      const held = await job(waiting.id);
      expect(held.state).toBe('scheduled');
      expect(held.stateReason).toMatch(/waiting for Slurm/);
      expect((await api.listJobs()).filter((j) => j.name === `unidle-${waiting.id}`)).toHaveLength(0);
      await until('the job to finish once Slurm is back', stateIs(waiting.id, 'succeeded'));
      expect((await api.listJobs()).filter((j) => j.name === `unidle-${waiting.id}`)).toHaveLength(1);
      expect(await output(waiting.id)).toBe('once\n');
    });

    it('requeues a spot job when an on-demand job needs its GPUs: notice (SIGTERM), scancel after the grace, back to the queue', async () => {
      await h.control.market.updateSettings(h.operator, { spotGraceMs: 2000 });
      // Only n1 takes work in this test, so the two jobs compete for its eight GPUs.
      for (const n of ['n2', 'n3', 'n4']) await h.control.inventory.setCordon(h.operator, n, { cordoned: true, reason: 'test: one node only' });
      const floor = (await h.control.market.listPrices()).models.find((m) => m.prices.some((p) => p.tier === 'spot'))!.prices.find((p) => p.tier === 'spot')!.floorPerGpuHour.amountMicros;
      const script = 'trap "echo got-notice; exit 143" TERM; echo spot-started; sleep 300 & wait';
      const { job: spot } = await h.control.jobs.submit(tenant.p, { command: ['bash', '-c', script], gpus: 8, tier: 'spot', maxPricePerHour: { amountMicros: floor * 16, currency: 'CNY' } });
      await until('the spot job to run', stateIs(spot.id, 'running'));
      const firstRun = (await h.ts.store.db.selectFrom('jobs').select('executor_ref').where('id', '=', spot.id).executeTakeFirstOrThrow()).executor_ref;
      const { job: urgent } = await h.control.jobs.submit(tenant.p, { command: ['sh', '-c', 'echo "urgent on $SLURMD_NODENAME"'], gpus: 8 });
      await until('the spot job to be requeued', stateIs(spot.id, 'queued'));
      const history = await h.ts.store.db.selectFrom('events').select(['type', 'message']).where('subject_id', '=', spot.id).orderBy('id').execute();
      expect(history.map((e) => e.message).join('\n')).toMatch(/requeued after preemption/);
      await until('the on-demand job to finish', stateIs(urgent.id, 'succeeded'));
      expect(await output(urgent.id)).toBe('urgent on n1\n');
      expect(await output(spot.id)).toMatch(/spot-started\ngot-notice/);
      // The spot job comes back once n1 is free, as a new Slurm job.
      await until('the spot job to run again', stateIs(spot.id, 'running'));
      const secondRun = (await h.ts.store.db.selectFrom('jobs').select('executor_ref').where('id', '=', spot.id).executeTakeFirstOrThrow()).executor_ref;
      expect(secondRun).not.toBe(firstRun);
    });

    it('runs a 2-node gang job on the two nodes Unidle chose, once per node, and bills both', async () => {
      const { job: gang } = await h.control.jobs.submit(tenant.p, { command: ['sh', '-c', 'echo "rank on $SLURMD_NODENAME CVD=$CUDA_VISIBLE_DEVICES"; sleep 1'], gpus: 1, nodes: 2 });
      await h.control.scheduling.run();
      const placed = await job(gang.id);
      expect(placed).toMatchObject({ state: 'scheduled', nodeCount: 2 });
      const allocs = await h.ts.store.db.selectFrom('allocations').innerJoin('nodes', 'nodes.id', 'allocations.node_id').select('nodes.name').where('job_id', '=', gang.id).execute();
      const chosen = allocs.map((a) => a.name).sort();
      expect(new Set(chosen).size).toBe(2);
      await until('the gang job to finish', stateIs(gang.id, 'succeeded', 'failed'));
      expect((await job(gang.id)).state).toBe('succeeded');
      const lines = (await output(gang.id)).trim().split('\n').sort();
      expect(lines).toEqual(chosen.map((n) => `rank on ${n} CVD=0`));
      const usage = await h.ts.store.db.selectFrom('usage').select(['gpu_milli']).where('job_id', '=', gang.id).execute();
      expect(usage.every((u) => u.gpu_milli === 2000)).toBe(true);
    });

    // Controller restarts and drains are about Slurm, not the database: once is enough.
    it.runIf(dialect === 'sqlite')('reconciles a job across a slurmctld restart: it keeps running and finishes once, billed to Slurm\'s end', { timeout: 90_000 }, async () => {
      const { job: steady } = await h.control.jobs.submit(tenant.p, { command: ['sh', '-c', 'sleep 6; echo survived'], gpus: 1 });
      await until('the job to run', stateIs(steady.id, 'running'));
      const base = dirname(dirname(env.SLURM_CONF!));
      const pid = Number(readFileSync(join(base, 'run', 'slurmctld.pid'), 'utf8').trim());
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      // While the controller is away nothing changes (no duplicate, no loss).
      await pass().catch(() => {});
      expect((await job(steady.id)).state).toBe('running');
      execFileSync('bash', [join(process.cwd(), 'scripts', 'slurm-dev-cluster.sh'), 'start'], { env: process.env, stdio: 'pipe' });
      const done = await until('the job to finish after the restart', stateIs(steady.id, 'succeeded', 'failed', 'lost'), 40_000);
      expect(done.state).toBe('succeeded');
      expect(await output(steady.id)).toBe('survived\n');
      expect((await api.listJobs()).filter((j) => j.name === `unidle-${steady.id}`)).toHaveLength(1);
    });

    it.runIf(dialect === 'sqlite')('takes no new work on a node Slurm drains, and uses it again when it is resumed', async () => {
      const scontrol = (...args: string[]) => execFileSync('scontrol', args, { env: process.env, stdio: 'pipe' });
      scontrol('update', 'nodename=n4', 'state=drain', 'reason=unidle-test');
      try {
        await pass();
        const n4 = await h.control.inventory.getNode('n4');
        expect(n4).toMatchObject({ status: 'down', statusReason: expect.stringMatching(/DRAIN.*unidle-test/) });
      } finally {
        scontrol('update', 'nodename=n4', 'state=resume');
      }
      // Right after a resume Slurm reports IDLE+NOT_RESPONDING for a moment, until slurmd answers.
      await until('n4 to take work again', async () => (await h.control.inventory.getNode('n4')).status === 'up', 15_000);
    });
  });
});

