import os from 'node:os';
import { discoverDevices, hostResources, simulatedHostResources, type ExecFn } from './gpu-discovery.js';
import { findGpuModel } from '../domain/gpu-catalog.js';
import { NvidiaSmiSource } from '../energy/telemetry/nvidia-smi.js';
import type { DeviceSample, TelemetrySource } from '../energy/telemetry/sample.js';
import { SimulatedTelemetrySource } from '../energy/telemetry/simulated.js';
import { JobAlreadyKnownError, JobRunner, type JobRunnerLogger } from './job-runner.js';
import type { DeviceReport, FinishedReport, HeartbeatResponse, LogStream, RegisterRequest } from './protocol.js';
import { AgentRequestError, AgentUnavailableError, ServerClient, isRetryable } from './server-client.js';

export const AGENT_VERSION = '0.1.0';

/** pino-compatible: pino's `logger.info(obj, msg)` fits as is. */
export type AgentLogger = JobRunnerLogger;

export interface AgentOptions {
  serverUrl: string;
  token: string;
  nodeName: string;
  hostname?: string;
  stateDir: string;
  /** `8xH100`-style fake inventory; without it nvidia-smi is asked. */
  simulate?: string;
  /** Overrides the interval the server hands out at registration. */
  heartbeatIntervalMs?: number;
  logger?: AgentLogger;
  fetchImpl?: typeof fetch;
  exec?: ExecFn;
  /** Upper bound of the retry backoff while the server is unreachable (default 10 s). */
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  /** Liveness poll for jobs adopted from a previous agent run (default 500 ms). */
  pollIntervalMs?: number;
  /** Finished, acknowledged job folders older than this are deleted (default 1 h). */
  keepFinishedMs?: number;
  /** Aborts startAgent while it is still waiting for the server to accept the registration. */
  signal?: AbortSignal;
  /** How often the devices' telemetry is read and sent (default 10 s; 0 turns it off). */
  telemetryIntervalMs?: number;
  /** Overrides the telemetry source (default: simulated for --simulate, nvidia-smi for NVIDIA devices). */
  telemetrySource?: TelemetrySource;
}

export interface AgentHandle {
  /** The id the server gave this node; may change if the server forgets the node and it re-registers. */
  readonly nodeId: string;
  readonly devices: readonly DeviceReport[];
  /**
   * killJobs: stop every job (SIGTERM, grace, SIGKILL) and try once more to report the ends, as for
   * `unidle up` Ctrl-C. Otherwise the jobs keep running for the next agent process to adopt.
   */
  stop(options: { killJobs: boolean }): Promise<void>;
}

const DEFAULT_HEARTBEAT_MS = 1000;
const DEFAULT_TELEMETRY_MS = 10_000;
const LOG_CHUNK_BYTES = 256 * 1024;
/** Bounds one pass of log shipping so a huge backlog does not starve heartbeats. */
const MAX_CHUNKS_PER_PASS = 16;
const GC_EVERY_MS = 60_000;
const FINAL_REPORT_DEADLINE_MS = 3000;
const STREAMS: LogStream[] = ['stdout', 'stderr'];

export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const logger = options.logger ?? consoleLogger();
  const devices = await discoverDevices({ simulate: options.simulate, nodeName: options.nodeName, exec: options.exec });
  logger.info(
    { devices: devices.length, models: [...new Set(devices.map((d) => d.model))], simulated: options.simulate !== undefined },
    'discovered devices',
  );
  const agent = new Agent(options, logger, devices);
  await agent.init();
  return {
    get nodeId() {
      return agent.nodeId!;
    },
    devices,
    stop: (o) => agent.stop(o),
  };
}

class Agent {
  nodeId: string | null = null;
  private readonly client: ServerClient;
  private readonly runner: JobRunner;
  private readonly log: AgentLogger;
  private intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly keepFinishedMs: number;
  /** Aborted by stop(): cuts in-flight requests short so stop() does not wait out a 10 s timeout. */
  private readonly abort = new AbortController();
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private loopPromise: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;
  private wakePending = false;
  private failures = 0;
  private serverDown = false;
  private lastProblem: string | null = null;
  private lastGcAt = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly options: AgentOptions,
    logger: AgentLogger,
    private readonly devices: DeviceReport[],
  ) {
    this.log = logger;
    this.client = new ServerClient({
      serverUrl: options.serverUrl,
      token: options.token,
      fetchImpl: options.fetchImpl,
      timeoutMs: options.requestTimeoutMs,
    });
    this.runner = new JobRunner({
      stateDir: options.stateDir,
      logger,
      pollIntervalMs: options.pollIntervalMs,
      onFinished: () => this.wake(),
    });
    this.intervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
    this.telemetryIntervalMs = options.telemetryIntervalMs ?? DEFAULT_TELEMETRY_MS;
    this.telemetry = options.telemetrySource ?? this.defaultTelemetrySource(options);
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.keepFinishedMs = options.keepFinishedMs ?? 3_600_000;
  }

  private telemetry: TelemetrySource | undefined;
  private readonly telemetryIntervalMs: number;
  private lastTelemetryAt = 0;

  /** Simulated devices draw power as the catalog says for what runs on them; NVIDIA devices are read with nvidia-smi. */
  private defaultTelemetrySource(options: AgentOptions): TelemetrySource | undefined {
    if (this.devices.length === 0) return undefined;
    if (options.simulate !== undefined) {
      return new SimulatedTelemetrySource({
        devices: this.devices.map((d) => ({ model: d.model, index: d.index, uuid: d.uuid })),
        allocatedMilli: (device) => {
          let milli = 0;
          for (const r of this.runner.running()) {
            const spec = this.runner.spec(r.jobId);
            if (spec?.deviceIndexes.includes(device.index)) milli += spec.gpuMilli;
          }
          return Math.min(1000, milli);
        },
        seed: this.devices.length,
      });
    }
    if (this.devices.every((d) => findGpuModel(d.model)?.vendor === 'nvidia' || /nvidia/i.test(d.name))) return new NvidiaSmiSource({ exec: options.exec });
    return undefined;
  }

  async init(): Promise<void> {
    const adopted = await this.runner.adopt();
    if (adopted.length > 0) this.log.info({ jobIds: adopted }, 'found jobs from a previous agent run');
    const external = this.options.signal;
    const onExternalAbort = () => this.abort.abort();
    external?.addEventListener('abort', onExternalAbort, { once: true });
    try {
      let delay = Math.min(500, this.maxBackoffMs);
      for (;;) {
        if (this.abort.signal.aborted) throw new Error('agent start aborted while waiting for the server');
        try {
          await this.register();
          break;
        } catch (err) {
          if (!isRetryable(err)) throw err;
          this.noteServerDown(err as Error);
          await this.sleep(delay);
          delay = Math.min(delay * 2, this.maxBackoffMs);
        }
      }
    } catch (err) {
      // Leave the jobs running: a later agent process adopts them.
      this.runner.abandon();
      throw err;
    } finally {
      external?.removeEventListener('abort', onExternalAbort);
    }
    this.noteServerUp();
    this.loopPromise = this.loop();
  }

  stop(options: { killJobs: boolean }): Promise<void> {
    this.stopPromise ??= this.doStop(options);
    return this.stopPromise;
  }

  private async doStop(options: { killJobs: boolean }): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.wake();
    await this.loopPromise;
    this.log.info({ killJobs: options.killJobs, running: this.runner.running().length }, 'agent stopping');
    await this.runner.shutdown({ killJobs: options.killJobs });
    if (options.killJobs && this.nodeId !== null) {
      // One bounded last attempt so the server hears how the killed jobs ended; what is not delivered
      // stays in the state dir and goes out when an agent next runs there.
      const deadline = AbortSignal.timeout(FINAL_REPORT_DEADLINE_MS);
      try {
        await this.flushOutbox(deadline);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'could not report every job end before stopping; will report on next start');
      }
    }
    this.log.info({}, 'agent stopped');
  }

  private wake(): void {
    if (this.wakeSleep) this.wakeSleep();
    else this.wakePending = true;
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakePending || this.abort.signal.aborted) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = null;
        this.wakeSleep = null;
        resolve();
      };
      this.wakeSleep = done;
      this.sleepTimer = setTimeout(done, ms);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.tick(this.abort.signal);
        this.failures = 0;
      } catch (err) {
        if (this.stopping) break;
        this.failures++;
        if (isRetryable(err)) this.noteServerDown(err as Error);
        else this.noteProblem(err as Error);
      }
      if (this.stopping) break;
      const backoff = this.failures === 0 ? this.intervalMs : Math.min(this.intervalMs * 2 ** (this.failures - 1), Math.max(this.maxBackoffMs, this.intervalMs));
      await this.sleep(backoff);
    }
  }

  /**
   * Reads the devices and sends the readings. A tool that fails or prints garbage is logged (once per
   * distinct problem) and skipped: telemetry never stops the agent from running and reporting jobs.
   */
  private async sendTelemetry(signal: AbortSignal): Promise<void> {
    const source = this.telemetry;
    if (!source || this.nodeId === null || this.telemetryIntervalMs <= 0) return;
    const now = Date.now();
    if (now - this.lastTelemetryAt < this.telemetryIntervalMs) return;
    this.lastTelemetryAt = now;
    let samples: DeviceSample[];
    try {
      samples = await source.sample(now);
    } catch (err) {
      this.warnOnce(`telemetry:${(err as Error).message}`, { source: source.name, err: (err as Error).message }, 'could not read device telemetry; jobs are unaffected');
      return;
    }
    if (samples.length === 0) return;
    try {
      await this.client.telemetry({ nodeId: this.nodeId, samples }, { signal });
    } catch (err) {
      if (isRetryable(err)) throw err;
      this.warnOnce(`telemetry-rejected:${(err as Error).message}`, { err: (err as Error).message }, 'the server refused telemetry; dropping this batch');
    }
  }

  private async tick(signal: AbortSignal): Promise<void> {
    if (this.nodeId === null) await this.register(signal);
    let answer: HeartbeatResponse;
    try {
      answer = await this.heartbeat(signal);
    } catch (err) {
      if (!(err instanceof AgentRequestError && err.status === 404)) throw err;
      // The server lost this node (database reset, node deleted): introduce ourselves again.
      this.log.warn({ nodeId: this.nodeId, detail: err.detail }, 'server does not know this node; registering again');
      this.nodeId = null;
      await this.register(signal);
      answer = await this.heartbeat(signal);
    }
    this.noteServerUp();
    await this.apply(answer);
    await this.flushOutbox(signal);
    await this.sendTelemetry(signal);
    if (Date.now() - this.lastGcAt >= GC_EVERY_MS) {
      this.lastGcAt = Date.now();
      await this.runner.gc(this.keepFinishedMs);
    }
  }

  private async register(signal?: AbortSignal): Promise<void> {
    const host = this.options.simulate ? simulatedHostResources(this.devices.length) : hostResources();
    const req: RegisterRequest = {
      nodeName: this.options.nodeName,
      hostname: this.options.hostname ?? os.hostname(),
      agentVersion: AGENT_VERSION,
      cpuMilli: host.cpuMilli,
      memoryMib: host.memoryMib,
      devices: this.devices,
      runningJobIds: this.runner.supervisedJobIds(),
    };
    const res = await this.client.register(req, { signal: signal ?? this.abort.signal });
    this.nodeId = res.nodeId;
    if (this.options.heartbeatIntervalMs === undefined && Number.isInteger(res.heartbeatIntervalMs) && res.heartbeatIntervalMs > 0) {
      this.intervalMs = res.heartbeatIntervalMs;
    }
    this.log.info(
      { nodeId: res.nodeId, centerId: res.centerId, devices: this.devices.length, runningJobIds: req.runningJobIds, heartbeatIntervalMs: this.intervalMs },
      'registered with the server',
    );
  }

  private heartbeat(signal: AbortSignal): Promise<HeartbeatResponse> {
    return this.client.heartbeat({ nodeId: this.nodeId!, at: Date.now(), running: this.runner.running() }, { signal });
  }

  private async apply(answer: HeartbeatResponse): Promise<void> {
    // Only a simulated host hears that it is parked (a real one is off): it goes dark until woken.
    if (answer.parked !== undefined && this.telemetry instanceof SimulatedTelemetrySource && this.telemetry.isPowered === answer.parked) {
      this.telemetry.setPowered(!answer.parked, Date.now());
      this.log.info({ nodeId: this.nodeId }, answer.parked ? 'node parked: simulated devices draw nothing and send no telemetry' : 'node powered on again: simulated telemetry resumes');
    }
    const stopping = new Set<string>();
    for (const order of answer.stop ?? []) {
      stopping.add(order.jobId);
      const state = this.runner.get(order.jobId);
      if (!state || state.endedAt !== undefined || state.stop) continue;
      const notice = order.notice ?? undefined;
      this.log.info({ jobId: order.jobId, reason: order.reason, graceMs: order.graceMs, notice: notice?.kind }, 'server asked to stop job');
      await this.runner.stop(order.jobId, order.graceMs, 'stopped', notice);
    }
    for (const a of answer.start ?? []) {
      // A job whose folder exists was started here before (maybe by a previous agent process): never again.
      if (this.runner.knows(a.jobId) || stopping.has(a.jobId)) continue;
      try {
        await this.runner.start(a);
      } catch (err) {
        if (err instanceof JobAlreadyKnownError) continue;
        this.warnOnce(`start:${a.jobId}`, { jobId: a.jobId, err: (err as Error).message }, 'could not start job');
      }
    }
  }

  /** Reports every job's progress in order: started, then its logs, then (once logs are out) finished. */
  private async flushOutbox(signal: AbortSignal): Promise<void> {
    if (this.nodeId === null) return;
    for (const jobId of this.runner.jobIds()) {
      const state = this.runner.get(jobId);
      if (!state || state.reported.finished) continue;
      await this.reportJob(jobId, signal);
    }
  }

  private async reportJob(jobId: string, signal: AbortSignal): Promise<void> {
    const nodeId = this.nodeId!;
    const s = this.runner.get(jobId)!;
    if (!s.reported.started && s.pid !== null && s.startedAt !== null) {
      const delivered = await this.deliver('start', jobId, () => this.client.started(jobId, { nodeId, startedAt: s.startedAt!, pid: s.pid! }, { signal }));
      if (!delivered) return;
      await this.runner.markReported(jobId, 'started');
    }
    if (s.pid === null && s.endedAt === undefined) return; // still being spawned
    // Read before shipping: once the job has ended its logs are final, so "all shipped" below is exact.
    const ended = s.endedAt !== undefined;
    let logsDone = true;
    for (const stream of STREAMS) {
      if (!(await this.shipLogs(jobId, stream, signal))) logsDone = false;
    }
    if (!ended || !logsDone) return;
    const report: FinishedReport = {
      nodeId,
      cause: s.cause ?? 'vanished',
      exitCode: s.exitCode ?? null,
      signal: s.signal ?? null,
      startedAt: s.startedAt,
      endedAt: s.endedAt!,
      message: s.message ?? null,
    };
    const delivered = await this.deliver('end', jobId, async () => {
      const ack = await this.client.finished(jobId, report, { signal });
      this.log.info({ jobId, cause: report.cause, exitCode: report.exitCode, state: ack.state }, 'reported job end');
    });
    if (!delivered) return;
    await this.runner.markReported(jobId, 'finished');
  }

  /**
   * Sends one report. True when it is done with: acknowledged, or refused with 404/409 (the server no
   * longer wants it). Other refusals are retried on later passes, warned about once; network errors
   * propagate so the loop backs off.
   */
  private async deliver(kind: 'start' | 'end', jobId: string, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (err) {
      if (!(err instanceof AgentRequestError)) throw err;
      if (err.status !== 404 && err.status !== 409) {
        this.warnOnce(`${kind}:${jobId}`, { jobId, err: err.message }, `server refused the ${kind} report; will retry`);
        return false;
      }
      this.log.warn({ jobId, err: err.message }, `server no longer wants the ${kind} report; dropping it`);
      return true;
    }
  }

  /** Returns true when the server has every byte of the stream written so far. */
  private async shipLogs(jobId: string, stream: LogStream, signal: AbortSignal): Promise<boolean> {
    let offset = this.runner.get(jobId)!.shippedOffsets[stream];
    for (let i = 0; i < MAX_CHUNKS_PER_PASS; i++) {
      const size = await this.runner.logSize(jobId, stream);
      if (offset >= size) return true;
      const data = await this.runner.readLogs(jobId, stream, offset, LOG_CHUNK_BYTES);
      if (data.length === 0) return true;
      let next: number;
      try {
        const ack = await this.client.logs(jobId, { nodeId: this.nodeId!, stream, offset, dataBase64: data.toString('base64') }, { signal });
        next = Number.isSafeInteger(ack.nextOffset) && ack.nextOffset >= 0 ? ack.nextOffset : offset + data.length;
      } catch (err) {
        if (!(err instanceof AgentRequestError)) throw err;
        // A refusal will not change on retry; skipping these bytes beats never reporting the job's end.
        this.log.warn({ jobId, stream, offset, bytes: size - offset, err: err.message }, 'server refused log bytes; skipping them');
        await this.runner.setShippedOffset(jobId, stream, size);
        return true;
      }
      if (next === offset) {
        this.warnOnce(`logs-stuck:${jobId}:${stream}`, { jobId, stream, offset }, 'server did not accept log bytes; will retry');
        return false;
      }
      // The server may already hold more than we recorded (ack lost), or less (its copy lost): follow it.
      offset = next;
      await this.runner.setShippedOffset(jobId, stream, offset);
    }
    return offset >= (await this.runner.logSize(jobId, stream));
  }

  private noteServerDown(err: Error): void {
    // Keyed on the kind of failure, not the endpoint: one line per outage, another only if it changes.
    const key = err instanceof AgentUnavailableError ? err.reason : err.message;
    if (!this.serverDown || this.lastProblem !== key) {
      this.log.warn({ err: err.message, serverUrl: this.options.serverUrl }, 'server unreachable; jobs keep running, retrying');
    }
    this.serverDown = true;
    this.lastProblem = key;
  }

  private noteServerUp(): void {
    if (this.serverDown) this.log.info({ serverUrl: this.options.serverUrl }, 'server reachable again');
    this.serverDown = false;
    this.lastProblem = null;
  }

  private noteProblem(err: Error): void {
    if (this.lastProblem !== err.message) this.log.error({ err: err.message }, 'agent loop error; retrying');
    this.lastProblem = err.message;
  }

  private warnOnce(key: string, obj: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(obj, msg);
  }
}

/** Default logger: one line per event on stderr, `debug` only with UNIDLE_LOG_LEVEL=debug. */
export function consoleLogger(): AgentLogger {
  const debug = process.env.UNIDLE_LOG_LEVEL === 'debug';
  const line = (level: string, obj: Record<string, unknown>, msg: string) => {
    const fields = Object.entries(obj)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields ? ' ' + fields : ''}\n`);
  };
  return {
    info: (o, m) => line('INFO ', o, m),
    warn: (o, m) => line('WARN ', o, m),
    error: (o, m) => line('ERROR', o, m),
    debug: (o, m) => {
      if (debug) line('DEBUG', o, m);
    },
  };
}
