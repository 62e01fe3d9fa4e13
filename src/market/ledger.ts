import { invalid } from '../domain/errors.js';

/**
 * Double-entry bookkeeping, the pure part: accounts, balanced transactions and the trial balance.
 * Every transaction's postings sum to zero per currency, so money only moves between accounts:
 * it is never created by rounding or lost by a crash between two writes (the store writes a
 * transaction's postings in one database transaction).
 *
 * Sign convention: a posting's amount is a debit when positive and a credit when negative.
 *   asset    cash                          debit-normal (money the center holds)
 *   liability tenant:<id>:balance           credit-normal (prepaid money owed to the tenant)
 *   liability tenant:<id>:reservation       credit-normal (prepaid reserved capacity not yet used)
 *   income   revenue:<tier>                 credit-normal
 *   contra   refunds                        debit-normal (reduces revenue)
 *   asset    receivable:tenant:<id>         debit-normal (post-paid use not yet paid)
 */
export type AccountKind = 'asset' | 'liability' | 'income' | 'contra-income';

export interface Posting {
  account: string;
  /** Positive: debit; negative: credit. Integer micro-units. */
  amountMicros: number;
  currency: string;
}

export interface LedgerTransaction {
  /** Idempotency: the same id posted twice is one transaction (e.g. `charge:<leaseId>:<untilMs>`). */
  id: string;
  at: number;
  memo: string;
  postings: Posting[];
}

export function accountKind(account: string): AccountKind {
  if (account === 'cash' || account.startsWith('receivable:')) return 'asset';
  if (account.startsWith('tenant:')) return 'liability';
  if (account.startsWith('revenue:')) return 'income';
  if (account === 'refunds') return 'contra-income';
  throw invalid('account', `unknown account "${account}"; accounts are cash, receivable:tenant:<id>, tenant:<id>:balance|reservation, revenue:<tier>, refunds`);
}

/** Checks a transaction before it is written: whole micro-units, known accounts, zero sum per currency. */
export function validateTransaction(tx: LedgerTransaction): void {
  if (tx.postings.length < 2) throw invalid('postings', 'a transaction moves money between at least two accounts');
  const sums = new Map<string, number>();
  for (const p of tx.postings) {
    if (!Number.isSafeInteger(p.amountMicros) || p.amountMicros === 0) throw invalid('postings.amountMicros', `must be a non-zero whole number of micro-units, got ${p.amountMicros}`);
    accountKind(p.account);
    sums.set(p.currency, (sums.get(p.currency) ?? 0) + p.amountMicros);
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0) throw invalid('postings', `${currency} postings of "${tx.memo}" sum to ${sum} micro-units; debits must equal credits`);
  }
}

/** A tenant's use of `amountMicros` paid from its prepaid balance: balance (debit) → revenue (credit). */
export function chargeTransaction(args: { id: string; at: number; tenantId: string; tier: string; amountMicros: number; currency: string; memo: string }): LedgerTransaction {
  return {
    id: args.id,
    at: args.at,
    memo: args.memo,
    postings: [
      { account: `tenant:${args.tenantId}:balance`, amountMicros: args.amountMicros, currency: args.currency },
      { account: `revenue:${args.tier}`, amountMicros: -args.amountMicros, currency: args.currency },
    ],
  };
}

/** Money paid in: cash (debit) → the tenant's prepaid balance (credit). */
export function topUpTransaction(args: { id: string; at: number; tenantId: string; amountMicros: number; currency: string }): LedgerTransaction {
  return {
    id: args.id,
    at: args.at,
    memo: 'top-up',
    postings: [
      { account: 'cash', amountMicros: args.amountMicros, currency: args.currency },
      { account: `tenant:${args.tenantId}:balance`, amountMicros: -args.amountMicros, currency: args.currency },
    ],
  };
}

/** A refund of earlier charges: refunds (debit, reducing revenue) → the tenant's balance (credit). */
export function refundTransaction(args: { id: string; at: number; tenantId: string; amountMicros: number; currency: string; memo: string }): LedgerTransaction {
  return {
    id: args.id,
    at: args.at,
    memo: args.memo,
    postings: [
      { account: 'refunds', amountMicros: args.amountMicros, currency: args.currency },
      { account: `tenant:${args.tenantId}:balance`, amountMicros: -args.amountMicros, currency: args.currency },
    ],
  };
}

export interface TrialBalance {
  balanced: boolean;
  /** Per currency: total debits and credits (credits as a positive number). */
  totals: { currency: string; debitsMicros: number; creditsMicros: number }[];
  /** Per account and currency: the balance (debit positive). */
  accounts: { account: string; currency: string; balanceMicros: number }[];
}

export function trialBalance(postings: Iterable<Posting>): TrialBalance {
  const totals = new Map<string, { debits: number; credits: number }>();
  const accounts = new Map<string, { account: string; currency: string; balanceMicros: number }>();
  for (const p of postings) {
    const t = totals.get(p.currency) ?? { debits: 0, credits: 0 };
    if (p.amountMicros > 0) t.debits += p.amountMicros;
    else t.credits -= p.amountMicros;
    totals.set(p.currency, t);
    const key = `${p.account}\u0000${p.currency}`;
    const a = accounts.get(key) ?? { account: p.account, currency: p.currency, balanceMicros: 0 };
    a.balanceMicros += p.amountMicros;
    accounts.set(key, a);
  }
  const rows = [...totals.entries()].map(([currency, t]) => ({ currency, debitsMicros: t.debits, creditsMicros: t.credits })).sort((a, b) => a.currency.localeCompare(b.currency));
  return {
    balanced: rows.every((r) => r.debitsMicros === r.creditsMicros),
    totals: rows,
    accounts: [...accounts.values()].sort((a, b) => a.account.localeCompare(b.account) || a.currency.localeCompare(b.currency)),
  };
}
