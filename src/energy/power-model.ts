import { divRound, requireInt, toSafeNumber } from './units.js';

/**
 * The linear power model of an accelerator: at utilisation u (0…1) it draws
 *
 *     P(u) = idle + (busy − idle) × u
 *
 * where `idle` is the board power at 0 % utilisation (the catalog's `idleMilliwatts`, from real
 * captures) and `busy` the power at 100 % (by default the board limit, the catalog's `tdpMilliwatts`;
 * real full-load draw is often a little lower — an H200 under gpu-burn drew 627 W of its 700 W in the
 * capture cited in ../shared/notes/accelerators-and-energy.md §1.3 — so callers that know better pass
 * `busyMilliwatts`). The simulated telemetry source and the energy simulation both use this model, so
 * simulated power, simulated energy and the catalog agree.
 *
 * Linear in utilisation is a simplification (real curves bend with clocks and memory traffic), but it
 * is the model energy attribution assumes as well: idle power is the part that does not depend on
 * work, the rest ("dynamic") grows with it.
 */
export interface PowerCurve {
  /** Board power at 0 % utilisation, mW. */
  idleMilliwatts: number;
  /** Board power limit (TDP), mW; the power at 100 % unless `busyMilliwatts` is given. */
  tdpMilliwatts: number;
  /** Measured power at 100 % utilisation, mW, when known (idle ≤ busy ≤ TDP is usual but not required). */
  busyMilliwatts?: number;
}

/** Utilisation in per-mille: 0 = idle, 1000 = fully busy (finer than nvidia-smi's whole percent). */
export type UtilizationPermille = number;

/** The power at 100 % utilisation of `curve`: `busyMilliwatts` if given, else the TDP. */
export function busyMilliwattsOf(curve: PowerCurve): number {
  return curve.busyMilliwatts ?? curve.tdpMilliwatts;
}

function checkCurve(curve: PowerCurve): { idle: number; busy: number } {
  const idle = requireInt('idleMilliwatts', curve.idleMilliwatts, 0);
  requireInt('tdpMilliwatts', curve.tdpMilliwatts, 0);
  const busy = requireInt(curve.busyMilliwatts === undefined ? 'tdpMilliwatts' : 'busyMilliwatts', busyMilliwattsOf(curve), 0);
  if (busy < idle) throw new RangeError(`busy power (${busy} mW) must not be below idle power (${idle} mW)`);
  return { idle, busy };
}

/**
 * Expected board power, mW, at `utilizationPermille` (integer 0–1000):
 * `idle + (busy − idle) × u / 1000`, rounded half up to a whole mW.
 */
export function expectedPowerMilliwatts(curve: PowerCurve, utilizationPermille: UtilizationPermille): number {
  const { idle, busy } = checkCurve(curve);
  const u = requireInt('utilizationPermille', utilizationPermille, 0, 1000);
  return idle + toSafeNumber(divRound(BigInt(busy - idle) * BigInt(u), 1000n), 'power');
}

/** `expectedPowerMilliwatts` for a whole-percent utilisation (nvidia-smi's `utilization.gpu`, 0–100). */
export function expectedPowerForPct(curve: PowerCurve, utilizationPct: number): number {
  return expectedPowerMilliwatts(curve, requireInt('utilizationPct', utilizationPct, 0, 100) * 10);
}

/**
 * The utilisation (per-mille, 0–1000, rounded) that the model says produces `powerMilliwatts`; power
 * at or below idle reads 0, at or above busy 1000. The inverse of `expectedPowerMilliwatts`, for
 * estimating activity from power alone (e.g. MIG devices, whose utilisation nvidia-smi does not report).
 */
export function utilizationFromPower(curve: PowerCurve, powerMilliwatts: number): UtilizationPermille {
  const { idle, busy } = checkCurve(curve);
  const p = requireInt('powerMilliwatts', powerMilliwatts, 0);
  if (busy === idle) return p > idle ? 1000 : 0;
  if (p <= idle) return 0;
  if (p >= busy) return 1000;
  return Number(divRound(BigInt(p - idle) * 1000n, BigInt(busy - idle)));
}

/**
 * Energy, mJ, of constant `powerMilliwatts` held for `durationMs`: mW × ms = µJ, so mJ = mW × ms / 1000,
 * rounded half up. For a run of steps, sum power × duration first and round once (see `energyOfSteps`).
 */
export function energyMillijoules(powerMilliwatts: number, durationMs: number): number {
  requireInt('powerMilliwatts', powerMilliwatts, 0);
  requireInt('durationMs', durationMs, 0);
  return toSafeNumber(divRound(BigInt(powerMilliwatts) * BigInt(durationMs), 1000n), 'energy');
}

/** One step of a piecewise-constant utilisation profile. */
export interface UtilizationStep {
  durationMs: number;
  utilizationPermille: UtilizationPermille;
}

/**
 * Expected energy, mJ, of a device following the model through `steps` (the energy simulation's
 * building block): Σ P(uᵢ) × durationᵢ, rounded once at the end so many short steps never drift.
 */
export function energyOfSteps(curve: PowerCurve, steps: readonly UtilizationStep[]): number {
  let microjoules = 0n;
  steps.forEach((s, i) => {
    const d = requireInt(`steps[${i}].durationMs`, s.durationMs, 0);
    microjoules += BigInt(expectedPowerMilliwatts(curve, s.utilizationPermille)) * BigInt(d);
  });
  return toSafeNumber(divRound(microjoules, 1000n), 'energy');
}
