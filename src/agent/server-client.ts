import type { DeviceSample } from '../energy/telemetry/sample.js';
import type {
  FinishedAck,
  FinishedReport,
  HeartbeatRequest,
  HeartbeatResponse,
  LogAck,
  LogChunk,
  RegisterRequest,
  RegisterResponse,
  StartedReport,
} from './protocol.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The server answered with a 4xx: retrying the same request will not help. */
export class AgentRequestError extends Error {
  readonly status: number;
  /** problem+json `code` (e.g. `not_found`), when the body had one. */
  readonly code: string | null;
  readonly detail: string | null;
  readonly retryable = false;

  constructor(method: string, path: string, status: number, code: string | null, detail: string | null) {
    super(`${method} ${path} → ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'AgentRequestError';
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Network failure, timeout or 5xx: the server may be restarting, so the caller should retry later. */
export class AgentUnavailableError extends Error {
  readonly status: number | null;
  /** What went wrong regardless of endpoint (`HTTP 503`, `ECONNREFUSED`, `timeout`), for "log once per outage". */
  readonly reason: string;
  readonly retryable = true;

  constructor(message: string, status: number | null, reason: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentUnavailableError';
    this.status = status;
    this.reason = reason;
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AgentUnavailableError;
}

export interface ServerClientOptions {
  serverUrl: string;
  token: string;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

export interface CallOptions {
  /** Aborts the request early (agent shutting down); the error is then retryable like a timeout. */
  signal?: AbortSignal;
}

/** Device readings as POST /v1/agent/telemetry takes them (units per DESIGN.md: mW, mJ, MiB). */
export interface TelemetryReportBody {
  nodeId: string;
  samples: DeviceSample[];
}

/** Typed client for the `/v1/agent` endpoints; one method per endpoint, bodies per protocol.ts. */
export class ServerClient {
  private readonly base: string;
  private readonly token: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: ServerClientOptions) {
    this.base = options.serverUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetchImpl ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  register(body: RegisterRequest, opts?: CallOptions): Promise<RegisterResponse> {
    return this.post('/v1/agent/register', body, opts);
  }

  heartbeat(body: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResponse> {
    return this.post('/v1/agent/heartbeat', body, opts);
  }

  started(jobId: string, body: StartedReport, opts?: CallOptions): Promise<unknown> {
    return this.post(`/v1/agent/jobs/${encodeURIComponent(jobId)}/started`, body, opts);
  }

  logs(jobId: string, body: LogChunk, opts?: CallOptions): Promise<LogAck> {
    return this.post(`/v1/agent/jobs/${encodeURIComponent(jobId)}/logs`, body, opts);
  }

  telemetry(body: TelemetryReportBody, opts?: CallOptions): Promise<{ accepted: number; duplicates: number }> {
    return this.post('/v1/agent/telemetry', body, opts);
  }

  finished(jobId: string, body: FinishedReport, opts?: CallOptions): Promise<FinishedAck> {
    return this.post(`/v1/agent/jobs/${encodeURIComponent(jobId)}/finished`, body, opts);
  }

  private async post<T>(path: string, body: unknown, opts?: CallOptions): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts?.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/json',
          accept: 'application/json, application/problem+json',
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      const what = describeNetworkError(err, timeout.aborted, this.timeoutMs);
      throw new AgentUnavailableError(`POST ${path}: ${what.message}`, null, what.reason, { cause: err });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      const what = describeNetworkError(err, timeout.aborted, this.timeoutMs);
      throw new AgentUnavailableError(`POST ${path}: reading the response failed: ${what.message}`, res.status, what.reason, { cause: err });
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      // 429/408 are the server telling us "later", which is exactly what retryable means.
      const { detail } = parseProblem(text);
      throw new AgentUnavailableError(`POST ${path} → ${res.status}${detail ? `: ${detail}` : ''}`, res.status, `HTTP ${res.status}`);
    }
    if (res.status >= 400) {
      const { code, detail } = parseProblem(text);
      throw new AgentRequestError('POST', path, res.status, code, detail ?? (text.slice(0, 200) || null));
    }
    if (text === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // A proxy's HTML page on a 2xx is not something we can act on; treat it as the server being unwell.
      throw new AgentUnavailableError(`POST ${path} → ${res.status} with a body that is not JSON`, res.status, 'non-JSON answer');
    }
  }
}

function parseProblem(text: string): { code: string | null; detail: string | null } {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const o = body as Record<string, unknown>;
      const code = typeof o.code === 'string' ? o.code : null;
      const detail = typeof o.detail === 'string' ? o.detail : typeof o.message === 'string' ? o.message : null;
      return { code, detail };
    }
  } catch {
    // not JSON: fall through
  }
  return { code: null, detail: null };
}

function describeNetworkError(err: unknown, timedOut: boolean, timeoutMs: number): { message: string; reason: string } {
  if (timedOut) return { message: `no answer within ${timeoutMs} ms`, reason: 'timeout' };
  if (err instanceof Error) {
    if (err.name === 'AbortError') return { message: 'aborted', reason: 'aborted' };
    // undici hides the useful part (ECONNREFUSED…) in `cause`.
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? { message: `${code} (${cause.message})`, reason: code } : { message: cause.message, reason: cause.message };
    }
    return { message: err.message, reason: err.message };
  }
  return { message: String(err), reason: String(err) };
}
