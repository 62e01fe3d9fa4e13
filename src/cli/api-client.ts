import { randomUUID } from 'node:crypto';
import type { Static } from 'typebox';
import type * as MS from '../api/market-schemas.js';
import type * as S from '../api/schemas.js';
import type { JobSubmission } from '../domain/job-spec.js';

/** Response types come from the API's own TypeBox schemas, so the CLI cannot drift from the server. */
export type Problem = Static<typeof S.Problem>;
export type Job = Static<typeof S.Job>;
export type JobDetail = Static<typeof S.JobDetail>;
export type JobPage = Static<typeof S.JobPage>;
export type LogPage = Static<typeof S.LogPage>;
export type LogEntry = LogPage['entries'][number];
export type Node = Static<typeof S.Node>;
export type ParkingStatus = Static<typeof S.ParkingStatus>;
export type Device = Static<typeof S.Device>;
export type Center = Static<typeof S.Center>;
export type Tenant = Static<typeof S.Tenant>;
export type Member = Static<typeof S.Member>;
export type ApiKey = Static<typeof S.ApiKey>;
export type CreatedApiKey = Static<typeof S.CreatedApiKey>;
export type Me = Static<typeof S.Me>;
export type UsageReport = Static<typeof S.UsageReport>;
export type UsageRow = UsageReport['rows'][number];
export type JobStateName = Job['state'];
// --- selling and billing
export type PriceList = Static<typeof MS.PriceList>;
export type ModelPriceInput = Static<typeof MS.ModelPriceInput>;
export type MarketSettingsInput = Static<typeof MS.MarketSettingsInput>;
export type QuoteRequest = Static<typeof MS.QuoteRequest>;
export type Quote = Static<typeof MS.Quote>;
export type ReservationInput = Static<typeof MS.ReservationInput>;
export type Reservation = Static<typeof MS.Reservation>;
export type TenantBilling = Static<typeof MS.TenantBilling>;
export type TenantBillingInput = Static<typeof MS.TenantBillingInput>;
export type TopUpInput = Static<typeof MS.TopUpInput>;
export type RefundInput = Static<typeof MS.RefundInput>;
export type TrialBalance = Static<typeof MS.TrialBalance>;
export type Invoice = Static<typeof MS.Invoice>;
export type MarketReport = Static<typeof MS.MarketReport>;
/** Money on the wire: integer micro-units (¥1 = 1000000) and an ISO 4217 code. */
export type MoneyValue = Quote['pricePerHour'];
export type MemberRoleName = Member['role'];

export const TERMINAL_JOB_STATES: readonly JobStateName[] = ['succeeded', 'failed', 'cancelled', 'lost', 'preempted'];
export function isTerminalState(state: string): boolean {
  return (TERMINAL_JOB_STATES as readonly string[]).includes(state);
}

/** The server answered with application/problem+json (or some other non-2xx). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly problems: { field: string; message: string }[];

  constructor(status: number, problem: Partial<Problem> | undefined, fallback: string) {
    const detail = problem?.detail ?? fallback;
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? `http_${status}`;
    this.detail = detail;
    this.problems = Array.isArray(problem?.errors) ? problem.errors : [];
  }

  /** Input the caller can fix: the CLI exits 2 for these, like for bad flags. */
  get isInputError(): boolean {
    return [400, 409, 413, 415, 422].includes(this.status);
  }
}

/** No HTTP answer at all: refused, reset, DNS, timeout. */
export class ConnectionError extends Error {
  readonly server: string;
  readonly reason: string;
  constructor(server: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot reach the Unidle server at ${server} (${reason})`, options);
    this.name = 'ConnectionError';
    this.server = server;
    this.reason = reason;
  }
}

export interface ApiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  apiKey?: string;
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries after network failures and 502/503/504, only for requests that are safe to repeat. Default 2. */
  retries?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether repeating the request after a network failure is harmless (GETs, keyed submissions). */
  idempotent?: boolean;
}

function networkReason(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && e; depth++) {
    if ((e as { name?: string }).name === 'TimeoutError') return 'timed out';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && !code.startsWith('ABORT')) return code;
    if (e instanceof Error && e !== err) message = e.message;
    e = (e as { errors?: unknown[] }).errors?.[0] ?? (e as { cause?: unknown }).cause;
  }
  return message;
}

/**
 * A small typed client of the Unidle HTTP API: global fetch, Bearer auth, JSON in and out, problem
 * responses as ApiError, network failures as ConnectionError. Used by the CLI, tests and benchmarks.
 */
export class ApiClient {
  readonly server: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** A JSON request: the parsed body of a 2xx answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.send(method, path, { accept: 'application/json', ...options });
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return undefined as T;
    }
  }

  /** A request whose 2xx answer is text, not JSON (a printable invoice). Failures are ApiErrors as for `request`. */
  requestText(method: string, path: string, options: RequestOptions & { accept?: string } = {}): Promise<string> {
    return this.send(method, path, { accept: 'text/plain', ...options });
  }

  /** Sends with auth, timeout and retries; returns the body text of a 2xx answer, throws ApiError otherwise. */
  private async send(method: string, path: string, options: RequestOptions & { accept: string }): Promise<string> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: options.accept, ...options.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const idempotent = options.idempotent ?? method === 'GET';
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (err) {
        const reason = networkReason(err);
        // A refused connection means nothing is listening: say so at once rather than retrying.
        if (idempotent && attempt < this.retries && reason !== 'ECONNREFUSED' && reason !== 'ENOTFOUND') {
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          continue;
        }
        throw new ConnectionError(this.server, reason, { cause: err });
      }
      if (idempotent && attempt < this.retries && [502, 503, 504].includes(res.status)) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      const text = await res.text();
      if (!res.ok) {
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        const problem = parsed && typeof parsed === 'object' ? (parsed as Partial<Problem>) : undefined;
        throw new ApiError(res.status, problem, `${method} ${url.pathname} answered ${res.status} ${res.statusText}${text && !problem ? `: ${text.slice(0, 200)}` : ''}`);
      }
      return text;
    }
  }

  // --- inventory
  listCenters(): Promise<{ items: Center[] }> {
    return this.request('GET', '/v1/centers');
  }
  listNodes(query: { centerId?: string } = {}): Promise<{ items: Node[] }> {
    return this.request('GET', '/v1/nodes', { query });
  }
  getNode(idOrName: string): Promise<Node> {
    return this.request('GET', `/v1/nodes/${encodeURIComponent(idOrName)}`);
  }
  setNodeCordon(idOrName: string, action: 'cordon' | 'drain' | 'uncordon', reason?: string): Promise<Node> {
    return this.request('POST', `/v1/nodes/${encodeURIComponent(idOrName)}/${action}`, { body: reason ? { reason } : {} });
  }
  setNodePower(idOrName: string, action: 'park' | 'wake'): Promise<Node> {
    return this.request('POST', `/v1/nodes/${encodeURIComponent(idOrName)}/${action}`, { body: {} });
  }
  setNodeParkVeto(idOrName: string, action: 'forbid-park' | 'allow-park', reason?: string): Promise<Node> {
    return this.request('POST', `/v1/nodes/${encodeURIComponent(idOrName)}/${action}`, { body: reason ? { reason } : {} });
  }
  parkingStatus(): Promise<ParkingStatus> {
    return this.request('GET', '/v1/parking');
  }

  // --- tenants, members, keys
  listTenants(): Promise<{ items: Tenant[] }> {
    return this.request('GET', '/v1/tenants');
  }
  getTenant(idOrName: string): Promise<Tenant> {
    return this.request('GET', `/v1/tenants/${encodeURIComponent(idOrName)}`);
  }
  createTenant(input: { name: string; displayName?: string }): Promise<Tenant> {
    return this.request('POST', '/v1/tenants', { body: input });
  }
  listMembers(tenant: string): Promise<{ items: Member[] }> {
    return this.request('GET', `/v1/tenants/${encodeURIComponent(tenant)}/members`);
  }
  addMember(tenant: string, input: { name: string; email?: string; role?: 'member' | 'tenant-admin' }): Promise<Member> {
    return this.request('POST', `/v1/tenants/${encodeURIComponent(tenant)}/members`, { body: input });
  }
  listKeys(query: { tenantId?: string } = {}): Promise<{ items: ApiKey[] }> {
    return this.request('GET', '/v1/keys', { query });
  }
  createKey(input: { name?: string; memberId?: string }): Promise<CreatedApiKey> {
    return this.request('POST', '/v1/keys', { body: input });
  }
  createAgentToken(center: string, input: { name?: string } = {}): Promise<CreatedApiKey> {
    return this.request('POST', `/v1/centers/${encodeURIComponent(center)}/agent-tokens`, { body: input });
  }
  me(): Promise<Me> {
    return this.request('GET', '/v1/me');
  }
  revokeKey(id: string): Promise<ApiKey> {
    return this.request('POST', `/v1/keys/${encodeURIComponent(id)}/revoke`, { body: {} });
  }

  // --- jobs
  /** Submits a job; a key is always sent (a fresh UUID when none is given) so a retry cannot duplicate it. */
  submitJob(body: JobSubmission, idempotencyKey: string = randomUUID()): Promise<Job> {
    return this.request('POST', '/v1/jobs', { body, headers: { 'idempotency-key': idempotencyKey }, idempotent: true });
  }
  listJobs(query: { state?: string; tenantId?: string; nodeId?: string; limit?: number; cursor?: string } = {}): Promise<JobPage> {
    return this.request('GET', '/v1/jobs', { query });
  }
  getJob(id: string): Promise<JobDetail> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }
  cancelJob(id: string, reason?: string): Promise<Job> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`, { body: reason ? { reason } : {} });
  }
  jobLogs(id: string, query: { after?: number; limit?: number; stream?: 'stdout' | 'stderr' } = {}): Promise<LogPage> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/logs`, { query });
  }

  // --- usage
  usage(query: { tenantId?: string; jobId?: string; from?: number; to?: number; groupBy?: string; period?: string } = {}): Promise<UsageReport> {
    return this.request('GET', '/v1/usage', { query });
  }

  // --- market: prices, quotes, reservations
  listPrices(): Promise<PriceList> {
    return this.request('GET', '/v1/prices');
  }
  setModelPrice(model: string, input: ModelPriceInput): Promise<PriceList> {
    return this.request('PUT', `/v1/prices/${encodeURIComponent(model)}`, { body: input });
  }
  updateMarketSettings(input: MarketSettingsInput): Promise<PriceList> {
    return this.request('PATCH', '/v1/market/settings', { body: input });
  }
  /** Commits to nothing, so repeating it is harmless. */
  quote(input: QuoteRequest): Promise<Quote> {
    return this.request('POST', '/v1/quotes', { body: input, idempotent: true });
  }
  /** Buys a reservation; a key is always sent (a fresh UUID when none is given) so a retry cannot buy twice. */
  createReservation(input: ReservationInput, idempotencyKey: string = randomUUID()): Promise<Reservation> {
    return this.request('POST', '/v1/reservations', { body: input, headers: { 'idempotency-key': idempotencyKey }, idempotent: true });
  }
  listReservations(query: { tenantId?: string } = {}): Promise<{ items: Reservation[] }> {
    return this.request('GET', '/v1/reservations', { query });
  }

  // --- billing (tenant ids, not names)
  tenantBilling(tenantId: string): Promise<TenantBilling> {
    return this.request('GET', `/v1/tenants/${encodeURIComponent(tenantId)}/billing`);
  }
  updateTenantBilling(tenantId: string, input: TenantBillingInput): Promise<TenantBilling> {
    return this.request('PATCH', `/v1/tenants/${encodeURIComponent(tenantId)}/billing`, { body: input });
  }
  /** Records money paid in; a key is always sent (a fresh UUID when none is given) so a retry cannot post it twice. */
  topUp(tenantId: string, input: TopUpInput, idempotencyKey: string = randomUUID()): Promise<TenantBilling> {
    return this.request('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/top-ups`, { body: input, headers: { 'idempotency-key': idempotencyKey }, idempotent: true });
  }
  refund(tenantId: string, input: RefundInput): Promise<TenantBilling> {
    return this.request('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/refunds`, { body: input });
  }
  invoice(tenantId: string, period: string): Promise<Invoice> {
    return this.request('GET', `/v1/tenants/${encodeURIComponent(tenantId)}/invoices/${encodeURIComponent(period)}`, { query: { format: 'json' } });
  }
  /** The printable invoice as an HTML document. */
  invoiceHtml(tenantId: string, period: string): Promise<string> {
    return this.requestText('GET', `/v1/tenants/${encodeURIComponent(tenantId)}/invoices/${encodeURIComponent(period)}`, { query: { format: 'html' }, accept: 'text/html' });
  }
  marketReport(query: { from?: number; to?: number } = {}): Promise<MarketReport> {
    return this.request('GET', '/v1/reports/market', { query });
  }
  trialBalance(): Promise<TrialBalance> {
    return this.request('GET', '/v1/ledger/trial-balance');
  }
}
