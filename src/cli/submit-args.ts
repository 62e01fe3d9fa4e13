import { JOB_TIERS } from '../domain/job.js';
import type { JobSubmission } from '../domain/job-spec.js';
import { parseDuration, parseMib } from '../domain/units.js';
import { UsageError } from './io.js';
import { parseBid } from './money-args.js';

/** The flags of `unidle submit` as commander hands them over (strings; repeatables as arrays). */
export interface SubmitFlags {
  gpuMilli?: string;
  gpus?: string;
  nodes?: string;
  model?: string[];
  minGpuMemory?: string;
  cpu?: string;
  cpuMilli?: string;
  memory?: string;
  maxDuration?: string;
  env?: string[];
  workdir?: string;
  name?: string;
  tier?: string;
  idempotencyKey?: string;
  /** Spot bid per hour for the whole shape, a decimal amount such as 3.5 (with --tier spot). */
  maxPrice?: string;
  /** Currency of --max-price (default CNY). */
  currency?: string;
  /** `--no-requeue` sets this to false: end as `preempted` instead of going back to the queue. */
  requeue?: boolean;
}

export interface SubmitRequest {
  body: JobSubmission;
  /** Only when the user gave one; the client makes a fresh UUID otherwise. */
  idempotencyKey?: string;
}

const WHOLE = /^\s*\d+\s*$/;

/**
 * Flags → the POST /v1/jobs body. Pure: it turns text into typed values and rejects what cannot be
 * sent (every problem at once, as a UsageError → exit 2). The server checks the rest (known models,
 * limits, shapes no node can hold).
 */
export function buildSubmitRequest(flags: SubmitFlags, command: string[]): SubmitRequest {
  const problems: string[] = [];
  const body: JobSubmission = { command };

  if (flags.gpuMilli !== undefined && flags.gpus !== undefined) problems.push('give either --gpu-milli (a share of one GPU) or --gpus (whole GPUs), not both');
  if (flags.gpuMilli !== undefined) {
    const n = Number(flags.gpuMilli);
    if (!WHOLE.test(flags.gpuMilli) || n < 1 || n > 999)
      problems.push(`--gpu-milli must be a whole number from 1 to 999 (1000 = one GPU; got "${flags.gpuMilli}"); for whole GPUs use --gpus N`);
    else body.gpuMilli = n;
  }
  if (flags.gpus !== undefined) {
    const n = Number(flags.gpus);
    if (!WHOLE.test(flags.gpus) || !Number.isSafeInteger(n) || n < 1)
      problems.push(`--gpus must be a whole number of GPUs ≥ 1 (got "${flags.gpus}"); for a share of one GPU use --gpu-milli 1–999`);
    else body.gpus = n;
  }
  if (flags.nodes !== undefined) {
    const n = Number(flags.nodes);
    if (!WHOLE.test(flags.nodes) || !Number.isSafeInteger(n) || n < 1) problems.push(`--nodes must be a whole number of nodes ≥ 1 (got "${flags.nodes}")`);
    else if (n > 1) body.nodes = n;
  }
  if (flags.gpuMilli === undefined && flags.gpus === undefined) problems.push('say how much GPU: --gpu-milli 500 (half a GPU) or --gpus 1 (whole GPUs)');

  const models = (flags.model ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  if ((flags.model ?? []).length > 0 && models.length === 0) problems.push('--model needs a GPU model, e.g. --model H100');
  if (models.length > 0) body.models = [...new Set(models)];

  if (flags.minGpuMemory !== undefined) {
    const mib = parseMib(flags.minGpuMemory);
    if (mib === undefined || mib < 1) problems.push(`--min-gpu-memory must be a size like 40Gi or 40960Mi (got "${flags.minGpuMemory}")`);
    else body.minGpuMemoryMib = mib;
  }

  if (flags.cpu !== undefined && flags.cpuMilli !== undefined) problems.push('give either --cpu (cores) or --cpu-milli (milli-cores), not both');
  if (flags.cpu !== undefined) {
    const cores = Number(flags.cpu);
    const milli = Math.round(cores * 1000);
    if (!/^\s*\d*\.?\d+\s*$/.test(flags.cpu) || !Number.isFinite(cores) || milli < 1 || Math.abs(cores * 1000 - milli) > 1e-6)
      problems.push(`--cpu must be a number of cores such as 2 or 0.5 (at most 3 decimals; got "${flags.cpu}")`);
    else body.cpuMilli = milli;
  }
  if (flags.cpuMilli !== undefined) {
    const n = Number(flags.cpuMilli);
    if (!WHOLE.test(flags.cpuMilli) || !Number.isSafeInteger(n) || n < 1) problems.push(`--cpu-milli must be a whole number of milli-cores ≥ 1 (1000 = one core; got "${flags.cpuMilli}")`);
    else body.cpuMilli = n;
  }

  if (flags.memory !== undefined) {
    const mib = parseMib(flags.memory);
    if (mib === undefined || mib < 1) problems.push(`--memory must be a size like 8Gi or 512Mi (got "${flags.memory}")`);
    else body.memoryMib = mib;
  }

  if (flags.maxDuration !== undefined) {
    const ms = parseDuration(flags.maxDuration);
    if (ms === undefined || ms < 1) problems.push(`--max-duration must be a duration like 90s, 15m, 2h or 1d (got "${flags.maxDuration}")`);
    else body.maxDurationMs = ms;
  }

  if (flags.env && flags.env.length > 0) {
    const env: Record<string, string> = {};
    for (const pair of flags.env) {
      const eq = pair.indexOf('=');
      if (eq <= 0) problems.push(`--env takes NAME=VALUE (got "${pair}")`);
      else env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    body.env = env;
  }

  if (flags.workdir !== undefined) {
    if (flags.workdir === '') problems.push('--workdir needs a directory (an absolute path on the node)');
    else body.workingDir = flags.workdir;
  }
  if (flags.name !== undefined) {
    if (flags.name === '') problems.push('--name must not be empty');
    else body.name = flags.name;
  }
  if (flags.tier !== undefined) {
    if (!(JOB_TIERS as readonly string[]).includes(flags.tier)) problems.push(`--tier must be one of ${JOB_TIERS.join(', ')} (got "${flags.tier}")`);
    else body.tier = flags.tier;
  }

  const bid = parseBid(problems, flags);
  if (bid) body.maxPricePerHour = bid;
  if (flags.requeue === false) body.requeueOnPreemption = false;

  if (command.length === 0) problems.push("give the command to run after --, e.g. unidle submit --gpu-milli 500 -- python train.py");
  else if (command[0] === '') problems.push('the program name after -- is empty');

  let idempotencyKey: string | undefined;
  if (flags.idempotencyKey !== undefined) {
    if (flags.idempotencyKey === '' || flags.idempotencyKey.length > 255) problems.push('--idempotency-key must be 1–255 characters');
    else idempotencyKey = flags.idempotencyKey;
  }

  if (problems.length > 0) throw new UsageError(problems.length === 1 ? problems[0]! : `fix these and try again:\n  - ${problems.join('\n  - ')}`);
  return { body, idempotencyKey };
}

/** `--from`/`--to`: an ISO 8601 time or milliseconds since the epoch. */
export function parseTimeFlag(flag: string, raw: string): number {
  if (/^\s*\d+\s*$/.test(raw)) return Number(raw);
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be an ISO 8601 time (2025-03-01, 2025-03-01T12:00:00Z) or milliseconds since the epoch (got "${raw}")`);
  return ms;
}
