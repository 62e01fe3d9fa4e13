import type { components, paths } from './schema.gen.js';

/**
 * A typed fetch over the API: paths, parameters, bodies and responses all come from schema.gen.ts,
 * which `npm run gen:api` generates from the server's own OpenAPI document.
 */
export type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Params<O> = O extends { parameters: infer X } ? X : Record<string, never>;
type QueryOf<O> = Params<O> extends { query?: infer Q } ? ([Q] extends [never] | [undefined] ? undefined : Q) : undefined;
type PathOf<O> = Params<O> extends { path: infer Q } ? ([Q] extends [never] | [undefined] ? undefined : Q) : undefined;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : undefined;
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Ok<O> = O extends { responses: infer R } ? (R extends { 200: infer A } ? Json<A> : R extends { 201: infer B } ? Json<B> : unknown) : unknown;
/** The 200 (or 201) body of an operation, e.g. `ApiResponse<'/v1/jobs', 'get'>`. */
export type ApiResponse<P extends keyof paths, M extends Method = 'get'> = Ok<Op<P, M>>;

export interface RequestOptions<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface Api {
  request<P extends keyof paths, M extends Method>(method: M, path: P, options?: RequestOptions<Op<P, M>>): Promise<Ok<Op<P, M>>>;
  get<P extends keyof paths>(path: P, options?: RequestOptions<Op<P, 'get'>>): Promise<Ok<Op<P, 'get'>>>;
  /** Raw text (e.g. the printable invoice). */
  text(url: string, accept: string): Promise<string>;
}

export function buildUrl(path: string, params?: object, query?: object): string {
  let url = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String((params as Record<string, unknown> | undefined)?.[k] ?? '')));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  if (qs) url += `?${qs}`;
  return url;
}

export function createApi(getKey: () => string | null, onUnauthorized: () => void): Api {
  async function call(method: string, url: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const key = getKey();
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (key) h.authorization = `Bearer ${key}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(url, { method: method.toUpperCase(), headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
    if (!res.ok) {
      let problem: { code?: string; detail?: string; title?: string; errors?: { field: string; message: string }[] } = {};
      try {
        problem = (await res.json()) as typeof problem;
      } catch {
        // not problem+json
      }
      if (res.status === 401) onUnauthorized();
      throw new ApiError(res.status, problem.code ?? `http_${res.status}`, problem.detail ?? problem.title ?? res.statusText, problem.errors ?? []);
    }
    return res;
  }
  const api: Api = {
    async request(method, path, options = {}) {
      const url = buildUrl(path as string, options.path as object | undefined, options.query as object | undefined);
      const res = await call(method, url, options.body, options.headers ?? {}, options.signal);
      return (await res.json()) as never;
    },
    get: (path, options) => api.request('get', path, options),
    async text(url, accept) {
      const res = await call('get', url, undefined, { accept }, undefined);
      return res.text();
    },
  };
  return api;
}
