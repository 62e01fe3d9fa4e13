import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FinishCause, JobAssignment, LogStream, RunningJobReport, StopNotice } from './protocol.js';

/**
 * Process supervision that survives agent restarts. Everything the agent must remember about a job lives
 * in `<stateDir>/jobs/<jobId>/` (spec.json, state.json, stdout.log, stderr.log, pid, exit, and notice.json
 * once a stop comes with a notice), so a new agent process can pick up where a crashed one stopped. The
 * folder is created with an exclusive mkdir before anything is spawned: a job whose folder exists is never
 * started again, which is what guarantees "at most once" across crashes.
 */

export type StopCause = 'stopped' | 'max-duration';

export interface JobState {
  /** Process (and process group) id of the wrapper shell; null until spawned (the "intent" state). */
  pid: number | null;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), to detect PID reuse. */
  pidStartTicks: string | null;
  startedAt: number | null;
  endedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  cause?: FinishCause;
  message?: string | null;
  /** Persisted so that a stop in progress when the agent dies still ends as 'stopped' after restart. */
  stop?: { cause: StopCause; requestedAt: number; graceMs: number; signalSent: string | null };
  shippedOffsets: { stdout: number; stderr: number };
  reported: { started: boolean; finished: boolean };
}

export interface JobRunnerLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface JobRunnerOptions {
  stateDir: string;
  logger?: JobRunnerLogger;
  /** Liveness poll for processes that are not our children (adopted after a restart). */
  pollIntervalMs?: number;
  /** Called once a job's end is recorded in state.json. */
  onFinished?: (jobId: string, state: Readonly<JobState>) => void;
  now?: () => number;
}

/** Never handed to jobs: a job must not be able to act as the agent or an operator. */
export const AGENT_SECRET_ENV = ['UNIDLE_API_KEY', 'UNIDLE_AGENT_TOKEN', 'UNIDLE_ADMIN_KEY', 'UNIDLE_DEMO_KEY'];

// `$$` is the wrapper's pid = process group id; written before the command so a restarted agent can find
// a process it spawned but crashed before recording. The exit file carries the status to an agent that is
// no longer the parent. `trap : TERM` lets the wrapper outlive a stop's SIGTERM (sent to the whole group)
// so it still records how the command ended; a trap with a handler, unlike an ignored signal, is reset to
// the default in the command itself.
const WRAPPER = 'trap : TERM; echo $$ > "$UNIDLE_PID_FILE"; "$@"; rc=$?; echo $rc > "$UNIDLE_EXIT_FILE"; exit $rc';
const MAX_TIMER_MS = 2 ** 31 - 1;
const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class JobAlreadyKnownError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} already has a folder on this node; it is never started twice`);
    this.name = 'JobAlreadyKnownError';
  }
}

interface Job {
  id: string;
  dir: string;
  spec: JobAssignment | null;
  state: JobState;
  child: ChildProcess | null;
  /** We saw the process alive at some point, so its death happened on our watch. */
  observedAlive: boolean;
  /** Set by abandon(): this runner no longer owns the job and must not record anything about it. */
  abandoned: boolean;
  finalizing: boolean;
  escalated: boolean;
  pollTimer: NodeJS.Timeout | null;
  maxTimer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  /** A stop notice is being written: the SIGTERM waits for it, so start() must not send it meanwhile. */
  noticePending: boolean;
  writeChain: Promise<void>;
  done: Promise<Readonly<JobState>>;
  resolveDone: (s: Readonly<JobState>) => void;
}

const silentLogger: JobRunnerLogger = { info() {}, warn() {}, error() {}, debug() {} };

export class JobRunner {
  private readonly jobsDir: string;
  private readonly log: JobRunnerLogger;
  private readonly pollIntervalMs: number;
  private readonly onFinished: ((jobId: string, state: Readonly<JobState>) => void) | undefined;
  private readonly now: () => number;
  private readonly jobs = new Map<string, Job>();
  /** Garbage-collected ids: their folder is gone, but within this process they still count as known. */
  private readonly retired = new Set<string>();
  private closed = false;
  private tmpCounter = 0;

  constructor(options: JobRunnerOptions) {
    this.jobsDir = path.join(options.stateDir, 'jobs');
    this.log = options.logger ?? silentLogger;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.onFinished = options.onFinished;
    this.now = options.now ?? Date.now;
  }

  /** True if this node has ever (as far as its state dir tells) been given this job. */
  knows(jobId: string): boolean {
    return this.jobs.has(jobId) || this.retired.has(jobId);
  }

  get(jobId: string): Readonly<JobState> | undefined {
    return this.jobs.get(jobId)?.state;
  }

  spec(jobId: string): Readonly<JobAssignment> | null {
    return this.jobs.get(jobId)?.spec ?? null;
  }

  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  jobDir(jobId: string): string {
    return path.join(this.jobsDir, jobId);
  }

  running(): RunningJobReport[] {
    const out: RunningJobReport[] = [];
    for (const job of this.jobs.values()) {
      const s = job.state;
      if (s.endedAt === undefined && s.pid !== null && s.startedAt !== null) {
        out.push({ jobId: job.id, pid: s.pid, startedAt: s.startedAt });
      }
    }
    return out;
  }

  /** Jobs the server must not consider lost: running ones and ended ones whose finish is not yet acknowledged. */
  supervisedJobIds(): string[] {
    return [...this.jobs.values()].filter((j) => !j.state.reported.finished).map((j) => j.id);
  }

  waitForFinish(jobId: string): Promise<Readonly<JobState>> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(new Error(`unknown job ${jobId}`));
    return job.done;
  }

  /**
   * Starts a job. Resolves once the process is spawned (or its start failure recorded); throws
   * JobAlreadyKnownError if the job folder exists already.
   */
  async start(a: JobAssignment): Promise<Readonly<JobState>> {
    if (this.closed) throw new Error('job runner is shut down');
    if (!JOB_ID_RE.test(a.jobId)) throw new Error(`refusing job id ${JSON.stringify(a.jobId)}: not a safe folder name`);
    if (this.knows(a.jobId)) throw new JobAlreadyKnownError(a.jobId);
    const dir = this.jobDir(a.jobId);
    // Registered before the first await so two concurrent starts of one id cannot both get past here.
    const job = this.newJob(a.jobId, dir, a, intentState());
    this.jobs.set(a.jobId, job);
    try {
      await fs.mkdir(this.jobsDir, { recursive: true });
      await fs.mkdir(dir);
    } catch (err) {
      this.jobs.delete(a.jobId);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new JobAlreadyKnownError(a.jobId);
      throw err;
    }
    await this.writeJson(path.join(dir, 'spec.json'), a);
    await this.persist(job);

    const problem = validateAssignment(a);
    if (problem) return this.finishStartFailed(job, problem);

    const cwd = a.workingDir ?? dir;
    try {
      const st = await fs.stat(cwd);
      if (!st.isDirectory()) return this.finishStartFailed(job, `working directory ${cwd} is not a directory`);
    } catch (err) {
      return this.finishStartFailed(job, `working directory ${cwd}: ${(err as Error).message}`);
    }

    let out: fs.FileHandle | null = null;
    let errOut: fs.FileHandle | null = null;
    let child: ChildProcess;
    try {
      out = await fs.open(path.join(dir, 'stdout.log'), 'a');
      errOut = await fs.open(path.join(dir, 'stderr.log'), 'a');
      child = spawn('/bin/sh', ['-c', WRAPPER, 'unidle-job', ...a.command], {
        cwd,
        env: jobEnv(a, dir),
        // Own process group: stop signals reach the whole tree, and Ctrl-C on the agent's terminal does not.
        detached: true,
        // File descriptors rather than pipes, so output keeps flowing to disk if the agent dies.
        stdio: ['ignore', out.fd, errOut.fd],
      });
    } catch (err) {
      await out?.close().catch(() => {});
      await errOut?.close().catch(() => {});
      return this.finishStartFailed(job, `spawn failed: ${(err as Error).message}`);
    }
    const spawnError = new Promise<Error>((resolve) =>
      // Kept for the child's lifetime: an 'error' without a listener would crash the agent.
      child.on('error', (err) => {
        resolve(err);
        if (child.pid !== undefined) this.log.warn({ jobId: a.jobId, err: err.message }, 'child process error');
      }),
    );
    // Everything up to the exit listener stays synchronous: a fast command may exit during any await.
    if (child.pid !== undefined) {
      job.child = child;
      job.observedAlive = true;
      job.state.pid = child.pid;
      job.state.startedAt = this.now();
      job.state.pidStartTicks = readProcStartTicks(child.pid);
      child.on('exit', (code, signal) => void this.onLeaderGone(job, { code, signal }));
      // The agent may exit (stop without killing jobs) while its jobs keep running.
      child.unref();
      this.log.info({ jobId: a.jobId, pid: child.pid, command: a.command, devices: a.deviceIndexes, gpuMilli: a.gpuMilli }, 'job started');
      this.armMaxDuration(job);
      if (job.state.stop && !job.noticePending) this.signalStop(job);
    }
    await out.close().catch(() => {});
    await errOut.close().catch(() => {});
    if (child.pid === undefined) {
      const err = await spawnError;
      return this.finishStartFailed(job, `spawn failed: ${err.message}`);
    }
    await this.persist(job);
    return job.state;
  }

  /**
   * Asks a job to stop: SIGTERM to its process group now, SIGKILL after graceMs if anything is left.
   * With a notice, the job's notice file (UNIDLE_NOTICE_FILE) is written first, so a job woken by the
   * SIGTERM can already read why and until when; a failed write is logged and the stop goes on.
   * Resolves once the request is recorded; use waitForFinish to wait for the end.
   */
  async stop(jobId: string, graceMs: number, cause: StopCause, notice?: StopNotice): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job || job.state.endedAt !== undefined || job.state.stop) return;
    const stop: NonNullable<JobState['stop']> = { cause, requestedAt: this.now(), graceMs: Math.max(0, graceMs), signalSent: null };
    job.state.stop = stop;
    this.log.info({ jobId, graceMs, cause, notice: notice?.kind }, 'stopping job');
    if (notice) {
      // job.state.stop is set above, so a concurrent stop() (max duration, shutdown) is a no-op meanwhile.
      job.noticePending = true;
      try {
        await this.writeNotice(job, notice, stop.graceMs);
      } finally {
        job.noticePending = false;
      }
      if (job.abandoned || job.state.endedAt !== undefined) return;
    }
    // While the job is still being spawned (pid null) start() sends the signal once the pid is known.
    if (job.state.pid !== null) this.signalStop(job);
    await this.persist(job);
  }

  /** Picks up jobs left in the state dir by a previous agent process. Returns the ids found. */
  async adopt(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.jobsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const found: string[] = [];
    for (const name of names.sort()) {
      if (!JOB_ID_RE.test(name) || this.jobs.has(name)) continue;
      const dir = path.join(this.jobsDir, name);
      if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) continue;
      const spec = await readJson<JobAssignment>(path.join(dir, 'spec.json'));
      const state = (await readJson<JobState>(path.join(dir, 'state.json'))) ?? intentState();
      state.shippedOffsets ??= { stdout: 0, stderr: 0 };
      state.reported ??= { started: false, finished: false };
      const job = this.newJob(name, dir, spec, state);
      this.jobs.set(name, job);
      found.push(name);
      if (state.endedAt !== undefined) {
        job.resolveDone(state);
        continue;
      }
      if (state.pid === null) {
        // The previous agent died between writing the intent and recording the spawn: the wrapper's pid
        // file tells whether the process got as far as running.
        const pidFile = await readPidFile(path.join(dir, 'pid'));
        if (!pidFile) {
          await this.finishStartFailed(job, 'the agent stopped before the job was started');
          continue;
        }
        state.pid = pidFile.pid;
        state.startedAt = pidFile.mtimeMs;
        await this.persist(job);
      }
      this.log.info({ jobId: name, pid: state.pid }, 'adopting job from a previous agent run');
      if (state.stop) this.armKill(job);
      if (!leaderAlive(state.pid!, state.pidStartTicks)) {
        await this.onLeaderGone(job, null);
        continue;
      }
      job.observedAlive = true;
      job.pollTimer = setInterval(() => {
        if (!leaderAlive(job.state.pid!, job.state.pidStartTicks)) void this.onLeaderGone(job, null);
      }, this.pollIntervalMs);
      job.pollTimer.unref();
      this.armMaxDuration(job);
    }
    return found;
  }

  async logSize(jobId: string, stream: LogStream): Promise<number> {
    const st = await fs.stat(path.join(this.jobDir(jobId), `${stream}.log`)).catch(() => null);
    return st?.size ?? 0;
  }

  async readLogs(jobId: string, stream: LogStream, fromOffset: number, maxBytes: number): Promise<Buffer> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(path.join(this.jobDir(jobId), `${stream}.log`), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
    try {
      const buf = Buffer.alloc(maxBytes);
      const { bytesRead } = await fh.read(buf, 0, maxBytes, fromOffset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async setShippedOffset(jobId: string, stream: LogStream, offset: number): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job || job.state.shippedOffsets[stream] === offset) return;
    job.state.shippedOffsets[stream] = offset;
    await this.persist(job);
  }

  async markReported(jobId: string, what: 'started' | 'finished'): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job || job.state.reported[what]) return;
    job.state.reported[what] = true;
    await this.persist(job);
  }

  /** Removes folders of jobs whose finish the server acknowledged more than maxAgeMs ago. */
  async gc(maxAgeMs = 3_600_000): Promise<string[]> {
    const removed: string[] = [];
    const now = this.now();
    for (const job of [...this.jobs.values()]) {
      const s = job.state;
      if (!s.reported.finished || s.endedAt === undefined || now - s.endedAt < maxAgeMs) continue;
      await job.writeChain;
      await fs.rm(job.dir, { recursive: true, force: true });
      this.jobs.delete(job.id);
      this.retired.add(job.id);
      removed.push(job.id);
    }
    if (removed.length > 0) this.log.debug({ jobIds: removed }, 'removed finished job folders');
    return removed;
  }

  /**
   * killJobs: stop every running job (SIGTERM, grace, SIGKILL) and wait until each end is recorded.
   * Otherwise leave the processes running for the next agent to adopt.
   */
  async shutdown(options: { killJobs: boolean; graceMs?: number }): Promise<void> {
    this.closed = true;
    if (options.killJobs) {
      // Every other timer and child is unref'd; without this the process could exit mid-grace, before SIGKILL.
      const keepAlive = setInterval(() => {}, 1000);
      try {
        const live = [...this.jobs.values()].filter((j) => j.state.endedAt === undefined && !j.abandoned);
        await Promise.all(live.map((j) => this.stop(j.id, options.graceMs ?? j.spec?.graceMs ?? 10_000, 'stopped')));
        await Promise.all(live.map((j) => j.done));
      } finally {
        clearInterval(keepAlive);
      }
    }
    this.abandon();
    await Promise.all([...this.jobs.values()].map((j) => j.writeChain));
  }

  /**
   * Forgets all in-memory supervision without touching the processes: what an agent crash does. The
   * next runner on the same state dir adopts them. Also used by shutdown({ killJobs: false }).
   */
  abandon(): void {
    this.closed = true;
    for (const job of this.jobs.values()) {
      job.abandoned = true;
      clearJobTimers(job);
      job.child?.removeAllListeners('exit');
      job.child = null;
    }
  }

  // --- internals ---

  private newJob(id: string, dir: string, spec: JobAssignment | null, state: JobState): Job {
    let resolveDone!: (s: Readonly<JobState>) => void;
    const done = new Promise<Readonly<JobState>>((r) => (resolveDone = r));
    return {
      id,
      dir,
      spec,
      state,
      child: null,
      observedAlive: false,
      abandoned: false,
      finalizing: false,
      escalated: false,
      pollTimer: null,
      maxTimer: null,
      killTimer: null,
      noticePending: false,
      writeChain: Promise.resolve(),
      done,
      resolveDone,
    };
  }

  /** Never throws: a notice is a courtesy to the job and must not keep it from being stopped. */
  private async writeNotice(job: Job, notice: StopNotice, graceMs: number): Promise<void> {
    const file = noticeFile(job.dir);
    const body = { kind: notice.kind, reason: notice.reason, deadlineAt: notice.deadlineAt, requeue: notice.requeue, graceMs };
    try {
      // Temp file in the same folder, then rename: a job polling the file never reads half a notice.
      await this.writeJson(file, body);
      this.log.debug({ jobId: job.id, file, kind: notice.kind }, 'wrote stop notice');
    } catch (err) {
      this.log.warn({ jobId: job.id, file, err: (err as Error).message }, 'could not write the stop notice; stopping the job anyway');
    }
  }

  private signalStop(job: Job): void {
    const stop = job.state.stop;
    if (!stop || job.state.pid === null) return;
    if (killGroup(job.state.pid, 'SIGTERM')) stop.signalSent = 'SIGTERM';
    this.armKill(job);
  }

  private armKill(job: Job): void {
    const stop = job.state.stop;
    if (!stop || job.killTimer) return;
    const delay = Math.max(0, stop.requestedAt + stop.graceMs - this.now());
    job.killTimer = setTimeout(() => {
      job.killTimer = null;
      const pid = job.state.pid;
      if (job.state.endedAt !== undefined || pid === null) return;
      if (groupAlive(pid)) {
        this.log.warn({ jobId: job.id, graceMs: stop.graceMs }, 'job ignored SIGTERM for the grace period; sending SIGKILL');
        if (killGroup(pid, 'SIGKILL')) {
          stop.signalSent = 'SIGKILL';
          job.escalated = true;
          // A later agent that finds the group dead reports the signal from disk.
          void this.persist(job).catch(() => {});
        }
      }
    }, Math.min(delay, MAX_TIMER_MS));
    job.killTimer.unref();
  }

  private armMaxDuration(job: Job): void {
    const max = job.spec?.maxDurationMs;
    const startedAt = job.state.startedAt;
    if (!max || !(max > 0) || startedAt === null || job.state.endedAt !== undefined) return;
    const remaining = startedAt + max - this.now();
    if (remaining > MAX_TIMER_MS) {
      job.maxTimer = setTimeout(() => this.armMaxDuration(job), MAX_TIMER_MS);
    } else {
      job.maxTimer = setTimeout(() => {
        job.maxTimer = null;
        this.log.warn({ jobId: job.id, maxDurationMs: max }, 'job reached its maximum duration');
        void this.stop(job.id, job.spec?.graceMs ?? 0, 'max-duration');
      }, Math.max(0, remaining));
    }
    job.maxTimer.unref();
  }

  /** The wrapper shell (group leader) is gone; the job ends once the rest of its group is gone too. */
  private async onLeaderGone(job: Job, exit: { code: number | null; signal: NodeJS.Signals | null } | null): Promise<void> {
    if (job.finalizing || job.state.endedAt !== undefined) return;
    job.finalizing = true;
    if (job.pollTimer) clearInterval(job.pollTimer);
    job.pollTimer = null;
    const pid = job.state.pid!;
    if (job.state.stop) {
      // The wrapper dies on SIGTERM at once; members that ignore it get the rest of their grace period,
      // then the SIGKILL timer (re-armed after a restart from the persisted request).
      while (groupAlive(pid) && !job.abandoned) await sleep(50);
    } else if (job.observedAlive && groupAlive(pid)) {
      // The job is its main command; leftovers it forked would hold GPUs nobody is billed for. Only when
      // we watched it die: a group found dead-led after a restart may be a reused id.
      killGroup(pid, 'SIGKILL');
    }
    if (job.abandoned || this.jobs.get(job.id) !== job) return;
    const exitFile = await readExitFile(path.join(job.dir, 'exit'));
    const s = job.state;
    const stop = s.stop;
    if (exit) {
      s.exitCode = exit.code;
      s.signal = job.escalated ? 'SIGKILL' : exit.signal;
      s.endedAt = this.now();
    } else {
      s.exitCode = exitFile ? exitFile.code : null;
      s.signal = exitFile ? null : (stop?.signalSent ?? null);
      // Not our child: the exit file's mtime is when it really ended, not when the poll (or a restart) noticed.
      s.endedAt = exitFile ? Math.max(exitFile.mtimeMs, s.startedAt ?? 0) : this.now();
    }
    if (stop) {
      s.cause = stop.cause;
      s.message = stop.cause === 'max-duration' ? `killed after reaching its maximum duration of ${job.spec?.maxDurationMs} ms` : 'stopped on request';
    } else if (exit || exitFile) {
      s.cause = 'exited';
      s.message = null;
    } else {
      s.cause = 'vanished';
      s.message = 'the process was gone after an agent restart and left no exit status';
    }
    await this.complete(job);
  }

  private async finishStartFailed(job: Job, message: string): Promise<Readonly<JobState>> {
    const s = job.state;
    s.cause = 'start-failed';
    s.message = message;
    s.exitCode = null;
    s.signal = null;
    s.endedAt = this.now();
    await this.complete(job);
    return s;
  }

  private async complete(job: Job): Promise<void> {
    clearJobTimers(job);
    job.child = null;
    await this.persist(job);
    const s = job.state;
    const fields = { jobId: job.id, cause: s.cause, exitCode: s.exitCode, signal: s.signal, durationMs: s.startedAt !== null ? s.endedAt! - s.startedAt : null };
    if (s.cause === 'start-failed') this.log.error({ ...fields, message: s.message }, 'job failed to start');
    else if (s.cause === 'vanished') this.log.warn(fields, 'job vanished while the agent was down');
    else this.log.info(fields, 'job finished');
    job.resolveDone(s);
    this.onFinished?.(job.id, s);
  }

  private persist(job: Job): Promise<void> {
    // Chained per job so an older snapshot never overwrites a newer one; each write takes the latest state.
    const next = job.writeChain.then(() => this.writeJson(path.join(job.dir, 'state.json'), job.state));
    job.writeChain = next.catch((err: unknown) => {
      this.log.error({ jobId: job.id, err: (err as Error).message }, 'could not write job state');
    });
    return next;
  }

  private async writeJson(file: string, value: unknown): Promise<void> {
    const tmp = `${file}.${process.pid}.${++this.tmpCounter}.tmp`;
    const fh = await fs.open(tmp, 'w');
    try {
      try {
        await fh.writeFile(JSON.stringify(value, null, 2) + '\n');
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
  }
}

function intentState(): JobState {
  return {
    pid: null,
    pidStartTicks: null,
    startedAt: null,
    shippedOffsets: { stdout: 0, stderr: 0 },
    reported: { started: false, finished: false },
  };
}

function clearJobTimers(job: Job): void {
  if (job.pollTimer) clearInterval(job.pollTimer);
  if (job.maxTimer) clearTimeout(job.maxTimer);
  if (job.killTimer) clearTimeout(job.killTimer);
  job.pollTimer = job.maxTimer = job.killTimer = null;
}

function validateAssignment(a: JobAssignment): string | null {
  if (!Array.isArray(a.command) || a.command.length === 0 || !a.command.every((c) => typeof c === 'string')) {
    return 'command must be a non-empty list of strings';
  }
  if (!a.deviceIndexes.every((d) => Number.isInteger(d) && d >= 0)) return 'deviceIndexes must be non-negative integers';
  if (!Number.isInteger(a.gpuMilli) || a.gpuMilli < 0) return 'gpuMilli must be a non-negative integer';
  return null;
}

export function jobEnv(a: JobAssignment, dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !AGENT_SECRET_ENV.includes(k)) env[k] = v;
  }
  Object.assign(env, a.env);
  // Set after the job's own env: these describe what the scheduler granted and must not be overridden.
  env.CUDA_VISIBLE_DEVICES = a.deviceIndexes.join(',');
  env.UNIDLE_JOB_ID = a.jobId;
  if (a.gpuMilli > 0 && a.gpuMilli < 1000) {
    env.UNIDLE_GPU_MILLI = String(a.gpuMilli);
    env.CUDA_MPS_ACTIVE_THREAD_PERCENTAGE = String(Math.ceil(a.gpuMilli / 10));
  }
  env.UNIDLE_PID_FILE = path.join(dir, 'pid');
  env.UNIDLE_EXIT_FILE = path.join(dir, 'exit');
  // Absent until a stop comes with a notice (protocol StopNotice); written atomically before the SIGTERM.
  env.UNIDLE_NOTICE_FILE = noticeFile(dir);
  return env;
}

/** Where a job finds its stop notice: `notice.json` in its own folder, as an absolute path. */
export function noticeFile(dir: string): string {
  return path.resolve(dir, 'notice.json');
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether any live member of the process group remains. kill(-pgid, 0) alone also counts zombies, and a
 * zombie whose parent (the wrapper) died waits for init to reap it, which some container inits do late.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true;
  }
  for (const p of pids) {
    const stat = readProcStat(Number(p));
    if (stat && stat.pgrp === String(pgid) && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/** Liveness of a process we may not be the parent of, guarded against its PID being reused. */
function leaderAlive(pid: number, startTicks: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: the pid now belongs to another user, so it is not our job.
    return false;
  }
  const stat = readProcStat(pid);
  if (!stat) return true;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTicks === null || stat.startTicks === startTicks;
}

function readProcStat(pid: number): { state: string; pgrp: string; startTicks: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses; everything after the last ')' is well-formed.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const pgrp = rest[2];
    const startTicks = rest[19];
    return state && pgrp && startTicks ? { state, pgrp, startTicks } : null;
  } catch {
    return null;
  }
}

function readProcStartTicks(pid: number): string | null {
  return readProcStat(pid)?.startTicks ?? null;
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** A file the wrapper shell writes holding one integer (pid, exit status), with when it was written. */
async function readIntegerFile(file: string): Promise<{ value: number; mtimeMs: number } | null> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const value = Number(text.trim());
    return text.trim() !== '' && Number.isInteger(value) ? { value, mtimeMs: Math.floor(st.mtimeMs) } : null;
  } catch {
    return null;
  }
}

async function readPidFile(file: string): Promise<{ pid: number; mtimeMs: number } | null> {
  const r = await readIntegerFile(file);
  return r && r.value > 1 ? { pid: r.value, mtimeMs: r.mtimeMs } : null;
}

async function readExitFile(file: string): Promise<{ code: number; mtimeMs: number } | null> {
  const r = await readIntegerFile(file);
  return r ? { code: r.value, mtimeMs: r.mtimeMs } : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
