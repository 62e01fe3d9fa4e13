/**
 * GPU demand of a Helios cluster (SenseTime, SC'21 trace; public for Venus, 1,022 GPUs) over time,
 * reconstructed from the per-10-minute throughput file, for forecasting and for energy what-ifs.
 *
 * `<cluster>_cluster_throughput_10min.csv` (`time,submit_job_all,start_job_all,end_job_all,
 * submit_gpu_job,start_gpu_job,end_gpu_job,submit_gpu_num,start_gpu_num,end_gpu_num`) counts jobs and
 * GPUs that were submitted, started and ended in each 10-minute bucket; it does not hold the number of
 * busy GPUs. The reconstruction (shared/traces/README.md, "helios: columns"):
 *
 * 1. running sum S_t of start_gpu_num - end_gpu_num. It starts at 0 although jobs were already
 *    running when the trace begins, so it is busy GPUs up to an unknown constant;
 * 2. the cluster's mean busy GPUs from `helios_cluster_summary.csv`: (complete_gpu_time +
 *    cancel_gpu_time + fail_gpu_time) GPU-seconds divided by the trace's duration, taken as rows x
 *    step (26,064 x 600 s for Venus, i.e. 00:00 on the first day to 24:00 on the last);
 * 3. busy_t = clip(S_t + offset, 0, gpu_num). The README adds the offset that makes the mean of S +
 *    offset equal the target and then clips; clipping at the capacity then lowers the mean a little
 *    (by 0.3 GPU on Venus). Here the offset is chosen (by bisection; the clipped mean is continuous
 *    and non-decreasing in the offset) so that the mean *after* clipping equals the target, which is
 *    the quantity the summary measures. Both offsets are reported.
 *
 * Nothing here is hard-coded from the data: capacity, target and offset come from the two files.
 * Time stamps are the trace's wall-clock times (China Standard Time) read as if they were UTC, so
 * that day and week boundaries fall where the cluster's users saw them; they are not true epoch
 * instants (subtract 8 h for those).
 *
 * Every row is checked; anything malformed is a TraceFormatError naming file, line and column.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnidleError } from '../../domain/errors.js';
import { readCsvTable as readTable, TraceFormatError, type CsvRow } from '../csv-table.js';

export { TraceFormatError };

export const HELIOS_SUMMARY_FILE = 'helios_cluster_summary.csv';

/** `venus_cluster_throughput_10min.csv` for 'Venus'. */
export function heliosThroughputFile(cluster: string): string {
  return `${cluster.toLowerCase()}_cluster_throughput_10min.csv`;
}

/** The raw per-bucket counts, one entry per row of the throughput file. */
export interface HeliosThroughput {
  /** Bucket start, wall-clock time read as UTC (see the module comment), ms. */
  timestampsMs: number[];
  /** Bucket length, ms (600,000 for the 10-minute file). */
  stepMs: number;
  /** GPU jobs that started in the bucket. */
  startGpuJob: number[];
  /** GPUs those jobs hold (the sum over the jobs that started in the bucket). */
  startGpuNum: number[];
  /** GPU jobs that ended in the bucket. */
  endGpuJob: number[];
  /** GPUs released by jobs that ended in the bucket. */
  endGpuNum: number[];
}

/** One cluster's row of helios_cluster_summary.csv, the parts the reconstruction needs. */
export interface HeliosClusterSummary {
  cluster: string;
  /** GPUs in the cluster (`gpu_num`). */
  gpus: number;
  /** complete + cancel + fail GPU time, GPU-seconds. */
  gpuSeconds: number;
  /** GPU jobs in the trace (`gpu_job_num`), NaN when the column is absent. */
  gpuJobs: number;
  /** Mean and median GPUs per GPU job (`avg_gpu_num`, `med_gpu_num`), NaN when absent. */
  meanGpusPerJob: number;
  medianGpusPerJob: number;
  /** Mean and median run time of GPU jobs, s (`avg_run_time_gpu`, `med_run_time_gpu`), NaN when absent. */
  meanRunTimeGpuS: number;
  medianRunTimeGpuS: number;
}

export interface HeliosDemandSeries extends HeliosThroughput {
  cluster: string;
  /** GPUs in the cluster; the series is clipped to [0, capacityGpus]. */
  capacityGpus: number;
  /** Reconstructed busy GPUs per bucket. */
  busyGpus: number[];
  /** Mean busy GPUs the summary implies (GPU-seconds / (rows x step)). */
  targetMeanBusyGpus: number;
  /** Mean of busyGpus (equals the target up to rounding). */
  meanBusyGpus: number;
  /** Offset added to the running sum before clipping. */
  offset: number;
  /** The README's offset (mean before clipping equals the target), for comparison. */
  offsetBeforeClipping: number;
  /** Range of the raw running sum of start_gpu_num - end_gpu_num. */
  runningSumMin: number;
  runningSumMax: number;
  /** Buckets clipped at 0 and at the capacity. */
  clippedAtZero: number;
  clippedAtCapacity: number;
  summary: HeliosClusterSummary;
  /** One paragraph saying how the series was made, for reports. */
  note: string;
}

export interface ReadHeliosOptions {
  /** Cluster name as in the summary's `id` column; default 'Venus' (the only public throughput file). */
  cluster?: string;
}

/** Reads the throughput file and summary from `dir` and reconstructs busy GPUs per bucket. */
export function readHeliosDemand(dir: string, options: ReadHeliosOptions = {}): HeliosDemandSeries {
  const cluster = options.cluster ?? 'Venus';
  const throughputPath = join(dir, heliosThroughputFile(cluster));
  const summaryPath = join(dir, HELIOS_SUMMARY_FILE);
  const throughput = parseHeliosThroughput(readTraceFile(throughputPath), throughputPath);
  const summary = parseHeliosSummary(readTraceFile(summaryPath), summaryPath, cluster);
  return reconstructDemand(throughput, summary);
}

/** Busy GPUs from parsed inputs (the reconstruction of the module comment). */
export function reconstructDemand(throughput: HeliosThroughput, summary: HeliosClusterSummary): HeliosDemandSeries {
  const n = throughput.startGpuNum.length;
  const capacity = summary.gpus;
  const durationS = (n * throughput.stepMs) / 1000;
  const target = summary.gpuSeconds / durationS;
  if (!(target <= capacity)) {
    throw new RangeError(
      `the summary's GPU time (${summary.gpuSeconds} GPU-s over ${durationS} s) means ${target.toFixed(1)} busy GPUs on average, more than the ${capacity} GPUs of ${summary.cluster}`,
    );
  }

  const running = new Float64Array(n);
  let s = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    s += throughput.startGpuNum[i]! - throughput.endGpuNum[i]!;
    running[i] = s;
    sum += s;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const offsetBeforeClipping = target - sum / n;

  const clippedMean = (offset: number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = running[i]! + offset;
      total += v < 0 ? 0 : v > capacity ? capacity : v;
    }
    return total / n;
  };
  // At lo every value clips to 0, at hi every value clips to the capacity.
  let lo = -max;
  let hi = capacity - min;
  for (let iter = 0; iter < 200 && hi - lo > 1e-9; iter++) {
    const mid = (lo + hi) / 2;
    if (clippedMean(mid) < target) lo = mid;
    else hi = mid;
  }
  const offset = (lo + hi) / 2;

  const busyGpus: number[] = new Array<number>(n);
  let clippedAtZero = 0;
  let clippedAtCapacity = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let v = running[i]! + offset;
    if (v <= 0) {
      v = 0;
      clippedAtZero++;
    } else if (v >= capacity) {
      v = capacity;
      clippedAtCapacity++;
    }
    busyGpus[i] = v;
    total += v;
  }
  const meanBusyGpus = total / n;

  const note =
    `Busy GPUs of ${summary.cluster} reconstructed from ${n} ${throughput.stepMs / 60000}-minute buckets: running sum of ` +
    `start_gpu_num - end_gpu_num (raw range ${min} to ${max}), plus an offset of ${offset.toFixed(2)} chosen so that the mean ` +
    `after clipping to [0, ${capacity}] equals the summary's mean busy GPUs, ${target.toFixed(2)} ` +
    `(complete + cancel + fail GPU time ${summary.gpuSeconds.toExponential(4)} GPU-s over ${durationS} s); ` +
    `${clippedAtZero} buckets clipped at 0 and ${clippedAtCapacity} at ${capacity}. ` +
    `(Offsetting before clipping, ${offsetBeforeClipping.toFixed(2)}, would give a mean of ${clippedMean(offsetBeforeClipping).toFixed(2)}.)`;

  return {
    ...throughput,
    cluster: summary.cluster,
    capacityGpus: capacity,
    busyGpus,
    targetMeanBusyGpus: target,
    meanBusyGpus,
    offset,
    offsetBeforeClipping,
    runningSumMin: min,
    runningSumMax: max,
    clippedAtZero,
    clippedAtCapacity,
    summary,
    note,
  };
}

// ---------------------------------------------------------------------------------------------------
// Parsers

const THROUGHPUT_COLUMNS = ['time', 'start_gpu_job', 'start_gpu_num', 'end_gpu_job', 'end_gpu_num'] as const;
const SUMMARY_COLUMNS = ['id', 'gpu_num', 'complete_gpu_time', 'cancel_gpu_time', 'fail_gpu_time'] as const;
/** `2020-04-01 00:10:00` (a `T` separator is accepted too). */
const TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

/** Parses the throughput file; `source` names it in errors. Rows must be evenly spaced and in order. */
export function parseHeliosThroughput(text: string, source: string): HeliosThroughput {
  const table = readTable(text, source, THROUGHPUT_COLUMNS);
  const out: HeliosThroughput = { timestampsMs: [], stepMs: 0, startGpuJob: [], startGpuNum: [], endGpuJob: [], endGpuNum: [] };
  let previousLine = 0;
  for (const row of table.rows) {
    const time = row.cell('time');
    const ms = parseTime(time);
    if (ms === null) throw row.error('time', `expected a time like 2020-04-01 00:10:00, got "${time}"`);
    const last = out.timestampsMs[out.timestampsMs.length - 1];
    if (last !== undefined) {
      const step = ms - last;
      if (step <= 0) throw row.error('time', `${time} does not follow the previous row's time (line ${previousLine}): rows must be in time order`);
      if (out.stepMs === 0) out.stepMs = step;
      else if (step !== out.stepMs) {
        throw row.error('time', `${time} is ${step / 60000} min after line ${previousLine}; rows must be evenly spaced (${out.stepMs / 60000} min so far)`);
      }
    }
    out.timestampsMs.push(ms);
    out.startGpuJob.push(count(row, 'start_gpu_job'));
    out.startGpuNum.push(count(row, 'start_gpu_num'));
    out.endGpuJob.push(count(row, 'end_gpu_job'));
    out.endGpuNum.push(count(row, 'end_gpu_num'));
    previousLine = row.line;
  }
  if (out.timestampsMs.length < 2) throw new TraceFormatError(source, 1, null, 'needs at least two rows to know the bucket length');
  return out;
}

/** Parses the cluster summary and returns the row whose `id` is `cluster`. */
export function parseHeliosSummary(text: string, source: string, cluster: string): HeliosClusterSummary {
  const table = readTable(text, source, SUMMARY_COLUMNS);
  const row = table.rows.find((r) => r.cell('id') === cluster);
  if (row === undefined) {
    throw new TraceFormatError(source, 1, 'id', `no row for cluster "${cluster}" (rows: ${table.rows.map((r) => r.cell('id')).join(', ')})`);
  }
  const gpus = number(row, 'gpu_num');
  if (!Number.isInteger(gpus) || gpus < 1) throw row.error('gpu_num', `must be a positive whole number of GPUs, got "${row.cell('gpu_num')}"`);
  const optional = (column: string): number => (table.has(column) ? number(row, column) : Number.NaN);
  return {
    cluster,
    gpus,
    gpuSeconds: number(row, 'complete_gpu_time') + number(row, 'cancel_gpu_time') + number(row, 'fail_gpu_time'),
    gpuJobs: optional('gpu_job_num'),
    meanGpusPerJob: optional('avg_gpu_num'),
    medianGpusPerJob: optional('med_gpu_num'),
    meanRunTimeGpuS: optional('avg_run_time_gpu'),
    medianRunTimeGpuS: optional('med_run_time_gpu'),
  };
}

function parseTime(text: string): number | null {
  const m = TIME_PATTERN.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2020-02-30 over into March; a real time stamp round-trips.
  const d = new Date(ms);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  return ms;
}

function readTraceFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UnidleError('not_found', `Helios trace file not found: ${path} (give the folder that holds it)`);
    throw err;
  }
}

/** A whole number >= 0 (the trace's counts). */
function count(row: CsvRow, column: string): number {
  const value = row.cell(column);
  if (!/^\d+$/.test(value)) throw row.error(column, `expected a whole number >= 0, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw row.error(column, `number too large: "${value}"`);
  return n;
}

/** A finite number >= 0 (decimals and exponents allowed: `6373315670.0`). */
function number(row: CsvRow, column: string): number {
  const value = row.cell(column);
  const n = value === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) throw row.error(column, `expected a number >= 0, got "${value}"`);
  return n;
}
