import { sql, type Kysely, type Migration } from 'kysely';

/**
 * GPU telemetry at three resolutions: raw samples (kept 24 h), one-minute rollups (30 days) and
 * one-hour rollups (kept). Rollups carry sums and counts rather than averages so a coarser level is
 * computed from the finer one exactly; energy is the counter's delta within the bucket.
 */
export function telemetryMigration(dialect: 'sqlite' | 'postgres'): Migration {
  // Keyed by time first: samples arrive in time order, so inserts append at the end of one B-tree,
  // and rollups and retention read and delete time ranges. SQLite keeps the rows in that tree itself.
  const clustered = (builder: any) => (dialect === 'sqlite' ? builder.modifyEnd(sql`without rowid`) : builder);
  return {
    async up(db: Kysely<any>) {
      await clustered(db.schema
        .createTable('gpu_samples')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('utilization_pct', 'integer')
        .addColumn('memory_used_mib', 'bigint')
        .addColumn('power_mw', 'bigint')
        .addColumn('energy_mj', 'bigint')
        .addColumn('temperature_c', 'integer')
        .addColumn('sm_clock_mhz', 'integer')
        .addColumn('pstate', 'text')
        .addPrimaryKeyConstraint('gpu_samples_pk', ['at', 'device_id']))
        .execute();
      for (const table of ['gpu_samples_1m', 'gpu_samples_1h']) {
        await clustered(db.schema
          .createTable(table)
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('bucket_at', 'bigint', (c) => c.notNull())
          .addColumn('node_id', 'text', (c) => c.notNull())
          .addColumn('samples', 'bigint', (c) => c.notNull())
          .addColumn('utilization_sum', 'bigint', (c) => c.notNull())
          .addColumn('utilization_n', 'bigint', (c) => c.notNull())
          .addColumn('power_sum_mw', 'bigint', (c) => c.notNull())
          .addColumn('power_n', 'bigint', (c) => c.notNull())
          .addColumn('power_max_mw', 'bigint')
          .addColumn('memory_used_max_mib', 'bigint')
          .addColumn('temperature_max_c', 'integer')
          .addColumn('energy_first_mj', 'bigint')
          .addColumn('energy_last_mj', 'bigint')
          .addPrimaryKeyConstraint(`${table}_pk`, ['bucket_at', 'device_id']))
          .execute();
      }
      await db.schema
        .createTable('telemetry_rollups')
        .addColumn('level', 'text', (c) => c.primaryKey())
        .addColumn('done_until', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['telemetry_rollups', 'gpu_samples_1h', 'gpu_samples_1m', 'gpu_samples']) await db.schema.dropTable(table).ifExists().execute();
    },
  };
}
