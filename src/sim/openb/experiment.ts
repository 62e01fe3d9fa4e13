/**
 * The openb placement experiment as a whole (FGD, USENIX ATC'23; shared/notes/openb-policies.md):
 * every policy × seed run of `runOpenb`, the per-run metrics, the per-policy summary over seeds, and the
 * report data (JSON object, per-pod curve CSV, seed-averaged curves for the chart). Shared by
 * `unidle sim openb` and the benchmarks. Pure: no files, no clock except the injectable `now`, so the
 * same inputs give the same output byte for byte apart from the `wallMs` fields.
 */
import { isPolicyName, policyNames } from '../../scheduler/policy-registry.js';
import {
  allocationPctAtCrossing,
  allocationPctWindowed,
  pairwiseSum,
  roundHalfEvenTo2Decimals,
  type AllocationCurve,
} from './metrics.js';
import type { CurveSeries } from './report-files.js';
import { runOpenb, type OpenbRun } from './simulate.js';
import type { OpenbNode, OpenbPod } from './trace-reader.js';

/** The arrived-workload columns the experiment reports (percent of GPU capacity). */
export const ALLOC_COLUMNS = ['90', '100', '130'] as const;
export type AllocColumn = (typeof ALLOC_COLUMNS)[number];
export type AllocPctAt = Record<AllocColumn, number | null>;

export const DEFAULT_INFLATE = 1.3;

export interface OpenbRunInfo {
  policy: string;
  seed: number;
  /** 0-based position of this run among all runs (policy by policy, seeds in the given order). */
  index: number;
  /** Number of runs in the experiment. */
  runs: number;
}

export interface OpenbExperimentOptions {
  nodes: readonly OpenbNode[];
  pods: readonly OpenbPod[];
  policies: readonly string[];
  seeds: readonly number[];
  /** Total GPU demand as a multiple of capacity; default 1.3 as published. */
  inflate?: number;
  onRunStart?: (run: OpenbRunInfo) => void;
  /** Arrivals placed so far in the current run (every few hundred and at the end). */
  onProgress?: (run: OpenbRunInfo, done: number, total: number) => void;
  onRunEnd?: (result: OpenbRunResult, run: OpenbRunInfo) => void;
  /** Milliseconds, for `wallMs`; inject a fixed clock to make the whole output reproducible. */
  now?: () => number;
}

/** One run's counts as the simulator gives them, plus the published metrics and the curve. */
export interface OpenbRunResult extends Pick<OpenbRun, 'policy' | 'seed' | 'gpus' | 'arrivals' | 'placements' | 'failures' | 'nodeClasses' | 'wallMs'> {
  /**
   * 100 − allocation % at the first arrival that brings arrived workload to ≥ 100% of capacity
   * (2 decimals); null if the arrived workload never gets there (inflate < 1).
   */
  unallocatedPctAt100: number | null;
  /** Allocation % at the first arrival reaching arrived X% (for 130: the last point, as the metric allows). */
  allocPctAt: AllocPctAt;
  /** The published metric: 100 − mean allocation % over the arrivals whose arrived % rounds to 100 (§7). */
  publishedMethodUnallocatedPctAt100: number | null;
  curve: AllocationCurve;
}

export interface MeanSd {
  /** Mean over seeds, 2 decimals; null if any run lacks the value. */
  mean: number | null;
  /** Sample standard deviation (n − 1) over seeds, 2 decimals; null with fewer than two seeds. */
  sd: number | null;
}

export interface OpenbPolicySummary {
  policy: string;
  runs: number;
  /** 100 − mean over seeds of the allocation % at the crossing of 100%, with its sd. */
  unallocatedPctAt100: MeanSd;
  /** Mean over seeds of each column. */
  allocPctAt: AllocPctAt;
  /** 100 − mean over seeds of the windowed allocation at 100%: the published figure. */
  publishedMethodUnallocatedPctAt100: MeanSd;
  /** Mean placements per run (2 decimals). */
  placements: number;
  /** Mean failures per run (2 decimals). */
  failures: number;
  /** Mean wall time per run, whole milliseconds. */
  wallMs: number;
}

export interface OpenbExperiment {
  gpus: number;
  nodes: number;
  pods: number;
  inflate: number;
  policies: string[];
  seeds: number[];
  /** Policy by policy, seeds in the given order. */
  runs: OpenbRunResult[];
  /** One per policy, in the given order. */
  summary: OpenbPolicySummary[];
}

/** Runs every policy with every seed and summarises. Throws RangeError on inputs no run can take. */
export function runOpenbExperiment(options: OpenbExperimentOptions): OpenbExperiment {
  const inflate = options.inflate ?? DEFAULT_INFLATE;
  const policies = [...options.policies];
  const seeds = [...options.seeds];
  if (policies.length === 0) throw new RangeError('no policy to run');
  if (seeds.length === 0) throw new RangeError('no seed to run');
  for (const p of policies) if (!isPolicyName(p)) throw new RangeError(`unknown placement policy "${p}"; known: ${policyNames().join(', ')}`);
  if (new Set(policies).size !== policies.length) throw new RangeError(`a policy is listed twice: ${policies.join(',')}`);
  for (const s of seeds) if (!Number.isSafeInteger(s)) throw new RangeError(`seed must be a safe integer, got ${s}`);
  if (new Set(seeds).size !== seeds.length) throw new RangeError(`a seed is listed twice: ${seeds.join(',')}`);
  if (!(Number.isFinite(inflate) && inflate > 0)) throw new RangeError(`inflate must be a positive number, got ${inflate}`);
  const gpus = options.nodes.reduce((sum, n) => sum + n.gpus, 0);
  if (gpus < 1) throw new RangeError('the node list has no GPU');

  const runs: OpenbRunResult[] = [];
  const total = policies.length * seeds.length;
  for (const policy of policies) {
    for (const seed of seeds) {
      const info: OpenbRunInfo = { policy, seed, index: runs.length, runs: total };
      options.onRunStart?.(info);
      const onProgress = options.onProgress;
      const run = runOpenb({
        nodes: options.nodes,
        pods: options.pods,
        policy,
        seed,
        inflate,
        onProgress: onProgress ? (done, all) => onProgress(info, done, all) : undefined,
        now: options.now,
      });
      const curve: AllocationCurve = { arrivedMilli: run.arrivedMilli, allocatedMilli: run.allocatedMilli };
      const allocPctAt = Object.fromEntries(ALLOC_COLUMNS.map((x) => [x, allocationPctAtCrossing(curve, gpus, Number(x))])) as AllocPctAt;
      const windowed = allocationPctWindowed(curve, gpus, 100);
      const result: OpenbRunResult = {
        policy,
        seed,
        gpus,
        arrivals: run.arrivals,
        placements: run.placements,
        failures: run.failures,
        unallocatedPctAt100: complement(allocPctAt['100']),
        allocPctAt,
        publishedMethodUnallocatedPctAt100: complement(windowed),
        nodeClasses: run.nodeClasses,
        wallMs: run.wallMs,
        curve,
      };
      runs.push(result);
      options.onRunEnd?.(result, info);
    }
  }

  const summary = policies.map((policy) => summarise(policy, runs.filter((r) => r.policy === policy), gpus));
  return { gpus, nodes: options.nodes.length, pods: options.pods.length, inflate, policies, seeds, runs, summary };
}

function summarise(policy: string, runs: readonly OpenbRunResult[], gpus: number): OpenbPolicySummary {
  const windowed = runs.map((r) => allocationPctWindowed(r.curve, gpus, 100));
  return {
    policy,
    runs: runs.length,
    unallocatedPctAt100: complementStats(runs.map((r) => r.allocPctAt['100'])),
    allocPctAt: Object.fromEntries(ALLOC_COLUMNS.map((x) => [x, round2OrNull(mean(runs.map((r) => r.allocPctAt[x])))])) as AllocPctAt,
    publishedMethodUnallocatedPctAt100: complementStats(windowed),
    placements: roundHalfEvenTo2Decimals(mean(runs.map((r) => r.placements))!),
    failures: roundHalfEvenTo2Decimals(mean(runs.map((r) => r.failures))!),
    wallMs: Math.round(mean(runs.map((r) => r.wallMs))!),
  };
}

/** 100 − allocation %, 2 decimals. */
function complement(allocPct: number | null): number | null {
  return allocPct === null ? null : roundHalfEvenTo2Decimals(100 - allocPct);
}

/** Mean and sd of 100 − v from the allocation values v: 100 − mean(v), and sd(v). */
function complementStats(allocPcts: readonly (number | null)[]): MeanSd {
  const m = mean(allocPcts);
  const s = sampleSd(allocPcts);
  return { mean: m === null ? null : roundHalfEvenTo2Decimals(100 - m), sd: s === null ? null : roundHalfEvenTo2Decimals(s) };
}

/** Mean as numpy computes it (pairwise sum / n); null when empty or when any value is null. */
function mean(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return pairwiseSum(Float64Array.from(values as number[])) / values.length;
}

function sampleSd(values: readonly (number | null)[]): number | null {
  const m = mean(values);
  if (m === null || values.length < 2) return null;
  const squares = Float64Array.from(values as number[], (v) => (v - m) ** 2);
  return Math.sqrt(pairwiseSum(squares) / (values.length - 1));
}

function round2OrNull(v: number | null): number | null {
  return v === null ? null : roundHalfEvenTo2Decimals(v);
}

// ---------------------------------------------------------------------------------------------------
// Reports.

/** The experiment as the `--json` object: `gpus`, `runs`, `summary` first, in the documented key order. */
export interface OpenbExperimentJson {
  gpus: number;
  runs: {
    policy: string;
    seed: number;
    unallocatedPctAt100: number | null;
    allocPctAt: AllocPctAt;
    placements: number;
    wallMs: number;
    arrivals: number;
    failures: number;
    publishedMethodUnallocatedPctAt100: number | null;
  }[];
  summary: {
    policy: string;
    unallocatedPctAt100: MeanSd;
    allocPctAt: AllocPctAt;
    placements: number;
    wallMs: number;
    failures: number;
    publishedMethodUnallocatedPctAt100: MeanSd;
  }[];
  nodes: number;
  pods: number;
  inflate: number;
  seeds: number[];
}

/** The object `unidle sim openb --json` prints. Key order is part of the contract (objects built in order). */
export function toJson(experiment: OpenbExperiment): OpenbExperimentJson {
  const alloc = (a: AllocPctAt): AllocPctAt => ({ '90': a['90'], '100': a['100'], '130': a['130'] });
  return {
    gpus: experiment.gpus,
    runs: experiment.runs.map((r) => ({
      policy: r.policy,
      seed: r.seed,
      unallocatedPctAt100: r.unallocatedPctAt100,
      allocPctAt: alloc(r.allocPctAt),
      placements: r.placements,
      wallMs: r.wallMs,
      arrivals: r.arrivals,
      failures: r.failures,
      publishedMethodUnallocatedPctAt100: r.publishedMethodUnallocatedPctAt100,
    })),
    summary: experiment.summary.map((s) => ({
      policy: s.policy,
      unallocatedPctAt100: { mean: s.unallocatedPctAt100.mean, sd: s.unallocatedPctAt100.sd },
      allocPctAt: alloc(s.allocPctAt),
      placements: s.placements,
      wallMs: s.wallMs,
      failures: s.failures,
      publishedMethodUnallocatedPctAt100: { mean: s.publishedMethodUnallocatedPctAt100.mean, sd: s.publishedMethodUnallocatedPctAt100.sd },
    })),
    nodes: experiment.nodes,
    pods: experiment.pods,
    inflate: experiment.inflate,
    seeds: [...experiment.seeds],
  };
}

/** `toJson` as text: 2-space indented, with a final newline (what `--json` prints and summary.json holds). */
export function toJsonText(experiment: OpenbExperiment): string {
  return `${JSON.stringify(toJson(experiment), null, 2)}\n`;
}

/**
 * Per policy, unallocated GPU % against arrived workload %, averaged over the policy's seeds: each run is
 * read on a common grid of arrived % (0, step, 2·step, … up to the shortest run's last arrived %) at
 * the first arrival that reaches the grid point (the point 0 is the empty cluster), then the allocated %
 * values are averaged. Unrounded; report-files rounds when it writes.
 */
export function meanCurves(experiment: OpenbExperiment, stepPct = 0.1): CurveSeries[] {
  if (!(Number.isFinite(stepPct) && stepPct > 0)) throw new RangeError(`stepPct must be a positive number, got ${stepPct}`);
  const gpus = experiment.gpus;
  return experiment.policies.map((policy) => {
    const runs = experiment.runs.filter((r) => r.policy === policy);
    const lastArrivedPct = Math.min(...runs.map((r) => lastArrivedPctOf(r.curve, gpus)));
    const steps = Math.floor(lastArrivedPct / stepPct + 1e-9);
    const sums = new Float64Array(steps + 1);
    for (const run of runs) {
      const { arrivedMilli, allocatedMilli } = run.curve;
      let j = 0;
      // k = 0 is the empty cluster: nothing allocated.
      for (let k = 1; k <= steps; k++) {
        // Arrived % ≥ x  ⇔  A_j ≥ x · gpus · 10 (milli); x = k · step, from k to avoid drift, with a
        // tolerance for the product's rounding (A_j are whole numbers).
        const threshold = k * stepPct * gpus * 10 - 1e-6;
        while (j < arrivedMilli.length - 1 && arrivedMilli[j]! < threshold) j++;
        sums[k]! += allocatedMilli[j]! / gpus / 10;
      }
    }
    const points = Array.from(sums, (sum, k) => ({
      arrivedPct: Number((k * stepPct).toFixed(10)),
      unallocatedPct: 100 - sum / runs.length,
    }));
    return { policy, points };
  });
}

function lastArrivedPctOf(curve: AllocationCurve, gpus: number): number {
  const n = curve.arrivedMilli.length;
  return n === 0 ? 0 : curve.arrivedMilli[n - 1]! / gpus / 10;
}

/** Four decimals: one arrival moves openb's percentages by ≥ 0.0016. */
function fixed4(v: number): string {
  const s = v.toFixed(4);
  return s === '-0.0000' ? '0.0000' : s;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The per-pod curve, long format: `policy,seed,arrival,arrived_pct,allocated_pct,unallocated_pct`, one row
 * per arrival (1-based) per run, in run order; percentages of GPU capacity to 4 decimals.
 */
export function perPodCurveCsv(experiment: OpenbExperiment): string {
  const gpus = experiment.gpus;
  const lines = ['policy,seed,arrival,arrived_pct,allocated_pct,unallocated_pct'];
  for (const run of experiment.runs) {
    const prefix = `${csvField(run.policy)},${run.seed},`;
    const { arrivedMilli, allocatedMilli } = run.curve;
    for (let j = 0; j < arrivedMilli.length; j++) {
      const allocated = allocatedMilli[j]! / gpus / 10;
      lines.push(`${prefix}${j + 1},${fixed4(arrivedMilli[j]! / gpus / 10)},${fixed4(allocated)},${fixed4(100 - allocated)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The policies with the lowest mean unallocated % at arrived 100% (several on a tie; [] if none has one). */
export function lowestUnallocated(experiment: OpenbExperiment): OpenbPolicySummary[] {
  const valued = experiment.summary.filter((s) => s.unallocatedPctAt100.mean !== null);
  if (valued.length === 0) return [];
  const best = Math.min(...valued.map((s) => s.unallocatedPctAt100.mean!));
  return valued.filter((s) => s.unallocatedPctAt100.mean === best);
}

/** Seeds as a compact spec: [42,43,44,50] → "42-44,50". */
export function formatSeeds(seeds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1) j++;
    parts.push(j > i ? `${seeds[i]}-${seeds[j]}` : `${seeds[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}
