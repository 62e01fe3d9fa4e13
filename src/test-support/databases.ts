import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openStore, type Dialect, type StoreHandle } from '../store/database.js';

/**
 * Storage tests run on both databases. PostgreSQL is expected at 127.0.0.1:5432 (user postgres,
 * trust auth) on dev and CI machines; each test store lives in its own schema, dropped afterwards.
 * Without a reachable PostgreSQL the PostgreSQL variants skip, except under CI where that is an error.
 */
export const PG_URL = process.env.UNIDLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let pgReachable: boolean | undefined;

export async function postgresAvailable(): Promise<boolean> {
  if (pgReachable !== undefined) return pgReachable;
  // A loaded CI machine (two vitest workers importing test files, Slurm and Chromium starting) can take
  // more than a couple of seconds to accept one connection, so a miss is retried before it counts:
  // a wrong verdict here either fails CI for nothing or silently skips half the storage tests.
  const attempts = process.env.CI ? 5 : 2;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts && pgReachable === undefined; attempt++) {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query('select 1');
      pgReachable = true;
    } catch (err) {
      lastError = err as Error;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (pgReachable) return true;
  if (process.env.CI) {
    throw new Error(`PostgreSQL is required in CI but unreachable at ${PG_URL} after ${attempts} tries: ${lastError?.message}`);
  }
  pgReachable = false;
  return false;
}

export interface TestStore {
  store: StoreHandle;
  dialect: Dialect;
  /** For servers in child processes: the DATABASE_URL / schema / data dir to reach the same data. */
  env: { DATABASE_URL?: string; UNIDLE_PG_SCHEMA?: string; UNIDLE_DATA_DIR: string };
  dataDir: string;
  pgSchema?: string;
  /** A second handle on the same data (another "process"). */
  reopen(poolSize?: number): StoreHandle;
  dispose(): Promise<void>;
}

export async function createTestStore(dialect: Dialect, options: { poolSize?: number } = {}): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unidle-test-'));
  const extra: StoreHandle[] = [];
  if (dialect === 'sqlite') {
    const path = join(dataDir, 'unidle.db');
    const store = openStore({ sqlitePath: path });
    await migrate(store);
    return {
      store,
      dialect,
      env: { UNIDLE_DATA_DIR: dataDir },
      dataDir,
      reopen: () => {
        const s = openStore({ sqlitePath: path });
        extra.push(s);
        return s;
      },
      async dispose() {
        for (const s of extra) await s.close().catch(() => {});
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${process.env.UNIDLE_TEST_RUN ?? 'adhoc'}_${randomBytes(5).toString('hex')}`;
  const store = openStore({ databaseUrl: PG_URL, pgSchema: schema, poolSize: options.poolSize });
  await migrate(store, schema);
  return {
    store,
    dialect,
    env: { DATABASE_URL: PG_URL, UNIDLE_PG_SCHEMA: schema, UNIDLE_DATA_DIR: dataDir },
    dataDir,
    pgSchema: schema,
    reopen: (poolSize?: number) => {
      const s = openStore({ databaseUrl: PG_URL, pgSchema: schema, poolSize });
      extra.push(s);
      return s;
    },
    async dispose() {
      for (const s of extra) await s.close().catch(() => {});
      await store.close();
      // The schema itself is dropped by the global teardown (test/support/global-setup.ts).
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The dialects to run storage tests on here: both, or SQLite alone where PostgreSQL is absent (never in CI). */
export async function testDialects(): Promise<Dialect[]> {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}
