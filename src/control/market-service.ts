import { sql } from 'kysely';
import { conflict, invalid, invalidMany, notFound, UnidleError, type FieldProblem } from '../domain/errors.js';
import { activeCatalog, findGpuModel, knownModelIds } from '../domain/gpu-catalog.js';
import { newId } from '../domain/ids.js';
import { MAX_PRICE_PER_HOUR_MICROS } from '../domain/job-spec.js';
import type { Clock } from '../domain/clock.js';
import { utcOffsetMinutes } from '../domain/timezone.js';
import { marginPermille } from '../market/cost-floor.js';
import { chargeMicros, formatMoney, scaleMicros, type Money } from '../market/money.js';
import { defaultCostSettings, modelPrices, tierFloorMicros, type CenterMarketSettings, type ModelCostSettings, type ModelPrices } from '../market/price-book.js';
import { createPricingPolicy, PRICING_POLICY_NAMES, type PricingPolicy, type Tier } from '../market/pricing-policy.js';
import { heldBack, type HeldBack, type ReservationUse } from '../market/tier-capacity.js';
import type { DB, Db, Dialect } from '../store/database.js';
import { alternatives, quoteOption, type QuoteOption } from '../market/quote.js';
import { PlacementEngine } from '../scheduler/placement-engine.js';
import { bestFitPolicy } from '../scheduler/policies/best-fit.js';
import { withoutPreemptible, type RunningWork } from '../scheduler/preemption.js';
import type { ClusterSnapshot, NodeView } from '../scheduler/snapshot.js';
import type { CentersTable, ReservationsTable } from '../store/schema.js';
import { appendEvent } from './events.js';
import type { InventoryService } from './inventory-service.js';
import { ledgerTransactionId, postLedger } from './ledger-store.js';
import { requireOperator, scopeTenant, type Principal } from './principal.js';

/** One model's market in one center at one moment: prices, floors and how much is free for each tier. */
export interface ModelMarket {
  prices: ModelPrices;
  totalMilli: number;
  freeMilli: number;
  /** Milli held by running or scheduled spot work (preemptible). */
  spotMilli: number;
  utilizationPermille: number;
  held: HeldBack;
  /** The spot clearing price last set by the scheduler (never below the spot floor). */
  spotMicros: number;
}

export interface MarketView {
  at: number;
  center: CentersTable;
  settings: CenterMarketSettings;
  policy: PricingPolicy;
  models: Map<string, ModelMarket>;
  reservations: ReservationUse[];
  /** The inventory the view was computed from (the scheduling cycle places against it). */
  snapshot: ClusterSnapshot;
}

export function centerSettings(c: CentersTable): CenterMarketSettings {
  return {
    currency: c.currency,
    pueMilli: c.pue_milli,
    tariffMicrosPerKwh: c.tariff_micros_per_kwh,
    spotFloorPermille: c.spot_floor_permille,
    reservedDiscountPermille: c.reserved_discount_permille,
  };
}

/** The price per GPU-hour of a new lease of `tier` on `model` starting at `at`. */
export function priceNow(view: MarketView, model: string, tier: Tier, at = view.at): number {
  const m = view.models.get(model);
  if (!m) throw invalid('model', `no ${model} in this center`);
  if (tier === 'spot') return m.spotMicros;
  if (tier === 'reserved') return m.prices.reservedMicros;
  return view.policy.pricePerGpuHour({
    model,
    tier,
    listMicros: m.prices.listMicros,
    floorMicros: m.prices.floor.perGpuHourMicros,
    utilizationPermille: m.utilizationPermille,
    at,
    utcOffsetMinutes: utcOffsetMinutes(view.center.timezone, at),
  });
}

export interface PriceRow {
  model: string;
  tier: Tier;
  pricePerGpuHour: Money;
  /** The tier's own floor: the cost floor (on-demand), × the spot factor (spot), the cost at 100% sold (reserved). */
  floorPerGpuHour: Money;
  /** Margin over the tier's floor, per mille of the price. */
  marginPermille: number;
  /** Margin over the full cost floor (at the expected utilisation), per mille of the price. */
  marginOverCostPermille: number;
}

export interface PriceList {
  centerId: string;
  currency: string;
  policy: { name: string; description: string };
  settings: { pueMilli: number; tariffPerKwh: Money; spotFloorPermille: number; reservedDiscountPermille: number; spotGraceMs: number; taxRatePermille: number };
  models: Array<{
    model: string;
    list: Money;
    floor: Money;
    floorParts: { depreciation: number; overhead: number; idleEnergy: number; busyEnergy: number };
    costs: Omit<ModelCostSettings, 'model' | 'listMicros'>;
    defaulted: boolean;
    capacityGpus: number;
    utilizationPermille: number;
    prices: PriceRow[];
  }>;
}

export interface ModelPriceInput {
  listMicros?: number;
  purchasePriceMicros?: number;
  depreciationMonths?: number;
  overheadMicrosPerGpuHour?: number;
  expectedUtilizationPermille?: number;
}

export interface MarketSettingsInput {
  currency?: string;
  pueMilli?: number;
  tariffMicrosPerKwh?: number;
  taxRatePermille?: number;
  pricingPolicy?: string;
  pricingParams?: Record<string, unknown>;
  spotFloorPermille?: number;
  reservedDiscountPermille?: number;
  spotGraceMs?: number;
  fairShareWindowMs?: number;
  balanceWarningMs?: number;
  onDemandStopAfterMs?: number;
}

export interface ReservationInput {
  model: string;
  gpus?: number;
  gpuMilli?: number;
  hours: number;
  startAt?: number;
  /** Milli-GPU of unused quota others may borrow as spot; default all of it. */
  lendingLimitMilli?: number;
}

export interface QuoteInput {
  gpuMilli?: number;
  gpus?: number;
  /** One model, or several allowed; default: every model in the center. */
  model?: string;
  models?: string[];
  tier?: string;
  hours: number;
  maxPricePerHour?: Money;
  cpuMilli?: number;
  memoryMib?: number;
}

export interface QuoteView {
  quotedAt: number;
  currency: string;
  model: string;
  tier: Tier;
  gpuMilli: number | null;
  gpus: number | null;
  hours: number;
  pricePerHour: Money;
  pricePerGpuHour: Money;
  /** The tier's floor for this shape (on-demand: the cost floor; spot: × the spot factor; reserved: cost at 100% sold). */
  floorPerHour: Money;
  /** Margin over that floor, and over the full cost floor, per mille of the price. */
  marginPermille: number;
  marginOverCostPermille: number;
  estimatedStartAt: number | null;
  estimatedTotal: Money;
  /** On-demand and reserved leases keep this price; a spot lease follows the clearing price. */
  priceFixed: boolean;
  notes: string[];
  alternatives: Array<{
    model: string;
    tier: Tier;
    pricePerHour: Money;
    estimatedStartAt: number | null;
    estimatedTotal: Money;
    why: string[];
    note?: string;
  }>;
}

export interface ReservationView {
  id: string;
  tenantId: string;
  model: string;
  gpuMilli: number;
  lendingLimitMilli: number;
  startAt: number;
  endAt: number;
  pricePerGpuHour: Money;
  total: Money;
  recognized: Money;
  status: string;
  usedMilli: number;
  createdAt: number;
}

const MAX_RESERVATION_HOURS = 3 * 366 * 24;
/** A reservation is a term, not a cheaper hour: shorter needs go on-demand or spot. */
export const MIN_RESERVATION_HOURS = 24;
/** How far ahead a reservation may start. */
const MAX_RESERVATION_LEAD_MS = 366 * 24 * 3_600_000;

function toReservationView(r: ReservationsTable, usedMilli: number): ReservationView {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    model: r.model,
    gpuMilli: r.gpu_milli,
    lendingLimitMilli: r.lending_limit_milli,
    startAt: r.start_at,
    endAt: r.end_at,
    pricePerGpuHour: { amountMicros: r.price_micros, currency: r.currency },
    total: { amountMicros: r.total_micros, currency: r.currency },
    recognized: { amountMicros: r.recognized_micros, currency: r.currency },
    status: r.status,
    usedMilli,
    createdAt: r.created_at,
  };
}

/**
 * The center's market: settings, the price book with its cost floors, tier capacity, reservations.
 * Prices come from the pure core (price-book, pricing-policy, tier-capacity); this reads and writes
 * what they need.
 */
export class MarketService {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly inventory: InventoryService,
    private readonly dialect: Dialect,
  ) {}

  /** The center prices are quoted in: the first one (federation will price per center). */
  async center(db: Db = this.db): Promise<CentersTable> {
    const c = await db.selectFrom('centers').selectAll().orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
    if (!c) throw new UnidleError('unavailable', 'no center is set up yet; start the server once (unidle up) to create one');
    return c;
  }

  async pricesFor(center: CentersTable, db: Db = this.db, models?: Iterable<string>): Promise<Map<string, ModelPrices>> {
    const settings = centerSettings(center);
    const rows = await db.selectFrom('price_book').selectAll().where('center_id', '=', center.id).execute();
    const set = new Map(rows.map((r) => [r.model, r]));
    const wanted = new Set<string>([...(models ?? activeCatalog().map((m) => m.id)), ...set.keys()]);
    const out = new Map<string, ModelPrices>();
    for (const id of wanted) {
      const model = findGpuModel(id);
      if (!model) continue;
      const row = set.get(id);
      const costs: ModelCostSettings = row
        ? {
            model: id,
            listMicros: row.list_micros,
            purchasePriceMicros: row.purchase_price_micros,
            depreciationMonths: row.depreciation_months,
            overheadMicrosPerGpuHour: row.overhead_micros_per_gpu_hour,
            expectedUtilizationPermille: row.expected_utilization_permille,
          }
        : defaultCostSettings(model, settings);
      out.set(id, modelPrices(costs, model, settings, !row));
    }
    return out;
  }

  /** The floor a new lease of `tier` on `model` is recorded against, and the center's currency. */
  async floorOf(db: Db, centerId: string, model: string, tier: string): Promise<{ floorMicros: number; currency: string }> {
    const center = (await db.selectFrom('centers').selectAll().where('id', '=', centerId).executeTakeFirst()) ?? (await this.center(db));
    const prices = (await this.pricesFor(center, db, [model])).get(model);
    if (!prices) return { floorMicros: 0, currency: center.currency };
    return { floorMicros: tierFloorMicros(prices, tier as Tier), currency: center.currency };
  }

  policyOf(center: CentersTable): PricingPolicy {
    let params: Record<string, unknown> = {};
    try {
      params = JSON.parse(center.pricing_params) as Record<string, unknown>;
    } catch {
      params = {};
    }
    return createPricingPolicy(center.pricing_policy, params);
  }

  /** Everything a price or a tier decision needs, read once (a scheduling cycle, a quote). */
  async view(db: Db = this.db, inventory?: ClusterSnapshot): Promise<MarketView> {
    const at = this.clock.now();
    const center = await this.center(db);
    // A caller with a recent inventory (submissions cache one) saves reading every node and device.
    const snapshot = inventory ?? (await this.inventory.snapshot(db));
    const capacity = new Map<string, { total: number; free: number }>();
    for (const n of snapshot.nodes) {
      if (!n.schedulable) continue;
      for (const d of n.devices) {
        const c = capacity.get(d.model) ?? { total: 0, free: 0 };
        c.total += 1000;
        c.free += d.freeMilli;
        capacity.set(d.model, c);
      }
    }
    const [prices, spotRows, spotHeld, reservations] = await Promise.all([
      this.pricesFor(center, db),
      db.selectFrom('spot_prices').selectAll().where('center_id', '=', center.id).execute(),
      db
        .selectFrom('allocations as a')
        .innerJoin('jobs as j', 'j.id', 'a.job_id')
        .select(['a.model', (eb) => eb.fn.sum<number>('a.gpu_milli').as('milli')])
        .where('a.released_at', 'is', null)
        .where('j.tier', '=', 'spot')
        .groupBy('a.model')
        .execute(),
      this.activeReservations(db, at),
    ]);
    const spot = new Map(spotRows.map((r) => [r.model, r.price_micros]));
    const spotMilli = new Map(spotHeld.map((r) => [r.model, Number(r.milli)]));
    const models = new Map<string, ModelMarket>();
    for (const [model, p] of prices) {
      const c = capacity.get(model) ?? { total: 0, free: 0 };
      models.set(model, {
        prices: p,
        totalMilli: c.total,
        freeMilli: c.free,
        spotMilli: spotMilli.get(model) ?? 0,
        utilizationPermille: c.total > 0 ? Math.round(((c.total - c.free) * 1000) / c.total) : 0,
        held: heldBack(reservations, model),
        spotMicros: Math.max(p.spotFloorMicros, spot.get(model) ?? 0),
      });
    }
    return { at, center, settings: centerSettings(center), policy: this.policyOf(center), models, reservations, snapshot };
  }

  /** Active reservations with what their tenants' reserved jobs hold now, earliest ending first. */
  async activeReservations(db: Db, at: number): Promise<ReservationUse[]> {
    const rows = await db
      .selectFrom('reservations')
      .selectAll()
      .where('status', '=', 'active')
      .where('start_at', '<=', at)
      .where('end_at', '>', at)
      .orderBy('end_at')
      .orderBy('id')
      .execute();
    if (rows.length === 0) return [];
    const used = await db
      .selectFrom('jobs')
      .select(['reservation_id', 'gpu_milli', 'gpus'])
      .where('reservation_id', 'in', rows.map((r) => r.id))
      .where('state', 'in', ['scheduled', 'running'])
      .execute();
    const usedBy = new Map<string, number>();
    for (const j of used) usedBy.set(j.reservation_id!, (usedBy.get(j.reservation_id!) ?? 0) + (j.gpu_milli ?? (j.gpus ?? 0) * 1000));
    return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, model: r.model, quotaMilli: r.gpu_milli, lendingLimitMilli: r.lending_limit_milli, usedMilli: usedBy.get(r.id) ?? 0 }));
  }

  async listPrices(): Promise<PriceList> {
    const view = await this.view();
    const money = (amountMicros: number): Money => ({ amountMicros, currency: view.settings.currency });
    const models = [...view.models.values()]
      .filter((m) => m.totalMilli > 0 || !m.prices.defaulted)
      .sort((a, b) => a.prices.model.localeCompare(b.prices.model))
      .map((m) => {
        const tiers: Tier[] = ['on-demand', 'spot', 'reserved'];
        return {
          model: m.prices.model,
          list: money(m.prices.listMicros),
          floor: money(m.prices.floor.perGpuHourMicros),
          floorParts: {
            depreciation: Math.round(m.prices.floor.depreciationMicros),
            overhead: Math.round(m.prices.floor.overheadMicros),
            idleEnergy: Math.round(m.prices.floor.idleEnergyMicros),
            busyEnergy: Math.round(m.prices.floor.busyEnergyMicros),
          },
          costs: {
            purchasePriceMicros: m.prices.costs.purchasePriceMicros,
            depreciationMonths: m.prices.costs.depreciationMonths,
            overheadMicrosPerGpuHour: m.prices.costs.overheadMicrosPerGpuHour,
            expectedUtilizationPermille: m.prices.costs.expectedUtilizationPermille,
          },
          defaulted: m.prices.defaulted,
          capacityGpus: m.totalMilli / 1000,
          utilizationPermille: m.utilizationPermille,
          prices: tiers.map((tier) => {
            const price = priceNow(view, m.prices.model, tier);
            const floor = tier === 'spot' ? m.prices.spotFloorMicros : tier === 'reserved' ? m.prices.reservedFloorMicros : m.prices.floor.perGpuHourMicros;
            return {
              model: m.prices.model,
              tier,
              pricePerGpuHour: money(price),
              floorPerGpuHour: money(floor),
              marginPermille: marginPermille(price, floor),
              marginOverCostPermille: marginPermille(price, m.prices.floor.perGpuHourMicros),
            };
          }),
        };
      });
    const c = view.center;
    return {
      centerId: c.id,
      currency: c.currency,
      policy: { name: view.policy.name, description: view.policy.description },
      settings: {
        pueMilli: c.pue_milli,
        tariffPerKwh: money(c.tariff_micros_per_kwh),
        spotFloorPermille: c.spot_floor_permille,
        reservedDiscountPermille: c.reserved_discount_permille,
        spotGraceMs: c.spot_grace_ms,
        taxRatePermille: c.tax_rate_permille,
      },
      models,
    };
  }

  /** Sets a model's list price and cost inputs; new leases use them, running leases keep their price. */
  async setModelPrice(p: Principal, modelId: string, input: ModelPriceInput): Promise<PriceList> {
    requireOperator(p);
    const model = findGpuModel(modelId);
    if (!model) throw invalid('model', `unknown GPU model "${modelId}"; known models: ${knownModelIds().join(', ')}`);
    const problems: FieldProblem[] = [];
    const check = (field: keyof ModelPriceInput, min: number, max: number, hint: string) => {
      const v = input[field];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < min || v > max)) problems.push({ field, message: `must be a whole number from ${min} to ${max} (${hint})` });
    };
    check('listMicros', 1, 1e12, 'micro-units per GPU-hour, ¥1 = 1000000');
    check('purchasePriceMicros', 0, 1e15, 'micro-units per GPU including its share of the server');
    check('depreciationMonths', 1, 240, 'months');
    check('overheadMicrosPerGpuHour', 0, 1e12, 'micro-units per GPU-hour');
    check('expectedUtilizationPermille', 1, 1000, 'per mille of hours sold, 600 = 60%');
    if (problems.length > 0) throw invalidMany(problems);
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      const center = await this.center(tx);
      const current = (await this.pricesFor(center, tx, [model.id])).get(model.id)!.costs;
      const row = {
        center_id: center.id,
        model: model.id,
        list_micros: input.listMicros ?? current.listMicros,
        purchase_price_micros: input.purchasePriceMicros ?? current.purchasePriceMicros,
        depreciation_months: input.depreciationMonths ?? current.depreciationMonths,
        overhead_micros_per_gpu_hour: input.overheadMicrosPerGpuHour ?? current.overheadMicrosPerGpuHour,
        expected_utilization_permille: input.expectedUtilizationPermille ?? current.expectedUtilizationPermille,
        updated_at: now,
      };
      await tx.deleteFrom('price_book').where('center_id', '=', center.id).where('model', '=', model.id).execute();
      await tx.insertInto('price_book').values(row).execute();
      await appendEvent(tx, { at: now, type: 'price.changed', subjectKind: 'center', subjectId: center.id, actor: p.memberId, message: `${model.id} price book changed`, data: row });
    });
    return this.listPrices();
  }

  async updateSettings(p: Principal, input: MarketSettingsInput): Promise<PriceList> {
    requireOperator(p);
    const problems: FieldProblem[] = [];
    const whole = (field: keyof MarketSettingsInput, min: number, max: number) => {
      const v = input[field];
      if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)) problems.push({ field, message: `must be a whole number from ${min} to ${max}` });
    };
    whole('pueMilli', 1000, 5000);
    whole('tariffMicrosPerKwh', 0, 1e10);
    whole('taxRatePermille', 0, 1000);
    whole('spotFloorPermille', 100, 10_000);
    whole('reservedDiscountPermille', 0, 900);
    whole('spotGraceMs', 0, 3_600_000);
    whole('fairShareWindowMs', 60_000, 90 * 24 * 3_600_000);
    whole('balanceWarningMs', 0, 30 * 24 * 3_600_000);
    whole('onDemandStopAfterMs', 0, 7 * 24 * 3_600_000);
    if (input.currency !== undefined && !/^[A-Z]{3}$/.test(input.currency)) problems.push({ field: 'currency', message: 'must be an ISO 4217 code such as CNY' });
    if (input.pricingPolicy !== undefined && !(PRICING_POLICY_NAMES as readonly string[]).includes(input.pricingPolicy))
      problems.push({ field: 'pricingPolicy', message: `unknown pricing policy "${input.pricingPolicy}"; choose one of ${PRICING_POLICY_NAMES.join(', ')}` });
    if (problems.length > 0) throw invalidMany(problems);
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      const center = await this.center(tx);
      if (input.currency !== undefined && input.currency !== center.currency) {
        const used = await tx.selectFrom('ledger_postings').select('id').limit(1).executeTakeFirst();
        if (used) throw invalid('currency', `the ledger already holds ${center.currency}; a center keeps one currency once money has moved`);
      }
      const policy = input.pricingPolicy ?? center.pricing_policy;
      const params = input.pricingParams ?? (input.pricingPolicy !== undefined && input.pricingPolicy !== center.pricing_policy ? {} : (JSON.parse(center.pricing_params) as Record<string, unknown>));
      try {
        createPricingPolicy(policy, params);
      } catch (err) {
        throw invalid('pricingParams', (err as Error).message);
      }
      const set = {
        currency: input.currency ?? center.currency,
        pue_milli: input.pueMilli ?? center.pue_milli,
        tariff_micros_per_kwh: input.tariffMicrosPerKwh ?? center.tariff_micros_per_kwh,
        tax_rate_permille: input.taxRatePermille ?? center.tax_rate_permille,
        pricing_policy: policy,
        pricing_params: JSON.stringify(params),
        spot_floor_permille: input.spotFloorPermille ?? center.spot_floor_permille,
        reserved_discount_permille: input.reservedDiscountPermille ?? center.reserved_discount_permille,
        spot_grace_ms: input.spotGraceMs ?? center.spot_grace_ms,
        fair_share_window_ms: input.fairShareWindowMs ?? center.fair_share_window_ms,
        balance_warning_ms: input.balanceWarningMs ?? center.balance_warning_ms,
        on_demand_stop_after_ms: input.onDemandStopAfterMs ?? center.on_demand_stop_after_ms,
      };
      await tx.updateTable('centers').set(set).where('id', '=', center.id).execute();
      await appendEvent(tx, { at: now, type: 'market.settings', subjectKind: 'center', subjectId: center.id, actor: p.memberId, message: 'market settings changed', data: set });
    });
    return this.listPrices();
  }

  /**
   * Sells a reservation: a guaranteed quota of one model for a term, prepaid at the reserved price.
   * Never more than the model's capacity is reserved at any moment: sales of one model are
   * serialised (an advisory lock on PostgreSQL, the single writer on SQLite) and re-checked inside.
   */
  async buyReservation(p: Principal, input: ReservationInput, idempotencyKey?: string): Promise<{ reservation: ReservationView; created: boolean }> {
    const tenantId = scopeTenant(p);
    if (!tenantId) throw invalid('tenant', "operators buy on behalf of a tenant by using that tenant's key");
    const model = findGpuModel(input.model ?? '');
    const problems: FieldProblem[] = [];
    if (!model) problems.push({ field: 'model', message: `unknown GPU model "${input.model}"; known models: ${knownModelIds().join(', ')}` });
    const hasWhole = input.gpus !== undefined;
    const hasShare = input.gpuMilli !== undefined;
    if (hasWhole === hasShare) problems.push({ field: 'gpus', message: 'give either gpus (whole GPUs) or gpuMilli (milli-GPU of quota)' });
    if (hasWhole && (!Number.isInteger(input.gpus) || input.gpus! < 1 || input.gpus! > 4096)) problems.push({ field: 'gpus', message: 'must be a whole number from 1 to 4096' });
    if (hasShare && (!Number.isInteger(input.gpuMilli) || input.gpuMilli! < 1 || input.gpuMilli! > 4_096_000)) problems.push({ field: 'gpuMilli', message: 'must be a whole number of milli-GPU ≥ 1' });
    if (typeof input.hours !== 'number' || !Number.isFinite(input.hours) || input.hours < MIN_RESERVATION_HOURS || input.hours > MAX_RESERVATION_HOURS)
      problems.push({ field: 'hours', message: `a reservation's term is ${MIN_RESERVATION_HOURS} to ${MAX_RESERVATION_HOURS} hours (3 years); for shorter work use on-demand or spot` });
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) problems.push({ field: 'Idempotency-Key', message: 'must be 1–255 characters' });
    if (problems.length > 0) throw invalidMany(problems);
    const milli = hasWhole ? input.gpus! * 1000 : input.gpuMilli!;
    const lending = input.lendingLimitMilli ?? milli;
    if (!Number.isInteger(lending) || lending < 0 || lending > milli) throw invalid('lendingLimitMilli', `must be a whole number from 0 to the quota (${milli})`);
    const now = this.clock.now();
    const startAt = input.startAt ?? now;
    if (!Number.isSafeInteger(startAt) || startAt < now - 60_000 || startAt > now + MAX_RESERVATION_LEAD_MS) throw invalid('startAt', 'must be from now to a year ahead (ms since the epoch)');
    const durationMs = Math.round(input.hours * 3_600_000);
    const endAt = startAt + durationMs;

    if (idempotencyKey !== undefined) {
      const prior = await this.db.selectFrom('reservations').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
      if (prior) {
        const same = prior.model === model!.id && prior.gpu_milli === milli && prior.end_at - prior.start_at === durationMs && prior.lending_limit_milli === lending && (input.startAt === undefined || input.startAt === prior.start_at);
        if (!same)
          throw new UnidleError('idempotency_conflict', `Idempotency-Key was already used for a different reservation (${prior.id}); use a new key for a new reservation`, [
            { field: 'Idempotency-Key', message: 'reused with a different body' },
          ]);
        return { reservation: toReservationView(prior, 0), created: false };
      }
    }
    const row = await this.db.transaction().execute(async (tx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`unidle-reservations:${model!.id}`}))`.execute(tx);
      const center = await this.center(tx);
      const prices = (await this.pricesFor(center, tx, [model!.id])).get(model!.id)!;
      const capacity = await this.capacityMilli(tx, model!.id);
      const overlapping = await tx
        .selectFrom('reservations')
        .select(['start_at', 'end_at', 'gpu_milli'])
        .where('model', '=', model!.id)
        .where('status', '=', 'active')
        .where('start_at', '<', endAt)
        .where('end_at', '>', startAt)
        .execute();
      // The peak of reserved capacity over the new term happens at some reservation's start.
      const points = [startAt, ...overlapping.map((r) => r.start_at).filter((t) => t > startAt && t < endAt)];
      const peak = Math.max(...points.map((t) => overlapping.filter((r) => r.start_at <= t && r.end_at > t).reduce((s, r) => s + r.gpu_milli, 0)));
      // On-demand work is never preempted: what it may still hold at the start (up to its max duration) is not for sale.
      const onDemand = await tx
        .selectFrom('jobs as j')
        .innerJoin('allocations as a', 'a.job_id', 'j.id')
        .select(['a.gpu_milli', 'j.started_at', 'j.scheduled_at', 'j.max_duration_ms'])
        .where('j.state', 'in', ['scheduled', 'running'])
        .where('j.tier', '=', 'on-demand')
        .where('a.model', '=', model!.id)
        .where('a.released_at', 'is', null)
        .execute();
      const busy = onDemand.filter((a) => (a.started_at ?? a.scheduled_at ?? now) + a.max_duration_ms > startAt).reduce((x, a) => x + a.gpu_milli, 0);
      if (peak + busy + milli > capacity)
        throw new UnidleError(
          'capacity_sold_out',
          `only ${Math.max(0, capacity - peak - busy)} milli-GPU of ${model!.id} can be reserved from that start (capacity ${capacity}, reserved ${peak}, on-demand work that may still run ${busy}); reserve less, start later, another model, or buy on-demand or spot`,
          [{ field: hasWhole ? 'gpus' : 'gpuMilli', message: 'more than the unreserved capacity' }],
        );
      const total = chargeMicros(prices.reservedMicros, milli, durationMs);
      const tenant = await tx.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirstOrThrow();
      await assertCanSpend(tx, tenant, center.currency, total, now, 'this reservation');
      const reservation: ReservationsTable = {
        id: newId('rsv', now),
        tenant_id: tenantId,
        center_id: center.id,
        model: model!.id,
        gpu_milli: milli,
        lending_limit_milli: lending,
        start_at: startAt,
        end_at: endAt,
        price_micros: prices.reservedMicros,
        total_micros: total,
        recognized_micros: 0,
        currency: center.currency,
        status: 'active',
        idempotency_key: idempotencyKey ?? null,
        created_at: now,
      };
      await tx.insertInto('reservations').values(reservation).execute();
      if (total > 0) {
        await postLedger(
          tx,
          [
            {
              tx: {
                id: ledgerTransactionId(now),
                at: now,
                memo: `reservation ${reservation.id}: ${milli} milli-GPU of ${model!.id} for ${input.hours} h`,
                postings: [
                  { account: `tenant:${tenantId}:balance`, amountMicros: total, currency: center.currency },
                  { account: `tenant:${tenantId}:reservation`, amountMicros: -total, currency: center.currency },
                ],
              },
              meta: { kind: 'reservation', tenantId, ref: reservation.id },
            },
          ],
          now,
        );
      }
      await appendEvent(tx, { at: now, type: 'reservation.created', subjectKind: 'reservation', subjectId: reservation.id, tenantId, actor: p.memberId, message: `reserved ${milli} milli-GPU of ${model!.id} until ${new Date(endAt).toISOString()}` });
      return reservation;
    });
    return { reservation: toReservationView(row, 0), created: true };
  }

  private async capacityMilli(db: Db, model: string): Promise<number> {
    const r = await db
      .selectFrom('devices as d')
      .innerJoin('nodes as n', 'n.id', 'd.node_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('d.model', '=', model)
      .where('n.status', '=', 'up')
      .executeTakeFirstOrThrow();
    return Number(r.n) * 1000;
  }

  /**
   * What a job of this shape would cost and when it could start, per tier and model, without
   * committing to anything. Start estimates come from the live cluster: free now, after spot work
   * is preempted (on-demand, reserved), or when running work reaches its max duration (an upper bound).
   */
  async quote(p: Principal, input: QuoteInput): Promise<QuoteView> {
    scopeTenant(p);
    const problems: FieldProblem[] = [];
    const hasWhole = input.gpus !== undefined;
    const hasShare = input.gpuMilli !== undefined;
    if (hasWhole === hasShare) problems.push({ field: 'gpuMilli', message: 'give either gpuMilli (1–999, a share of one GPU) or gpus (whole GPUs)' });
    if (hasShare && (!Number.isInteger(input.gpuMilli) || input.gpuMilli! < 1 || input.gpuMilli! > 999)) problems.push({ field: 'gpuMilli', message: 'must be a whole number from 1 to 999; for whole GPUs use gpus' });
    if (hasWhole && (!Number.isInteger(input.gpus) || input.gpus! < 1 || input.gpus! > 64)) problems.push({ field: 'gpus', message: 'must be a whole number from 1 to 64' });
    if (typeof input.hours !== 'number' || !Number.isFinite(input.hours) || input.hours <= 0 || input.hours > 720)
      problems.push({ field: 'hours', message: `must be a positive number of hours up to 720 (30 days)${typeof input.hours === 'number' && input.hours <= 0 ? `; got ${input.hours}` : ''}` });
    const tier = (input.tier ?? 'on-demand') as Tier;
    if (!['on-demand', 'spot', 'reserved'].includes(tier)) problems.push({ field: 'tier', message: `unknown tier "${input.tier}"; tiers are on-demand, spot, reserved` });
    const asked = [...(input.models ?? []), ...(input.model ? [input.model] : [])];
    const modelIds: string[] = [];
    asked.forEach((raw, i) => {
      const m = findGpuModel(raw);
      if (!m) problems.push({ field: input.model === raw ? 'model' : `models[${i}]`, message: `unknown GPU model "${raw}"; known models: ${knownModelIds().join(', ')}` });
      else if (!modelIds.includes(m.id)) modelIds.push(m.id);
    });
    if (input.maxPricePerHour !== undefined && tier !== 'spot') problems.push({ field: 'maxPricePerHour', message: 'is a spot bid; set tier to spot or drop it' });
    if (tier === 'reserved' && typeof input.hours === 'number' && input.hours < MIN_RESERVATION_HOURS)
      problems.push({ field: 'hours', message: `reservations are sold for ${MIN_RESERVATION_HOURS} h or more; for ${input.hours} h quote on-demand or spot` });
    for (const field of ['cpuMilli', 'memoryMib'] as const) {
      const v = input[field];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) problems.push({ field, message: `must be a positive whole number of ${field === 'cpuMilli' ? 'milli-cores' : 'MiB'}` });
    }
    if (problems.length > 0) throw invalidMany(problems);

    const view = await this.view();
    const currency = view.settings.currency;
    const milli = hasWhole ? input.gpus! * 1000 : input.gpuMilli!;
    const durationMs = Math.round(input.hours * 3_600_000);
    const now = view.at;
    const present = [...view.models.values()].filter((m) => m.totalMilli > 0).map((m) => m.prices.model);
    const wanted = modelIds.length > 0 ? modelIds.filter((m) => present.includes(m)) : present;
    if (wanted.length === 0)
      throw new UnidleError('unschedulable', `this center has no ${modelIds.join('/') || 'GPUs'}; models here: ${present.join(', ') || 'none yet'}`, [{ field: input.model ? 'model' : 'models', message: 'not in this center' }]);
    let bid: number | null = null;
    if (input.maxPricePerHour !== undefined) {
      const b = input.maxPricePerHour;
      if (!b || !Number.isSafeInteger(b.amountMicros) || b.amountMicros <= 0 || b.amountMicros > MAX_PRICE_PER_HOUR_MICROS)
        throw invalid('maxPricePerHour.amountMicros', `must be a positive whole number of micro-units, at most ${MAX_PRICE_PER_HOUR_MICROS}`);
      if (b.currency !== currency) throw invalid('maxPricePerHour.currency', `currency mismatch: this center sells in ${currency}, not ${b.currency}`);
      bid = Math.floor((b.amountMicros * 1000) / milli);
      const lowest = Math.min(...wanted.map((m) => view.models.get(m)!.prices.spotFloorMicros));
      if (bid < lowest) throw invalid('maxPricePerHour.amountMicros', `the bid is below the spot floor of ${formatMoney({ amountMicros: scaleMicros(lowest, milli, 1000), currency })} per hour for this shape; bid at least that`);
    }

    const request = { gpuMilli: hasShare ? input.gpuMilli! : null, gpus: hasWhole ? input.gpus! : null, models: [] as string[], minGpuMemoryMib: null, cpuMilli: input.cpuMilli ?? 1000, memoryMib: input.memoryMib ?? 2048 };
    const snapshot = view.snapshot;
    const fitsNow = new PlacementEngine(bestFitPolicy(), snapshot.nodes);
    const spotFree = new PlacementEngine(bestFitPolicy(), await this.withoutSpot(snapshot.nodes));
    const ends = await this.runningEnds(now);
    const grace = view.center.spot_grace_ms;

    const startFor = (model: string, t: Tier): { at: number | null; note?: string } => {
      const m = view.models.get(model)!;
      const req = { ...request, models: [model] };
      const held = t === 'spot' ? m.held.fromSpot : t === 'on-demand' ? m.held.fromOnDemand : 0;
      if (t === 'reserved') {
        // As the sale checks it: capacity less other reservations less on-demand work that may still run (never preempted).
        const reservedNow = view.reservations.filter((r) => r.model === model).reduce((x, r) => x + r.quotaMilli, 0);
        const onDemand = ends.filter((e) => e.model === model && e.tier === 'on-demand');
        let busy = onDemand.reduce((x, e) => x + e.milli, 0);
        if (reservedNow + busy + milli <= m.totalMilli) return { at: now };
        for (const e of onDemand) {
          busy -= e.milli;
          if (reservedNow + busy + milli <= m.totalMilli) return { at: Math.max(now, e.endAt), note: 'a reservation can start when running on-demand work reaches its max duration' };
        }
        return { at: null, note: `all ${model} capacity is reserved` };
      }
      if (t === 'spot') {
        const price = m.spotMicros;
        if ((bid ?? priceNow(view, model, 'on-demand')) < price) return { at: null, note: `the spot price ${currency} ${(price / 1e6).toFixed(4)}/GPU-h is above the bid; it starts when the price falls` };
      }
      if (m.freeMilli - milli >= held && fitsNow.choose(req)) return { at: now };
      if (t !== 'spot' && m.spotMilli > 0 && m.freeMilli + m.spotMilli - milli >= held && spotFree.choose(req)) return { at: now + grace, note: `starts once spot work leaves (${Math.round(grace / 1000)} s notice)` };
      // Upper bound: when enough running work on the model reaches its max duration.
      let freed = m.freeMilli;
      for (const e of ends.filter((x) => x.model === model)) {
        freed += e.milli;
        if (freed - milli >= held) return { at: Math.max(now, e.endAt), note: 'estimated from the max durations of running work; it may start sooner' };
      }
      return { at: null, note: 'no estimate: the capacity is held by work without an end in sight' };
    };
    const optionFor = (model: string, t: Tier): QuoteOption => {
      const m = view.models.get(model)!;
      const start = startFor(model, t);
      return {
        model,
        tier: t,
        priceAt: (at) => priceNow(view, model, t, at),
        floorMicros: t === 'spot' ? m.prices.spotFloorMicros : t === 'reserved' ? m.prices.reservedFloorMicros : m.prices.floor.perGpuHourMicros,
        earliestStartAt: start.at,
        ...(start.note ? { note: start.note } : {}),
      };
    };
    // The asked-for option: the asked tier on the allowed model that starts soonest, then cheapest.
    const mains = wanted.map((m) => quoteOption(optionFor(m, tier), milli, durationMs, now));
    mains.sort((a, b) => (a.estimatedStartAt ?? Infinity) - (b.estimatedStartAt ?? Infinity) || a.estimatedTotalMicros - b.estimatedTotalMicros);
    const main = mains[0]!;
    const others: QuoteOption[] = [];
    const tiers: Tier[] = input.hours >= MIN_RESERVATION_HOURS ? ['on-demand', 'spot', 'reserved'] : ['on-demand', 'spot'];
    for (const model of present) for (const t of tiers) others.push(optionFor(model, t));
    const alts = alternatives(main, others, milli, durationMs, now);
    const money = (amountMicros: number): Money => ({ amountMicros, currency });
    const notes: string[] = [];
    if (main.note) notes.push(main.note);
    if (tier === 'spot') notes.push('spot work may be preempted with notice and requeued; the price follows the clearing price');
    if (tier === 'reserved') notes.push('a reservation is prepaid for its whole term (POST /v1/reservations); reserved jobs then cost nothing extra');
    return {
      quotedAt: now,
      currency,
      model: main.model,
      tier,
      gpuMilli: hasShare ? input.gpuMilli! : null,
      gpus: hasWhole ? input.gpus! : null,
      hours: input.hours,
      pricePerHour: money(main.pricePerHourMicros),
      pricePerGpuHour: money(main.pricePerGpuHourMicros),
      floorPerHour: money(scaleMicros(main.floorPerGpuHourMicros, milli, 1000)),
      marginPermille: marginPermille(main.pricePerGpuHourMicros, main.floorPerGpuHourMicros),
      marginOverCostPermille: marginPermille(main.pricePerGpuHourMicros, view.models.get(main.model)!.prices.floor.perGpuHourMicros),
      estimatedStartAt: main.estimatedStartAt,
      estimatedTotal: money(main.estimatedTotalMicros),
      priceFixed: tier !== 'spot',
      notes,
      alternatives: alts.map((a) => ({
        model: a.model,
        tier: a.tier,
        pricePerHour: money(a.pricePerHourMicros),
        estimatedStartAt: a.estimatedStartAt,
        estimatedTotal: money(a.estimatedTotalMicros),
        why: a.why,
        ...(a.note ? { note: a.note } : {}),
      })),
    };
  }

  private async withoutSpot(nodes: NodeView[]): Promise<NodeView[]> {
    const spot = await this.db
      .selectFrom('jobs as j')
      .innerJoin('allocations as a', 'a.job_id', 'j.id')
      .select(['j.id', 'j.node_id', 'j.cpu_milli', 'j.memory_mib', 'a.device_id', 'a.gpu_milli'])
      .where('j.state', 'in', ['scheduled', 'running'])
      .where('j.tier', '=', 'spot')
      .where('a.released_at', 'is', null)
      .execute();
    const work = new Map<string, RunningWork>();
    for (const r of spot) {
      const w = work.get(r.id) ?? { jobId: r.id, nodeId: r.node_id ?? '', preemptible: true, inNotice: false, bidMicros: 0, startedAt: 0, cpuMilli: r.cpu_milli, memoryMib: r.memory_mib, grants: [] };
      (w.grants as Array<{ deviceId: string; milli: number }>).push({ deviceId: r.device_id, milli: r.gpu_milli });
      work.set(r.id, w);
    }
    return withoutPreemptible(nodes, [...work.values()]);
  }

  /** When running work reaches its max duration, soonest first (an upper bound on when capacity frees). */
  private async runningEnds(now: number): Promise<Array<{ model: string; tier: string; milli: number; endAt: number }>> {
    const rows = await this.db
      .selectFrom('jobs as j')
      .innerJoin('allocations as a', 'a.job_id', 'j.id')
      .select(['j.started_at', 'j.scheduled_at', 'j.max_duration_ms', 'j.tier', 'a.model', 'a.gpu_milli'])
      .where('j.state', 'in', ['scheduled', 'running'])
      .where('a.released_at', 'is', null)
      .execute();
    return rows.map((r) => ({ model: r.model, tier: r.tier, milli: r.gpu_milli, endAt: (r.started_at ?? r.scheduled_at ?? now) + r.max_duration_ms })).sort((a, b) => a.endAt - b.endAt);
  }

  async listReservations(p: Principal, tenantId?: string): Promise<ReservationView[]> {
    const scoped = scopeTenant(p, tenantId);
    let q = this.db.selectFrom('reservations').selectAll().orderBy('created_at', 'desc');
    if (scoped) q = q.where('tenant_id', '=', scoped);
    const rows = await q.execute();
    const used = new Map((await this.activeReservations(this.db, this.clock.now())).map((r) => [r.id, r.usedMilli]));
    return rows.map((r) => toReservationView(r, used.get(r.id) ?? 0));
  }

  async getReservation(p: Principal, id: string): Promise<ReservationView> {
    const r = await this.db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r || (p.role !== 'operator' && r.tenant_id !== p.tenantId)) throw notFound('reservation', id);
    const used = (await this.activeReservations(this.db, this.clock.now())).find((x) => x.id === id)?.usedMilli ?? 0;
    return toReservationView(r, used);
  }
}

/** Start of the UTC calendar month containing `at`. */
export function monthStart(at: number): number {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** What a tenant has been charged this month (usage and reservations), micro-units. */
export async function spentThisMonth(db: Db, tenantId: string, currency: string, at: number): Promise<number> {
  const r = await db
    .selectFrom('ledger_postings as p')
    .innerJoin('ledger_transactions as t', 't.id', 'p.transaction_id')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('p.amount_micros'), eb.lit(0)).as('spent'))
    .where('p.account', '=', `tenant:${tenantId}:balance`)
    .where('p.currency', '=', currency)
    .where('t.kind', 'in', ['charge', 'reservation'])
    .where('p.at', '>=', monthStart(at))
    .executeTakeFirstOrThrow();
  return Number(r.spent);
}

/** What a prepaid tenant has left (credit balance of its account), micro-units. */
export async function availableBalance(db: Db, tenantId: string, currency: string): Promise<number> {
  const r = await db
    .selectFrom('ledger_postings')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_micros'), eb.lit(0)).as('balance'))
    .where('account', '=', `tenant:${tenantId}:balance`)
    .where('currency', '=', currency)
    .executeTakeFirstOrThrow();
  return -Number(r.balance);
}

/**
 * Refuses new spending beyond a tenant's monthly hard limit or (prepaid) beyond its balance, with
 * an error that says what to do. `amount` is the worst case of what is being bought.
 */
export async function assertCanSpend(
  db: Db,
  tenant: { id: string; payment_mode: string; budget_limit_micros: number | null },
  currency: string,
  amount: number,
  at: number,
  what: string,
): Promise<void> {
  if (tenant.budget_limit_micros !== null) {
    const spent = await spentThisMonth(db, tenant.id, currency, at);
    const left = tenant.budget_limit_micros - spent;
    if (left <= 0 || amount > left)
      throw new UnidleError(
        'budget_exceeded',
        `${what} could cost up to ${fmt(amount, currency)} but only ${fmt(Math.max(0, left), currency)} of this month's budget of ${fmt(tenant.budget_limit_micros, currency)} is left; ask a tenant admin to raise the budget, or ask for less (fewer GPUs, a shorter maxDurationMs)`,
        [{ field: 'budget', message: 'monthly hard limit reached' }],
      );
  }
  if (tenant.payment_mode === 'prepaid') {
    const available = await availableBalance(db, tenant.id, currency);
    if (available <= 0 || (what === 'this reservation' && amount > available))
      throw new UnidleError('payment_required', `the prepaid balance is ${fmt(available, currency)}, not enough for ${what} (${fmt(amount, currency)}); top up first`, [
        { field: 'balance', message: 'prepaid balance too low' },
      ]);
  }
}

function fmt(amountMicros: number, currency: string): string {
  return formatMoney({ amountMicros, currency });
}
