import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../domain/ids.js';
import { createRandom } from '../domain/random.js';
import { chargeMicros } from '../market/money.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';

const dialects = await testDialects();
const BIN = join(import.meta.dirname, '../../bin/unidle.js');
const BUILT = existsSync(join(import.meta.dirname, '../../dist/cli/main.js'));
const JOBS = 1500;
const ROUNDS = 6;

/**
 * A real `unidle serve` bills thousands of running leases every 20 ms and is killed with SIGKILL at
 * random moments (most land inside a metering transaction), then restarted. After every kill the
 * ledger balances and each lease's charge is exactly what its charged span costs; at the end every
 * lease is charged for exactly its confirmed span: no charge lost, none counted twice.
 */
describe.skipIf(!BUILT).each(dialects)('a crash during billing on %s', (dialect) => {
  let h: Harness;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    h = await createHarness(dialect);
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    await h.dispose();
  });

  it('loses and duplicates no charge', { timeout: 120_000 }, async () => {
    const db = h.ts.store.db;
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(8)));
    const center = await h.control.market.center();
    const random = createRandom(11);
    const t0 = Date.now();
    const jobs = [];
    const leases = [];
    for (let i = 0; i < JOBS; i++) {
      const id = newId('job', t0);
      const milli = 100 * (1 + random.int(9));
      jobs.push({
        id, tenant_id: h.seed.tenantId, member_id: h.demo.memberId, name: null, state: 'running', state_reason: 'running', tier: 'on-demand',
        gpu_milli: milli, gpus: null, models: '[]', min_gpu_memory_mib: null, cpu_milli: 1000, memory_mib: 1024, max_duration_ms: 86_400_000,
        command: '["x"]', env: '{}', working_dir: null, idempotency_key: null, request_hash: null, node_id: nodeId, exit_code: null, signal: null,
        created_at: t0, scheduled_at: t0, started_at: t0, ended_at: null, cancel_requested_at: null, confirmed_until: t0, last_seen_at: t0, metered_until: t0, updated_at: t0,
        max_price_micros: null, requeue_on_preempt: 1, price_micros: 1_000_000 + random.int(30_000_000), reservation_id: null,
        preempt_requested_at: null, preempt_deadline_at: null, preempt_kind: null, preempt_reason: null, preemptions: 0, executor_ref: null, node_count: 1,
      });
      leases.push({
        id: newId('lease', t0), job_id: id, tenant_id: h.seed.tenantId, center_id: center.id, node_id: nodeId, model: 'H100', tier: 'on-demand', gpu_milli: milli,
        price_micros: jobs[i]!.price_micros, floor_micros: 0, currency: 'CNY', reservation_id: null, start_at: t0, end_at: null, charged_until: t0, charged_micros: 0, created_at: t0,
      });
    }
    for (let i = 0; i < JOBS; i += 200) {
      await db.insertInto('jobs').values(jobs.slice(i, i + 200)).execute();
      await db.insertInto('leases').values(leases.slice(i, i + 200)).execute();
    }

    const env = {
      ...process.env,
      ...h.ts.env,
      UNIDLE_PORT: '0',
      UNIDLE_LOG_LEVEL: 'debug',
      UNIDLE_METERING_MS: '20',
      UNIDLE_SCHEDULE_MS: '600000',
      UNIDLE_MONITOR_MS: '600000',
      UNIDLE_HEARTBEAT_TIMEOUT_MS: '600000000',
      UNIDLE_UNCONFIRMED_JOB_MS: '600000000',
    };
    let confirmed = t0;
    let passesSeen = 0;
    const passMs: number[] = [];
    const check = async (when: string) => {
      const tb = await h.control.billing.trialBalance(h.operator);
      expect(tb.balanced, when).toBe(true);
      const rows = await db.selectFrom('leases').select(['id', 'job_id', 'price_micros', 'gpu_milli', 'start_at', 'charged_until', 'charged_micros']).execute();
      const usage = new Map((await db.selectFrom('usage').select(['lease_id', (eb) => eb.fn.sum<number>('charge_micros').as('c')]).groupBy('lease_id').execute()).map((u) => [u.lease_id, Number(u.c)]));
      let total = 0;
      for (const l of rows) {
        expect(l.charged_micros, `${when}: lease ${l.id}`).toBe(chargeMicros(l.price_micros, l.gpu_milli, l.charged_until - l.start_at));
        expect(l.charged_until, `${when}: lease ${l.id} charged past what was confirmed`).toBeLessThanOrEqual(confirmed);
        expect(usage.get(l.id) ?? 0, `${when}: usage of ${l.id}`).toBe(l.charged_micros);
        total += l.charged_micros;
      }
      const revenue = tb.accounts.find((a) => a.account === 'revenue:on-demand')?.balanceMicros ?? 0;
      expect(0 - revenue, `${when}: revenue vs leases`).toBe(total);
      return rows;
    };

    const start = () => {
      const c = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const count = (d: Buffer) => {
        const text = d.toString();
        passesSeen += (text.match(/metering pass/g) ?? []).length;
        for (const m of text.matchAll(/"ms":(\d+)/g)) passMs.push(Number(m[1]));
      };
      c.stdout!.on('data', count);
      c.stderr!.on('data', count);
      return c;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Heartbeats confirm another minute of every job, then the server bills it while we pull the plug.
      confirmed += 60_000;
      await db.updateTable('jobs').set({ confirmed_until: confirmed }).execute();
      child = start();
      const exited = new Promise((r) => child!.once('exit', r));
      // Wait for the first pass of this run to be billing, then pull the plug a moment later.
      const before = passesSeen;
      const until = Date.now() + 30_000;
      while (passesSeen === before && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, random.int(150)));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
      await check(`after kill ${round + 1}`);
    }
    // A clean last run bills what is left; nothing is lost and nothing counted twice.
    child = start();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const left = await db.selectFrom('leases').select((eb) => eb.fn.countAll<number>().as('n')).where('charged_until', '<', confirmed).executeTakeFirstOrThrow();
      if (Number(left.n) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
    const rows = await check('at the end');
    for (const l of rows) expect(l.charged_until).toBe(confirmed);
    expect(passesSeen).toBeGreaterThanOrEqual(ROUNDS);
    if (process.env.UNIDLE_SHOW_CRASH_STATS) console.log(dialect, 'passes', passesSeen, 'pass ms', passMs.join(','));
  });
});
