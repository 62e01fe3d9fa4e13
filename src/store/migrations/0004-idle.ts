import type { Kysely, Migration } from 'kysely';

/**
 * Allocated-but-idle detection (docs: src/control/idle-detector.ts): a running job whose devices sat
 * at near-zero utilization for the configured time is flagged once per idle episode. `idle_since` is
 * the start of the episode (null: not idle, or busy again); `idle_flagged_at` is when it was last
 * flagged (kept after the job is busy again, as history). A flag older than the job's current run
 * (`idle_since < started_at`, after a requeue) belongs to an earlier run and is ignored.
 */
export function idleMigration(_dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('jobs').addColumn('idle_since', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('idle_flagged_at', 'bigint').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('jobs').dropColumn('idle_flagged_at').execute();
      await db.schema.alterTable('jobs').dropColumn('idle_since').execute();
    },
  };
}
