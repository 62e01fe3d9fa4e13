import { sql } from 'kysely';
import { newId } from '../domain/ids.js';
import { trialBalance, validateTransaction, type LedgerTransaction, type Posting, type TrialBalance } from '../market/ledger.js';
import type { Db } from '../store/database.js';

export interface LedgerEntryMeta {
  kind: 'charge' | 'top-up' | 'refund' | 'reservation' | 'recognition' | 'adjustment';
  tenantId: string | null;
  ref?: string | null;
}

const CHUNK = 400;

/** The tenant an account belongs to, for per-tenant statements (null for center accounts). */
export function tenantOfAccount(account: string): string | null {
  const m = /^(?:receivable:)?tenant:([^:]+)/.exec(account);
  return m ? m[1]! : null;
}

/**
 * Writes balanced transactions inside the caller's database transaction. Each is validated first
 * (zero sum per currency, known accounts, whole micro-units), so an unbalanced one never reaches the
 * table; its id is the primary key, so the same transaction posted twice fails instead of counting twice.
 */
export async function postLedger(db: Db, entries: Array<{ tx: LedgerTransaction; meta: LedgerEntryMeta }>, now: number): Promise<void> {
  if (entries.length === 0) return;
  for (const e of entries) validateTransaction(e.tx);
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    await db
      .insertInto('ledger_transactions')
      .values(chunk.map((e) => ({ id: e.tx.id, at: e.tx.at, kind: e.meta.kind, memo: e.tx.memo, tenant_id: e.meta.tenantId, ref: e.meta.ref ?? null, created_at: now })))
      .execute();
  }
  const postings = entries.flatMap((e) =>
    e.tx.postings.map((p) => ({ transaction_id: e.tx.id, account: p.account, tenant_id: tenantOfAccount(p.account), amount_micros: p.amountMicros, currency: p.currency, at: e.tx.at })),
  );
  for (let i = 0; i < postings.length; i += CHUNK) await db.insertInto('ledger_postings').values(postings.slice(i, i + CHUNK)).execute();
}

export function ledgerTransactionId(at: number): string {
  return newId('ltx', at);
}

/** The trial balance over every posting, summed in the database per account and currency. */
export async function trialBalanceOf(db: Db): Promise<TrialBalance & { transactions: number; postings: number }> {
  const rows = await db
    .selectFrom('ledger_postings')
    .select((eb) => [
      'account',
      'currency',
      eb.fn.sum<number>(sql`case when amount_micros > 0 then amount_micros else 0 end`).as('debits'),
      eb.fn.sum<number>(sql`case when amount_micros < 0 then amount_micros else 0 end`).as('credits'),
      eb.fn.countAll<number>().as('n'),
    ])
    .groupBy(['account', 'currency'])
    .execute();
  // Two postings per account (debit side, credit side) reproduce the totals exactly without loading every row.
  const postings: Posting[] = [];
  let count = 0;
  for (const r of rows) {
    if (Number(r.debits) !== 0) postings.push({ account: r.account, currency: r.currency, amountMicros: Number(r.debits) });
    if (Number(r.credits) !== 0) postings.push({ account: r.account, currency: r.currency, amountMicros: Number(r.credits) });
    count += Number(r.n);
  }
  const transactions = await db.selectFrom('ledger_transactions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { ...trialBalance(postings), transactions: Number(transactions.n), postings: count };
}

/** An account's balance (debit positive), in micro-units. */
export async function accountBalance(db: Db, account: string, currency: string): Promise<number> {
  const r = await db
    .selectFrom('ledger_postings')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_micros'), eb.lit(0)).as('balance'))
    .where('account', '=', account)
    .where('currency', '=', currency)
    .executeTakeFirstOrThrow();
  return Number(r.balance);
}
