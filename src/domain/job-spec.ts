import { invalidMany, type FieldProblem } from './errors.js';
import { findGpuModel, knownModelIds } from './gpu-catalog.js';
import { JOB_LIMITS, JOB_TIERS, type JobSpec, type JobTier } from './job.js';

/**
 * What a client sends to submit a job (the API body, also built by the CLI). Types are already
 * checked by the transport schema; this adds the rules a schema cannot say, all at once, so a user
 * fixes every problem in one round trip.
 */
export interface JobSubmission {
  name?: string;
  command: string[];
  env?: Record<string, string>;
  workingDir?: string;
  gpuMilli?: number;
  gpus?: number;
  /** A gang job on this many nodes, each with `gpus` whole GPUs (and the CPU and memory asked); default 1. */
  nodes?: number;
  models?: string[];
  minGpuMemoryMib?: number;
  cpuMilli?: number;
  memoryMib?: number;
  maxDurationMs?: number;
  tier?: string;
  /** Spot bid: the most this job pays per hour for its whole shape (a 500 milli-GPU job's hour is half a GPU-hour). */
  maxPricePerHour?: { amountMicros: number; currency: string };
  /** Spot and preemptible work: go back to the queue when preempted (default) or end as `preempted`. */
  requeueOnPreemption?: boolean;
}

/** The largest bid per hour accepted (¥1,000,000/h): far above any real price, far below overflow. */
export const MAX_PRICE_PER_HOUR_MICROS = 1_000_000_000_000;

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

export function normalizeJobSubmission(input: JobSubmission): JobSpec {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });

  const hasShare = input.gpuMilli !== undefined;
  const hasWhole = input.gpus !== undefined;
  if (hasShare && hasWhole) bad('gpuMilli', 'give either gpuMilli (a share of one GPU) or gpus (whole GPUs), not both');
  if (!hasShare && !hasWhole) bad('gpus', 'ask for GPUs: gpuMilli 1–999 for a share of one GPU, or gpus ≥ 1 for whole GPUs');
  if (hasShare) {
    const m = input.gpuMilli;
    if (typeof m !== 'number' || !Number.isInteger(m)) bad('gpuMilli', 'must be a whole number of milli-GPU (1–999)');
    else if (m < 1 || m > 999)
      bad('gpuMilli', `must be between 1 and 999 milli-GPU (got ${m}); for one or more whole GPUs use gpus instead`);
  }
  if (hasWhole) {
    const g = input.gpus;
    if (typeof g !== 'number' || !Number.isInteger(g)) bad('gpus', 'must be a whole number of GPUs (1 or more)');
    else if (g < 1 || g > JOB_LIMITS.maxGpusPerJob)
      bad('gpus', `must be between 1 and ${JOB_LIMITS.maxGpusPerJob} (got ${g}); for a share of one GPU use gpuMilli`);
  }

  const nodes = input.nodes ?? 1;
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 1 || nodes > JOB_LIMITS.maxNodesPerJob) bad('nodes', `must be a whole number of nodes from 1 to ${JOB_LIMITS.maxNodesPerJob}`);
  else if (nodes > 1) {
    if (!hasWhole) bad('nodes', 'a multi-node job takes whole GPUs on each node: give gpus (per node), not gpuMilli');
    if (input.tier !== undefined && input.tier !== 'on-demand') bad('nodes', 'multi-node jobs run on-demand for now; drop tier or set it to on-demand');
  }

  const models: string[] = [];
  (input.models ?? []).forEach((raw, i) => {
    const model = findGpuModel(raw);
    if (!model) bad(`models[${i}]`, `unknown GPU model "${raw}"; known models: ${knownModelIds().join(', ')}`);
    else if (!models.includes(model.id)) models.push(model.id);
  });

  if (input.minGpuMemoryMib !== undefined && !isPositiveInt(input.minGpuMemoryMib))
    bad('minGpuMemoryMib', 'must be a positive whole number of MiB');
  const cpuMilli = input.cpuMilli ?? JOB_LIMITS.defaultCpuMilli;
  if (!isPositiveInt(cpuMilli)) bad('cpuMilli', 'must be a positive whole number of milli-cores (1000 = one core)');
  const memoryMib = input.memoryMib ?? JOB_LIMITS.defaultMemoryMib;
  if (!isPositiveInt(memoryMib)) bad('memoryMib', 'must be a positive whole number of MiB');
  const maxDurationMs = input.maxDurationMs ?? JOB_LIMITS.defaultMaxDurationMs;
  if (!isPositiveInt(maxDurationMs) || maxDurationMs < 1000 || maxDurationMs > JOB_LIMITS.maxMaxDurationMs)
    bad('maxDurationMs', `must be between 1000 ms and ${JOB_LIMITS.maxMaxDurationMs} ms (30 days)`);

  const tier = (input.tier ?? 'on-demand') as JobTier;
  if (!(JOB_TIERS as readonly string[]).includes(tier))
    bad('tier', `unknown tier "${input.tier}"; tiers are ${JOB_TIERS.join(', ')}`);
  const bid = input.maxPricePerHour;
  if (bid !== undefined) {
    if (typeof bid !== 'object' || bid === null || !Number.isSafeInteger(bid.amountMicros) || bid.amountMicros <= 0 || bid.amountMicros > MAX_PRICE_PER_HOUR_MICROS)
      bad('maxPricePerHour.amountMicros', `must be a positive whole number of micro-units (¥1 = 1000000), at most ${MAX_PRICE_PER_HOUR_MICROS}`);
    else if (typeof bid.currency !== 'string' || !/^[A-Z]{3}$/.test(bid.currency)) bad('maxPricePerHour.currency', 'must be an ISO 4217 code such as CNY');
    if (tier !== 'spot') bad('maxPricePerHour', 'is a spot bid; set tier to spot or drop it (on-demand and reserved pay the quoted price)');
  }
  if (input.requeueOnPreemption !== undefined && typeof input.requeueOnPreemption !== 'boolean') bad('requeueOnPreemption', 'must be true or false');

  const command = input.command;
  if (!Array.isArray(command) || command.length === 0) bad('command', 'give the program and its arguments, e.g. ["python", "train.py"]');
  else {
    if (command.length > JOB_LIMITS.maxArgs) bad('command', `has ${command.length} arguments; at most ${JOB_LIMITS.maxArgs}`);
    const bytes = command.reduce((sum, arg) => sum + Buffer.byteLength(String(arg)), 0);
    if (bytes > JOB_LIMITS.maxCommandBytes)
      bad('command', `is ${bytes} bytes; at most ${JOB_LIMITS.maxCommandBytes} bytes — ship large inputs as files in the working directory`);
    if (command[0] === '') bad('command[0]', 'the program name is empty');
    if (command.some((a) => String(a).includes('\0'))) bad('command', 'arguments must not contain NUL bytes');
  }

  const env = input.env ?? {};
  const envEntries = Object.entries(env);
  if (envEntries.length > JOB_LIMITS.maxEnvEntries) bad('env', `has ${envEntries.length} variables; at most ${JOB_LIMITS.maxEnvEntries}`);
  let envBytes = 0;
  for (const [k, v] of envEntries) {
    envBytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) bad(`env.${k}`, 'variable names use letters, digits and _ and do not start with a digit');
    if (k === 'CUDA_VISIBLE_DEVICES' || k.startsWith('UNIDLE_'))
      bad(`env.${k}`, 'is set by Unidle for the devices it allocates; remove it');
  }
  if (envBytes > JOB_LIMITS.maxEnvBytes) bad('env', `is ${envBytes} bytes; at most ${JOB_LIMITS.maxEnvBytes}`);

  if (input.workingDir !== undefined) {
    if (!input.workingDir.startsWith('/')) bad('workingDir', 'must be an absolute path on the node');
    if (input.workingDir.length > JOB_LIMITS.maxWorkingDirLength) bad('workingDir', 'is too long');
  }
  if (input.name !== undefined && (input.name.length === 0 || input.name.length > JOB_LIMITS.maxNameLength))
    bad('name', `must be 1–${JOB_LIMITS.maxNameLength} characters`);

  if (problems.length > 0) throw invalidMany(problems);

  return {
    name: input.name ?? null,
    nodes,
    shape: {
      gpuMilli: hasShare ? input.gpuMilli! : null,
      gpus: hasWhole ? input.gpus! : null,
      models,
      minGpuMemoryMib: input.minGpuMemoryMib ?? null,
      cpuMilli,
      memoryMib,
    },
    tier,
    command: command.map(String),
    env: Object.fromEntries(envEntries.map(([k, v]) => [k, String(v)])),
    workingDir: input.workingDir ?? null,
    maxDurationMs,
    maxPricePerHour: bid ? { amountMicros: bid.amountMicros, currency: bid.currency } : null,
    requeueOnPreemption: input.requeueOnPreemption ?? true,
  };
}
