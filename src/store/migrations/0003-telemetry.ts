import type { Kysely, Migration } from 'kysely';

/**
 * GPU telemetry at three resolutions: raw samples (kept 24 h), one-minute rollups (30 days) and
 * one-hour rollups (kept). Rollups carry sums and counts rather than averages so a coarser level is
 * computed from the finer one exactly; energy is the counter's delta within the bucket.
 */
export function telemetryMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
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
        .addPrimaryKeyConstraint('gpu_samples_pk', ['device_id', 'at'])
        .execute();
      await db.schema.createIndex('gpu_samples_at').on('gpu_samples').column('at').execute();
      for (const table of ['gpu_samples_1m', 'gpu_samples_1h']) {
        await db.schema
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
          .addPrimaryKeyConstraint(`${table}_pk`, ['device_id', 'bucket_at'])
          .execute();
        await db.schema.createIndex(`${table}_bucket`).on(table).column('bucket_at').execute();
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
