import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceReport, FinishCause, RunningJobReport } from '../../agent/protocol.js';
import type { Clock } from '../../domain/clock.js';
import { findGpuModel } from '../../domain/gpu-catalog.js';
import { shellQuote } from '../../domain/shell-quote.js';
import type { AgentService } from '../../control/agent-service.js';
import type { Logger } from '../../control/control-plane.js';
import { appendEvent } from '../../control/events.js';
import type { InventoryService } from '../../control/inventory-service.js';
import type { Principal } from '../../control/principal.js';
import type { DB } from '../../store/database.js';
import type { JobsTable, NodesTable } from '../../store/schema.js';
import type { Executor, ExecutorHealth, ExecutorSyncResult } from '../executor.js';
import { SlurmUnavailableError, TERMINAL_JOB_STATES, type SlurmAccountingRecord, type SlurmApi, type SlurmJob, type SlurmNode, type SlurmSubmit } from './slurm-api.js';
import { gresFor, slurmJobName, unidleJobIdOf } from './slurm-mapping.js';

export interface SlurmExecutorOptions {
  /** The center Slurm's nodes belong to. */
  centerId: string;
  /** Partition Unidle submits to; Unidle, not Slurm, decides preemption, so one is enough. */
  partition: string;
  /** Where Slurm writes job output; must be readable here (a shared filesystem on a real cluster). */
  logDir: string;
  /** Working directory of jobs that name none. */
  workDir: string;
  /** A submitted job that neither squeue nor sacct knows for this long is lost. */
  lostAfterMs: number;
}

/** Slurm node states that take no new work (base state or flag). */
const UNUSABLE = new Set(['DOWN', 'DRAIN', 'DRAINED', 'DRAINING', 'FAIL', 'FAILING', 'NOT_RESPONDING', 'INVALID', 'INVALID_REG', 'MAINTENANCE', 'MAINT', 'FUTURE', 'POWERED_DOWN', 'POWER_DOWN', 'POWERING_DOWN', 'UNKNOWN']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'CONFIGURING', 'STOPPED']);

/**
 * Runs Unidle's jobs on a Slurm cluster. Unidle decides admission, tier, price and placement; Slurm
 * runs and enforces. Each pass, in this order:
 *   1. inventory: Slurm's nodes (GRES gpu:TYPE:N, shards, CPUs, memory) become Unidle nodes and devices;
 *      a node Slurm marks DOWN or DRAIN is down here (no new placements), with Slurm's reason;
 *   2. states: every Unidle job with a Slurm id is matched with squeue (sacct for those squeue has
 *      forgotten): RUNNING starts its lease at Slurm's start time, a finished job ends at Slurm's end
 *      time with its exit code, a job Slurm no longer knows is lost with a reason;
 *   3. the executor then acts as its nodes' agent (AgentService.heartbeat, in process): running jobs
 *      are confirmed for billing, placed jobs are submitted (`unidle-<jobId>`, pinned with --nodelist),
 *      and cancels and preemptions get SIGTERM, then scancel once their grace is over;
 *   4. output files are copied into the job's logs.
 * A submission that Slurm took but Unidle did not record (a crash, a timeout) is found again by its
 * name before anything is submitted, so Slurm never runs a job twice. While Slurm cannot be reached
 * nothing changes: placed jobs wait, with the reason in their status.
 */
export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private state: ExecutorHealth;
  private readonly principal: Principal;
  /** Jobs sent SIGTERM for a stop, with when to scancel them. */
  private readonly terminating = new Map<number, number>();
  /** Last registered shape per Slurm node, so an unchanged node is not rewritten every pass. */
  private readonly registered = new Map<string, string>();
  /** Bytes of each job's output already copied, per Slurm job id and stream. */
  private readonly copied = new Map<string, number>();

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
    private readonly api: SlurmApi,
    private readonly inventory: InventoryService,
    private readonly agents: AgentService,
    private readonly options: SlurmExecutorOptions,
    private readonly log?: Logger,
  ) {
    this.state = { ok: true, message: null, since: clock.now(), lastSyncAt: null };
    this.principal = { memberId: 'slurm-executor', keyId: 'internal', role: 'agent', tenantId: null, centerId: options.centerId, name: 'Slurm executor' };
  }

  health(): ExecutorHealth {
    return { ...this.state };
  }

  async sync(): Promise<ExecutorSyncResult> {
    const result: ExecutorSyncResult = { nodes: 0, submitted: 0, started: 0, finished: 0, signalled: 0, lost: 0, waiting: 0 };
    let slurmNodes: SlurmNode[];
    let slurmJobs: SlurmJob[];
    try {
      slurmNodes = await this.api.listNodes();
      slurmJobs = await this.api.listJobs();
    } catch (err) {
      if (!(err instanceof SlurmUnavailableError)) throw err;
      await this.unavailable(err.message);
      return result;
    }
    this.available();
    const nodes = await this.syncInventory(slurmNodes);
    result.nodes = nodes.size;
    const byId = new Map(slurmJobs.map((j) => [j.jobId, j]));
    await this.syncStates(nodes, byId, result);
    await this.actAsAgent(nodes, byId, result);
    this.state.lastSyncAt = this.clock.now();
    return result;
  }

  // --- 1. inventory

  private async syncInventory(slurmNodes: SlurmNode[]): Promise<Map<string, { row: NodesTable; slurm: SlurmNode }>> {
    const now = this.clock.now();
    const out = new Map<string, { row: NodesTable; slurm: SlurmNode }>();
    for (const sn of slurmNodes) {
      const model = sn.gpus.type ? findGpuModel(sn.gpus.type) : undefined;
      const devices: DeviceReport[] = Array.from({ length: sn.gpus.count }, (_, index) => ({
        index,
        uuid: `slurm-${sn.name}-gpu${index}`,
        name: `${model?.displayName ?? sn.gpus.type ?? 'GPU'} (Slurm gres gpu:${sn.gpus.type ?? ''})`,
        model: model?.id ?? (sn.gpus.type ?? 'unknown').toUpperCase(),
        memoryMib: model?.memoryMib ?? 0,
      }));
      const shape = JSON.stringify([sn.cpus, sn.realMemoryMiB, devices]);
      let row = await this.db.selectFrom('nodes').selectAll().where('center_id', '=', this.options.centerId).where('name', '=', sn.name).executeTakeFirst();
      if (!row || this.registered.get(sn.name) !== shape || row.executor !== 'slurm') {
        if (row && row.executor !== 'slurm') {
          this.log?.warn({ node: sn.name }, 'a node of that name is run by another executor; Slurm node skipped');
          continue;
        }
        await this.inventory.register(
          this.principal,
          { nodeName: sn.name, hostname: sn.name, agentVersion: `slurm (${this.api.kind})`, cpuMilli: sn.cpus * 1000, memoryMib: sn.realMemoryMiB, devices, runningJobIds: [] },
          'slurm',
        );
        this.registered.set(sn.name, shape);
        row = await this.db.selectFrom('nodes').selectAll().where('center_id', '=', this.options.centerId).where('name', '=', sn.name).executeTakeFirstOrThrow();
      }
      const bad = sn.states.filter((s) => UNUSABLE.has(s));
      const status = bad.length > 0 ? 'down' : 'up';
      const reason = bad.length > 0 ? `Slurm: ${sn.states.join('+')}${sn.reason ? ` (${sn.reason})` : ''}` : null;
      if (row.status !== status || row.status_reason !== reason) {
        await this.db.transaction().execute(async (tx) => {
          await tx.updateTable('nodes').set({ status, status_reason: reason, updated_at: now }).where('id', '=', row!.id).execute();
          await appendEvent(tx, { at: now, type: status === 'up' ? 'node.up' : 'node.down', subjectKind: 'node', subjectId: row!.id, actor: this.principal.memberId, message: `node ${sn.name} ${status === 'up' ? 'takes work again in Slurm' : `takes no new work: ${reason}`}` });
        });
        row = { ...row, status, status_reason: reason };
      }
      out.set(row.id, { row, slurm: sn });
    }
    // Nodes Slurm no longer lists take no new work.
    const known = new Set(slurmNodes.map((n) => n.name));
    const gone = await this.db.selectFrom('nodes').select(['id', 'name']).where('executor', '=', 'slurm').where('center_id', '=', this.options.centerId).where('status', '=', 'up').execute();
    for (const g of gone.filter((g) => !known.has(g.name))) {
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('nodes').set({ status: 'down', status_reason: 'Slurm no longer lists this node', updated_at: now }).where('id', '=', g.id).execute();
        await appendEvent(tx, { at: now, type: 'node.down', subjectKind: 'node', subjectId: g.id, actor: this.principal.memberId, message: `node ${g.name} is no longer in Slurm` });
      });
    }
    return out;
  }

  // --- 2. states

  private async syncStates(nodes: Map<string, { row: NodesTable; slurm: SlurmNode }>, byId: Map<number, SlurmJob>, result: ExecutorSyncResult): Promise<void> {
    const jobs = await this.activeJobs();
    const forgotten = jobs.filter((j) => j.executor_ref !== null && !byId.has(Number(j.executor_ref)));
    let records = new Map<number, SlurmAccountingRecord>();
    if (forgotten.length > 0) {
      try {
        // Only records of our name: job ids are handed out again after a controller loses its state.
        const wanted = new Map(forgotten.map((j) => [Number(j.executor_ref), slurmJobName(j.id)]));
        const found = await this.api.accounting({ jobIds: [...wanted.keys()] });
        records = new Map(found.filter((r) => wanted.get(r.jobId) === r.name).map((r) => [r.jobId, r]));
      } catch (err) {
        // Without accounting a forgotten job cannot be told apart from a lost one: wait.
        this.log?.warn({ err: (err as Error).message }, 'Slurm accounting unavailable; jobs squeue no longer lists wait for it');
        return;
      }
    }
    const now = this.clock.now();
    for (const job of jobs) {
      if (job.executor_ref === null || !job.node_id) continue;
      const slurmId = Number(job.executor_ref);
      const candidate = byId.get(slurmId);
      const live = candidate && candidate.name === slurmJobName(job.id) ? candidate : undefined;
      const record = records.get(slurmId);
      const view = live ? { state: live.state, start: live.startTimeMs, end: live.endTimeMs, exitCode: live.exitCode, signal: live.signal, reason: live.stateReason } : record ? { state: record.state, start: record.startMs, end: record.endMs, exitCode: record.exitCode, signal: record.signal, reason: null } : null;
      if (!view) {
        const since = job.started_at ?? job.scheduled_at ?? now;
        if (now - since >= this.options.lostAfterMs) {
          await this.finish(job, { cause: 'lost', exitCode: null, signal: null, startedAt: job.started_at, endedAt: job.confirmed_until ?? now, message: `Slurm no longer knows job ${slurmId} (neither squeue nor sacct lists it; was slurmctld restarted without its state?)` });
          result.lost++;
        }
        continue;
      }
      // Just submitted and not started: worth looking again soon (a job pending for long is not).
      if (job.state === 'scheduled' && view.start === null && !TERMINAL_JOB_STATES.has(view.state) && now - (job.scheduled_at ?? 0) < 10_000) result.waiting++;
      if (job.state === 'scheduled' && view.start !== null && (RUNNING.has(view.state) || TERMINAL_JOB_STATES.has(view.state))) {
        await this.agents.started(this.principal, job.id, { nodeId: job.node_id, startedAt: view.start, pid: slurmId });
        result.started++;
        job.state = 'running';
        job.started_at = view.start;
      }
      if (TERMINAL_JOB_STATES.has(view.state)) {
        await this.copyLogs(job, slurmId);
        const stopRequested = job.cancel_requested_at !== null || job.preempt_requested_at !== null;
        // Told to stop and then ended otherwise than by finishing cleanly on its own: it was stopped
        // (SIGTERM from the notice makes Slurm record FAILED or CANCELLED, depending on the script).
        const stopped = stopRequested && (this.terminating.has(slurmId) || view.state !== 'COMPLETED');
        let cause: FinishCause = 'exited';
        let message: string | null = null;
        if (view.state === 'TIMEOUT') cause = 'max-duration';
        else if (view.state === 'NODE_FAIL' || view.state === 'BOOT_FAIL') {
          cause = 'lost';
          message = `Slurm ended job ${slurmId} with ${view.state}${view.reason ? ` (${view.reason})` : ''}`;
        } else if (stopped) cause = 'stopped';
        else if (view.start === null) {
          cause = 'start-failed';
          message = `Slurm ended job ${slurmId} with ${view.state} before it started${view.reason ? ` (${view.reason})` : ''}`;
        }
        const signal = view.signal !== null && view.signal !== 0 ? `SIG${view.signal}` : view.state === 'CANCELLED' && !stopRequested ? 'cancelled in Slurm' : null;
        await this.finish(job, { cause, exitCode: cause === 'exited' && signal === null ? view.exitCode : null, signal, startedAt: view.start, endedAt: view.end ?? now, message });
        this.terminating.delete(slurmId);
        result.finished++;
      }
    }
  }

  private async finish(job: JobsTable, r: { cause: FinishCause; exitCode: number | null; signal: string | null; startedAt: number | null; endedAt: number; message: string | null }): Promise<void> {
    await this.agents.finished(this.principal, job.id, { nodeId: job.node_id!, ...r });
  }

  // --- 3. the agent's part: confirm, submit, stop

  private async actAsAgent(nodes: Map<string, { row: NodesTable; slurm: SlurmNode }>, byId: Map<number, SlurmJob>, result: ExecutorSyncResult): Promise<void> {
    const now = this.clock.now();
    // Confirm to the whole second: Slurm records start and end in seconds, so billing never runs ahead of sacct.
    const at = Math.floor(now / 1000) * 1000;
    const jobs = await this.activeJobs();
    const active = new Set(jobs.map((j) => j.id));
    const named = new Map<string, SlurmJob>();
    for (const s of byId.values()) {
      const id = unidleJobIdOf(s.name);
      if (id && !TERMINAL_JOB_STATES.has(s.state)) named.set(id, s);
    }
    for (const [nodeId, { row, slurm }] of nodes) {
      if (row.status !== 'up') continue;
      const mine = jobs.filter((j) => j.node_id === nodeId);
      const running: RunningJobReport[] = mine
        .filter((j) => j.state === 'running' && j.executor_ref !== null && RUNNING.has(byId.get(Number(j.executor_ref))?.state ?? ''))
        .map((j) => ({ jobId: j.id, pid: Number(j.executor_ref), startedAt: j.started_at ?? at }));
      // Slurm jobs of ours still running whose Unidle job ended: the heartbeat orders them stopped.
      // (A gang job runs on several nodes but belongs to its first: it is active, not a leftover.)
      for (const s of byId.values()) {
        const id = unidleJobIdOf(s.name);
        if (id && RUNNING.has(s.state) && s.nodes[0] === slurm.name && !active.has(id) && !running.some((r) => r.jobId === id)) running.push({ jobId: id, pid: s.jobId, startedAt: s.startTimeMs ?? at });
      }
      const orders = await this.agents.heartbeat(this.principal, { nodeId, at, running });
      for (const a of orders.start) {
        const job = mine.find((j) => j.id === a.jobId);
        if (!job || job.executor_ref !== null) continue;
        const adopted = named.get(job.id);
        if (adopted) {
          await this.recordSubmission(job, adopted.jobId, 'found again in Slurm');
          continue;
        }
        try {
          const slurmId = await this.submit(job, row, slurm);
          await this.recordSubmission(job, slurmId, `submitted to Slurm as job ${slurmId}`);
          result.submitted++;
        } catch (err) {
          if (err instanceof SlurmUnavailableError) throw err;
          const message = `Slurm refused the job: ${(err as Error).message}`;
          await this.finish(job, { cause: 'start-failed', exitCode: null, signal: null, startedAt: null, endedAt: now, message });
          this.log?.warn({ job: job.id, err: (err as Error).message }, 'Slurm refused a job');
        }
      }
      for (const stop of orders.stop) {
        const slurmId = running.find((r) => r.jobId === stop.jobId)?.pid;
        if (slurmId === undefined) continue;
        const deadline = this.terminating.get(slurmId);
        if (deadline === undefined && stop.graceMs > 0) {
          // The notice: SIGTERM to the batch script and its steps, then scancel when the grace is over.
          await this.api.cancel(slurmId, 'TERM');
          this.terminating.set(slurmId, now + stop.graceMs);
          result.signalled++;
        } else if (deadline === undefined || now >= deadline) {
          await this.api.cancel(slurmId);
          this.terminating.set(slurmId, Number.NEGATIVE_INFINITY);
          result.signalled++;
        }
      }
    }
    // Jobs still PENDING in Slurm that Unidle no longer wants there (cancelled or preempted before they started).
    for (const job of jobs) {
      if (job.executor_ref === null) continue;
      const s = byId.get(Number(job.executor_ref));
      if (s && s.state === 'PENDING' && (job.cancel_requested_at !== null || job.preempt_requested_at !== null)) await this.api.cancel(s.jobId);
    }
    for (const job of jobs) if (job.executor_ref !== null && job.state === 'running') await this.copyLogs(job, Number(job.executor_ref));
  }

  private async submit(job: JobsTable, row: NodesTable, slurm: SlurmNode): Promise<number> {
    const command = JSON.parse(job.command) as string[];
    const env = JSON.parse(job.env) as Record<string, string>;
    // A gang job holds allocations on each of its nodes: pin Slurm to exactly those, and run the
    // command once per node with srun (the batch script itself runs on the first node only).
    const nodeNames = await this.db
      .selectFrom('allocations')
      .innerJoin('nodes', 'nodes.id', 'allocations.node_id')
      .select('nodes.name')
      .distinct()
      .where('allocations.job_id', '=', job.id)
      .where('allocations.released_at', 'is', null)
      .execute();
    const names = nodeNames.length > 0 ? nodeNames.map((n) => n.name).sort() : [row.name];
    const run = command.map(shellQuote).join(' ');
    const launch = job.node_count > 1 ? `exec srun --nodes=${job.node_count} --ntasks-per-node=1 ${run}` : `exec ${run}`;
    const request: SlurmSubmit = {
      name: slurmJobName(job.id),
      script: `#!/bin/bash\n# Unidle job ${job.id} (tenant ${job.tenant_id}, ${job.tier})\n${launch}\n`,
      partition: this.options.partition,
      nodeList: names,
      nodes: job.node_count,
      gres: gresFor({ gpus: job.gpus, gpuMilli: job.gpu_milli }, slurm),
      cpusPerTask: Math.max(1, Math.ceil(job.cpu_milli / 1000)),
      memoryPerNodeMiB: job.memory_mib,
      timeLimitMinutes: Math.max(1, Math.ceil(job.max_duration_ms / 60_000)),
      workDir: job.working_dir ?? this.options.workDir,
      stdoutPath: join(this.options.logDir, `unidle-${job.id}-%j.out`),
      stderrPath: join(this.options.logDir, `unidle-${job.id}-%j.err`),
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env, UNIDLE_JOB_ID: job.id, UNIDLE_GPU_MILLI: String(job.gpu_milli ?? (job.gpus ?? 0) * 1000) },
      requeue: false,
    };
    const { jobId } = await this.api.submit(request);
    return jobId;
  }

  private async recordSubmission(job: JobsTable, slurmId: number, message: string): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      const moved = await tx.updateTable('jobs').set({ executor_ref: String(slurmId), state_reason: `${job.state_reason.replace(/; waiting for Slurm.*$/, '')}; Slurm job ${slurmId}`, updated_at: now }).where('id', '=', job.id).where('executor_ref', 'is', null).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) await appendEvent(tx, { at: now, type: 'job.submitted-to-executor', subjectKind: 'job', subjectId: job.id, tenantId: job.tenant_id, actor: this.principal.memberId, message: `${message} (name ${slurmJobName(job.id)})`, data: { slurmJobId: slurmId } });
    });
  }

  // --- 4. logs

  private async copyLogs(job: JobsTable, slurmId: number): Promise<void> {
    if (!job.node_id) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const path = join(this.options.logDir, `unidle-${job.id}-${slurmId}.${stream === 'stdout' ? 'out' : 'err'}`);
      const key = `${slurmId}:${stream}`;
      let offset = this.copied.get(key);
      if (offset === undefined) {
        const last = await this.db.selectFrom('job_logs').select(['offset', 'length']).where('job_id', '=', job.id).where('stream', '=', stream).orderBy('offset', 'desc').limit(1).executeTakeFirst();
        offset = last ? last.offset + last.length : 0;
      }
      let handle;
      try {
        handle = await open(path, 'r');
      } catch {
        continue; // not written yet, or not on this host's filesystem
      }
      try {
        const buf = Buffer.alloc(256 * 1024);
        for (;;) {
          const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
          if (bytesRead === 0) break;
          const ack = await this.agents.appendLog(this.principal, job.id, { nodeId: job.node_id, stream, offset, dataBase64: buf.subarray(0, bytesRead).toString('base64') });
          if (ack.nextOffset <= offset) break;
          offset = ack.nextOffset;
        }
      } finally {
        await handle.close();
      }
      this.copied.set(key, offset);
    }
  }

  // --- outages

  private async unavailable(message: string): Promise<void> {
    const now = this.clock.now();
    if (this.state.ok) {
      this.state = { ok: false, message, since: now, lastSyncAt: this.state.lastSyncAt };
      this.log?.warn({ err: message }, 'Slurm is unreachable; placed jobs wait for it');
    }
    // Placed but not yet submitted jobs say why they wait (once; the reason is restored on submission).
    const waiting = await this.db
      .selectFrom('jobs')
      .innerJoin('nodes', 'nodes.id', 'jobs.node_id')
      .select(['jobs.id', 'jobs.state_reason'])
      .where('nodes.executor', '=', 'slurm')
      .where('jobs.state', '=', 'scheduled')
      .where('jobs.executor_ref', 'is', null)
      .execute();
    for (const j of waiting) {
      if (j.state_reason.includes('; waiting for Slurm')) continue;
      await this.db.updateTable('jobs').set({ state_reason: `${j.state_reason}; waiting for Slurm: ${message}` }).where('id', '=', j.id).where('state', '=', 'scheduled').execute();
    }
  }

  private available(): void {
    if (!this.state.ok) {
      this.log?.info({ down: Math.round((this.clock.now() - this.state.since) / 1000) }, 'Slurm is reachable again');
      this.state = { ok: true, message: null, since: this.clock.now(), lastSyncAt: this.state.lastSyncAt };
    }
  }

  private async activeJobs(): Promise<JobsTable[]> {
    return this.db
      .selectFrom('jobs')
      .innerJoin('nodes', 'nodes.id', 'jobs.node_id')
      .selectAll('jobs')
      .where('nodes.executor', '=', 'slurm')
      .where('nodes.center_id', '=', this.options.centerId)
      .where('jobs.state', 'in', ['scheduled', 'running'])
      .orderBy('jobs.created_at')
      .execute();
  }
}
