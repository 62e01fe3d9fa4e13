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
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    pgReachable = true;
  } catch (err) {
    if (process.env.CI) throw new Error(`PostgreSQL is required in CI but unreachable at ${PG_URL}: ${(err as Error).message}`);
    pgReachable = false;
  } finally {
    await client.end().catch(() => {});
  }
  return pgReachable;
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
