/**
 * `unidle sim energy`: synthesise the Venus jobs once, replay them under each parking policy, and
 * report energy, idle energy saved versus always-on, delayed demand and power cycles.
 */
import { findGpuModel } from '../../domain/gpu-catalog.js';
import { createParkingPolicy, DEFAULT_IDLE_TIMER, DEFAULT_UNIDLE_PARKING, type ParkingPolicyName } from '../../energy/parking/policy.js';
import type { HeliosDemandSeries } from '../helios/demand-series.js';
import { holtWintersDemandForecast } from './forecast.js';
import { replayEnergy, type ReplayResult } from './replay.js';
import { synthesizeJobs, type SynthesisInfo } from './venus-jobs.js';

/**
 * The forecast interval whose upper bound sizes the warm reserve. The 95% bound asked for about 47
 * free GPUs beyond the busy ones on average (80%: about 24) and cost 0.8 points of idle energy saved
 * for 0.03 points less delayed demand (docs/energy.md).
 */
export const FORECAST_LEVEL = 80;

export interface EnergyExperimentOptions {
  demand: HeliosDemandSeries;
  runtimesS: readonly number[];
  nodes: number;
  gpusPerNode: number;
  wakeMin: number;
  policies: readonly ParkingPolicyName[];
  seed: number;
  gpuModel: string;
  pue?: number;
  idleTimerMin?: number;
  marginGpus?: number;
  /** The unidle policy's hysteresis: most parks per node per calendar day (default 2)… */
  maxCyclesPerDay?: number;
  /** …and in any rolling 24 h (default: one more than per day). */
  maxCyclesPer24h?: number;
  onRunStart?: (policy: string, index: number) => void;
  onProgress?: (index: number, done: number, total: number) => void;
}

export interface EnergyPolicyResult {
  name: string;
  placement: string;
  energyKWh: number;
  idleEnergySavedPct: number;
  delayedDemandPct: number;
  meanDelayMin: number;
  powerCyclesPerNodeDay: number;
  maxCyclesPerNodeDay: number;
  maxCyclesPerNode24h: number;
  idleEnergyKWh: number;
  delayedJobs: number;
  meanAwakeNodes: number;
  meanBusyGpus: number;
  queueWaitPct: number;
  meanQueueWaitMin: number;
  wallMs: number;
}

export interface EnergyExperiment {
  policies: EnergyPolicyResult[];
  synthesis: SynthesisInfo & { demandNote: string; cluster: string; traceGpus: number; simulatedGpus: number };
  power: { gpuModel: string; idleWatts: number; busyWatts: number; pue: number; parkedWatts: number; wakeMinutes: number };
  settings: {
    idleTimerMinutes: number;
    unidle: {
      marginGpus: number;
      minEmptyMinutes: number;
      lastParkMinEmptyMinutes: number;
      maxCyclesPerDay: number;
      maxCyclesPer24h: number;
      minParkedMinutes: number;
      minEmptyNodes: number;
      forecast: string;
      placement: string;
    };
    queue: string;
    delay: string;
  };
  runs: ReplayResult[];
}

export function runEnergyExperiment(o: EnergyExperimentOptions): EnergyExperiment {
  const model = findGpuModel(o.gpuModel);
  if (!model) throw new RangeError(`unknown GPU model ${o.gpuModel}`);
  const stepMin = o.demand.stepMs / 60_000;
  const { jobs, info } = synthesizeJobs(
    { stepMin, startGpuJob: o.demand.startGpuJob, startGpuNum: o.demand.startGpuNum, endGpuNum: o.demand.endGpuNum },
    o.runtimesS,
    { seed: o.seed, targetMeanBusyGpus: o.demand.meanBusyGpus },
  );
  const pue = o.pue ?? 1.3;
  const idleTimerMin = o.idleTimerMin ?? DEFAULT_IDLE_TIMER.idleMs / 60_000;
  const unidle = {
    ...DEFAULT_UNIDLE_PARKING,
    ...(o.marginGpus !== undefined ? { marginGpus: o.marginGpus } : {}),
    ...(o.maxCyclesPerDay !== undefined ? { maxCyclesPerDay: o.maxCyclesPerDay, maxCyclesPer24h: o.maxCyclesPerDay + 1 } : {}),
    ...(o.maxCyclesPer24h !== undefined ? { maxCyclesPer24h: o.maxCyclesPer24h } : {}),
  };
  const runs: ReplayResult[] = [];
  const policies: EnergyPolicyResult[] = [];
  o.policies.forEach((name, index) => {
    o.onRunStart?.(name, index);
    const started = performance.now();
    const parking = createParkingPolicy(name, { idleTimer: { idleMs: idleTimerMin * 60_000 }, unidle });
    const r = replayEnergy({
      jobs,
      nodes: o.nodes,
      gpusPerNode: o.gpusPerNode,
      horizonMin: info.horizonMin,
      wakeMin: o.wakeMin,
      parking,
      consolidate: name === 'unidle',
      idleMilliwatts: model.idleMilliwatts,
      busyMilliwatts: model.tdpMilliwatts,
      pue,
      bucketMin: stepMin,
      forecast: name === 'unidle' ? holtWintersDemandForecast({ capacityGpus: o.nodes * o.gpusPerNode, level: FORECAST_LEVEL }) : undefined,
      onProgress: (done, total) => o.onProgress?.(index, done, total),
    });
    runs.push(r);
    policies.push({
      name,
      placement: r.placement,
      energyKWh: r.energyKWh,
      idleEnergySavedPct: r.idleEnergySavedPct,
      delayedDemandPct: r.delayedDemandPct,
      meanDelayMin: r.meanDelayMin,
      powerCyclesPerNodeDay: r.powerCyclesPerNodeDay,
      maxCyclesPerNodeDay: r.maxCyclesPerNodeDay,
      maxCyclesPerNode24h: r.maxCyclesPerNode24h,
      idleEnergyKWh: r.idleEnergyKWh,
      delayedJobs: r.delayedJobs,
      meanAwakeNodes: r.meanAwakeNodes,
      meanBusyGpus: r.meanBusyGpus,
      queueWaitPct: r.queueWaitPct,
      meanQueueWaitMin: r.meanQueueWaitMin,
      wallMs: Math.round(performance.now() - started),
    });
  });
  return {
    policies,
    synthesis: { ...info, demandNote: o.demand.note, cluster: o.demand.cluster, traceGpus: o.demand.capacityGpus, simulatedGpus: o.nodes * o.gpusPerNode },
    power: { gpuModel: model.id, idleWatts: model.idleMilliwatts / 1000, busyWatts: model.tdpMilliwatts / 1000, pue, parkedWatts: 0, wakeMinutes: o.wakeMin },
    settings: {
      idleTimerMinutes: idleTimerMin,
      unidle: {
        marginGpus: unidle.marginGpus,
        minEmptyMinutes: unidle.minEmptyMs / 60_000,
        lastParkMinEmptyMinutes: Math.max(unidle.minEmptyMs, unidle.lastParkMinEmptyMs ?? 0) / 60_000,
        maxCyclesPerDay: unidle.maxCyclesPerDay,
        maxCyclesPer24h: unidle.maxCyclesPer24h ?? unidle.maxCyclesPerDay + 1,
        minParkedMinutes: (unidle.minParkedMs ?? 0) / 60_000,
        minEmptyNodes: unidle.minEmptyNodes ?? 0,
        forecast: `Holt-Winters (daily + weekly) on the replay's own busy GPUs per bucket, fitted after 2 weeks and refitted every 4 on the last 4; upper ${FORECAST_LEVEL}% over the wake latency; no forecast (current busy GPUs) before`,
        placement: 'production placement plus energy consolidation: fuller awake nodes first, then nodes whose oldest running job is older (doubling age buckets of 30 min), and among empty nodes those that may not park again today',
      },
      queue: 'FIFO with backfill: each minute every queued job that fits on awake nodes starts, in arrival order; jobs above one node are placed as whole-node pieces plus a remainder, all or nothing',
      delay: 'delayedDemandPct and meanDelayMin count only minutes a queued job waited because nodes were parked or waking (it would fit if they were up, not on the awake nodes); queueWaitPct and meanQueueWaitMin count all waiting, contention included',
    },
    runs,
  };
}
