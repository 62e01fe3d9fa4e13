import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The first schema. Constraints carry the invariants the code relies on, so a bug or a race that
 * would over-allocate a device, bill a span twice or lose a log byte fails in the database instead.
 */
export function initialMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const autoId = dialect === 'postgres' ? 'bigserial' : 'integer';
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('centers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('center_id', 'text', (c) => c.notNull().references('centers.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('executor', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('cordoned', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('draining', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cordon_reason', 'text')
        .addColumn('power_state', 'text', (c) => c.notNull().defaultTo('on'))
        .addColumn('cpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('memory_mib', 'bigint', (c) => c.notNull())
        .addColumn('allocated_cpu_milli', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('allocated_memory_mib', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('agent_version', 'text')
        .addColumn('last_heartbeat_at', 'bigint')
        .addColumn('registered_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('nodes_center_name_unique', ['center_id', 'name'])
        .addCheckConstraint('nodes_cpu_within_capacity', sql`allocated_cpu_milli >= 0 and allocated_cpu_milli <= cpu_milli`)
        .addCheckConstraint('nodes_memory_within_capacity', sql`allocated_memory_mib >= 0 and allocated_memory_mib <= memory_mib`)
        .execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull().references('nodes.id'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('uuid', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('memory_mib', 'bigint', (c) => c.notNull())
        .addColumn('allocated_milli', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('devices_node_idx_unique', ['node_id', 'idx'])
        .addCheckConstraint('devices_milli_within_one_gpu', sql`allocated_milli >= 0 and allocated_milli <= 1000`)
        .execute();

      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('members')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
        .addColumn('center_id', 'text', (c) => c.references('centers.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('disabled_at', 'bigint')
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull().unique())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
        .addColumn('name', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('state_reason', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('gpu_milli', 'integer')
        .addColumn('gpus', 'integer')
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('min_gpu_memory_mib', 'bigint')
        .addColumn('cpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('memory_mib', 'bigint', (c) => c.notNull())
        .addColumn('max_duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('working_dir', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('request_hash', 'text')
        .addColumn('node_id', 'text', (c) => c.references('nodes.id'))
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('scheduled_at', 'bigint')
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('cancel_requested_at', 'bigint')
        .addColumn('confirmed_until', 'bigint')
        .addColumn('last_seen_at', 'bigint')
        .addColumn('metered_until', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('jobs_tenant_idempotency_unique', ['tenant_id', 'idempotency_key'])
        .addCheckConstraint(
          'jobs_one_shape',
          sql`(gpu_milli is not null and gpus is null and gpu_milli between 1 and 999) or (gpus is not null and gpu_milli is null and gpus >= 1)`,
        )
        .execute();
      await db.schema.createIndex('jobs_state_created').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema.createIndex('jobs_tenant_id').on('jobs').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('jobs_node_state').on('jobs').columns(['node_id', 'state']).execute();

      await db.schema
        .createTable('allocations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('node_id', 'text', (c) => c.notNull().references('nodes.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('device_index', 'integer', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('gpu_milli', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('released_at', 'bigint')
        .addUniqueConstraint('allocations_job_device_unique', ['job_id', 'device_id'])
        .execute();
      await db.schema.createIndex('allocations_job').on('allocations').column('job_id').execute();

      await db.schema
        .createTable('usage')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('center_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('gpu_model', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('start_at', 'bigint', (c) => c.notNull())
        .addColumn('end_at', 'bigint', (c) => c.notNull())
        .addColumn('gpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('cpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('memory_mib', 'bigint', (c) => c.notNull())
        .addColumn('gpu_milli_ms', 'bigint', (c) => c.notNull())
        .addColumn('cpu_milli_ms', 'bigint', (c) => c.notNull())
        .addColumn('memory_mib_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // A span of a job is metered once: a retried or replayed metering pass cannot add it again.
        .addUniqueConstraint('usage_job_start_unique', ['job_id', 'start_at'])
        .addCheckConstraint('usage_span_positive', sql`end_at > start_at`)
        .execute();
      await db.schema.createIndex('usage_tenant_start').on('usage').columns(['tenant_id', 'start_at']).execute();

      await db.schema
        .createTable('job_logs')
        .addColumn('id', autoId as 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('offset', 'bigint', (c) => c.notNull())
        .addColumn('length', 'bigint', (c) => c.notNull())
        .addColumn('data', blob as 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('job_logs_stream_offset_unique', ['job_id', 'stream', 'offset'])
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('id', autoId as 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('actor', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_subject').on('events').columns(['subject_kind', 'subject_id', 'id']).execute();
      await db.schema.createIndex('events_tenant').on('events').columns(['tenant_id', 'id']).execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['events', 'job_logs', 'usage', 'allocations', 'jobs', 'api_keys', 'members', 'tenants', 'devices', 'nodes', 'centers']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
