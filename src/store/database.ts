import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, sql, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider, type Transaction } from 'kysely';
import pg from 'pg';
import { initialMigration } from './migrations/0001-initial.js';
import { marketMigration } from './migrations/0002-market.js';
import { telemetryMigration } from './migrations/0003-telemetry.js';
import { idleMigration } from './migrations/0004-idle.js';
import { parkingMigration } from './migrations/0005-parking.js';
import { executorMigration } from './migrations/0006-executor.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StoreHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the data lives, for people: a file path or a URL without password. */
  describe: string;
  close(): Promise<void>;
}

export type Tx = Transaction<Database>;
export type Db = Kysely<Database> | Tx;
/** The root handle services hold: it can open transactions. */
export type DB = Kysely<Database>;

/** PostgreSQL's int8 and numeric come back as strings; every integer Unidle stores fits in 2^53. */
function pgTypes(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === 20 || oid === 1700) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format as 'text');
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export interface OpenOptions {
  /** `postgres://…` or `postgresql://…`; absent → SQLite at `sqlitePath`. */
  databaseUrl?: string;
  sqlitePath?: string;
  /** For PostgreSQL: run in this schema (created if missing); tests use one per run. */
  pgSchema?: string;
  poolSize?: number;
}

export function openStore(options: OpenOptions): StoreHandle {
  const url = options.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const schema = options.pgSchema;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      types: pgTypes(),
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const safe = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    return { db, dialect: 'postgres', describe: schema ? `${safe} (schema ${schema})` : safe, close: () => db.destroy() };
  }
  if (url) throw new Error(`DATABASE_URL must start with postgres:// or postgresql:// (got "${url.split(':')[0]}:…"); leave it unset for SQLite`);
  const path = options.sqlitePath ?? ':memory:';
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  // WAL lets readers proceed during a write; NORMAL sync is durable across process crashes
  // (only an OS crash can drop the last transactions), the trade embedded databases usually make.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', describe: path, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; compiling SQL is a large share of a small query's cost on
 * SQLite, and the control plane runs the same few dozen queries over and over. Statements are
 * cached by their SQL text (bounded, oldest evicted).
 */
function withStatementCache(sqlite: SQLite.Database, limit = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (source: string) => {
          let statement = cache.get(source);
          if (!statement) {
            statement = target.prepare(source);
            if (cache.size >= limit) cache.delete(cache.keys().next().value!);
            cache.set(source, statement);
          }
          return statement;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

class StaticMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return { '0001-initial': initialMigration(this.dialect), '0002-market': marketMigration(this.dialect), '0003-telemetry': telemetryMigration(this.dialect), '0004-idle': idleMigration(this.dialect), '0005-parking': parkingMigration(this.dialect), '0006-executor': executorMigration(this.dialect) };
  }
}

function isOtherSchemaGone(error: unknown, ours: string | undefined): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '3F000' && typeof e.message === 'string' && (ours === undefined || !e.message.includes(`"${ours}"`));
}

/** Brings the schema to the latest version; safe to call on every start. */
export async function migrate(store: StoreHandle, pgSchema?: string): Promise<void> {
  if (store.dialect === 'postgres' && pgSchema) {
    await store.db.schema.createSchema(pgSchema).ifNotExists().execute();
  }
  // Kysely looks for its bookkeeping tables in any schema unless told which: name ours, so another
  // schema in the same database (another app, a parallel test run) is never mistaken for this one.
  let migrationTableSchema: string | undefined;
  if (store.dialect === 'postgres') {
    const r = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
    migrationTableSchema = r.rows[0]?.schema ?? pgSchema ?? 'public';
  }
  const migrator = new Migrator({ db: store.db, provider: new StaticMigrations(store.dialect), migrationTableSchema });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's catalog introspection reads every schema of the database, so another schema dropped at
  // that moment (another app's, or a parallel test run's) fails it with "schema … does not exist";
  // nothing of ours was changed (migrations run in a transaction), so trying again is safe.
  for (let attempt = 1; error && attempt < 10 && isOtherSchemaGone(error, migrationTableSchema); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
