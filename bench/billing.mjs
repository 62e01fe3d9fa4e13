// One metering pass over many running leases, on SQLite and PostgreSQL: how long it takes and how
// many rows it writes (usage spans, lease and job cursors, ledger transactions and postings).
// Usage: npm run build && node bench/billing.mjs [--leases 10000] [--tenants 50] [--passes 3] [--dialects sqlite,postgres]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ControlPlane } from '../dist/control/control-plane.js';
import { seedDemo } from '../dist/control/demo-seed.js';
import { ManualClock } from '../dist/domain/clock.js';
import { newId } from '../dist/domain/ids.js';
import { createRandom } from '../dist/domain/random.js';
import { resolveConfig } from '../dist/server/config.js';
import { controlOptions } from '../dist/server/server.js';
import { migrate, openStore } from '../dist/store/database.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const LEASES = Number(flag('leases', '10000'));
const TENANTS = Number(flag('tenants', '50'));
const PASSES = Number(flag('passes', '3'));
const DIALECTS = flag('dialects', 'sqlite,postgres').split(',');
const PG_URL = process.env.UNIDLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

async function pgReachable() {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function run(dialect) {
  const dir = mkdtempSync(join(tmpdir(), 'unidle-bench-billing-'));
  const schema = `bench_billing_${randomBytes(4).toString('hex')}`;
  const store = dialect === 'sqlite' ? openStore({ sqlitePath: join(dir, 'unidle.db') }) : openStore({ databaseUrl: PG_URL, pgSchema: schema });
  try {
    await migrate(store, dialect === 'postgres' ? schema : undefined);
    const t0 = Date.UTC(2026, 10, 28, 12);
    const clock = new ManualClock(t0);
    const control = new ControlPlane(store, clock, controlOptions(resolveConfig({}, {})), silent);
    const seed = await seedDemo(control, {});
    const agent = await control.keys.authenticate(seed.agentToken);
    const operator = await control.keys.authenticate(seed.operatorKey);
    const nodes = Math.ceil(LEASES / 8);
    const nodeIds = [];
    // Nodes registered straight into the tables: the bench is about billing, not registration.
    const center = await control.market.center();
    for (let n = 0; n < nodes; n += 500) {
      const batch = [];
      for (let k = n; k < Math.min(nodes, n + 500); k++) {
        const id = newId('node', t0);
        nodeIds.push(id);
        batch.push({ id, center_id: center.id, name: `bench-${k}`, hostname: `bench-${k}`, executor: 'agent', status: 'up', status_reason: null, cordoned: 0, draining: 0, cordon_reason: null, power_state: 'on', cpu_milli: 256000, memory_mib: 2097152, allocated_cpu_milli: 0, allocated_memory_mib: 0, agent_version: 'bench', last_heartbeat_at: t0, registered_at: t0, updated_at: t0 });
      }
      await store.db.insertInto('nodes').values(batch).execute();
    }
    void agent;
    const tenants = [];
    for (let t = 0; t < TENANTS; t++) tenants.push((await control.tenants.create(operator, { name: `bench-${t}` })).id);
    const member = (await store.db.selectFrom('members').select('id').where('role', '=', 'operator').executeTakeFirstOrThrow()).id;
    const random = createRandom(1);
    const jobs = [];
    const leases = [];
    for (let i = 0; i < LEASES; i++) {
      const id = newId('job', t0);
      const milli = 100 * (1 + random.int(9));
      const price = 1_000_000 + random.int(30_000_000);
      const tenant = tenants[i % TENANTS];
      const node = nodeIds[Math.floor(i / 8)];
      jobs.push({ id, tenant_id: tenant, member_id: member, name: null, state: 'running', state_reason: 'running', tier: i % 3 === 0 ? 'spot' : 'on-demand', gpu_milli: milli, gpus: null, models: '[]', min_gpu_memory_mib: null, cpu_milli: 1000, memory_mib: 1024, max_duration_ms: 86_400_000, command: '["x"]', env: '{}', working_dir: null, idempotency_key: null, request_hash: null, node_id: node, exit_code: null, signal: null, created_at: t0, scheduled_at: t0, started_at: t0, ended_at: null, cancel_requested_at: null, confirmed_until: t0, last_seen_at: t0, metered_until: t0, updated_at: t0, max_price_micros: null, requeue_on_preempt: 1, price_micros: price, reservation_id: null, preempt_requested_at: null, preempt_deadline_at: null, preempt_kind: null, preempt_reason: null, preemptions: 0 });
      leases.push({ id: newId('lease', t0), job_id: id, tenant_id: tenant, center_id: center.id, node_id: node, model: 'H100', tier: jobs[i].tier, gpu_milli: milli, price_micros: price, floor_micros: 0, currency: 'CNY', reservation_id: null, start_at: t0, end_at: null, charged_until: t0, charged_micros: 0, created_at: t0 });
    }
    for (let i = 0; i < LEASES; i += 500) {
      await store.db.insertInto('jobs').values(jobs.slice(i, i + 500)).execute();
      await store.db.insertInto('leases').values(leases.slice(i, i + 500)).execute();
    }
    const passes = [];
    for (let p = 1; p <= PASSES; p++) {
      // Heartbeats have confirmed another 10 s of every job: the default metering interval.
      clock.advance(10_000);
      await store.db.updateTable('jobs').set({ confirmed_until: clock.now() }).execute();
      const started = performance.now();
      const r = await control.metering.pass();
      const ms = performance.now() - started;
      passes.push({ pass: p, ms: Math.round(ms), leasesCharged: r.spans, rowsWritten: r.rowsWritten, chargedMicros: r.chargedMicros });
      console.log(`${dialect.padEnd(8)} pass ${p}: ${r.spans} leases charged, ${r.rowsWritten} rows written in ${ms.toFixed(0)} ms`);
    }
    const tb = await control.billing.trialBalance(operator);
    if (!tb.balanced) throw new Error('trial balance not balanced after the bench');
    return { dialect, leases: LEASES, tenants: TENANTS, passes, balanced: tb.balanced, bestMs: Math.min(...passes.map((x) => x.ms)), worstMs: Math.max(...passes.map((x) => x.ms)) };
  } finally {
    if (dialect === 'postgres') await store.db.schema.dropSchema(schema).ifExists().cascade().execute().catch(() => {});
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const d of DIALECTS) {
  if (d === 'postgres' && !(await pgReachable())) {
    console.log(`postgres: unreachable at ${PG_URL}; skipped`);
    continue;
  }
  results.push(await run(d));
}
console.log('\n| database | leases | worst pass | best pass | rows written per pass | target |\n| --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.dialect} | ${r.leases} | ${r.worstMs} ms | ${r.bestMs} ms | ${r.passes[0].rowsWritten} | < 1000 ms ${r.worstMs < 1000 ? 'met' : 'MISSED'} |`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/billing.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
console.log('wrote bench/results/billing.json');
