import { Type } from 'typebox';
import { Nullable } from './schemas.js';

/** Schemas for selling and billing: prices, quotes, reservations, balances, the ledger, invoices, reports. */
const M = () => Type.Object({ amountMicros: Type.Integer(), currency: Type.String() });
const TierSchema = Type.Union([Type.Literal('on-demand'), Type.Literal('spot'), Type.Literal('reserved')]);
const MoneyInput = Type.Object(
  { amountMicros: Type.Integer({ description: 'integer micro-units (¥1 = 1000000)' }), currency: Type.String({ description: 'ISO 4217, e.g. CNY' }) },
  { additionalProperties: false },
);

export const PriceList = Type.Object(
  {
    centerId: Type.String(),
    currency: Type.String(),
    policy: Type.Object({ name: Type.String(), description: Type.String() }),
    settings: Type.Object({
      pueMilli: Type.Integer(),
      tariffPerKwh: M(),
      spotFloorPermille: Type.Integer(),
      reservedDiscountPermille: Type.Integer(),
      spotGraceMs: Type.Integer(),
      taxRatePermille: Type.Integer(),
    }),
    models: Type.Array(
      Type.Object({
        model: Type.String(),
        list: M(),
        floor: M(),
        floorParts: Type.Object({ depreciation: Type.Integer(), overhead: Type.Integer(), idleEnergy: Type.Integer(), busyEnergy: Type.Integer() }, { description: 'micro-units per sold GPU-hour' }),
        costs: Type.Optional(
          Type.Object({ purchasePriceMicros: Type.Integer(), depreciationMonths: Type.Integer(), overheadMicrosPerGpuHour: Type.Integer(), expectedUtilizationPermille: Type.Integer() }, { description: 'operators only' }),
        ),
        defaulted: Type.Boolean({ description: 'true when the operator has not priced this model and defaults apply' }),
        capacityGpus: Type.Number(),
        utilizationPermille: Type.Integer(),
        prices: Type.Array(Type.Object({ model: Type.String(), tier: TierSchema, pricePerGpuHour: M(), floorPerGpuHour: M(), marginPermille: Type.Integer({ description: "margin over this tier's floor, per mille of the price" }), marginOverCostPermille: Type.Integer({ description: 'margin over the full cost floor, per mille of the price' }) })),
      }),
    ),
  },
  { $id: 'PriceList' },
);

export const ModelPriceInput = Type.Object(
  {
    listMicros: Type.Optional(Type.Integer({ description: 'on-demand list price per GPU-hour' })),
    purchasePriceMicros: Type.Optional(Type.Integer({ description: 'per GPU including its share of the server' })),
    depreciationMonths: Type.Optional(Type.Integer()),
    overheadMicrosPerGpuHour: Type.Optional(Type.Integer()),
    expectedUtilizationPermille: Type.Optional(Type.Integer({ description: 'share of hours sold the floor assumes, per mille' })),
  },
  { additionalProperties: false },
);

export const MarketSettingsInput = Type.Object(
  {
    currency: Type.Optional(Type.String()),
    pueMilli: Type.Optional(Type.Integer()),
    tariffMicrosPerKwh: Type.Optional(Type.Integer()),
    taxRatePermille: Type.Optional(Type.Integer()),
    pricingPolicy: Type.Optional(Type.String({ description: 'fixed, utilization or time-of-use' })),
    pricingParams: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    spotFloorPermille: Type.Optional(Type.Integer()),
    reservedDiscountPermille: Type.Optional(Type.Integer()),
    spotGraceMs: Type.Optional(Type.Integer()),
    fairShareWindowMs: Type.Optional(Type.Integer()),
    balanceWarningMs: Type.Optional(Type.Integer()),
    onDemandStopAfterMs: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export const QuoteRequest = Type.Object(
  {
    gpuMilli: Type.Optional(Type.Integer({ description: 'a share of one GPU, 1–999' })),
    gpus: Type.Optional(Type.Integer({ description: 'whole GPUs' })),
    model: Type.Optional(Type.String()),
    models: Type.Optional(Type.Array(Type.String(), { maxItems: 32 })),
    tier: Type.Optional(Type.String({ description: 'on-demand (default), spot or reserved' })),
    hours: Type.Number({ description: 'how long the work runs' }),
    maxPricePerHour: Type.Optional(MoneyInput),
    cpuMilli: Type.Optional(Type.Integer()),
    memoryMib: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false, $id: 'QuoteRequest' },
);

export const Quote = Type.Object(
  {
    quotedAt: Type.Integer(),
    currency: Type.String(),
    model: Type.String(),
    tier: TierSchema,
    gpuMilli: Nullable(Type.Integer()),
    gpus: Nullable(Type.Integer()),
    hours: Type.Number(),
    pricePerHour: M(),
    pricePerGpuHour: M(),
    floorPerHour: M(),
    marginPermille: Type.Integer({ description: "margin over this tier's floor, per mille of the price" }),
    marginOverCostPermille: Type.Integer({ description: 'margin over the full cost floor, per mille of the price' }),
    estimatedStartAt: Nullable(Type.Integer({ description: 'null when no start can be promised (a bid below the spot price)' })),
    estimatedTotal: M(),
    priceFixed: Type.Boolean(),
    notes: Type.Array(Type.String()),
    alternatives: Type.Array(
      Type.Object({
        model: Type.String(),
        tier: TierSchema,
        pricePerHour: M(),
        estimatedStartAt: Nullable(Type.Integer()),
        estimatedTotal: M(),
        why: Type.Array(Type.String({ description: 'cheaper, sooner, off-peak' })),
        note: Type.Optional(Type.String()),
      }),
    ),
  },
  { $id: 'Quote' },
);

export const ReservationInput = Type.Object(
  {
    model: Type.String(),
    gpus: Type.Optional(Type.Integer()),
    gpuMilli: Type.Optional(Type.Integer()),
    hours: Type.Number({ description: 'the term' }),
    startAt: Type.Optional(Type.Integer({ description: 'ms since the epoch; default now' })),
    lendingLimitMilli: Type.Optional(Type.Integer({ description: 'unused quota others may borrow as spot; default all of it' })),
  },
  { additionalProperties: false },
);

export const Reservation = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    model: Type.String(),
    gpuMilli: Type.Integer(),
    lendingLimitMilli: Type.Integer(),
    startAt: Type.Integer(),
    endAt: Type.Integer(),
    pricePerGpuHour: M(),
    total: M(),
    recognized: M(),
    status: Type.String(),
    usedMilli: Type.Integer(),
    createdAt: Type.Integer(),
  },
  { $id: 'Reservation' },
);

export const TenantBilling = Type.Object(
  {
    tenantId: Type.String(),
    paymentMode: Type.String(),
    balance: M(),
    reservationsPrepaid: M(),
    spentThisMonth: M(),
    budgetLimit: Nullable(M()),
    fairShareWeightMilli: Type.Integer(),
    burnPerHour: M(),
    warnedAt: Nullable(Type.Integer()),
    exhaustedAt: Nullable(Type.Integer()),
  },
  { $id: 'TenantBilling' },
);

export const TenantBillingInput = Type.Object(
  {
    paymentMode: Type.Optional(Type.String({ description: 'prepaid or postpaid (operators)' })),
    budgetLimit: Type.Optional(Nullable(MoneyInput)),
    fairShareWeightMilli: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export const TopUpInput = Type.Object({ amount: MoneyInput, reference: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export const RefundInput = Type.Object({ amount: MoneyInput, reason: Type.String({ minLength: 1, maxLength: 200 }), jobId: Type.Optional(Type.String()) }, { additionalProperties: false });

export const TrialBalance = Type.Object(
  {
    balanced: Type.Boolean(),
    transactions: Type.Integer(),
    postings: Type.Integer(),
    totals: Type.Array(Type.Object({ currency: Type.String(), debitsMicros: Type.Integer(), creditsMicros: Type.Integer() })),
    accounts: Type.Array(Type.Object({ account: Type.String(), currency: Type.String(), balanceMicros: Type.Integer() })),
  },
  { $id: 'TrialBalance' },
);

export const Invoice = Type.Object(
  {
    tenantId: Type.String(),
    tenantName: Type.String(),
    period: Type.String(),
    periodStart: Type.Integer(),
    periodEnd: Type.Integer(),
    currency: Type.String(),
    issuedAt: Type.Integer(),
    lines: Type.Array(
      Type.Object({
        leaseId: Type.String(),
        jobId: Type.String(),
        jobName: Nullable(Type.String()),
        model: Type.String(),
        tier: Type.String(),
        gpuMilli: Type.Integer(),
        pricePerGpuHour: M(),
        from: Type.Integer(),
        to: Type.Integer(),
        seconds: Type.Number(),
        amount: M(),
      }),
    ),
    reservations: Type.Array(Type.Object({ reservationId: Type.String(), model: Type.String(), gpuMilli: Type.Integer(), startAt: Type.Integer(), endAt: Type.Integer(), pricePerGpuHour: M(), amount: M() })),
    refunds: Type.Array(Type.Object({ at: Type.Integer(), memo: Type.String(), amount: M() })),
    energy: Type.Object(
      {
        included: Type.Boolean({ description: 'false: energy is not charged separately (the GPU-hour price includes it)' }),
        energyMj: Type.Integer({ description: "energy attributed to the tenant's jobs in the period, mJ" }),
        kWh: Type.Number(),
        co2Grams: Type.Number({ description: 'at the PUE and carbon intensity below' }),
        cost: M(),
        pueMilli: Type.Integer(),
        carbonIntensityGPerKwh: Type.Number(),
        measuredShare: Type.Number({ description: "fraction (0–1) of the jobs' device-time covered by telemetry" }),
        note: Type.String(),
        jobs: Type.Optional(
          Type.Array(
            Type.Object({
              jobId: Type.String(),
              source: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('none')]),
              energyMj: Type.Integer(),
              kWh: Type.Number(),
              co2Grams: Type.Number(),
              cost: M(),
              measuredShare: Type.Number(),
            }),
          ),
        ),
      },
      { description: 'energy drawn for information (src/control/energy-service.ts), not a charge' },
    ),
    usageSubtotal: M(),
    reservationSubtotal: M(),
    refundTotal: M(),
    subtotal: M(),
    taxes: Type.Object({ ratePermille: Type.Integer(), amount: M() }),
    total: M(),
  },
  { $id: 'Invoice' },
);

export const MarketReport = Type.Object(
  {
    from: Type.Integer(),
    to: Type.Integer(),
    currency: Type.String(),
    models: Type.Array(
      Type.Object({
        model: Type.String(),
        capacityGpuHours: Type.Number(),
        soldGpuHours: Type.Number({ description: 'metered on-demand and spot hours plus reserved hours (the term, used or not)' }),
        reservedGpuHours: Type.Number(),
        idleGpuHours: Type.Number(),
        utilizationPermille: Type.Integer(),
        revenue: M(),
        effectivePricePerGpuHour: Nullable(M()),
        floorPerGpuHour: M(),
        idleCost: M(),
      }),
    ),
    revenueByTier: Type.Record(Type.String(), M()),
    totals: Type.Object({ capacityGpuHours: Type.Number(), soldGpuHours: Type.Number(), idleGpuHours: Type.Number(), revenue: M(), idleCost: M() }),
  },
  { $id: 'MarketReport' },
);

export const CatalogModel = Type.Object(
  {
    id: Type.String(),
    vendor: Type.String(),
    displayName: Type.String(),
    formFactor: Type.String(),
    memoryMib: Type.Integer(),
    memoryGB: Type.Number(),
    memoryBandwidthGBps: Type.Number(),
    fp16DenseGflops: Type.Number(),
    fp64Gflops: Nullable(Type.Number()),
    fp64TensorGflops: Nullable(Type.Number()),
    tdpMilliwatts: Type.Integer(),
    idleMilliwatts: Type.Integer(),
  },
  { $id: 'CatalogModel' },
);
