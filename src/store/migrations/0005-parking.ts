import type { Kysely, Migration } from 'kysely';

/**
 * Node parking (src/control/parking-service.ts). `nodes.power_state` (on | parking | parked | waking)
 * existed from the start; this adds when it last changed (a wake's deadline and a parked node's age
 * count from it) and the operator's veto: a node with `park_veto = 1` is never parked by a policy.
 */
export function parkingMigration(_dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('nodes').addColumn('power_changed_at', 'bigint').execute();
      await db.schema.alterTable('nodes').addColumn('park_veto', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('nodes').addColumn('park_veto_reason', 'text').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('nodes').dropColumn('park_veto_reason').execute();
      await db.schema.alterTable('nodes').dropColumn('park_veto').execute();
      await db.schema.alterTable('nodes').dropColumn('power_changed_at').execute();
    },
  };
}
