#!/usr/bin/env node
// bench/api: job submissions per second and p99 latency through the real HTTP API, on SQLite and on
// PostgreSQL, plus the resident memory of `unidle up` at rest. Prints a table and writes
// bench/results/api.json. Not a timed test: compare runs made on the same machine.
//
//   npm run bench:api -- [--requests 3000] [--concurrency 32] [--skip-postgres]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ControlPlane } from '../dist/control/control-plane.js';
import { seedDemo } from '../dist/control/demo-seed.js';
import { systemClock } from '../dist/domain/clock.js';
import { resolveConfig } from '../dist/server/config.js';
import { controlOptions } from '../dist/server/server.js';
import { migrate, openStore } from '../dist/store/database.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const REQUESTS = Number(flag('requests', '3000'));
const CONCURRENCY = Number(flag('concurrency', '32'));
const PG_URL = process.env.UNIDLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function registerNodes(url, token, count) {
  for (let n = 0; n < count; n++) {
    const devices = Array.from({ length: 8 }, (_, index) => ({ index, uuid: `GPU-bench-${n}-${index}`, name: 'NVIDIA H100 80GB HBM3', model: 'H100', memoryMib: 81559 }));
    const res = await fetch(`${url}/v1/agent/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ nodeName: `bench-${n}`, hostname: `bench-${n}`, agentVersion: 'bench', cpuMilli: 256000, memoryMib: 2097152, devices, runningJobIds: [] }),
    });
    if (!res.ok) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  }
}

async function submitLoad(url, key, total, prefix) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  const body = JSON.stringify({ command: ['sh', '-c', 'echo bench'], gpuMilli: 10 });
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `${prefix}-${i}` },
        body,
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== 201) failures++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    concurrency: CONCURRENCY,
    failures,
    submissionsPerSecond: Math.round(total / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
  };
}

/**
 * The server runs in its own process (`unidle serve`), as in production, so the load generator does
 * not steal its event loop; the database is seeded first through the same code `unidle up` uses.
 */
async function benchDatabase(name) {
  const dataDir = mkdtempSync(join(tmpdir(), 'unidle-bench-'));
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const port = 18000 + Math.floor(Math.random() * 2000);
  const env = { ...process.env, UNIDLE_PORT: String(port), UNIDLE_DATA_DIR: dataDir, UNIDLE_LOG_LEVEL: 'warn' };
  if (name === 'postgres') Object.assign(env, { DATABASE_URL: PG_URL, UNIDLE_PG_SCHEMA: schema });
  else delete env.DATABASE_URL;
  const store = openStore({ databaseUrl: env.DATABASE_URL, sqlitePath: join(dataDir, 'unidle.db'), pgSchema: env.UNIDLE_PG_SCHEMA });
  await migrate(store, env.UNIDLE_PG_SCHEMA);
  const control = new ControlPlane(store, systemClock, controlOptions(resolveConfig({}, {})), { info() {}, warn() {}, error() {}, debug() {} });
  const seed = await seedDemo(control, {});
  await store.close();
  const child = spawn(process.execPath, [join(root, 'bin/unidle.js'), 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error('unidle serve did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    await registerNodes(url, seed.agentToken, 4);
    // Warm up JIT, caches and connections before measuring.
    await submitLoad(url, seed.demoKey, Math.min(300, REQUESTS), 'warmup');
    const result = await submitLoad(url, seed.demoKey, REQUESTS, 'bench');
    return { database: name, server: 'unidle serve (separate process)', ...result };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
    if (name === 'postgres') {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }
}

async function restingMemory() {
  const dataDir = mkdtempSync(join(tmpdir(), 'unidle-bench-up-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(root, 'bin/unidle.js'), 'up', '--port', String(port), '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 60_000;
    while (!/UNIDLE_API_KEY|unidle submit/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`unidle up did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
    return { rssMiB: Math.round(kb / 1024), nodes: 2, gpus: 16 };
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = { when: new Date().toISOString(), machine: `${process.platform} ${process.arch}, node ${process.version}`, runs: [], upAtRest: null };
for (const db of args.includes('--skip-postgres') ? ['sqlite'] : ['sqlite', 'postgres']) {
  process.stdout.write(`submitting ${REQUESTS} jobs with ${CONCURRENCY} concurrent clients on ${db}…\n`);
  results.runs.push(await benchDatabase(db));
}
process.stdout.write('measuring resident memory of `unidle up` at rest…\n');
results.upAtRest = await restingMemory();

console.log('\ndatabase   submissions/s   p50 ms   p99 ms   failures');
for (const r of results.runs) {
  console.log(`${r.database.padEnd(10)} ${String(r.submissionsPerSecond).padStart(13)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)} ${String(r.failures).padStart(10)}`);
}
console.log(`\nunidle up at rest (2 nodes × 8 simulated H100): ${results.upAtRest.rssMiB} MiB resident`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/api.json'), JSON.stringify(results, null, 2) + '\n');
console.log('written to bench/results/api.json');
