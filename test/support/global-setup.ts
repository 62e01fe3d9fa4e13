import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Test stores on PostgreSQL live in schemas named after this run. They are dropped here, once, at the
 * end: dropping a schema while another test file migrates races with Kysely's catalog introspection
 * ("schema … does not exist"), so no test drops schemas while others run.
 */
const PG_URL = process.env.UNIDLE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export default function setup(): () => Promise<void> {
  const run = randomBytes(3).toString('hex');
  process.env.UNIDLE_TEST_RUN = run;
  return async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like $1`, [`t\\_${run}\\_%`]);
      for (const r of rows) await client.query(`drop schema if exists "${r.nspname}" cascade`);
    } catch {
      // No PostgreSQL here (the PostgreSQL tests were skipped): nothing to clean.
    } finally {
      await client.end().catch(() => {});
    }
  };
}
