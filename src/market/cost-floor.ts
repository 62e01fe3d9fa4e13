/**
 * The cost floor of one GPU-hour: the price below which selling an hour loses money. A GPU costs
 * its depreciation and overhead every hour whether sold or not, and idle power when unsold; an hour
 * sold costs busy power instead. At an expected share `u` of hours sold, each sold hour must carry
 *
 *   floor = (depreciation + overhead + idle energy × (1 − u)) / u + busy energy
 *
 * per GPU-hour, where energy = watts × PUE × tariff. All inputs are integers in Unidle's units.
 */
export interface CostInputs {
  /** Purchase price per GPU, including its share of the server, in micro-units. */
  purchasePriceMicros: number;
  /** Straight-line depreciation period. */
  depreciationMonths: number;
  /** Board power when busy and when idle, per GPU (from the catalog or measured). */
  busyMilliwatts: number;
  idleMilliwatts: number;
  /** Power usage effectiveness × 1000 (1.3 → 1300): the site's power per watt of IT load. */
  pueMilli: number;
  /** Electricity price, micro-units per kWh. */
  tariffMicrosPerKwh: number;
  /** Space, staff, network and support, per GPU-hour, in micro-units. */
  overheadMicrosPerGpuHour: number;
  /** Expected share of hours sold, per mille (600 = 60%). */
  expectedUtilizationPermille: number;
}

export interface CostFloor {
  /** The floor per sold GPU-hour, rounded up so it always covers the cost. */
  perGpuHourMicros: number;
  /** Its parts per sold GPU-hour (unrounded), for the API and the docs. */
  depreciationMicros: number;
  overheadMicros: number;
  idleEnergyMicros: number;
  busyEnergyMicros: number;
}

/** Average hours in a month (365.25 × 24 / 12). */
export const HOURS_PER_MONTH = 730.5;

function requireWhole(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
}

/** Energy cost of `milliwatts` for one hour, in micro-units (mW·h → kWh is ÷ 1e6; PUE is per mille). */
export function energyMicrosPerHour(milliwatts: number, pueMilli: number, tariffMicrosPerKwh: number): number {
  return (milliwatts * pueMilli * tariffMicrosPerKwh) / 1e9;
}

export function costFloor(inputs: CostInputs): CostFloor {
  requireWhole('purchasePriceMicros', inputs.purchasePriceMicros, 0);
  requireWhole('depreciationMonths', inputs.depreciationMonths, 1, 240);
  requireWhole('busyMilliwatts', inputs.busyMilliwatts, 0);
  requireWhole('idleMilliwatts', inputs.idleMilliwatts, 0);
  requireWhole('pueMilli', inputs.pueMilli, 1000, 5000);
  requireWhole('tariffMicrosPerKwh', inputs.tariffMicrosPerKwh, 0);
  requireWhole('overheadMicrosPerGpuHour', inputs.overheadMicrosPerGpuHour, 0);
  requireWhole('expectedUtilizationPermille', inputs.expectedUtilizationPermille, 1, 1000);
  const u = inputs.expectedUtilizationPermille / 1000;
  const depreciationPerHour = inputs.purchasePriceMicros / (inputs.depreciationMonths * HOURS_PER_MONTH);
  const idleEnergyPerHour = energyMicrosPerHour(inputs.idleMilliwatts, inputs.pueMilli, inputs.tariffMicrosPerKwh);
  const busyEnergyMicros = energyMicrosPerHour(inputs.busyMilliwatts, inputs.pueMilli, inputs.tariffMicrosPerKwh);
  const depreciationMicros = depreciationPerHour / u;
  const overheadMicros = inputs.overheadMicrosPerGpuHour / u;
  const idleEnergyMicros = (idleEnergyPerHour * (1 - u)) / u;
  // The parts are exact rationals computed in floating point; the floor itself is the one number
  // money is compared with, so it is rounded up to a whole micro-unit (a micro of slack, never a loss).
  const perGpuHourMicros = Math.ceil(depreciationMicros + overheadMicros + idleEnergyMicros + busyEnergyMicros - 1e-6);
  return { perGpuHourMicros, depreciationMicros, overheadMicros, idleEnergyMicros, busyEnergyMicros };
}

/** Margin of a price over the floor, per mille of the price (negative: sold below cost). */
export function marginPermille(priceMicros: number, floorMicros: number): number {
  if (priceMicros <= 0) return floorMicros > 0 ? -1000 : 0;
  return Math.round(((priceMicros - floorMicros) * 1000) / priceMicros);
}
