// Telemetry ingestion at scale: 10,000 devices (1,250 nodes × 8) report a sample every 10 s, as the
// agents do (one report per node), and the rollup runs every simulated minute. The bench runs an
// hour of simulated time as fast as it can and reports the samples per second it sustains and the
// lag: how long one 10 s round of reports takes (it must stay well under 10 s not to fall behind).
// Usage: npm run build && node bench/telemetry.mjs [--devices 10000] [--minutes 60] [--dialects sqlite,postgres]
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
import { resolveConfig } from '../dist/server/config.js';
import { controlOptions } from '../dist/server/server.js';
import { migrate, openStore } from '../dist/store/database.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const DEVICES = Number(flag('devices', '10000'));
const MINUTES = Number(flag('minutes', '60'));
const DIALECTS = flag('dialects', 'sqlite,postgres').split(',');
const PG_URL = process.env.UNIDLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const PER_NODE = 8;
const INTERVAL = 10_000;

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
  const dir = mkdtempSync(join(tmpdir(), 'unidle-bench-telemetry-'));
  const schema = `bench_tel_${randomBytes(4).toString('hex')}`;
  const store = dialect === 'sqlite' ? openStore({ sqlitePath: join(dir, 'unidle.db') }) : openStore({ databaseUrl: PG_URL, pgSchema: schema, poolSize: 10 });
  try {
    await migrate(store, dialect === 'postgres' ? schema : undefined);
    const t0 = Date.UTC(2026, 10, 28, 12);
    const clock = new ManualClock(t0);
    const control = new ControlPlane(store, clock, controlOptions(resolveConfig({}, {})), silent);
    const seed = await seedDemo(control, {});
    const agent = await control.keys.authenticate(seed.agentToken);
    const center = await control.market.center();
    const nodes = Math.ceil(DEVICES / PER_NODE);
    const nodeIds = [];
    for (let n = 0; n < nodes; n += 250) {
      const nodeRows = [];
      const deviceRows = [];
      for (let k = n; k < Math.min(nodes, n + 250); k++) {
        const id = newId('node', t0);
        nodeIds.push(id);
        nodeRows.push({ id, center_id: center.id, name: `bench-${k}`, hostname: `bench-${k}`, executor: 'agent', status: 'up', status_reason: null, cordoned: 0, draining: 0, cordon_reason: null, power_state: 'on', cpu_milli: 256000, memory_mib: 2097152, allocated_cpu_milli: 0, allocated_memory_mib: 0, agent_version: 'bench', last_heartbeat_at: t0, registered_at: t0, updated_at: t0 });
        for (let i = 0; i < PER_NODE; i++) deviceRows.push({ id: newId('dev', t0), node_id: id, idx: i, uuid: `GPU-bench-${k}-${i}`, name: 'NVIDIA H200', model: 'H200', memory_mib: 143771, allocated_milli: 0 });
      }
      await store.db.insertInto('nodes').values(nodeRows).execute();
      await store.db.insertInto('devices').values(deviceRows).execute();
    }
    const energy = new Float64Array(nodes * PER_NODE);
    const rounds = (MINUTES * 60_000) / INTERVAL;
    const roundMs = [];
    const rollupMs = [];
    let samples = 0;
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      clock.advance(INTERVAL);
      const at = clock.now();
      const t = performance.now();
      // Reports arrive concurrently from many agents; 16 in flight at a time.
      let next = 0;
      const worker = async () => {
        while (next < nodes) {
          const n = next++;
          const readings = [];
          for (let i = 0; i < PER_NODE; i++) {
            const busy = (n + i + r) % 3 !== 0;
            const power = busy ? 690_000 : 80_300;
            energy[n * PER_NODE + i] += power * 10;
            readings.push({ deviceIndex: i, at, utilizationPct: busy ? 97 : 0, memoryUsedMib: busy ? 70_000 : 0, powerMilliwatts: power, energyMillijoules: energy[n * PER_NODE + i], temperatureC: busy ? 62 : 31, smClockMhz: 1980, pstate: 'P0' });
          }
          const res = await control.telemetry.ingest(agent, { nodeId: nodeIds[n], samples: readings });
          samples += res.accepted;
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      roundMs.push(performance.now() - t);
      if ((r + 1) % 6 === 0) {
        const u = performance.now();
        await control.telemetry.rollup();
        rollupMs.push(performance.now() - u);
      }
      if ((r + 1) % 60 === 0) process.stdout.write(`${dialect}: ${(r + 1) / 6} simulated minutes, last round ${roundMs.at(-1).toFixed(0)} ms\n`);
    }
    const wall = (performance.now() - started) / 1000;
    const sorted = [...roundMs].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)];
    const minuteRows = Number((await store.db.selectFrom('gpu_samples_1m').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return {
      dialect,
      devices: nodes * PER_NODE,
      simulatedMinutes: MINUTES,
      samples,
      samplesPerSecondSustained: Math.round(samples / wall),
      neededSamplesPerSecond: Math.round((nodes * PER_NODE) / (INTERVAL / 1000)),
      roundMsMedian: Math.round(sorted[Math.floor(sorted.length / 2)]),
      roundMsP99: Math.round(p99),
      rollupMsMax: Math.round(Math.max(...rollupMs)),
      lagSecondsMax: Math.max(0, Math.round((Math.max(...roundMs) + Math.max(...rollupMs) - INTERVAL) / 1000)),
      minuteRows,
    };
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
console.log('\n| database | devices | sustained samples/s | needed | 10 s round median / p99 | rollup max | lag |\n| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.dialect} | ${r.devices} | ${r.samplesPerSecondSustained} | ${r.neededSamplesPerSecond} | ${r.roundMsMedian} / ${r.roundMsP99} ms | ${r.rollupMsMax} ms | ${r.lagSecondsMax} s |`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/telemetry.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
console.log('wrote bench/results/telemetry.json');
