import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { UnidleError } from '../../domain/errors.js';
import { knownModelIds } from '../../domain/gpu-catalog.js';
import { PARKING_POLICY_NAMES, type ParkingPolicyName } from '../../energy/parking/policy.js';
import { weekChartSvg } from '../../sim/energy/chart.js';
import { runEnergyExperiment, type EnergyExperiment } from '../../sim/energy/experiment.js';
import { readPhillyRuntimes } from '../../sim/energy/venus-jobs.js';
import { readHeliosDemand, TraceFormatError, type HeliosDemandSeries } from '../../sim/helios/demand-series.js';
import { examples } from '../context.js';
import { formatDurationMs, renderTable } from '../format.js';
import { UsageError, writeLine, type CliIo } from '../io.js';

export interface SimEnergyFlags {
  helios: string;
  philly?: string;
  nodes: string;
  gpusPerNode: string;
  wakeMinutes: string;
  policies: string;
  seed: string;
  week: string;
  gpuModel: string;
  idleMinutes: string;
  maxCycles: string;
  maxCycles24h?: string;
  json?: boolean;
  out?: string;
}

export const DEFAULT_ENERGY_POLICIES = PARKING_POLICY_NAMES.join(',');
/** The Philly runtimes file next to the Helios folder, as laid out in ../shared/traces. */
export const PHILLY_RELATIVE = join('..', 'pai2020', 'philly_runtime_from_pai_analysis.csv');

function intFlag(flag: string, raw: string, min: number, max: number, hint: string): number {
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (${hint}), got "${raw}"`);
  }
  return n;
}

export function parseEnergyPolicies(raw: string): ParkingPolicyName[] {
  const names = raw.split(',').map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`--policies takes a comma list of ${PARKING_POLICY_NAMES.join(', ')}`);
  const unknown = names.filter((n) => !(PARKING_POLICY_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new UsageError(`unknown parking policy ${unknown.map((n) => `"${n}"`).join(', ')} in --policies; known: ${PARKING_POLICY_NAMES.join(', ')}`);
  if (new Set(names).size !== names.length) throw new UsageError('--policies lists a policy twice');
  return names as ParkingPolicyName[];
}

function readInputs(flags: SimEnergyFlags): { demand: HeliosDemandSeries; runtimes: number[]; phillyPath: string } {
  if (!existsSync(flags.helios)) throw new UsageError(`--helios: no such folder: ${flags.helios} (give the folder holding venus_cluster_throughput_10min.csv and helios_cluster_summary.csv)`);
  if (!statSync(flags.helios).isDirectory()) throw new UsageError(`--helios: ${flags.helios} is a file; give the folder that holds venus_cluster_throughput_10min.csv`);
  let demand: HeliosDemandSeries;
  try {
    demand = readHeliosDemand(flags.helios);
  } catch (err) {
    if (err instanceof TraceFormatError) throw new UsageError(`--helios ${err.message}`);
    if (err instanceof UnidleError) throw new UsageError(`--helios: ${err.message}`);
    throw err;
  }
  const phillyPath = flags.philly ?? resolve(flags.helios, PHILLY_RELATIVE);
  if (!existsSync(phillyPath)) {
    throw new UsageError(`--philly: no such file: ${phillyPath} (give the path of pai2020/philly_runtime_from_pai_analysis.csv with --philly)`);
  }
  let runtimes: number[];
  try {
    runtimes = readPhillyRuntimes(phillyPath);
  } catch (err) {
    if (err instanceof UnidleError) throw new UsageError(`--philly: ${err.message}`);
    throw err;
  }
  return { demand, runtimes, phillyPath };
}

function progress(io: CliIo, runs: number) {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  if (!tty) {
    return {
      onRunStart: (policy: string, index: number) => writeLine(io.stderr, `replaying ${policy} (${index + 1}/${runs})…`),
      onProgress: () => {},
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr as NodeJS.WritableStream, format: ' {bar} {percentage}% | {label} | ETA {left}', clearOnComplete: true, hideCursor: false, gracefulExit: false },
    cliProgress.Presets.shades_classic,
  );
  const steps = 1000;
  const started = Date.now();
  bar.start(runs * steps, 0, { label: '', left: '…' });
  let label = '';
  return {
    onRunStart: (policy: string, index: number) => {
      label = `${policy} (${index + 1}/${runs})`;
      bar.update(index * steps, { label });
    },
    onProgress: (index: number, done: number, total: number) => {
      const value = index * steps + Math.floor((done / Math.max(1, total)) * steps);
      const fraction = value / (runs * steps);
      const left = fraction > 0.01 ? formatDurationMs(((Date.now() - started) * (1 - fraction)) / fraction) : '…';
      bar.update(value, { label, left });
    },
    stop: () => bar.stop(),
  };
}

const round = (x: number, d: number) => Number(x.toFixed(d)) + 0;

export function energyJson(e: EnergyExperiment, week: number): string {
  return (
    JSON.stringify(
      {
        policies: e.policies.map((p) => ({
          name: p.name,
          energyKWh: round(p.energyKWh, 1),
          idleEnergySavedPct: round(p.idleEnergySavedPct, 2),
          delayedDemandPct: round(p.delayedDemandPct, 4),
          meanDelayMin: round(p.meanDelayMin, 4),
          powerCyclesPerNodeDay: round(p.powerCyclesPerNodeDay, 3),
          maxCyclesPerNodeDay: p.maxCyclesPerNodeDay,
          maxCyclesPerNode24h: p.maxCyclesPerNode24h,
          placement: p.placement,
          idleEnergyKWh: round(p.idleEnergyKWh, 1),
          delayedJobs: p.delayedJobs,
          queueWaitPct: round(p.queueWaitPct, 2),
          meanQueueWaitMin: round(p.meanQueueWaitMin, 2),
          meanAwakeNodes: round(p.meanAwakeNodes, 2),
          meanBusyGpus: round(p.meanBusyGpus, 2),
          wallMs: p.wallMs,
        })),
        synthesis: { ...e.synthesis, calibrationFactor: round(e.synthesis.calibrationFactor, 6) },
        power: e.power,
        settings: { ...e.settings, chartWeek: week },
      },
      null,
      2,
    ) + '\n'
  );
}

function table(e: EnergyExperiment): string {
  return renderTable(
    ['POLICY', 'PLACEMENT', 'ENERGY kWh', 'IDLE SAVED', 'DELAYED DEMAND', 'MEAN DELAY', 'CYCLES/NODE/DAY', 'MOST/DAY (24h)', 'AWAKE NODES', 'QUEUE WAIT (all)'],
    e.policies.map((p) => [
      p.name,
      p.placement,
      Math.round(p.energyKWh).toLocaleString('en-US'),
      `${(Math.abs(p.idleEnergySavedPct) < 1e-9 ? 0 : p.idleEnergySavedPct).toFixed(1)}%`,
      `${p.delayedDemandPct.toFixed(3)}%`,
      `${p.meanDelayMin.toFixed(3)} min`,
      p.powerCyclesPerNodeDay.toFixed(2),
      `${p.maxCyclesPerNodeDay} (${p.maxCyclesPerNode24h})`,
      p.meanAwakeNodes.toFixed(1),
      `${p.queueWaitPct.toFixed(2)}% / ${p.meanQueueWaitMin.toFixed(1)} min`,
    ]),
    { alignRight: [2, 3, 4, 5, 6, 7, 8] },
  );
}

export function registerSimEnergyCommand(sim: Command, io: CliIo): void {
  sim
    .command('energy')
    .summary('replay six months of Helios Venus job by job under node-parking policies')
    .description(
      'Synthesise jobs from the Helios Venus per-10-minute starts (sizes summing to start_gpu_num, Philly runtimes calibrated to the ' +
        "trace's mean busy GPUs), place them with the production scheduler on --nodes x --gpus-per-node GPUs, and compare parking " +
        'policies: energy, idle energy saved versus always-on, GPU demand delayed by parked or waking nodes, power cycles per node per day.',
    )
    .requiredOption('--helios <dir>', 'folder with venus_cluster_throughput_10min.csv and helios_cluster_summary.csv')
    .option('--philly <file>', `Philly runtimes CSV (default: <helios>/${PHILLY_RELATIVE})`)
    .option('--nodes <n>', 'nodes', '128')
    .option('--gpus-per-node <n>', 'GPUs per node', '8')
    .option('--wake-minutes <n>', 'minutes a parked node takes to wake', '10')
    .option('--policies <list>', `comma list of ${PARKING_POLICY_NAMES.join(', ')}`, DEFAULT_ENERGY_POLICIES)
    .option('--seed <n>', 'seed of the job synthesis', '1')
    .option('--week <n>', 'week of the trace (0-based) for the SVG chart written with --out', '8')
    .option('--gpu-model <id>', 'catalog GPU model whose idle and busy power are used', 'H100')
    .option('--idle-minutes <n>', "idle-timer's T (Slurm SuspendTime), minutes", '30')
    .option('--max-cycles <n>', "unidle's hysteresis: most times a node may be parked in one calendar day", '2')
    .option('--max-cycles-24h <n>', "…and in any rolling 24 h (default: --max-cycles + 1)")
    .option('--json', 'print one JSON object instead of the table')
    .option('--out <dir>', 'also write energy.json and awake-vs-demand.svg there')
    .addHelpText(
      'after',
      examples([
        'unidle sim energy --helios ../shared/traces/helios --philly ../shared/traces/pai2020/philly_runtime_from_pai_analysis.csv',
        'unidle sim energy --helios ../shared/traces/helios --policies always-on,unidle --wake-minutes 5 --json',
      ]) + '\nProgress goes to stderr. Exit codes: 0 ok, 2 bad flags or missing/bad trace files.\n',
    )
    .action((flags: SimEnergyFlags) => {
      const nodes = intFlag('--nodes', flags.nodes, 1, 100_000, 'e.g. 128');
      const gpusPerNode = intFlag('--gpus-per-node', flags.gpusPerNode, 1, 64, 'e.g. 8');
      const wakeMin = intFlag('--wake-minutes', flags.wakeMinutes, 0, 24 * 60, 'e.g. 10');
      const seed = intFlag('--seed', flags.seed, 0, Number.MAX_SAFE_INTEGER, 'e.g. 1');
      const week = intFlag('--week', flags.week, 0, 1000, 'e.g. 8');
      const idleTimerMin = intFlag('--idle-minutes', flags.idleMinutes, 0, 7 * 24 * 60, 'e.g. 30');
      const maxCyclesPerDay = intFlag('--max-cycles', flags.maxCycles, 1, 96, 'e.g. 2');
      const maxCyclesPer24h = flags.maxCycles24h === undefined ? maxCyclesPerDay + 1 : intFlag('--max-cycles-24h', flags.maxCycles24h, maxCyclesPerDay, 192, `at least --max-cycles, e.g. ${maxCyclesPerDay + 1}`);
      const policies = parseEnergyPolicies(flags.policies);
      if (!knownModelIds().includes(flags.gpuModel)) throw new UsageError(`--gpu-model: unknown model "${flags.gpuModel}"; known: ${knownModelIds().join(', ')}`);
      const { demand, runtimes } = readInputs(flags);
      const weeks = Math.floor((demand.busyGpus.length * demand.stepMs) / (7 * 86_400_000));
      if (flags.out !== undefined && week >= weeks) throw new UsageError(`--week ${week}: the trace has ${weeks} whole weeks (0 to ${weeks - 1})`);
      if (flags.out !== undefined) {
        try {
          mkdirSync(flags.out, { recursive: true });
        } catch (err) {
          throw new UsageError(`--out: cannot create directory ${flags.out} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      }
      writeLine(
        io.stderr,
        `energy: ${demand.cluster}, ${demand.busyGpus.length} buckets, on ${nodes} nodes x ${gpusPerNode} GPUs (${flags.gpuModel} power), wake ${wakeMin} min; policies ${policies.join(', ')}`,
      );
      const bar = progress(io, policies.length);
      let e: EnergyExperiment;
      try {
        e = runEnergyExperiment({ demand, runtimesS: runtimes, nodes, gpusPerNode, wakeMin, policies, seed, gpuModel: flags.gpuModel, idleTimerMin, maxCyclesPerDay, maxCyclesPer24h, onRunStart: bar.onRunStart, onProgress: bar.onProgress });
      } finally {
        bar.stop();
      }
      const json = energyJson(e, week);
      if (flags.out !== undefined) {
        const perWeek = (7 * 24 * 60) / (demand.stepMs / 60_000);
        const from = week * perWeek;
        const slice = (a: Float64Array) => a.subarray(from, from + perWeek);
        const first = e.runs[0]!;
        const svg = weekChartSvg(
          [
            { label: 'GPU demand (busy+queued)', values: slice(first.series.demandGpus), dashed: true },
            ...e.runs.map((r) => ({ label: `awake GPUs: ${r.name}`, values: Float64Array.from(slice(r.series.awakeNodes), (v) => v * gpusPerNode) })),
          ],
          { title: `Awake GPUs vs demand, ${demand.cluster} week ${week} (synthetic jobs, seed ${seed})`, bucketMin: demand.stepMs / 60_000, yMax: nodes * gpusPerNode },
        );
        writeFileSync(join(flags.out, 'energy.json'), json);
        writeFileSync(join(flags.out, 'awake-vs-demand.svg'), svg);
        writeLine(io.stderr, `wrote ${join(flags.out, 'energy.json')}, ${join(flags.out, 'awake-vs-demand.svg')}`);
      }
      if (flags.json) {
        io.stdout.write(json);
        return;
      }
      writeLine(io.stdout, table(e));
      writeLine(
        io.stdout,
        `\n${e.synthesis.jobs.toLocaleString('en-US')} synthetic jobs (mean ${e.synthesis.meanGpusPerJob.toFixed(2)} GPUs, runtime factor ${e.synthesis.calibrationFactor.toFixed(3)} on Philly runtimes), ` +
          `offered mean busy ${e.synthesis.offeredMeanBusyGpus.toFixed(1)} GPUs (target ${e.synthesis.targetMeanBusyGpus.toFixed(1)}, reconstructed; see --json synthesis). ` +
          `Power: ${e.power.gpuModel} idle ${e.power.idleWatts} W, busy ${e.power.busyWatts} W, PUE ${e.power.pue}, parked 0 W. ` +
          'Delay counts only waiting for parked or waking nodes; QUEUE WAIT is all waiting, contention included.',
      );
    });
}
