import type { DurationMs, EpochMs, Mib, MilliCpu, MilliGpu } from './units.js';

/**
 * A job's lifecycle. Terminal states never change again; `lost` means Unidle lost track of the work
 * (its node stopped answering) rather than the work failing by itself; `preempted` means Unidle took
 * the capacity back from interruptible work that asked not to be requeued.
 */
export const JOB_STATES = ['queued', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'preempted'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'lost', 'preempted']);
/** States in which a job holds an allocation. */
export const ALLOCATED_STATES: readonly JobState[] = ['scheduled', 'running'];

const NEXT: Record<JobState, readonly JobState[]> = {
  queued: ['scheduled', 'cancelled', 'failed'],
  scheduled: ['running', 'succeeded', 'failed', 'cancelled', 'lost', 'queued', 'preempted'],
  // running → queued: a preempted job that asked to be requeued starts over from the queue.
  running: ['succeeded', 'failed', 'cancelled', 'lost', 'queued', 'preempted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  lost: [],
  preempted: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return NEXT[from].includes(to);
}

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

export const JOB_TIERS = ['on-demand', 'spot', 'reserved'] as const;
export type JobTier = (typeof JOB_TIERS)[number];

/**
 * What a job asks for. Exactly one of `gpuMilli` (a share of one device) or `gpus` (whole devices on
 * one node) is set.
 */
export interface JobShape {
  gpuMilli: MilliGpu | null;
  gpus: number | null;
  models: string[];
  minGpuMemoryMib: Mib | null;
  cpuMilli: MilliCpu;
  memoryMib: Mib;
}

export interface JobSpec {
  name: string | null;
  /** Nodes the job spans (gang: all start together or none); its shape is per node. */
  nodes: number;
  shape: JobShape;
  tier: JobTier;
  command: string[];
  env: Record<string, string>;
  workingDir: string | null;
  maxDurationMs: DurationMs;
  /** Spot bid per hour of the whole shape; null: bid the on-demand price. */
  maxPricePerHour: { amountMicros: number; currency: string } | null;
  requeueOnPreemption: boolean;
}

/** The GPU capacity a shape takes, in milli-GPU: a share, or N whole devices. */
export function shapeGpuMilli(shape: Pick<JobShape, 'gpuMilli' | 'gpus'>): MilliGpu {
  return shape.gpuMilli ?? (shape.gpus ?? 0) * 1000;
}

export interface JobTransition {
  from: JobState | null;
  to: JobState;
  reason: string;
  at: EpochMs;
}

export const JOB_LIMITS = {
  maxGpusPerJob: 64,
  /** Nodes one gang job may span. */
  maxNodesPerJob: 64,
  maxCommandBytes: 64 * 1024,
  maxEnvBytes: 64 * 1024,
  maxEnvEntries: 256,
  maxArgs: 4096,
  maxNameLength: 128,
  maxWorkingDirLength: 4096,
  defaultCpuMilli: 1000,
  defaultMemoryMib: 2048,
  defaultMaxDurationMs: 24 * 3_600_000,
  maxMaxDurationMs: 30 * 24 * 3_600_000,
  defaultGraceMs: 10_000,
} as const;
