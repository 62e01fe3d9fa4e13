/**
 * Synthetic jobs for the Venus energy replay, job by job, from the Helios throughput trace.
 *
 * The trace (../shared/traces/helios) only counts, per 10-minute bucket, the GPU jobs that started
 * (`start_gpu_job`) and the GPUs they hold in total (`start_gpu_num`). Jobs are made from it so:
 *
 * 1. Count and GPUs per bucket are the trace's exactly: `start_gpu_job` jobs (capped at
 *    `start_gpu_num`, since every GPU job holds at least one GPU) whose sizes sum to `start_gpu_num`.
 * 2. Sizes, seeded split: every job starts at 1 GPU; while GPUs remain, one job grows to its next
 *    size on the ladder 1 → 2 → 4 → 8 → 16 → 24 → 32 … (multiples of 8 above 8, as whole servers),
 *    chosen half the time uniformly among those whose step fits, half the time the largest such one
 *    (so most jobs stay small and a few grow large: Venus reports median 1 and mean 6.7 GPUs per job),
 *    never past `maxGpusPerJob` (default 128, 16 servers) unless the bucket's GPUs cannot be split
 *    otherwise (the trace has buckets of 13 jobs on 1,012 GPUs: restart storms);
 *    a remainder smaller than every possible step is added to the smallest job (giving sizes like 3).
 * 3. Start: uniform within the bucket (whole minutes, seeded).
 * 4. Duration: a real Philly runtime (../shared/traces/pai2020/philly_runtime_from_pai_analysis.csv,
 *    seconds) drawn with the seed, times one calibration factor, rounded up to whole minutes (at least
 *    1). The factor is chosen by bisection so that the offered load — mean busy GPUs with unlimited
 *    capacity over the trace's span, jobs running past the end cut there — equals the reconstructed
 *    series' mean busy GPUs (readHeliosDemand: ~785 on Venus). Philly runtimes (median ~20 min) are
 *    shorter than Venus's (mean GPU run time 13,041 s), hence a factor above 1.
 *
 * 5. Restart storms: a few buckets start far more GPUs than the cluster holds (13 jobs on 1,012 GPUs,
 *    240 on 1,920), and the trace ends about as many GPUs in the same bucket (over the 324 buckets
 *    starting > 300 GPUs: 219,242 started, 217,590 ended in the same bucket). Those jobs started and
 *    died within minutes. So when `endGpuNum` is given, in each bucket the GPUs started above the
 *    trace's 95th percentile of start_gpu_num (113 on Venus), up to that bucket's end_gpu_num, are
 *    quick: jobs (in split order, whole jobs while they fit) last 1–10 minutes (uniform, seeded),
 *    uncalibrated. Drawing ordinary runtimes for them would put hours of 1,000-GPU load on a
 *    1,024-GPU cluster that the trace says never ran.
 *
 * Everything is seeded (domain/random), so the same files and seed give the same jobs.
 */
import { readFileSync } from 'node:fs';
import { createRandom, type Random } from '../../domain/random.js';
import { UnidleError } from '../../domain/errors.js';

export const DEFAULT_MAX_GPUS_PER_JOB = 128;

export interface SyntheticJob {
  /** Arrival, whole minutes from the trace's first bucket. */
  arrivalMin: number;
  gpus: number;
  /** Run time, whole minutes (≥ 1). */
  durationMin: number;
}

export interface BucketCounts {
  /** Bucket length, minutes (10 for Helios). */
  stepMin: number;
  startGpuJob: readonly number[];
  startGpuNum: readonly number[];
  /** GPUs released per bucket; when given, bursts are split into quick jobs (step 5 of the module comment). */
  endGpuNum?: readonly number[];
}

export interface SynthesisInfo {
  method: string;
  seed: number;
  jobs: number;
  totalGpus: number;
  meanGpusPerJob: number;
  medianGpusPerJob: number;
  maxGpusPerJob: number;
  runtimeSamples: number;
  medianRuntimeS: number;
  quickJobs: number;
  quickGpus: number;
  quickThresholdGpus: number;
  calibrationFactor: number;
  targetMeanBusyGpus: number;
  offeredMeanBusyGpus: number;
  meanDurationMin: number;
  horizonMin: number;
}

export interface SynthesisResult {
  jobs: SyntheticJob[];
  info: SynthesisInfo;
}

export const SYNTHESIS_METHOD =
  'restart storms (GPUs started above the 95th percentile of start_gpu_num, up to the same bucket\'s end_gpu_num) become quick 1-10 minute jobs; ' +
  'otherwise per 10-minute bucket, start_gpu_job jobs whose GPU counts sum to start_gpu_num (seeded split on the ladder 1,2,4,8,16,24,…: ' +
  'each extra GPU grows a random or the largest job to its next size; remainders to the smallest job); start uniform in the bucket; ' +
  'duration = a real Philly runtime (pai2020) drawn with the seed x one calibration factor (bisection) so that the offered mean busy GPUs ' +
  'equals the reconstructed Helios series mean; rounded up to whole minutes.';

/** Next size on the ladder 1,2,4,8,16,24,32,… */
export function nextSize(size: number): number {
  if (size < 8) return size < 1 ? 1 : size < 2 ? 2 : size < 4 ? 4 : 8;
  return (Math.floor(size / 8) + 1) * 8;
}

/** Splits `gpus` among `jobs` jobs (see the module comment). Sizes sum to `gpus`; length min(jobs, gpus). */
export function splitGpus(jobs: number, gpus: number, rng: Random, maxSize = Number.POSITIVE_INFINITY): number[] {
  const n = Math.min(jobs, gpus);
  if (n <= 0) return [];
  const sizes = new Array<number>(n).fill(1);
  let left = gpus - n;
  const fits: number[] = [];
  while (left > 0) {
    fits.length = 0;
    let largest = -1;
    for (let i = 0; i < n; i++) {
      const step = nextSize(sizes[i]!) - sizes[i]!;
      if (step <= left && nextSize(sizes[i]!) <= maxSize) {
        fits.push(i);
        if (largest < 0 || sizes[i]! > sizes[largest]!) largest = i;
      }
    }
    if (fits.length === 0) {
      // A remainder smaller than every step goes to the smallest job; one the cap blocks is spread
      // one GPU at a time over the smallest jobs (sizes then exceed the cap only when they must).
      while (left > 0) {
        let smallest = 0;
        for (let i = 1; i < n; i++) if (sizes[i]! < sizes[smallest]!) smallest = i;
        const add = sizes[smallest]! < maxSize ? Math.min(left, maxSize - sizes[smallest]!) : 1;
        sizes[smallest]! += add;
        left -= add;
      }
      break;
    }
    const pick = rng.float() < 0.5 ? fits[rng.int(fits.length)]! : largest;
    left -= nextSize(sizes[pick]!) - sizes[pick]!;
    sizes[pick] = nextSize(sizes[pick]!);
  }
  return sizes;
}

/** Philly runtimes, seconds, from the one-column CSV (`runtime` header). */
export function readPhillyRuntimes(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UnidleError('not_found', `Philly runtime file not found: ${path}`);
    throw err;
  }
  return parsePhillyRuntimes(text, path);
}

export function parsePhillyRuntimes(text: string, source: string): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new UnidleError('validation_failed', `${source} line ${i + 1}: expected a runtime in seconds >= 0, got "${raw}"`);
    out.push(v);
  }
  if (out.length === 0) throw new UnidleError('validation_failed', `${source}: no runtimes after the header`);
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Offered mean busy GPUs of jobs with durations `baseS × factor` (minutes, ≥ 1), cut at the horizon. */
function durationOf(baseS: number, quickMin: number, factor: number): number {
  return quickMin > 0 ? quickMin : Math.max(1, Math.ceil((baseS * factor) / 60));
}

function offeredLoad(arrivals: Int32Array, gpus: Int32Array, baseS: Float64Array, quickMin: Int32Array, factor: number, horizonMin: number): number {
  let gpuMin = 0;
  for (let i = 0; i < arrivals.length; i++) {
    const d = durationOf(baseS[i]!, quickMin[i]!, factor);
    gpuMin += gpus[i]! * Math.min(d, horizonMin - arrivals[i]!);
  }
  return gpuMin / horizonMin;
}

export function synthesizeJobs(counts: BucketCounts, runtimesS: readonly number[], options: { seed: number; targetMeanBusyGpus: number; maxGpusPerJob?: number }): SynthesisResult {
  if (runtimesS.length === 0) throw new RangeError('no runtimes to sample');
  const rng = createRandom(options.seed);
  const n = counts.startGpuNum.length;
  const horizonMin = n * counts.stepMin;
  const arr: number[] = [];
  const g: number[] = [];
  const base: number[] = [];
  const quick: number[] = []; // fixed duration in minutes, 0 = calibrated
  const sortedStarts = [...counts.startGpuNum].sort((a, b) => a - b);
  const threshold = sortedStarts[Math.min(sortedStarts.length - 1, Math.floor(0.95 * sortedStarts.length))] ?? 0;
  let quickJobs = 0;
  let quickGpus = 0;
  for (let b = 0; b < n; b++) {
    const sizes = splitGpus(counts.startGpuJob[b]!, counts.startGpuNum[b]!, rng, options.maxGpusPerJob ?? DEFAULT_MAX_GPUS_PER_JOB);
    let quickLeft = counts.endGpuNum ? Math.min(Math.max(0, counts.startGpuNum[b]! - threshold), counts.endGpuNum[b]!) : 0;
    for (const size of sizes) {
      arr.push(b * counts.stepMin + rng.int(counts.stepMin));
      g.push(size);
      base.push(runtimesS[rng.int(runtimesS.length)]!);
      if (quickLeft > 0 && size <= quickLeft) {
        quickLeft -= size;
        quick.push(1 + rng.int(counts.stepMin));
        quickJobs++;
        quickGpus += size;
      } else quick.push(0);
    }
  }
  const quickMin = Int32Array.from(quick);
  const arrivals = Int32Array.from(arr);
  const gpus = Int32Array.from(g);
  const baseS = Float64Array.from(base);
  const target = options.targetMeanBusyGpus;
  // Offered load is non-decreasing in the factor; bisection on a log scale.
  let lo = 1e-3;
  let hi = 1e4;
  if (offeredLoad(arrivals, gpus, baseS, quickMin, hi, horizonMin) < target) throw new RangeError(`cannot reach ${target} mean busy GPUs with these jobs`);
  for (let i = 0; i < 80 && hi / lo > 1 + 1e-9; i++) {
    const mid = Math.sqrt(lo * hi);
    if (offeredLoad(arrivals, gpus, baseS, quickMin, mid, horizonMin) < target) lo = mid;
    else hi = mid;
  }
  const factor = hi;
  const jobs: SyntheticJob[] = new Array(arrivals.length);
  let totalGpus = 0;
  let durSum = 0;
  let maxG = 0;
  for (let i = 0; i < arrivals.length; i++) {
    const durationMin = durationOf(baseS[i]!, quickMin[i]!, factor);
    jobs[i] = { arrivalMin: arrivals[i]!, gpus: gpus[i]!, durationMin };
    totalGpus += gpus[i]!;
    durSum += durationMin;
    if (gpus[i]! > maxG) maxG = gpus[i]!;
  }
  jobs.sort((a, b) => a.arrivalMin - b.arrivalMin);
  return {
    jobs,
    info: {
      method: SYNTHESIS_METHOD,
      seed: options.seed,
      jobs: jobs.length,
      totalGpus,
      meanGpusPerJob: jobs.length ? totalGpus / jobs.length : 0,
      medianGpusPerJob: jobs.length ? median(g) : 0,
      maxGpusPerJob: maxG,
      runtimeSamples: runtimesS.length,
      medianRuntimeS: median([...runtimesS]),
      quickJobs,
      quickGpus,
      quickThresholdGpus: threshold,
      calibrationFactor: factor,
      targetMeanBusyGpus: target,
      offeredMeanBusyGpus: offeredLoad(arrivals, gpus, baseS, quickMin, factor, horizonMin),
      meanDurationMin: jobs.length ? durSum / jobs.length : 0,
      horizonMin,
    },
  };
}
