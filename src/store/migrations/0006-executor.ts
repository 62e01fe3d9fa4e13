import type { Kysely, Migration } from 'kysely';

/**
 * Work run by an external engine (src/executors/): `executor_ref` is the engine's own id for the
 * job's current run (a Slurm job id), null until submitted and cleared when the job is requeued.
 * `node_count` is the number of nodes a gang job spans (1 for everything else): its `gpus`, CPU and
 * memory are per node, and it holds allocations on every node it spans.
 */
export function executorMigration(_dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('jobs').addColumn('executor_ref', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('node_count', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('jobs').dropColumn('node_count').execute();
      await db.schema.alterTable('jobs').dropColumn('executor_ref').execute();
    },
  };
}
