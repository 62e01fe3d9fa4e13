import { invalid, invalidMany, notFound, UnidleError, type FieldProblem } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import { energyMicrosPerHour, HOURS_PER_MONTH } from '../market/cost-floor.js';
import { refundTransaction, topUpTransaction } from '../market/ledger.js';
import { formatMoney, scaleMicros, type Money } from '../market/money.js';
import { findGpuModel } from '../domain/gpu-catalog.js';
import type { DB, Db } from '../store/database.js';
import type { TenantsTable } from '../store/schema.js';
import type { EnergyService, JobEnergyUse } from './energy-service.js';
import { appendEvent } from './events.js';
import { requestPreemption } from './job-lifecycle.js';
import { ledgerTransactionId, postLedger, trialBalanceOf } from './ledger-store.js';
import { availableBalance, spentThisMonth, type MarketService } from './market-service.js';
import { requireOperator, requireTenantAccess, type Principal } from './principal.js';

export interface TenantBilling {
  tenantId: string;
  paymentMode: 'prepaid' | 'postpaid';
  /** Prepaid money left (negative: owed). */
  balance: Money;
  /** Prepaid reservations not yet used up by time. */
  reservationsPrepaid: Money;
  spentThisMonth: Money;
  budgetLimit: Money | null;
  fairShareWeightMilli: number;
  /** What the tenant's running work costs per hour now. */
  burnPerHour: Money;
  warnedAt: number | null;
  exhaustedAt: number | null;
}

export interface InvoiceLine {
  leaseId: string;
  jobId: string;
  jobName: string | null;
  model: string;
  tier: string;
  gpuMilli: number;
  pricePerGpuHour: Money;
  from: number;
  to: number;
  seconds: number;
  amount: Money;
}

export interface Invoice {
  tenantId: string;
  tenantName: string;
  period: string;
  periodStart: number;
  periodEnd: number;
  currency: string;
  issuedAt: number;
  lines: InvoiceLine[];
  reservations: Array<{ reservationId: string; model: string; gpuMilli: number; startAt: number; endAt: number; pricePerGpuHour: Money; amount: Money }>;
  refunds: Array<{ at: number; memo: string; amount: Money }>;
  energy: InvoiceEnergy;
  usageSubtotal: Money;
  reservationSubtotal: Money;
  refundTotal: Money;
  subtotal: Money;
  taxes: { ratePermille: number; amount: Money };
  total: Money;
}

/**
 * The energy the tenant's jobs drew in the period (src/control/energy-service.ts): informational, not
 * charged (the GPU-hour price already covers energy). Cost is at the center's tariff and PUE, CO₂ at
 * its carbon intensity; the totals are priced once over all the jobs' energy, so they may differ from
 * the sum of the per-job costs by rounding (≤ 1 micro-unit per job).
 */
export interface InvoiceEnergy {
  included: false;
  energyMj: number;
  kWh: number;
  co2Grams: number;
  cost: Money;
  pueMilli: number;
  carbonIntensityGPerKwh: number;
  /** Fraction of the jobs' device-time that telemetry covered (0–1). */
  measuredShare: number;
  note: string;
  /** Per job, when energy metering is on. */
  jobs?: Array<Pick<JobEnergyUse, 'jobId' | 'source' | 'energyMj' | 'kWh' | 'co2Grams' | 'cost' | 'measuredShare'>>;
}

export interface MarketReport {
  from: number;
  to: number;
  currency: string;
  models: Array<{
    model: string;
    capacityGpuHours: number;
    /** Metered on-demand and spot hours plus reserved hours (a reservation's term, used or not). */
    soldGpuHours: number;
    reservedGpuHours: number;
    idleGpuHours: number;
    utilizationPermille: number;
    revenue: Money;
    effectivePricePerGpuHour: Money | null;
    floorPerGpuHour: Money;
    /** What the unsold hours cost anyway (depreciation, overhead and idle power), OpenCost's idle cost. */
    idleCost: Money;
  }>;
  revenueByTier: Record<string, Money>;
  totals: { capacityGpuHours: number; soldGpuHours: number; idleGpuHours: number; revenue: Money; idleCost: Money };
}

const MS_PER_HOUR = 3_600_000;
/** One payment or refund at most ¥1,000,000,000: balances stay exact integers far beyond any center's books. */
const MAX_AMOUNT_MICROS = 1_000_000_000_000_000;
/** Report windows end by 2100: a typo in `to` gets an error, not a report of nonsense times. */
const LATEST_REPORT_MS = Date.UTC(2100, 0, 1);
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Money around the meter: balances, top-ups and refunds, prepaid reservations turning into revenue,
 * budgets and balances enforced, invoices and the operator's reports.
 */
export class BillingService {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly market: MarketService,
  ) {}

  private energy: EnergyService | undefined;

  /** Turns on the energy line of invoices (the control plane wires it; without it the line reads zero). */
  useEnergy(energy: EnergyService): void {
    this.energy = energy;
  }

  /**
   * Moves prepaid reservation money into revenue as its term passes (straight line, cumulative so
   * rounding never drifts): a reservation is earned by time, used or not.
   */
  async recognizeReservations(tx: Db, now: number): Promise<number> {
    const rows = await tx
      .selectFrom('reservations')
      .selectAll()
      .where('status', '=', 'active')
      .where('start_at', '<', now)
      .where((eb) => eb('recognized_micros', '<', eb.ref('total_micros')))
      .execute();
    const entries = [];
    let total = 0;
    for (const r of rows) {
      const elapsed = Math.min(now, r.end_at) - r.start_at;
      const due = scaleMicros(r.total_micros, elapsed, r.end_at - r.start_at);
      const delta = due - r.recognized_micros;
      if (delta <= 0) continue;
      const moved = await tx.updateTable('reservations').set({ recognized_micros: due }).where('id', '=', r.id).where('recognized_micros', '=', r.recognized_micros).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) continue;
      total += delta;
      entries.push({
        tx: {
          id: ledgerTransactionId(now),
          at: now,
          memo: `reservation ${r.id} earned to ${new Date(Math.min(now, r.end_at)).toISOString()}`,
          postings: [
            { account: `tenant:${r.tenant_id}:reservation`, amountMicros: delta, currency: r.currency },
            { account: 'revenue:reserved', amountMicros: -delta, currency: r.currency },
          ],
        },
        meta: { kind: 'recognition' as const, tenantId: r.tenant_id, ref: r.id },
      });
    }
    await postLedger(tx, entries, now);
    return total;
  }

  private async burnPerHour(db: Db, tenantId: string): Promise<number> {
    const running = await db
      .selectFrom('jobs')
      .select(['price_micros', 'gpu_milli', 'gpus'])
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'running')
      .where('tier', '!=', 'reserved')
      .execute();
    return running.reduce((s, j) => s + scaleMicros(j.price_micros ?? 0, j.gpu_milli ?? (j.gpus ?? 0) * 1000, 1000), 0);
  }

  /**
   * Prepaid balances and monthly budgets, enforced: a warning event when the balance will last less
   * than the warning horizon at the current burn; at zero (or at the budget) spot work is stopped at
   * once and on-demand work after `on_demand_stop_after_ms`, with notice, and nothing new is placed
   * until money comes in. Reserved work is prepaid and keeps running.
   */
  async enforceBalances(now: number): Promise<number> {
    const center = await this.market.center();
    const tenants = await this.db
      .selectFrom('tenants')
      .selectAll()
      .where((eb) => eb.or([eb('payment_mode', '=', 'prepaid'), eb('budget_limit_micros', 'is not', null), eb('balance_exhausted_at', 'is not', null)]))
      .execute();
    let stops = 0;
    for (const t of tenants) {
      const available = t.payment_mode === 'prepaid' ? await availableBalance(this.db, t.id, center.currency) : Number.POSITIVE_INFINITY;
      const spent = t.budget_limit_micros !== null ? await spentThisMonth(this.db, t.id, center.currency, now) : 0;
      const overBudget = t.budget_limit_micros !== null && spent >= t.budget_limit_micros;
      const exhausted = available <= 0 || overBudget;
      const burn = await this.burnPerHour(this.db, t.id);
      const why = overBudget ? `this month's budget of ${fmt(t.budget_limit_micros!, center.currency)} is spent` : `the prepaid balance is ${fmt(available, center.currency)}`;
      await this.db.transaction().execute(async (tx) => {
        if (!exhausted) {
          const low = t.payment_mode === 'prepaid' && burn > 0 && available < scaleMicros(burn, center.balance_warning_ms, MS_PER_HOUR);
          if (low && t.balance_warned_at === null) {
            await tx.updateTable('tenants').set({ balance_warned_at: now }).where('id', '=', t.id).execute();
            const minutes = Math.floor((available / burn) * 60);
            await appendEvent(tx, {
              at: now,
              type: 'billing.balance-low',
              subjectKind: 'tenant',
              subjectId: t.id,
              tenantId: t.id,
              message: `prepaid balance ${fmt(available, center.currency)} lasts about ${minutes} min at ${fmt(burn, center.currency)}/h; top up, or spot work stops at zero and on-demand work ${Math.round(center.on_demand_stop_after_ms / 60_000)} min later`,
              data: { availableMicros: available, burnPerHourMicros: burn },
            });
          }
          if ((!low && t.balance_warned_at !== null) || t.balance_exhausted_at !== null) {
            await tx.updateTable('tenants').set({ balance_warned_at: low ? t.balance_warned_at : null, balance_exhausted_at: null }).where('id', '=', t.id).execute();
            if (t.balance_exhausted_at !== null)
              await appendEvent(tx, { at: now, type: 'billing.resumed', subjectKind: 'tenant', subjectId: t.id, tenantId: t.id, message: 'money is available again; queued work can be placed' });
          }
          return;
        }
        const since = t.balance_exhausted_at ?? now;
        if (t.balance_exhausted_at === null) {
          await tx.updateTable('tenants').set({ balance_exhausted_at: now }).where('id', '=', t.id).execute();
          await appendEvent(tx, {
            at: now,
            type: 'billing.exhausted',
            subjectKind: 'tenant',
            subjectId: t.id,
            tenantId: t.id,
            message: `${why}: spot work stops now, on-demand work in ${Math.round(center.on_demand_stop_after_ms / 60_000)} min; nothing new starts until money comes in`,
          });
        }
        const tiers = now - since >= center.on_demand_stop_after_ms ? ['spot', 'on-demand'] : ['spot'];
        const victims = await tx
          .selectFrom('jobs')
          .select(['id', 'tenant_id', 'requeue_on_preempt'])
          .where('tenant_id', '=', t.id)
          .where('state', 'in', ['scheduled', 'running'])
          .where('tier', 'in', tiers)
          .where('preempt_requested_at', 'is', null)
          .where('cancel_requested_at', 'is', null)
          .execute();
        for (const v of victims) if (await requestPreemption(tx, v, { kind: 'budget', reason: `stopped: ${why}`, graceMs: center.spot_grace_ms, at: now })) stops++;
      });
    }
    return stops;
  }

  async tenantBilling(p: Principal, tenantId: string): Promise<TenantBilling> {
    requireTenantAccess(p, tenantId);
    const t = await this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
    if (!t) throw notFound('tenant', tenantId);
    const center = await this.market.center();
    const c = center.currency;
    const m = (amountMicros: number): Money => ({ amountMicros, currency: c });
    const reservation = await this.db
      .selectFrom('ledger_postings')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_micros'), eb.lit(0)).as('b'))
      .where('account', '=', `tenant:${tenantId}:reservation`)
      .where('currency', '=', c)
      .executeTakeFirstOrThrow();
    return {
      tenantId,
      paymentMode: t.payment_mode,
      balance: m(await availableBalance(this.db, tenantId, c)),
      reservationsPrepaid: m(-Number(reservation.b)),
      spentThisMonth: m(await spentThisMonth(this.db, tenantId, c, this.clock.now())),
      budgetLimit: t.budget_limit_micros === null ? null : m(t.budget_limit_micros),
      fairShareWeightMilli: t.fair_share_weight_milli,
      burnPerHour: m(await this.burnPerHour(this.db, tenantId)),
      warnedAt: t.balance_warned_at,
      exhaustedAt: t.balance_exhausted_at,
    };
  }

  /** Operators set how a tenant pays; tenant admins may lower (not raise) their own budget. */
  async updateTenantBilling(p: Principal, tenantId: string, input: { paymentMode?: string; budgetLimit?: Money | null; fairShareWeightMilli?: number }): Promise<TenantBilling> {
    requireTenantAccess(p, tenantId, true);
    const t = await this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
    if (!t) throw notFound('tenant', tenantId);
    const center = await this.market.center();
    const problems: FieldProblem[] = [];
    if (input.paymentMode !== undefined && input.paymentMode !== 'prepaid' && input.paymentMode !== 'postpaid') problems.push({ field: 'paymentMode', message: 'is prepaid or postpaid' });
    if (input.paymentMode !== undefined && p.role !== 'operator') problems.push({ field: 'paymentMode', message: 'only an operator changes how a tenant pays' });
    if (input.fairShareWeightMilli !== undefined) {
      if (p.role !== 'operator') problems.push({ field: 'fairShareWeightMilli', message: 'only an operator sets fair-share weights' });
      else if (!Number.isInteger(input.fairShareWeightMilli) || input.fairShareWeightMilli < 1 || input.fairShareWeightMilli > 1_000_000) problems.push({ field: 'fairShareWeightMilli', message: 'must be a whole number from 1 to 1000000 (1000 = weight 1)' });
    }
    if (input.budgetLimit) {
      if (input.budgetLimit.currency !== center.currency) problems.push({ field: 'budgetLimit.currency', message: `this center bills in ${center.currency}; give the budget in ${center.currency}` });
      if (!Number.isSafeInteger(input.budgetLimit.amountMicros) || input.budgetLimit.amountMicros < 0) problems.push({ field: 'budgetLimit.amountMicros', message: 'must be a whole number of micro-units ≥ 0' });
      else if (p.role !== 'operator' && t.budget_limit_micros !== null && input.budgetLimit.amountMicros > t.budget_limit_micros)
        problems.push({ field: 'budgetLimit', message: 'tenant admins can lower the budget; ask an operator to raise it' });
    }
    if (input.budgetLimit === null && p.role !== 'operator' && t.budget_limit_micros !== null) problems.push({ field: 'budgetLimit', message: 'only an operator removes a budget' });
    if (problems.length > 0) throw invalidMany(problems);
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      const set: Partial<TenantsTable> = {};
      if (input.paymentMode !== undefined) set.payment_mode = input.paymentMode as 'prepaid' | 'postpaid';
      if (input.budgetLimit !== undefined) set.budget_limit_micros = input.budgetLimit === null ? null : input.budgetLimit.amountMicros;
      if (input.fairShareWeightMilli !== undefined) set.fair_share_weight_milli = input.fairShareWeightMilli;
      if (Object.keys(set).length === 0) return;
      await tx.updateTable('tenants').set(set).where('id', '=', tenantId).execute();
      await appendEvent(tx, { at: now, type: 'tenant.billing', subjectKind: 'tenant', subjectId: tenantId, tenantId, actor: p.memberId, message: 'billing settings changed', data: set });
    });
    return this.tenantBilling(p, tenantId);
  }

  private async checkMoney(amount: Money | undefined, field: string): Promise<{ amountMicros: number; currency: string }> {
    const center = await this.market.center();
    if (!amount || typeof amount !== 'object') throw invalid(field, 'give {amountMicros, currency}');
    const problems: FieldProblem[] = [];
    if (!Number.isSafeInteger(amount.amountMicros) || amount.amountMicros <= 0 || amount.amountMicros > MAX_AMOUNT_MICROS)
      problems.push({ field: `${field}.amountMicros`, message: `must be a positive whole number of micro-units (¥1 = 1000000), at most ${MAX_AMOUNT_MICROS}` });
    if (amount.currency !== center.currency) problems.push({ field: `${field}.currency`, message: `currency mismatch: this center's ledger is in ${center.currency}, not ${amount.currency}` });
    if (problems.length > 0) throw invalidMany(problems);
    return amount;
  }

  /** Records money paid in by a tenant (operator). Idempotent with a key: a retry posts nothing new. */
  async topUp(p: Principal, tenantId: string, input: { amount: Money; reference?: string }, idempotencyKey?: string): Promise<TenantBilling> {
    requireOperator(p);
    const amount = await this.checkMoney(input.amount, 'amount');
    await this.requireTenant(tenantId);
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) throw invalid('Idempotency-Key', 'must be 1–255 characters');
    const now = this.clock.now();
    const id = idempotencyKey ? `topup:${tenantId}:${idempotencyKey}` : ledgerTransactionId(now);
    await this.db.transaction().execute(async (tx) => {
      if (idempotencyKey) {
        const prior = await tx.selectFrom('ledger_postings').select(['amount_micros', 'currency']).where('transaction_id', '=', id).where('account', '=', 'cash').executeTakeFirst();
        if (prior) {
          if (prior.amount_micros !== amount.amountMicros || prior.currency !== amount.currency)
            throw new UnidleError('idempotency_conflict', `Idempotency-Key was already used for a top-up of ${fmt(prior.amount_micros, prior.currency)}; use a new key for a new payment`, [
              { field: 'Idempotency-Key', message: 'reused with a different amount' },
            ]);
          return;
        }
      }
      const t = topUpTransaction({ id, at: now, tenantId, amountMicros: amount.amountMicros, currency: amount.currency });
      if (input.reference) t.memo = `top-up: ${input.reference.slice(0, 200)}`;
      await postLedger(tx, [{ tx: t, meta: { kind: 'top-up', tenantId, ref: input.reference ?? null } }], now);
      await appendEvent(tx, { at: now, type: 'billing.top-up', subjectKind: 'tenant', subjectId: tenantId, tenantId, actor: p.memberId, message: `top-up of ${fmt(amount.amountMicros, amount.currency)}` });
    });
    return this.tenantBilling(p, tenantId);
  }

  /** Gives money back for charges (operator): never more than was charged (for the job, if named) and not yet refunded. */
  async refund(p: Principal, tenantId: string, input: { amount: Money; reason: string; jobId?: string }): Promise<TenantBilling> {
    requireOperator(p);
    const amount = await this.checkMoney(input.amount, 'amount');
    if (typeof input.reason !== 'string' || input.reason.trim() === '') throw invalid('reason', 'say why the money is given back (it is printed on the invoice)');
    await this.requireTenant(tenantId);
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      if (input.jobId) {
        const job = await tx.selectFrom('jobs').select(['id', 'tenant_id']).where('id', '=', input.jobId).executeTakeFirst();
        if (!job || job.tenant_id !== tenantId) throw notFound('job', input.jobId);
      }
      // What may still be given back: charges less earlier refunds, for the job if one is named, else the tenant.
      const jobId = input.jobId;
      const c = await tx
        .selectFrom('leases')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('charged_micros'), eb.lit(0)).as('c'))
        .where(jobId ? 'job_id' : 'tenant_id', '=', jobId ?? tenantId)
        .executeTakeFirstOrThrow();
      const r = await tx
        .selectFrom('ledger_postings as lp')
        .innerJoin('ledger_transactions as lt', 'lt.id', 'lp.transaction_id')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('lp.amount_micros'), eb.lit(0)).as('r'))
        .where('lt.kind', '=', 'refund')
        .where('lp.account', '=', 'refunds')
        .where(jobId ? 'lt.ref' : 'lt.tenant_id', '=', jobId ?? tenantId)
        .executeTakeFirstOrThrow();
      const charged = Number(c.c);
      const refunded = Number(r.r);
      if (amount.amountMicros > charged - refunded)
        throw invalid('amount.amountMicros', `at most ${charged - refunded} micro-units can be refunded (${fmt(charged, amount.currency)} charged, ${fmt(refunded, amount.currency)} already refunded)`);
      const t = refundTransaction({ id: ledgerTransactionId(now), at: now, tenantId, amountMicros: amount.amountMicros, currency: amount.currency, memo: `refund: ${input.reason.slice(0, 200)}` });
      await postLedger(tx, [{ tx: t, meta: { kind: 'refund', tenantId, ref: input.jobId ?? null } }], now);
      await appendEvent(tx, { at: now, type: 'billing.refund', subjectKind: 'tenant', subjectId: tenantId, tenantId, actor: p.memberId, message: `refund of ${fmt(amount.amountMicros, amount.currency)}: ${input.reason}` });
    });
    return this.tenantBilling(p, tenantId);
  }

  private async requireTenant(tenantId: string): Promise<TenantsTable> {
    const t = await this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
    if (!t) throw notFound('tenant', tenantId);
    return t;
  }

  async trialBalance(p: Principal) {
    requireOperator(p);
    return trialBalanceOf(this.db);
  }

  /**
   * A tenant's invoice for a calendar month (UTC): usage by lease (a span belongs to the month it
   * starts in; spans are one metering interval long), reservations bought, refunds, tax.
   */
  async invoice(p: Principal, tenantId: string, period: string): Promise<Invoice> {
    requireTenantAccess(p, tenantId);
    const m = /^(\d{4})-(\d{2})$/.exec(period);
    if (!m || Number(m[1]) < 1970 || Number(m[2]) < 1 || Number(m[2]) > 12) throw invalid('period', `"${period}" is not a month; write it as YYYY-MM, e.g. 2026-11`);
    const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
    const end = Date.UTC(Number(m[1]), Number(m[2]), 1);
    const tenant = await this.requireTenant(tenantId);
    const center = await this.market.center();
    const c = center.currency;
    const money = (amountMicros: number): Money => ({ amountMicros, currency: c });
    const spans = await this.db
      .selectFrom('usage as u')
      .innerJoin('leases as l', 'l.id', 'u.lease_id')
      .innerJoin('jobs as j', 'j.id', 'u.job_id')
      .select(['u.lease_id', 'u.job_id', 'j.name', 'l.model', 'l.tier', 'l.gpu_milli', 'l.price_micros', 'u.start_at', 'u.end_at', 'u.charge_micros'])
      .where('u.tenant_id', '=', tenantId)
      .where('u.start_at', '>=', start)
      .where('u.start_at', '<', end)
      .orderBy('u.start_at')
      .execute();
    const byLease = new Map<string, InvoiceLine & { ms: number }>();
    for (const s of spans) {
      const line = byLease.get(s.lease_id!) ?? {
        leaseId: s.lease_id!,
        jobId: s.job_id,
        jobName: s.name,
        model: s.model,
        tier: s.tier,
        gpuMilli: s.gpu_milli,
        pricePerGpuHour: money(s.price_micros),
        from: s.start_at,
        to: s.end_at,
        seconds: 0,
        amount: money(0),
        ms: 0,
      };
      line.to = Math.max(line.to, s.end_at);
      line.ms += s.end_at - s.start_at;
      line.amount = money(line.amount.amountMicros + s.charge_micros);
      byLease.set(s.lease_id!, line);
    }
    const lines = [...byLease.values()].map(({ ms, ...l }) => ({ ...l, seconds: ms / 1000 }));
    const reservations = await this.db
      .selectFrom('reservations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('created_at', '>=', start)
      .where('created_at', '<', end)
      .orderBy('created_at')
      .execute();
    const refunds = await this.db
      .selectFrom('ledger_transactions as t')
      .innerJoin('ledger_postings as lp', 'lp.transaction_id', 't.id')
      .select(['t.at', 't.memo', 'lp.amount_micros'])
      .where('t.kind', '=', 'refund')
      .where('t.tenant_id', '=', tenantId)
      .where('lp.account', '=', 'refunds')
      .where('t.at', '>=', start)
      .where('t.at', '<', end)
      .orderBy('t.at')
      .execute();
    const usageSubtotal = lines.reduce((s, l) => s + l.amount.amountMicros, 0);
    const reservationSubtotal = reservations.reduce((s, r) => s + r.total_micros, 0);
    const refundTotal = refunds.reduce((s, r) => s + r.amount_micros, 0);
    const subtotal = usageSubtotal + reservationSubtotal - refundTotal;
    const tax = scaleMicros(subtotal, center.tax_rate_permille, 1000);
    const energy = await this.invoiceEnergy(tenantId, start, end, center.currency, center.pue_milli);
    return {
      tenantId,
      tenantName: tenant.display_name,
      period,
      periodStart: start,
      periodEnd: end,
      currency: c,
      issuedAt: this.clock.now(),
      lines,
      reservations: reservations.map((r) => ({ reservationId: r.id, model: r.model, gpuMilli: r.gpu_milli, startAt: r.start_at, endAt: r.end_at, pricePerGpuHour: money(r.price_micros), amount: money(r.total_micros) })),
      refunds: refunds.map((r) => ({ at: r.at, memo: r.memo, amount: money(r.amount_micros) })),
      energy,
      usageSubtotal: money(usageSubtotal),
      reservationSubtotal: money(reservationSubtotal),
      refundTotal: money(refundTotal),
      subtotal: money(subtotal),
      taxes: { ratePermille: center.tax_rate_permille, amount: money(tax) },
      total: money(subtotal + tax),
    };
  }

  private async invoiceEnergy(tenantId: string, start: number, end: number, currency: string, pueMilli: number): Promise<InvoiceEnergy> {
    if (!this.energy) {
      return {
        included: false,
        energyMj: 0,
        kWh: 0,
        co2Grams: 0,
        cost: { amountMicros: 0, currency },
        pueMilli,
        carbonIntensityGPerKwh: 0,
        measuredShare: 0,
        note: 'energy is included in the GPU-hour price; energy metering is not on for this server',
      };
    }
    const e = await this.energy.tenantEnergy(tenantId, start, end);
    const notes = ['energy is included in the GPU-hour price; shown for information', `kWh of the GPUs the jobs used, cost and CO₂ at PUE ${(e.pueMilli / 1000).toFixed(2)}, ${e.tariff === 'flat' ? 'the flat tariff' : `the ${e.tariff} tariff`} and ${e.carbonIntensityGPerKwh} g CO₂/kWh`];
    if (e.jobs.length > 0 && e.measuredShare < 1) notes.push(`telemetry covered ${(e.measuredShare * 100).toFixed(1)}% of the GPU time`);
    if (e.truncated) notes.push(`only the first ${e.jobs.length} jobs are counted`);
    return {
      included: false,
      energyMj: e.energyMj,
      kWh: e.kWh,
      co2Grams: e.co2Grams,
      cost: e.cost,
      pueMilli: e.pueMilli,
      carbonIntensityGPerKwh: e.carbonIntensityGPerKwh,
      measuredShare: e.measuredShare,
      note: notes.join('; '),
      jobs: e.jobs.map((j) => ({ jobId: j.jobId, source: j.source, energyMj: j.energyMj, kWh: j.kWh, co2Grams: j.co2Grams, cost: j.cost, measuredShare: j.measuredShare })),
    };
  }

  /**
   * The operator's view of the market over [from, to): per model the capacity, sold and idle
   * GPU-hours, revenue and the effective price against the floor, and what idle hours cost.
   * Capacity counts the devices registered now, from their node's registration.
   */
  async report(p: Principal, query: { from?: number; to?: number }): Promise<MarketReport> {
    requireOperator(p);
    const to = query.to ?? this.clock.now();
    const from = query.from ?? to - 30 * 24 * MS_PER_HOUR;
    if (!(to > from)) throw invalid('to', 'must be after from');
    if (to > LATEST_REPORT_MS) throw invalid('to', 'must be a time before 2100 in ms since the epoch');
    const center = await this.market.center();
    const c = center.currency;
    const money = (amountMicros: number): Money => ({ amountMicros, currency: c });
    const devices = await this.db.selectFrom('devices as d').innerJoin('nodes as n', 'n.id', 'd.node_id').select(['d.model', 'n.registered_at']).execute();
    const capacityMs = new Map<string, number>();
    for (const d of devices) capacityMs.set(d.model, (capacityMs.get(d.model) ?? 0) + Math.max(0, to - Math.max(from, d.registered_at)));
    const usage = await this.db
      .selectFrom('usage')
      .select(['gpu_model', 'tier', (eb) => eb.fn.sum<number>('gpu_milli_ms').as('milli_ms'), (eb) => eb.fn.sum<number>('charge_micros').as('charged')])
      .where('start_at', '>=', from)
      .where('start_at', '<', to)
      .groupBy(['gpu_model', 'tier'])
      .execute();
    const recognized = await this.db
      .selectFrom('ledger_transactions as t')
      .innerJoin('ledger_postings as lp', 'lp.transaction_id', 't.id')
      .innerJoin('reservations as r', 'r.id', 't.ref')
      .select(['r.model', (eb) => eb.fn.sum<number>('lp.amount_micros').as('amount')])
      .where('t.kind', '=', 'recognition')
      .where('lp.account', '=', 'revenue:reserved')
      .where('t.at', '>=', from)
      .where('t.at', '<', to)
      .groupBy('r.model')
      .execute();
    const reservations = await this.db
      .selectFrom('reservations')
      .select(['model', 'gpu_milli', 'start_at', 'end_at'])
      .where('status', '=', 'active')
      .where('start_at', '<', to)
      .where('end_at', '>', from)
      .execute();
    const prices = await this.market.pricesFor(center, this.db, new Set([...capacityMs.keys(), ...usage.map((u) => u.gpu_model)]));
    const byTier: Record<string, number> = {};
    const models = [...new Set([...capacityMs.keys(), ...usage.map((u) => u.gpu_model)])].sort().map((model) => {
      const rows = usage.filter((u) => u.gpu_model === model);
      // Reserved capacity is sold by the hour of its term, used or not; reserved jobs run inside it.
      const reservedMs = reservations.filter((r) => r.model === model).reduce((x, r) => x + (r.gpu_milli / 1000) * (Math.min(to, r.end_at) - Math.max(from, r.start_at)), 0);
      // Spot work on lent reserved quota is paid twice (by the owner and the borrower) but is one GPU-hour.
      const soldMs = Math.min(capacityMs.get(model) ?? 0, rows.filter((r) => r.tier !== 'reserved').reduce((x, r) => x + Number(r.milli_ms) / 1000, 0) + reservedMs);
      const reservedRevenue = -Number(recognized.find((r) => r.model === model)?.amount ?? 0);
      let revenue = reservedRevenue;
      for (const r of rows) {
        revenue += Number(r.charged);
        byTier[r.tier] = (byTier[r.tier] ?? 0) + Number(r.charged);
      }
      byTier.reserved = (byTier.reserved ?? 0) + reservedRevenue;
      const capMs = capacityMs.get(model) ?? 0;
      const idleMs = Math.max(0, capMs - soldMs);
      const p = prices.get(model);
      const gpu = findGpuModel(model);
      // An idle GPU-hour still costs its depreciation and overhead, and idle power.
      const idleHourMicros = p && gpu
        ? p.costs.purchasePriceMicros / (p.costs.depreciationMonths * HOURS_PER_MONTH) + p.costs.overheadMicrosPerGpuHour + energyMicrosPerHour(gpu.idleMilliwatts, center.pue_milli, center.tariff_micros_per_kwh)
        : 0;
      const soldHours = soldMs / MS_PER_HOUR;
      return {
        model,
        capacityGpuHours: round6(capMs / MS_PER_HOUR),
        soldGpuHours: round6(soldHours),
        idleGpuHours: round6(idleMs / MS_PER_HOUR),
        utilizationPermille: capMs > 0 ? Math.round((soldMs * 1000) / capMs) : 0,
        revenue: money(revenue),
        reservedGpuHours: round6(reservedMs / MS_PER_HOUR),
        effectivePricePerGpuHour: soldHours > 0 ? money(Math.round(revenue / soldHours)) : null,
        floorPerGpuHour: money(p?.floor.perGpuHourMicros ?? 0),
        idleCost: money(Math.round((idleMs / MS_PER_HOUR) * idleHourMicros)),
      };
    });
    const sum = (f: (m: (typeof models)[number]) => number) => models.reduce((s, m) => s + f(m), 0);
    return {
      from,
      to,
      currency: c,
      models,
      revenueByTier: Object.fromEntries(Object.entries(byTier).map(([k, v]) => [k, money(v)])),
      totals: {
        capacityGpuHours: round6(sum((m) => m.capacityGpuHours)),
        soldGpuHours: round6(sum((m) => m.soldGpuHours)),
        idleGpuHours: round6(sum((m) => m.idleGpuHours)),
        revenue: money(sum((m) => m.revenue.amountMicros)),
        idleCost: money(sum((m) => m.idleCost.amountMicros)),
      },
    };
  }
}

function fmt(amountMicros: number, currency: string): string {
  return formatMoney({ amountMicros, currency });
}
