/**
 * The one port the Slurm executor talks to. Two adapters implement it: `SlurmRestClient` (slurmrestd, REST
 * API v0.0.38, JWT) and `SlurmCliClient` (sbatch/squeue/sinfo/sacct/scancel/scontrol). Both return the same
 * plain records, never raw Slurm JSON, so the executor does not care which one it has.
 *
 * Times are integer ms since the epoch (Slurm reports seconds), memory is MiB (Slurm's "MB" is MiB).
 * Written against Slurm 22.05 (the Debian 12 package); see docs/slurm.md for its quirks.
 */
import { UnidleError } from '../../domain/errors.js';
import type { V0038Signal } from './gen/slurmrestd-v0.0.38.js';

/** Job states as Slurm names them (upper case); unknown future states pass through as strings. */
export type SlurmJobState =
  | 'PENDING'
  | 'RUNNING'
  | 'SUSPENDED'
  | 'COMPLETING'
  | 'COMPLETED'
  | 'CANCELLED'
  | 'FAILED'
  | 'TIMEOUT'
  | 'NODE_FAIL'
  | 'PREEMPTED'
  | 'BOOT_FAIL'
  | 'DEADLINE'
  | 'OUT_OF_MEMORY'
  | 'REQUEUED'
  | (string & {});

/** States after which a job (this run of it) will not change any more. */
export const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
  'SPECIAL_EXIT',
]);

/** Signal names slurmrestd accepts (without the SIG prefix). */
export type SlurmSignal = V0038Signal;

export interface SlurmPing {
  /** One entry per configured slurmctld (primary, backups). */
  controllers: Array<{ hostname: string; mode: string; up: boolean }>;
}

export interface SlurmNode {
  name: string;
  /** Base state then flags, upper case: ['IDLE'], ['MIXED'], ['ALLOCATED'], ['DOWN', 'DRAIN'], ['IDLE', 'DRAIN']. */
  states: string[];
  /** Why the node is down/drained; null when none. */
  reason: string | null;
  cpus: number;
  allocCpus: number;
  realMemoryMiB: number;
  allocMemoryMiB: number;
  /** Whole GPUs configured (`Gres=gpu:h100:8` → {type:'h100', count:8}); type null when untyped. */
  gpus: { type: string | null; count: number };
  /** Whole GPUs in use, from the node's gres_used (shard usage is not reliable there: see docs/slurm.md). */
  gpusAllocated: number;
  /** Shards configured on the node (`shard:32` → 32); 0 without sharing. */
  shardsTotal: number;
  partitions: string[];
}

export interface SlurmSubmit {
  name: string;
  /** The batch script; must start with `#!`. */
  script: string;
  partition: string;
  /** Pin to these nodes (sbatch --nodelist). */
  nodeList?: string[];
  /** Node count (sbatch --nodes=N). */
  nodes?: number;
  /** Per node, Slurm syntax: 'gpu:h100:2', 'gpu:2', 'shard:2'. */
  gres?: string;
  cpusPerTask?: number;
  memoryPerNodeMiB?: number;
  timeLimitMinutes?: number;
  workDir: string;
  /** Slurm filename patterns allowed (%j = job id). */
  stdoutPath: string;
  stderrPath: string;
  /**
   * The job's whole environment: nothing else of the submitter's is passed, except SLURM_CONF when the
   * adapter has one and this sets none (so srun works in the job). Slurm adds its SLURM_* variables.
   */
  environment: Record<string, string>;
  /** Allow Slurm to requeue the job (preemption, node failure, scontrol requeue). Slurm's default: yes. */
  requeue?: boolean;
}

export interface SlurmJob {
  jobId: number;
  name: string;
  partition: string;
  state: SlurmJobState;
  /** Why pending/failed ('Resources', 'Priority', 'BeginTime', 'NonZeroExitCode'…); null for Slurm's 'None'. */
  stateReason: string | null;
  /** Exit status of the batch script once the job is over and it exited normally; else null. */
  exitCode: number | null;
  /** Signal number that ended the batch script, once over; else null. */
  signal: number | null;
  /** Allocated nodes, expanded ('n[1-2]' → ['n1','n2']); [] while pending. */
  nodes: string[];
  submitTimeMs: number | null;
  /** Set once the job (this run) started; null while pending. */
  startTimeMs: number | null;
  /** Set once the job (this run) is over; null before. */
  endTimeMs: number | null;
  /** How often Slurm requeued the job (preemption, scontrol requeue, node failure). */
  restartCount: number;
  /** Per allocated node, e.g. ['gpu:h100:2(IDX:0-1)'] or ['shard:2(IDX:2)']; only while running. */
  gresDetail: string[];
}

/** Trackable resources as allocated to a job (from accounting). */
export interface SlurmTres {
  cpus: number;
  memoryMiB: number;
  nodes: number;
  gpus: number;
  shards: number;
  billing: number;
}

export interface SlurmAccountingRun {
  state: SlurmJobState;
  startMs: number | null;
  endMs: number | null;
  nodes: string[];
}

export interface SlurmAccountingRecord {
  jobId: number;
  name: string;
  partition: string;
  user: string | null;
  account: string | null;
  /** State of the latest run. */
  state: SlurmJobState;
  submitMs: number | null;
  startMs: number | null;
  endMs: number | null;
  elapsedSec: number;
  /** Exit status of the batch script when known; null when still running, signalled or unknown. */
  exitCode: number | null;
  signal: number | null;
  allocated: SlurmTres;
  nodes: string[];
  /** Earlier runs of the same job id (requeued or preempted), oldest first; restarts = previousRuns.length. */
  restarts: number;
  previousRuns: SlurmAccountingRun[];
}

export interface SlurmAccountingQuery {
  /** Only these jobs. */
  jobIds?: number[];
  /** Only jobs still active at or after this time (not ended, or ended at/after it). */
  sinceMs?: number;
}

export interface SlurmApi {
  /** Which adapter this is ('rest' or 'cli'), for logs. */
  readonly kind: 'rest' | 'cli';
  /** Resolves when a controller answers; throws SlurmUnavailableError when none is up or it can't be reached. */
  ping(): Promise<SlurmPing>;
  listNodes(): Promise<SlurmNode[]>;
  submit(req: SlurmSubmit): Promise<{ jobId: number }>;
  /** Every job the controller still knows (pending, running, and finished within MinJobAge). */
  listJobs(): Promise<SlurmJob[]>;
  /** Cancels the job (no signal), or sends it a signal. Cancelling a job that already ended is a no-op. */
  cancel(jobId: number, signal?: SlurmSignal): Promise<void>;
  /** Puts a running or pending job back into the queue (restartCount + 1). */
  requeue(jobId: number): Promise<void>;
  /** Accounting records from slurmdbd, one per job id (latest run; earlier runs in previousRuns). */
  accounting(query?: SlurmAccountingQuery): Promise<SlurmAccountingRecord[]>;
}

/** The controller, slurmrestd or slurmdbd can't be reached (down, not started, wrong address). Retry later. */
export class SlurmUnavailableError extends UnidleError {
  override readonly cause: unknown;
  constructor(message: string, cause?: unknown) {
    super('unavailable', message);
    this.name = 'SlurmUnavailableError';
    this.cause = cause;
  }
}

export type SlurmErrorReason = 'auth' | 'not_found' | 'rejected' | 'protocol';

/** Slurm answered, but with an error: bad credentials, unknown job, a rejected request, or an unreadable reply. */
export class SlurmError extends UnidleError {
  readonly reason: SlurmErrorReason;
  /** Slurm's own error texts. */
  readonly slurmErrors: string[];
  readonly httpStatus: number | null;
  constructor(reason: SlurmErrorReason, message: string, slurmErrors: string[] = [], httpStatus: number | null = null) {
    super(reason === 'not_found' ? 'not_found' : 'internal', message);
    this.name = 'SlurmError';
    this.reason = reason;
    this.slurmErrors = slurmErrors;
    this.httpStatus = httpStatus;
  }
}
