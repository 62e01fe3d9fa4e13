import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL, testDialects } from '../test-support/databases.js';
import { migrate, openStore } from './database.js';

const dialects = await testDialects();

describe.runIf(dialects.includes('postgres'))('migrations on PostgreSQL', () => {
  // Kysely's introspection reads the catalog of every schema; another schema dropped meanwhile (a
  // parallel test run, another app) used to fail the migration with `schema "…" does not exist`.
  it('succeed while other schemas in the database are created and dropped', async () => {
    const run = `t_${process.env.UNIDLE_TEST_RUN ?? 'adhoc'}_mig${process.pid}`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    let stop = false;
    const churn = (async () => {
      for (let i = 0; !stop; i++) {
        const other = `${run}_other${i}`;
        await client.query(`create schema "${other}"; create table "${other}".t (id serial primary key, a int, b text)`);
        await client.query(`drop schema "${other}" cascade`);
      }
    })();
    const failures: string[] = [];
    try {
      for (let k = 0; k < 8; k++) {
        const schema = `${run}_${k}`;
        const store = openStore({ databaseUrl: PG_URL, pgSchema: schema, poolSize: 2 });
        try {
          await migrate(store, schema);
          const jobs = await client.query(`select 1 from information_schema.tables where table_schema = $1 and table_name = 'jobs'`, [schema]);
          expect(jobs.rowCount).toBe(1);
        } catch (err) {
          failures.push((err as Error).message);
        } finally {
          await store.close();
        }
      }
    } finally {
      stop = true;
      await churn;
      await client.end();
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
