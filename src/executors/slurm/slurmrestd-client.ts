/**
 * SlurmApi over slurmrestd's REST API v0.0.38 (Slurm 22.05), typed by the generated client
 * (gen/slurmrestd-v0.0.38.ts, from slurmrestd's own OpenAPI document).
 *
 * Auth: headers X-SLURM-USER-NAME + X-SLURM-USER-TOKEN. The token is either given, or minted here from the
 * cluster's JWT key (HS256, renewed before it expires). slurmrestd must run with SLURM_JWT=daemon.
 * v0.0.38 has no requeue operation, so requeue() goes through `scontrol requeue` (a SlurmCliClient).
 */
import { SlurmCliClient } from './slurm-cli-client.js';
import {
  SLURMRESTD_OPERATIONS,
  type SlurmrestdOperationId,
  type SlurmrestdOperations,
  type V0038JobSubmission,
} from './gen/slurmrestd-v0.0.38.js';
import { mintSlurmJwtFromKeyFile } from './jwt.js';
import {
  SlurmError,
  SlurmUnavailableError,
  TERMINAL_JOB_STATES,
  type SlurmAccountingQuery,
  type SlurmAccountingRecord,
  type SlurmApi,
  type SlurmJob,
  type SlurmNode,
  type SlurmPing,
  type SlurmSignal,
  type SlurmSubmit,
} from './slurm-api.js';
import {
  filterActiveSince,
  isControllerUnreachable,
  lacksExitStatus,
  mapAccountingJobs,
  mapJobs,
  mapNodes,
  mapPings,
  mergeExitStatus,
  num,
  responseErrors,
  slurmTimeArg,
  type SlurmErrorEntry,
} from './slurm-records.js';
import { toJobProperties, type SubmitJobProperties } from './slurm-submit.js';

export interface SlurmRestOptions {
  /** e.g. http://127.0.0.1:16819 */
  baseUrl: string;
  /** Slurm user the requests act as (X-SLURM-USER-NAME). */
  user: string;
  /** A fixed token (from `scontrol token`), or… */
  token?: string;
  /** …the JWT key file (AuthAltParameters jwt_key) to mint tokens with. */
  jwtKeyFile?: string;
  /** Lifespan of minted tokens; renewed when less than a fifth is left. Default 600 s. */
  tokenLifespanSec?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  /**
   * Added to each job's environment as SLURM_CONF unless the job sets it (srun inside a job needs it where
   * nodes have no /etc/slurm/slurm.conf, as on the dev cluster). Default: SLURM_CONF of this process, if set.
   */
  slurmConf?: string;
  /** Used for requeue() (no REST operation for it in v0.0.38). Default: a SlurmCliClient with SLURM_CONF from the environment. */
  requeueVia?: Pick<SlurmApi, 'requeue'>;
  fetch?: typeof fetch;
  now?: () => number;
}

type Op<K extends SlurmrestdOperationId> = SlurmrestdOperations[K];
type CallArgs<K extends SlurmrestdOperationId> = {
  path?: Op<K>['pathParams'];
  query?: Op<K>['query'];
  body?: Op<K>['body'];
};

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);
/** Slurm error numbers that mean "the controller/database is not reachable" (slurm_errno.h). */
const UNAVAILABLE_ERRNOS = new Set([1001, 1007, 1008, 1011, 7000, 7001]);
const INVALID_JOB_ID = 2017;

export class SlurmRestClient implements SlurmApi {
  readonly kind = 'rest' as const;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private cachedToken: { token: string; renewAtMs: number } | null = null;
  private requeueVia: Pick<SlurmApi, 'requeue'> | undefined;

  constructor(private readonly opts: SlurmRestOptions) {
    if (!opts.token && !opts.jwtKeyFile) throw new Error('SlurmRestClient needs a token or a jwtKeyFile');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
    this.requeueVia = opts.requeueVia;
  }

  private token(): string {
    if (this.opts.token) return this.opts.token;
    const now = this.now();
    if (this.cachedToken && now < this.cachedToken.renewAtMs) return this.cachedToken.token;
    const lifespan = this.opts.tokenLifespanSec ?? 600;
    const token = mintSlurmJwtFromKeyFile(this.opts.jwtKeyFile!, this.opts.user, lifespan, now);
    this.cachedToken = { token, renewAtMs: now + lifespan * 800 };
    return token;
  }

  /** One typed call of an operation of the generated map. Throws SlurmUnavailableError / SlurmError. */
  async call<K extends SlurmrestdOperationId>(id: K, args: CallArgs<K> = {}): Promise<Op<K>['response']> {
    const { method, path } = SLURMRESTD_OPERATIONS[id];
    const pathParams = (args.path ?? {}) as Record<string, string>;
    let url = this.baseUrl + path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(pathParams[name] ?? '')));
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries((args.query ?? {}) as Record<string, unknown>)) {
      if (v !== undefined && v !== null) query.set(k, String(v));
    }
    if ([...query.keys()].length > 0) url += `?${query.toString()}`;
    const headers: Record<string, string> = {
      'X-SLURM-USER-NAME': this.opts.user,
      'X-SLURM-USER-TOKEN': this.token(),
      Accept: 'application/json',
    };
    if (args.body !== undefined) headers['Content-Type'] = 'application/json';

    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers,
        ...(args.body !== undefined ? { body: JSON.stringify(args.body) } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const code = errorCode(err) ?? describe(err);
      throw new SlurmUnavailableError(
        `slurmrestd at ${this.baseUrl} is not reachable (${code}); ` +
          'is the cluster up? (dev: scripts/slurm-dev-cluster.sh start)',
        err,
      );
    }
    const text = await res.text();
    const what = `${method} ${path.replace(/\{(\w+)\}/g, (_, n: string) => String(pathParams[n] ?? ''))}`;
    if (res.status === 401 || res.status === 403) {
      throw new SlurmError(
        'auth',
        `slurmrestd refused ${what} as user "${this.opts.user}" (HTTP ${res.status}: ${text.trim().slice(0, 200)}). ` +
          'It needs X-SLURM-USER-NAME and a valid X-SLURM-USER-TOKEN, and slurmrestd on TCP must run rest_auth/jwt with SLURM_JWT=daemon.',
        [],
        res.status,
      );
    }
    let body: unknown;
    try {
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new SlurmError('protocol', `${what}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, [], res.status);
    }
    const errors = responseErrors(body);
    if (errors.length > 0 || !res.ok) throw this.classify(what, res.status, errors);
    return body as Op<K>['response'];
  }

  private classify(what: string, status: number, errors: SlurmErrorEntry[]): Error {
    const texts = errors.map((e) => e.text);
    const detail = texts.length > 0 ? texts.join('; ') : `HTTP ${status}`;
    if (errors.some((e) => e.number !== null && UNAVAILABLE_ERRNOS.has(e.number)) || texts.some((t) => /Unable to contact slurm controller|connect failure|Connection refused|Unable to connect to database/i.test(t))) {
      return new SlurmUnavailableError(`${what}: Slurm is unavailable: ${detail}`);
    }
    if (errors.some((e) => e.number === INVALID_JOB_ID)) return new SlurmError('not_found', `${what}: ${detail}`, texts, status);
    if (isControllerUnreachable(errors)) {
      // slurmrestd 22.05 (SLURM_JWT=daemon) reports "controller down" and "token refused by slurmctld" alike.
      return new SlurmUnavailableError(
        `${what}: ${detail} — slurmctld did not answer, or refused the token (wrong jwt key, expired, user mismatch); slurmrestd 22.05 does not say which`,
      );
    }
    return new SlurmError('rejected', `${what}: ${detail}`, texts, status);
  }

  async ping(): Promise<SlurmPing> {
    const ping = mapPings(await this.call('slurm_v0_0_38_ping'));
    if (!ping.controllers.some((c) => c.up)) throw new SlurmUnavailableError(`no slurmctld is up (${JSON.stringify(ping.controllers)})`);
    return ping;
  }

  async listNodes(): Promise<SlurmNode[]> {
    return mapNodes(await this.call('slurm_v0_0_38_get_nodes'));
  }

  async submit(req: SlurmSubmit): Promise<{ jobId: number }> {
    const job = toJobProperties(req, { slurmConf: this.opts.slurmConf ?? process.env.SLURM_CONF });
    // SubmitJobProperties is what 22.05 really reads where the document is wrong (nodes, nodelist).
    const body = { script: req.script, job } satisfies { script: string; job: SubmitJobProperties };
    const res = await this.call('slurm_v0_0_38_submit_job', { body: body as unknown as V0038JobSubmission });
    const jobId = num(res.job_id);
    if (jobId === null || jobId <= 0) throw new SlurmError('protocol', `submit: no job_id in the reply (${JSON.stringify(res).slice(0, 200)})`);
    return { jobId };
  }

  async listJobs(): Promise<SlurmJob[]> {
    return mapJobs(await this.call('slurm_v0_0_38_get_jobs'));
  }

  async cancel(jobId: number, signal?: SlurmSignal): Promise<void> {
    try {
      await this.call('slurm_v0_0_38_cancel_job', { path: { job_id: String(jobId) }, query: signal ? { signal } : {} });
    } catch (err) {
      if (err instanceof SlurmError && err.slurmErrors.some((t) => /already completing or completed/i.test(t))) return;
      // A job that is over is not an error to cancel ("already completing or completed", or for some
      // requests "Invalid job id" while the controller still lists it as finished).
      if (err instanceof SlurmError && err.reason === 'not_found' && (await this.isFinished(jobId))) return;
      throw err;
    }
  }

  private async isFinished(jobId: number): Promise<boolean> {
    const job = (await this.listJobs()).find((j) => j.jobId === jobId);
    return job !== undefined && TERMINAL_JOB_STATES.has(job.state);
  }

  async requeue(jobId: number): Promise<void> {
    this.requeueVia ??= new SlurmCliClient();
    await this.requeueVia.requeue(jobId);
  }

  async accounting(query: SlurmAccountingQuery = {}): Promise<SlurmAccountingRecord[]> {
    let rows;
    if (query.jobIds) {
      const replies = await Promise.all(query.jobIds.map((id) => this.call('slurmdb_v0_0_38_get_job', { path: { job_id: String(id) } })));
      rows = replies.flatMap((r) => r.jobs ?? []);
    } else {
      const since = query.sinceMs ?? 0;
      rows = (await this.call('slurmdb_v0_0_38_get_jobs', { query: { start_time: slurmTimeArg(since) } })).jobs ?? [];
    }
    let records = filterActiveSince(mapAccountingJobs(rows), query.sinceMs);
    // 22.05's JSON reports every normal exit as 0 (see accountingExitStatus); the controller's raw wait status
    // is right, for the jobs it still remembers (MinJobAge).
    if (records.some(lacksExitStatus)) {
      const live = await this.listJobs();
      records = mergeExitStatus(
        records,
        live.filter((j) => TERMINAL_JOB_STATES.has(j.state)).map((j) => ({ jobId: j.jobId, state: j.state, exitCode: j.exitCode, signal: j.signal })),
      );
    }
    return records;
  }
}

/** 'fetch failed: bad port' rather than just 'fetch failed'. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}

function errorCode(err: unknown): string | null {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('UND_ERR'))) return code;
    if ((e as { name?: unknown }).name === 'TimeoutError') return 'timeout';
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * From the environment `scripts/slurm-dev-cluster.sh env` prints: UNIDLE_SLURMRESTD_URL, UNIDLE_SLURM_USER
 * (default root), and UNIDLE_SLURM_JWT_KEY_FILE (preferred) or SLURMRESTD_TOKEN.
 */
export function slurmRestClientFromEnv(env: NodeJS.ProcessEnv = process.env, extra: Partial<SlurmRestOptions> = {}): SlurmRestClient {
  const baseUrl = env.UNIDLE_SLURMRESTD_URL;
  if (!baseUrl) throw new Error('UNIDLE_SLURMRESTD_URL is not set (dev: eval "$(scripts/slurm-dev-cluster.sh env)")');
  const jwtKeyFile = env.UNIDLE_SLURM_JWT_KEY_FILE;
  const token = env.SLURMRESTD_TOKEN;
  return new SlurmRestClient({
    baseUrl,
    user: env.UNIDLE_SLURM_USER ?? 'root',
    ...(jwtKeyFile ? { jwtKeyFile } : token ? { token } : {}),
    ...extra,
  });
}
