/**
 * Pure mapping from Slurm 22.05's JSON (REST v0.0.38, and the identical `squeue/sinfo/sacct --json` output)
 * and a few text outputs to the plain records of slurm-api.ts. No I/O here.
 *
 * The generated types say what Slurm declares; what it sends differs now and then (nulls, numbers as
 * strings, `allocation_nodes` as a number), so every field is read through a checking accessor.
 */
import type {
  Dbv0038Job,
  Dbv0038JobExitCode,
  Dbv0038TresList,
  V0038JobResponseProperties,
  V0038Node,
  V0038Pings,
} from './gen/slurmrestd-v0.0.38.js';
import { expandHostlist } from './hostlist.js';
import {
  TERMINAL_JOB_STATES,
  type SlurmAccountingRecord,
  type SlurmAccountingRun,
  type SlurmJob,
  type SlurmNode,
  type SlurmPing,
  type SlurmTres,
} from './slurm-api.js';

// ---------------------------------------------------------------------------------------------------
// Checking accessors

export function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return null;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function strArr(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Slurm seconds → ms; 0, negatives and null mean "not set". */
export function secToMs(v: unknown): number | null {
  const s = num(v);
  return s !== null && s > 0 ? s * 1000 : null;
}

// ---------------------------------------------------------------------------------------------------
// GRES strings

export interface GresItem {
  name: string;
  type: string | null;
  count: number;
  /** Device indexes when given as `(IDX:0-1)`; null when absent or N/A. */
  indexes: number[] | null;
}

/** Splits on commas outside parentheses ('gpu:h100:3(IDX:0,2-3),shard:h100:0(IDX:N/A)'). */
function splitOutsideParens(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function parseIndexes(spec: string): number[] | null {
  if (spec === 'N/A' || spec === '') return null;
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/**
 * Parses a node's gres / gres_used or a job's gres_detail entry: 'gpu:h100:8', 'gpu:8', 'shard:h100:32',
 * 'gpu:h100:1(IDX:3)', 'gpu:h100:8(S:0)', 'shard:2(IDX:2)'. '(null)', 'N/A' and '' give [].
 */
export function parseGres(spec: string | null | undefined): GresItem[] {
  if (!spec || spec === '(null)' || spec === 'N/A') return [];
  const items: GresItem[] = [];
  for (const raw of splitOutsideParens(spec)) {
    const paren = raw.indexOf('(');
    const head = paren >= 0 ? raw.slice(0, paren) : raw;
    const extra = paren >= 0 ? raw.slice(paren + 1, raw.lastIndexOf(')') >= 0 ? raw.lastIndexOf(')') : undefined) : '';
    const parts = head.split(':');
    const name = parts[0] ?? '';
    if (name === '') continue;
    let type: string | null = null;
    let count = 1;
    if (parts.length === 2) {
      const n = num(parts[1]);
      if (n !== null) count = n;
      else type = parts[1] ?? null;
    } else if (parts.length >= 3) {
      type = parts.slice(1, -1).join(':');
      count = num(parts[parts.length - 1]) ?? 1;
    }
    const idx = /(?:^|,)IDX:([^)]*)$/.exec(extra);
    items.push({ name, type, count, indexes: idx ? parseIndexes(idx[1] ?? '') : null });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------------
// Nodes

export function mapNode(n: V0038Node): SlurmNode {
  const base = (str(n.state) ?? 'unknown').toUpperCase();
  const states = [base];
  for (const f of strArr(n.state_flags)) {
    const flag = f.toUpperCase();
    if (!states.includes(flag)) states.push(flag);
  }
  const gres = parseGres(str(n.gres));
  const gpuItems = gres.filter((g) => g.name === 'gpu');
  const gpuTypes = [...new Set(gpuItems.map((g) => g.type).filter((t): t is string => t !== null))];
  const used = parseGres(str(n.gres_used));
  return {
    name: str(n.name) ?? '',
    states,
    reason: str(n.reason) || null,
    cpus: num(n.cpus) ?? 0,
    allocCpus: num(n.alloc_cpus) ?? 0,
    realMemoryMiB: num(n.real_memory) ?? 0,
    allocMemoryMiB: num(n.alloc_memory) ?? 0,
    gpus: { type: gpuTypes.length === 1 ? gpuTypes[0]! : gpuTypes.length > 1 ? gpuTypes.join(',') : null, count: sum(gpuItems) },
    gpusAllocated: sum(used.filter((g) => g.name === 'gpu')),
    shardsTotal: sum(gres.filter((g) => g.name === 'shard')),
    partitions: strArr(n.partitions),
  };
}

function sum(items: GresItem[]): number {
  return items.reduce((a, g) => a + g.count, 0);
}

export function mapNodes(body: { nodes?: V0038Node[] | undefined }): SlurmNode[] {
  return (Array.isArray(body.nodes) ? body.nodes : []).map(mapNode).filter((n) => n.name !== '');
}

// ---------------------------------------------------------------------------------------------------
// Jobs (controller view)

/** A wait(2) status as Slurm stores it: exit code in bits 8–15, terminating signal in bits 0–6. */
export function decodeWaitStatus(status: number | null): { exitCode: number | null; signal: number | null } {
  if (status === null || status < 0) return { exitCode: null, signal: null };
  const signal = status & 0x7f;
  if (signal !== 0) return { exitCode: null, signal };
  return { exitCode: (status >> 8) & 0xff, signal: null };
}

export function mapJob(j: V0038JobResponseProperties): SlurmJob {
  const state = (str(j.job_state) ?? 'UNKNOWN').toUpperCase();
  const nodes = state === 'PENDING' ? [] : expandHostlist(str(j.nodes));
  const over = TERMINAL_JOB_STATES.has(state);
  // Pending jobs carry an *expected* start time; jobs cancelled before starting have no nodes.
  const startTimeMs = state !== 'PENDING' && nodes.length > 0 ? secToMs(j.start_time) : null;
  const reason = str(j.state_reason);
  const exit = over && startTimeMs !== null ? decodeWaitStatus(num(j.exit_code)) : { exitCode: null, signal: null };
  return {
    jobId: num(j.job_id) ?? 0,
    name: str(j.name) ?? '',
    partition: str(j.partition) ?? '',
    state,
    stateReason: reason && reason !== 'None' ? reason : null,
    exitCode: exit.exitCode,
    signal: exit.signal,
    nodes,
    submitTimeMs: secToMs(j.submit_time),
    startTimeMs,
    endTimeMs: over ? secToMs(j.end_time) : null,
    restartCount: num(j.restart_cnt) ?? 0,
    gresDetail: strArr(j.gres_detail),
  };
}

export function mapJobs(body: { jobs?: V0038JobResponseProperties[] | undefined }): SlurmJob[] {
  return (Array.isArray(body.jobs) ? body.jobs : []).map(mapJob).filter((j) => j.jobId > 0);
}

// ---------------------------------------------------------------------------------------------------
// Accounting (slurmdbd view)

export function mapTres(list: Dbv0038TresList | null | undefined): SlurmTres {
  const tres: SlurmTres = { cpus: 0, memoryMiB: 0, nodes: 0, gpus: 0, shards: 0, billing: 0 };
  for (const t of Array.isArray(list) ? list : []) {
    const type = str(t.type);
    const name = str(t.name);
    const count = num(t.count) ?? 0;
    if (type === 'cpu') tres.cpus += count;
    else if (type === 'mem') tres.memoryMiB += count;
    else if (type === 'node') tres.nodes += count;
    else if (type === 'billing') tres.billing += count;
    else if (type === 'gres' && name !== null) {
      const base = name.split(':')[0];
      // With typed TRES (gres/gpu:h100) Slurm lists gpu and gpu:h100: count the untyped total only.
      if (name.includes(':')) continue;
      if (base === 'gpu') tres.gpus += count;
      else if (base === 'shard') tres.shards += count;
    }
  }
  return tres;
}

/**
 * Slurm 22.05's JSON dumper writes every normally exited job as `{status: 'SUCCESS', return_code: 0}`, even
 * `exit 3` (sacct's text shows 3:0). So 'SUCCESS' is only believed for COMPLETED; otherwise the exit code is
 * unknown (null) until merged from another source (mergeExitStatus). Signals are reported correctly.
 */
export function accountingExitStatus(ec: Dbv0038JobExitCode | null | undefined, state: string): { exitCode: number | null; signal: number | null } {
  const status = str(ec?.status);
  if (status === 'SIGNALED') return { exitCode: null, signal: num(ec?.signal?.signal_id) };
  if (status === 'SUCCESS') return state === 'COMPLETED' ? { exitCode: 0, signal: null } : { exitCode: null, signal: null };
  if (status === 'ERROR') return { exitCode: num(ec?.return_code), signal: null };
  return { exitCode: null, signal: null };
}

function runOf(j: Dbv0038Job): SlurmAccountingRun & { eligible: number } {
  const nodes = expandHostlist(str(j.nodes));
  return {
    state: (str(j.state?.current) ?? 'UNKNOWN').toUpperCase(),
    // A job cancelled while pending gets start = end = cancel time, and nodes 'None assigned'.
    startMs: nodes.length > 0 ? secToMs(j.time?.start) : null,
    endMs: secToMs(j.time?.end),
    nodes,
    eligible: num(j.time?.eligible) ?? 0,
  };
}

/**
 * One record per job. slurmdbd keeps a row per run of a requeued job (REQUEUED/PREEMPTED, then the new
 * run); the latest run (not started yet counts as latest) is the record, the others are previousRuns.
 * Rows of one id with different names are different jobs: a controller that lost its state (or a
 * rebuilt cluster) hands job ids out again, and slurmdbd keeps the old ones.
 */
export function mapAccountingJobs(jobs: readonly Dbv0038Job[] | null | undefined): SlurmAccountingRecord[] {
  const byId = new Map<string, { jobId: number; rows: Dbv0038Job[] }>();
  for (const j of Array.isArray(jobs) ? jobs : []) {
    const id = num(j.job_id);
    if (id === null || id <= 0) continue;
    const key = `${id}\u0000${str(j.name) ?? ''}`;
    const entry = byId.get(key) ?? { jobId: id, rows: [] };
    entry.rows.push(j);
    byId.set(key, entry);
  }
  const out: SlurmAccountingRecord[] = [];
  for (const { jobId, rows } of [...byId.values()].sort((a, b) => a.jobId - b.jobId)) {
    const ordered = rows
      .map((row) => ({ row, run: runOf(row) }))
      .sort((a, b) => (a.run.startMs ?? Infinity) - (b.run.startMs ?? Infinity) || a.run.eligible - b.run.eligible);
    const last = ordered[ordered.length - 1]!;
    const j = last.row;
    const state = last.run.state;
    // A job that never started (no nodes) has no exit status, whatever the row says.
    const exit = last.run.startMs === null ? { exitCode: null, signal: null } : accountingExitStatus(j.exit_code, state);
    out.push({
      jobId,
      name: str(j.name) ?? '',
      partition: str(j.partition) ?? '',
      user: str(j.user),
      account: str(j.account),
      state,
      submitMs: secToMs(j.time?.submission),
      startMs: last.run.startMs,
      endMs: last.run.endMs,
      elapsedSec: num(j.time?.elapsed) ?? 0,
      exitCode: exit.exitCode,
      signal: exit.signal,
      allocated: mapTres(j.tres?.allocated),
      nodes: last.run.nodes,
      restarts: ordered.length - 1,
      previousRuns: ordered.slice(0, -1).map(({ run }) => ({ state: run.state, startMs: run.startMs, endMs: run.endMs, nodes: run.nodes })),
    });
  }
  return out;
}

export interface ExitStatus {
  jobId: number;
  state: string;
  exitCode: number | null;
  signal: number | null;
}

/** True when the record's latest run is over, did run, and its exit status is unknown (see accountingExitStatus). */
export function lacksExitStatus(r: SlurmAccountingRecord): boolean {
  return TERMINAL_JOB_STATES.has(r.state) && r.startMs !== null && r.exitCode === null && r.signal === null;
}

/**
 * Fills in unknown exit statuses from a source that has them right (sacct's text output, or the
 * controller's raw wait status), matching job id and state of the latest run.
 */
export function mergeExitStatus(records: SlurmAccountingRecord[], statuses: readonly ExitStatus[]): SlurmAccountingRecord[] {
  const byKey = new Map<string, ExitStatus>();
  for (const s of statuses) byKey.set(`${s.jobId}|${s.state}`, s);
  return records.map((r) => {
    if (!lacksExitStatus(r)) return r;
    const s = byKey.get(`${r.jobId}|${r.state}`);
    return s ? { ...r, exitCode: s.exitCode, signal: s.signal } : r;
  });
}

/** Only records of jobs not ended before `sinceMs`. */
export function filterActiveSince(records: SlurmAccountingRecord[], sinceMs: number | undefined): SlurmAccountingRecord[] {
  if (sinceMs === undefined) return records;
  return records.filter((r) => r.endMs === null || r.endMs >= sinceMs);
}

/** Slurm's parse_time takes 'uts<epoch seconds>' from about 1971 on; earlier means "from the beginning". */
const MIN_UTS = 1_000_000_000;

/**
 * A start time for `sacct -S` and slurmdb's `start_time` as 'uts<epoch seconds>': no time zone involved
 * (the ISO forms are read in slurmdbd's local time, and slurmrestd rejects a raw ':' in a query).
 * Slurm then returns the jobs not ended before that time.
 */
export function slurmTimeArg(sinceMs: number): string {
  return `uts${Math.max(MIN_UTS, Math.floor(sinceMs / 1000))}`;
}

// ---------------------------------------------------------------------------------------------------
// Text outputs (CLI)

/**
 * `sacct -n -P -X -D -o JobIDRaw,State,ExitCode` lines, e.g. '7|FAILED|3:0', '8|CANCELLED by 0|0:0',
 * '3|REQUEUED|0:0'. ExitCode is 'code:signal'; a signalled job reports exitCode null.
 */
export function parseSacctExitCodes(text: string): ExitStatus[] {
  const out: ExitStatus[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [id, state, ec] = line.trim().split('|');
    if (!id || !state || !ec || !/^\d+$/.test(id)) continue;
    const m = /^(\d+):(\d+)$/.exec(ec);
    if (!m) continue;
    const code = Number(m[1]);
    const sig = Number(m[2]);
    out.push({
      jobId: Number(id),
      state: state.split(' ')[0]!.toUpperCase(),
      exitCode: sig !== 0 ? null : code,
      signal: sig !== 0 ? sig : null,
    });
  }
  return out;
}

/** `scontrol ping`: 'Slurmctld(primary) at vm is UP' (one line per controller). */
export function parseScontrolPing(text: string): SlurmPing {
  const controllers: SlurmPing['controllers'] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^Slurmctld\(([^)]*)\) at (\S+) is (UP|DOWN)/.exec(line.trim());
    if (m) controllers.push({ mode: m[1]!, hostname: m[2]!, up: m[3] === 'UP' });
  }
  return { controllers };
}

export function mapPings(body: V0038Pings): SlurmPing {
  const pings = Array.isArray(body.pings) ? body.pings : [];
  return {
    controllers: pings.map((p) => ({ hostname: str(p.hostname) ?? '', mode: str(p.mode) ?? '', up: str(p.ping) === 'UP' })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Errors in response bodies

/**
 * Slurm 22.05 answers a request it could not pass to slurmctld (controller down, or – behind slurmrestd with
 * SLURM_JWT=daemon – a token slurmctld refused) with error number -1, "Unspecified error", or
 * "slurmctld config is unable to load", after about 9 s of retries. Nothing more specific is available.
 */
export function isControllerUnreachable(errors: readonly SlurmErrorEntry[]): boolean {
  return (
    errors.length > 0 &&
    errors.every((e) => e.number === -1 || e.number === null) &&
    errors.some((e) => /Unspecified error|slurmctld config is unable to load|Unable to contact slurm controller/i.test(e.text))
  );
}

export interface SlurmErrorEntry {
  number: number | null;
  text: string;
}

/**
 * The `errors` array of a response. 22.05 mixes shapes: `{error, error_number, description, source}`,
 * `{error, error_code}` and (squeue/sinfo) `{error, errno}`. slurmdbd's "Nothing found" (9003) is not an
 * error for a query, so it is dropped.
 */
export function responseErrors(body: unknown): SlurmErrorEntry[] {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: SlurmErrorEntry[] = [];
  for (const e of errors as Array<Record<string, unknown>>) {
    if (!e || typeof e !== 'object') continue;
    const number = num(e.error_number) ?? num(e.error_code) ?? num(e.errno);
    if (number === 9003) continue;
    const description = str(e.description);
    const error = str(e.error);
    const text = description && error && !description.includes(error) ? `${description}: ${error}` : (description ?? error ?? JSON.stringify(e));
    out.push({ number, text });
  }
  return out;
}
