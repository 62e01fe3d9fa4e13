import { describe, expect, it } from 'vitest';
import { createRandom } from '../domain/random.js';
import { chargeTransaction, refundTransaction, topUpTransaction, trialBalance, validateTransaction, type LedgerTransaction } from './ledger.js';
import { chargeBetween } from './money.js';

describe('ledger', () => {
  it('rejects a transaction whose postings do not sum to zero, or that uses an unknown account', () => {
    const unbalanced: LedgerTransaction = {
      id: 't1',
      at: 0,
      memo: 'bad',
      postings: [
        { account: 'cash', amountMicros: 100, currency: 'CNY' },
        { account: 'tenant:a:balance', amountMicros: -99, currency: 'CNY' },
      ],
    };
    expect(() => validateTransaction(unbalanced)).toThrow(/sum to 1 micro-units; debits must equal credits/);
    expect(() => validateTransaction({ ...unbalanced, postings: [{ account: 'petty', amountMicros: 1, currency: 'CNY' }, { account: 'cash', amountMicros: -1, currency: 'CNY' }] })).toThrow(/unknown account "petty"/);
    expect(() => validateTransaction({ ...unbalanced, postings: [{ account: 'cash', amountMicros: 0.5, currency: 'CNY' }, { account: 'refunds', amountMicros: -0.5, currency: 'CNY' }] })).toThrow(/whole number/);
  });

  it('stays balanced, and charges add up to the leases, under random top-ups, metering passes and refunds', () => {
    const rng = createRandom(2026);
    const transactions: LedgerTransaction[] = [];
    const leases = Array.from({ length: 30 }, (_, i) => ({ id: `lease${i}`, tenant: `t${i % 4}`, price: 1_000_000 + rng.int(40_000_000), milli: 1 + rng.int(8000), charged: 0, length: rng.int(7_200_000) }));
    let step = 0;
    for (const tenant of ['t0', 't1', 't2', 't3']) transactions.push(topUpTransaction({ id: `top-${tenant}`, at: 0, tenantId: tenant, amountMicros: 1_000_000_000, currency: 'CNY' }));
    // metering passes in random order and random sizes, as crashes and restarts would produce
    while (leases.some((l) => l.charged < l.length)) {
      const lease = leases[rng.int(leases.length)]!;
      if (lease.charged >= lease.length) continue;
      const until = Math.min(lease.length, lease.charged + 1 + rng.int(600_000));
      const amount = chargeBetween(lease.price, lease.milli, lease.charged, until);
      if (amount > 0) transactions.push(chargeTransaction({ id: `charge:${lease.id}:${until}`, at: step++, tenantId: lease.tenant, tier: 'on-demand', amountMicros: amount, currency: 'CNY', memo: lease.id }));
      lease.charged = until;
      if (rng.int(20) === 0) transactions.push(refundTransaction({ id: `refund:${step}`, at: step++, tenantId: lease.tenant, amountMicros: 1 + rng.int(1000), currency: 'CNY', memo: 'goodwill' }));
    }
    for (const tx of transactions) validateTransaction(tx);
    const balance = trialBalance(transactions.flatMap((t) => t.postings));
    expect(balance.balanced).toBe(true);
    // revenue equals the one-shot charge of every lease, to the micro-unit: nothing skipped or doubled
    const revenue = -balance.accounts.find((a) => a.account === 'revenue:on-demand')!.balanceMicros;
    const expected = leases.reduce((sum, l) => sum + chargeBetween(l.price, l.milli, 0, l.length), 0);
    expect(revenue).toBe(expected);
  });

  it('reports debits and credits per currency', () => {
    const tb = trialBalance(topUpTransaction({ id: 'x', at: 0, tenantId: 'a', amountMicros: 5, currency: 'USD' }).postings);
    expect(tb).toEqual({
      balanced: true,
      totals: [{ currency: 'USD', debitsMicros: 5, creditsMicros: 5 }],
      accounts: [
        { account: 'cash', currency: 'USD', balanceMicros: 5 },
        { account: 'tenant:a:balance', currency: 'USD', balanceMicros: -5 },
      ],
    });
  });
});
