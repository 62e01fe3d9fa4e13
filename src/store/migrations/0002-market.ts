import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Selling and billing: the center's market settings, the price book, reservations, spot prices,
 * leases (a span of an allocation at one price) and the double-entry ledger. Constraints hold the
 * money invariants the code relies on: a lease is charged from its start forward and never past its
 * end, a posting is never zero, a ledger transaction id is written once.
 */
export function marketMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const autoId = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<any>) {
      const addColumns = async (table: string, columns: Array<[string, string, (c: any) => any]>) => {
        for (const [name, type, build] of columns) await db.schema.alterTable(table).addColumn(name, type as 'text', build).execute();
      };
      await addColumns('centers', [
        ['currency', 'text', (c) => c.notNull().defaultTo('CNY')],
        ['pue_milli', 'integer', (c) => c.notNull().defaultTo(1300)],
        ['tariff_micros_per_kwh', 'bigint', (c) => c.notNull().defaultTo(650_000)],
        ['tax_rate_permille', 'integer', (c) => c.notNull().defaultTo(0)],
        ['pricing_policy', 'text', (c) => c.notNull().defaultTo('fixed')],
        ['pricing_params', 'text', (c) => c.notNull().defaultTo('{}')],
        ['spot_floor_permille', 'integer', (c) => c.notNull().defaultTo(650)],
        ['reserved_discount_permille', 'integer', (c) => c.notNull().defaultTo(300)],
        ['spot_grace_ms', 'bigint', (c) => c.notNull().defaultTo(30_000)],
        ['fair_share_window_ms', 'bigint', (c) => c.notNull().defaultTo(7 * 24 * 3_600_000)],
        ['balance_warning_ms', 'bigint', (c) => c.notNull().defaultTo(3_600_000)],
        ['on_demand_stop_after_ms', 'bigint', (c) => c.notNull().defaultTo(300_000)],
      ]);
      await addColumns('tenants', [
        ['payment_mode', 'text', (c) => c.notNull().defaultTo('postpaid')],
        ['budget_limit_micros', 'bigint', (c) => c],
        ['fair_share_weight_milli', 'integer', (c) => c.notNull().defaultTo(1000)],
        ['balance_warned_at', 'bigint', (c) => c],
        ['balance_exhausted_at', 'bigint', (c) => c],
      ]);
      await addColumns('jobs', [
        ['max_price_micros', 'bigint', (c) => c],
        ['requeue_on_preempt', 'integer', (c) => c.notNull().defaultTo(1)],
        ['price_micros', 'bigint', (c) => c],
        ['reservation_id', 'text', (c) => c],
        ['preempt_requested_at', 'bigint', (c) => c],
        ['preempt_deadline_at', 'bigint', (c) => c],
        ['preempt_kind', 'text', (c) => c],
        ['preempt_reason', 'text', (c) => c],
        ['preemptions', 'integer', (c) => c.notNull().defaultTo(0)],
      ]);
      await addColumns('usage', [
        ['lease_id', 'text', (c) => c],
        ['price_micros', 'bigint', (c) => c.notNull().defaultTo(0)],
        ['charge_micros', 'bigint', (c) => c.notNull().defaultTo(0)],
        ['currency', 'text', (c) => c.notNull().defaultTo('CNY')],
      ]);

      // Live allocations are found by `released_at is null` (the market's view of spot capacity); the
      // table keeps every allocation ever made, so it needs the index.
      await db.schema.createIndex('allocations_released').on('allocations').column('released_at').execute();

      await db.schema
        .createTable('price_book')
        .addColumn('center_id', 'text', (c) => c.notNull().references('centers.id'))
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('list_micros', 'bigint', (c) => c.notNull())
        .addColumn('purchase_price_micros', 'bigint', (c) => c.notNull())
        .addColumn('depreciation_months', 'integer', (c) => c.notNull())
        .addColumn('overhead_micros_per_gpu_hour', 'bigint', (c) => c.notNull())
        .addColumn('expected_utilization_permille', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('price_book_pk', ['center_id', 'model'])
        .addCheckConstraint('price_book_list_positive', sql`list_micros > 0`)
        .execute();

      await db.schema
        .createTable('spot_prices')
        .addColumn('center_id', 'text', (c) => c.notNull().references('centers.id'))
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('price_micros', 'bigint', (c) => c.notNull())
        .addColumn('supply_milli', 'bigint', (c) => c.notNull())
        .addColumn('demand_milli', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('spot_prices_pk', ['center_id', 'model'])
        .execute();

      await db.schema
        .createTable('reservations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('center_id', 'text', (c) => c.notNull().references('centers.id'))
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('gpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('lending_limit_milli', 'bigint', (c) => c.notNull())
        .addColumn('start_at', 'bigint', (c) => c.notNull())
        .addColumn('end_at', 'bigint', (c) => c.notNull())
        .addColumn('price_micros', 'bigint', (c) => c.notNull())
        .addColumn('total_micros', 'bigint', (c) => c.notNull())
        .addColumn('recognized_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('reservations_tenant_key_unique', ['tenant_id', 'idempotency_key'])
        .addCheckConstraint('reservations_term_positive', sql`end_at > start_at and gpu_milli > 0`)
        .addCheckConstraint('reservations_recognized_within_total', sql`recognized_micros >= 0 and recognized_micros <= total_micros`)
        .addCheckConstraint('reservations_lending_within_quota', sql`lending_limit_milli >= 0 and lending_limit_milli <= gpu_milli`)
        .execute();
      await db.schema.createIndex('reservations_center_model').on('reservations').columns(['center_id', 'model', 'end_at']).execute();

      await db.schema
        .createTable('leases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('center_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('gpu_milli', 'bigint', (c) => c.notNull())
        .addColumn('price_micros', 'bigint', (c) => c.notNull())
        .addColumn('floor_micros', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reservation_id', 'text')
        .addColumn('start_at', 'bigint', (c) => c.notNull())
        .addColumn('end_at', 'bigint')
        .addColumn('charged_until', 'bigint', (c) => c.notNull())
        .addColumn('charged_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('leases_job_start_unique', ['job_id', 'start_at'])
        .addCheckConstraint('leases_charged_within_span', sql`charged_until >= start_at and (end_at is null or charged_until <= end_at)`)
        .addCheckConstraint('leases_price_non_negative', sql`price_micros >= 0 and charged_micros >= 0`)
        .execute();
      await db.schema.createIndex('leases_tenant_start').on('leases').columns(['tenant_id', 'start_at']).execute();
      // Every metering pass rewrites each open lease's charge cursor. Room left on each page lets
      // PostgreSQL update in place (HOT: no index touched, as no indexed column changes).
      if (dialect === 'postgres') await sql`alter table leases set (fillfactor = 70)`.execute(db);
      await db.schema.createIndex('leases_end').on('leases').columns(['end_at']).execute();

      await db.schema
        .createTable('ledger_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('memo', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('ref', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_transactions_tenant_at').on('ledger_transactions').columns(['tenant_id', 'at']).execute();

      await db.schema
        .createTable('ledger_postings')
        .addColumn('id', autoId as 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('transaction_id', 'text', (c) => c.notNull().references('ledger_transactions.id'))
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('amount_micros', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('ledger_postings_non_zero', sql`amount_micros <> 0`)
        .execute();
      await db.schema.createIndex('ledger_postings_account').on('ledger_postings').columns(['account', 'currency']).execute();
      await db.schema.createIndex('ledger_postings_transaction').on('ledger_postings').column('transaction_id').execute();
      await db.schema.createIndex('ledger_postings_tenant_at').on('ledger_postings').columns(['tenant_id', 'at']).execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['ledger_postings', 'ledger_transactions', 'leases', 'reservations', 'spot_prices', 'price_book']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
