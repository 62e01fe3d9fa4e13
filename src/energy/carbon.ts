import { divRound, MILLI, MJ_PER_KWH, requireInt, requirePueMilli, toSafeNumber } from './units.js';

/**
 * CO₂ emitted for the electricity a job used: energy (mJ) × PUE × the grid's carbon intensity.
 *
 * Units: intensity in **milligrams CO₂ per kWh** (integer; 530.6 g/kWh = 530,600 mg/kWh), results in
 * **milligrams CO₂** (integer), rounded once, half away from zero. Milligrams keep small jobs visible
 * (one H200-minute at 700 W is about 6 g) and stay exact; show grams or kilograms to people with
 * `formatCo2`.
 *
 * Default intensity: China's national grid average emission factor for 2023, 0.5306 kgCO₂/kWh,
 * published by the Ministry of Ecology and Environment (生态环境部) and the National Bureau of
 * Statistics (国家统计局) as the 2023 electricity CO₂ emission factors (the 2022 figure was 0.5366);
 * see ../shared/notes/accelerators-and-energy.md §3.4. A center sets its own (e.g. its regional grid
 * factor below, or a contract for green power).
 */
export const CHINA_GRID_2023_MG_PER_KWH = 530_600;

/**
 * 2023 regional grid factors from the same publication, mg CO₂/kWh (kgCO₂/kWh × 10⁶): for centers that
 * account by regional grid rather than the national average.
 */
export const CHINA_REGIONAL_GRID_2023_MG_PER_KWH = Object.freeze({
  north: 636_100, // 华北
  northeast: 512_200, // 东北
  east: 550_000, // 华东
  central: 527_100, // 华中
  northwest: 554_300, // 西北
  south: 404_200, // 南方
  southwest: 247_200, // 西南
});

/** mg CO₂ per kWh accepted: up to 2 kg/kWh (coal-only generation is about 0.8–1.1). */
const MAX_INTENSITY_MG_PER_KWH = 2_000_000;

/**
 * Milligrams of CO₂ for `mj` of device energy at PUE `pueMilli` (1300 = 1.3) and
 * `intensityMgPerKwh`: mJ × PUE × intensity / 3.6e9, exactly, rounded once half away from zero.
 * 1 kWh at PUE 1.3 on China's 2023 grid: 1.3 × 530.6 g = 689,780 mg.
 */
export function co2Milligrams(mj: number, pueMilli: number, intensityMgPerKwh: number = CHINA_GRID_2023_MG_PER_KWH): number {
  requireInt('energy (mJ)', mj, 0);
  requirePueMilli(pueMilli);
  requireInt('intensityMgPerKwh', intensityMgPerKwh, 0, MAX_INTENSITY_MG_PER_KWH);
  return toSafeNumber(divRound(BigInt(mj) * BigInt(pueMilli) * BigInt(intensityMgPerKwh), BigInt(MJ_PER_KWH) * BigInt(MILLI)), 'CO₂ mass');
}

/** Whole grams of CO₂ (rounded half away from zero) from milligrams. */
export function co2Grams(milligrams: number): number {
  requireInt('CO₂ (mg)', milligrams, 0);
  return toSafeNumber(divRound(BigInt(milligrams), 1000n), 'CO₂ mass');
}

/** `689.78 g`, `12.35 kg`, `2.90 t` (two decimals; under a gram, whole mg), for people. */
export function formatCo2(milligrams: number): string {
  requireInt('CO₂ (mg)', milligrams, 0);
  if (milligrams < 1_000) return `${milligrams} mg`;
  if (milligrams < 1_000_000) return `${(milligrams / 1_000).toFixed(2)} g`;
  if (milligrams < 1_000_000_000) return `${(milligrams / 1_000_000).toFixed(2)} kg`;
  return `${(milligrams / 1_000_000_000).toFixed(2)} t`;
}
