import type { GpuModel } from '../domain/gpu-catalog.js';
import { costFloor, type CostFloor, type CostInputs } from './cost-floor.js';
import { scaleMicros } from './money.js';
import type { Tier } from './pricing-policy.js';

/**
 * What an operator decides per model: the list (on-demand) price and the cost inputs behind the
 * floor. Power comes from the catalog (TDP when busy, measured idle watts); PUE and the tariff
 * from the center.
 */
export interface ModelCostSettings {
  model: string;
  listMicros: number;
  purchasePriceMicros: number;
  depreciationMonths: number;
  overheadMicrosPerGpuHour: number;
  expectedUtilizationPermille: number;
}

export interface CenterMarketSettings {
  currency: string;
  pueMilli: number;
  tariffMicrosPerKwh: number;
  /** Spot floor = cost floor × this / 1000. */
  spotFloorPermille: number;
  /** Reserved price = list × (1000 − this) / 1000. */
  reservedDiscountPermille: number;
}

/** One model's prices and floors for a center, per GPU-hour, in micro-units. */
export interface ModelPrices {
  model: string;
  currency: string;
  listMicros: number;
  floor: CostFloor;
  spotFloorMicros: number;
  /**
   * A reserved hour is paid whether used or not, so its floor is the cost at 100% of hours sold
   * (no idle hours to carry): the discount can go that deep and no deeper.
   */
  reservedFloorMicros: number;
  reservedMicros: number;
  costs: ModelCostSettings;
  /** true when the operator has not set this model and defaults apply. */
  defaulted: boolean;
}

/**
 * Indicative purchase prices per GPU including its share of the server (CNY, 2025–26 market, for
 * the demo and as a starting point only: operators set their own). See docs/pricing.md.
 */
const DEFAULT_PURCHASE_CNY: Record<string, number> = {
  H200: 300_000,
  H100: 250_000,
  H800: 230_000,
  'A100-80GB': 120_000,
  'A100-40GB': 80_000,
  A800: 110_000,
  L40S: 60_000,
  RTX4090: 20_000,
  '910B': 120_000,
};

/** The default list price: 30% over the floor at the default utilisation, rounded up to ¥0.10. */
const DEFAULT_MARKUP_PERMILLE = 1300;
const LIST_ROUNDING_MICROS = 100_000;

export function defaultCostSettings(model: GpuModel, center: CenterMarketSettings): ModelCostSettings {
  const purchase = (DEFAULT_PURCHASE_CNY[model.id] ?? Math.max(20_000, Math.round(model.fp16DenseGflops / 4))) * 1_000_000;
  const base: ModelCostSettings = {
    model: model.id,
    listMicros: 1,
    purchasePriceMicros: purchase,
    depreciationMonths: 48,
    overheadMicrosPerGpuHour: 1_500_000,
    expectedUtilizationPermille: 600,
  };
  const floor = costFloor(costInputs(base, model, center)).perGpuHourMicros;
  const list = Math.ceil(scaleMicros(floor, DEFAULT_MARKUP_PERMILLE, 1000) / LIST_ROUNDING_MICROS) * LIST_ROUNDING_MICROS;
  return { ...base, listMicros: list };
}

export function costInputs(settings: ModelCostSettings, model: Pick<GpuModel, 'tdpMilliwatts' | 'idleMilliwatts'>, center: CenterMarketSettings): CostInputs {
  return {
    purchasePriceMicros: settings.purchasePriceMicros,
    depreciationMonths: settings.depreciationMonths,
    busyMilliwatts: model.tdpMilliwatts,
    idleMilliwatts: model.idleMilliwatts,
    pueMilli: center.pueMilli,
    tariffMicrosPerKwh: center.tariffMicrosPerKwh,
    overheadMicrosPerGpuHour: settings.overheadMicrosPerGpuHour,
    expectedUtilizationPermille: settings.expectedUtilizationPermille,
  };
}

export function modelPrices(settings: ModelCostSettings, model: GpuModel, center: CenterMarketSettings, defaulted: boolean): ModelPrices {
  const inputs = costInputs(settings, model, center);
  const floor = costFloor(inputs);
  const reservedFloorMicros = costFloor({ ...inputs, expectedUtilizationPermille: 1000 }).perGpuHourMicros;
  return {
    model: settings.model,
    currency: center.currency,
    listMicros: settings.listMicros,
    floor,
    spotFloorMicros: scaleMicros(floor.perGpuHourMicros, center.spotFloorPermille, 1000),
    reservedFloorMicros,
    reservedMicros: Math.max(reservedFloorMicros, scaleMicros(settings.listMicros, 1000 - center.reservedDiscountPermille, 1000)),
    costs: settings,
    defaulted,
  };
}

/** The lowest price a tier may be sold at (the floor a bid or a policy must clear). */
export function tierFloorMicros(prices: ModelPrices, tier: Tier): number {
  if (tier === 'spot') return prices.spotFloorMicros;
  if (tier === 'reserved') return prices.reservedFloorMicros;
  return prices.floor.perGpuHourMicros;
}
