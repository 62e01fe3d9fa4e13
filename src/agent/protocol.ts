/**
 * The wire contract between the control plane and node agents (HTTP+JSON under /v1/agent, Bearer
 * agent token). Agents pull: they register, then heartbeat; each heartbeat answer says which jobs to
 * start and which to stop. Everything the agent reports is idempotent, so it can retry until the
 * server acknowledges (the server may be down or restarting; the agent keeps running its jobs).
 */

export interface DeviceReport {
  index: number;
  uuid: string;
  /** What the discovery tool printed, e.g. `NVIDIA H100 80GB HBM3`. */
  name: string;
  /** Catalog model id derived from the name, e.g. `H100`. */
  model: string;
  memoryMib: number;
}

export interface RegisterRequest {
  nodeName: string;
  hostname: string;
  agentVersion: string;
  cpuMilli: number;
  memoryMib: number;
  devices: DeviceReport[];
  /** Jobs this agent still supervises (after a restart), so the server does not think them lost. */
  runningJobIds: string[];
}

export interface RegisterResponse {
  nodeId: string;
  centerId: string;
  heartbeatIntervalMs: number;
}

export interface RunningJobReport {
  jobId: string;
  pid: number;
  startedAt: number;
}

export interface HeartbeatRequest {
  nodeId: string;
  /** Agent's clock at send time, ms since epoch. */
  at: number;
  running: RunningJobReport[];
}

export interface JobAssignment {
  jobId: string;
  command: string[];
  env: Record<string, string>;
  workingDir: string | null;
  /** Device indexes on this node; becomes CUDA_VISIBLE_DEVICES. */
  deviceIndexes: number[];
  /** Share of each device in milli-GPU: 1000 for whole devices, 1–999 for a share of one. */
  gpuMilli: number;
  maxDurationMs: number;
  /** How long to wait between SIGTERM and SIGKILL. */
  graceMs: number;
}

/**
 * Told to the job itself before it is signalled, like a cloud spot instance's termination notice: the
 * agent writes it as JSON (plus graceMs) to the file named by the job's UNIDLE_NOTICE_FILE, then sends
 * SIGTERM. SIGTERM alone says nothing about why or for how long; with this a job can decide whether a
 * checkpoint is worth it (it will not be resumed when requeue is true) and how much time it has.
 */
export interface StopNotice {
  kind: 'preemption' | 'budget' | 'cancel';
  reason: string;
  /** when SIGKILL follows at the latest, epoch ms (server clock) */
  deadlineAt: number;
  /** true when the job will be queued again and restarted from scratch */
  requeue: boolean;
}

export interface StopOrder {
  jobId: string;
  reason: string;
  graceMs: number;
  /** When present, handed to the job (UNIDLE_NOTICE_FILE) before its SIGTERM; absent: a plain stop. */
  notice?: StopNotice;
}

export interface HeartbeatResponse {
  /** Server clock, ms since epoch. */
  at: number;
  start: JobAssignment[];
  stop: StopOrder[];
  /**
   * The control plane has parked this node (or is parking it). A real host is then powered off and
   * never hears this; an agent that still answers runs on a simulated power driver, and a simulated
   * agent goes dark as a powered-off host would (no telemetry, no power drawn) until it is false again.
   */
  parked?: boolean;
}

export interface StartedReport {
  nodeId: string;
  startedAt: number;
  pid: number;
}

export type LogStream = 'stdout' | 'stderr';

export interface LogChunk {
  nodeId: string;
  stream: LogStream;
  /** Byte offset of this chunk in the stream; the server ignores bytes it already has. */
  offset: number;
  /** Raw bytes, base64. */
  dataBase64: string;
}

export interface LogAck {
  /** The offset the server expects next for this stream. */
  nextOffset: number;
}

export type FinishCause =
  /** The process exited on its own (exit code or signal). */
  | 'exited'
  /** The server asked the agent to stop it. */
  | 'stopped'
  /** It ran past maxDurationMs and was killed. */
  | 'max-duration'
  /** The process could not be started (bad command, working dir…). */
  | 'start-failed'
  /** After an agent restart the process was gone and left no exit status. */
  | 'vanished'
  /** The engine running it (an executor such as Slurm) no longer knows it; `message` says why. */
  | 'lost';

export interface FinishedReport {
  nodeId: string;
  cause: FinishCause;
  exitCode: number | null;
  signal: string | null;
  startedAt: number | null;
  endedAt: number;
  message: string | null;
}

export interface FinishedAck {
  state: string;
}
