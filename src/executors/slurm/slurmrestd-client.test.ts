import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSlurmJwt } from './jwt.js';
import { SlurmError, SlurmUnavailableError } from './slurm-api.js';
import { SlurmRestClient } from './slurmrestd-client.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(respond: (req: Seen) => { status?: number; body: unknown } | Error) {
  const seen: Seen[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const req: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: init?.headers as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    seen.push(req);
    const r = respond(req);
    if (r instanceof Error) throw r;
    return new Response(typeof r.body === 'string' ? r.body : JSON.stringify(r.body), { status: r.status ?? 200 });
  }) as typeof fetch;
  return { fn, seen };
}

const keyFile = join(mkdtempSync(join(tmpdir(), 'unidle-jwt-')), 'jwt.key');
writeFileSync(keyFile, Buffer.alloc(32, 7));

describe('SlurmRestClient', () => {
  it('sends the user and a minted token, and renews the token before it expires', async () => {
    let now = 1_795_000_000_000;
    const { fn, seen } = fakeFetch(() => ({ body: JSON.parse(fixture('rest-ping.json')) }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm:16819/', user: 'root', jwtKeyFile: keyFile, tokenLifespanSec: 100, fetch: fn, now: () => now });
    expect(await api.ping()).toEqual({ controllers: [{ hostname: 'vm', mode: 'primary', up: true }] });
    expect(seen[0]!.url).toBe('http://slurm:16819/slurm/v0.0.38/ping');
    expect(seen[0]!.headers['X-SLURM-USER-NAME']).toBe('root');
    const first = seen[0]!.headers['X-SLURM-USER-TOKEN']!;
    expect(decodeSlurmJwt(first)).toEqual({ iat: 1_795_000_000, exp: 1_795_000_100, sun: 'root' });
    now += 50_000;
    await api.ping();
    expect(seen[1]!.headers['X-SLURM-USER-TOKEN']).toBe(first);
    now += 40_000;
    await api.ping();
    expect(decodeSlurmJwt(seen[2]!.headers['X-SLURM-USER-TOKEN']!).iat).toBe(1_795_000_090);
  });

  it('submits {script, job} and returns the job id', async () => {
    const { fn, seen } = fakeFetch(() => ({ body: { errors: [], job_id: 527, step_id: 'BATCH' } }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn, slurmConf: '/s/slurm.conf' });
    const res = await api.submit({
      name: 'j',
      script: '#!/bin/bash\ntrue\n',
      partition: 'batch',
      nodeList: ['n2'],
      gres: 'gpu:h100:2',
      workDir: '/w',
      stdoutPath: '/w/o',
      stderrPath: '/w/e',
      environment: { PATH: '/bin' },
    });
    expect(res).toEqual({ jobId: 527 });
    expect(seen[0]).toMatchObject({ method: 'POST', url: 'http://slurm/slurm/v0.0.38/job/submit' });
    expect(seen[0]!.headers['Content-Type']).toBe('application/json');
    expect(seen[0]!.body).toEqual({
      script: '#!/bin/bash\ntrue\n',
      job: {
        name: 'j',
        partition: 'batch',
        nodelist: 'n2',
        gres: 'gpu:h100:2',
        current_working_directory: '/w',
        standard_output: '/w/o',
        standard_error: '/w/e',
        environment: { PATH: '/bin', SLURM_CONF: '/s/slurm.conf' },
      },
    });
  });

  it('cancels with DELETE and a signal name in the query', async () => {
    const { fn, seen } = fakeFetch(() => ({ body: { errors: [] } }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn });
    await api.cancel(42, 'TERM');
    await api.cancel(43);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['DELETE http://slurm/slurm/v0.0.38/job/42?signal=TERM', 'DELETE http://slurm/slurm/v0.0.38/job/43']);
  });

  it('turns a refused connection into SlurmUnavailableError', async () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:16819'), { code: 'ECONNREFUSED' }) });
    const { fn } = fakeFetch(() => refused);
    const api = new SlurmRestClient({ baseUrl: 'http://127.0.0.1:16819', user: 'root', token: 't', fetch: fn });
    const err = await api.listJobs().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:16819 is not reachable \(ECONNREFUSED\).*slurm-dev-cluster\.sh start/);
    expect((err as SlurmUnavailableError).code).toBe('unavailable');
  });

  it('explains a 401', async () => {
    const { fn } = fakeFetch(() => ({ status: 401, body: 'Authentication failure' }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn });
    const err = await api.listNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlurmError);
    expect(err).toMatchObject({ reason: 'auth', httpStatus: 401 });
    expect((err as Error).message).toMatch(/refused GET \/slurm\/v0\.0\.38\/nodes as user "root" \(HTTP 401: Authentication failure\).*X-SLURM-USER-TOKEN.*SLURM_JWT=daemon/);
  });

  it('maps an unknown job to not_found, and a silent controller to SlurmUnavailableError', async () => {
    const { fn } = fakeFetch((req) =>
      req.url.includes('/job/')
        ? { status: 500, body: { errors: [{ description: 'Unable to find JobId=9', error_number: 2017, error: 'Invalid job id specified', source: 'slurm_load_job' }] } }
        : { status: 500, body: { errors: [{ description: 'Failed while looking for jobs', error_number: -1, error: 'Unspecified error', source: 'slurm_load_jobs' }] } },
    );
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn });
    await expect(api.call('slurm_v0_0_38_get_job', { path: { job_id: '9' } })).rejects.toMatchObject({ name: 'SlurmError', reason: 'not_found', code: 'not_found' });
    await expect(api.listJobs()).rejects.toBeInstanceOf(SlurmUnavailableError);
    await expect(api.cancel(9)).rejects.toBeInstanceOf(SlurmUnavailableError); // cancel fails, then the job list can't be read
  });

  it('asks slurmdb by uts start time and takes exit codes the JSON gets wrong from the controller', async () => {
    const sacct = JSON.parse(fixture('sacct.json')) as unknown;
    const squeue = JSON.parse(fixture('squeue.json')) as unknown;
    const { fn, seen } = fakeFetch((req) => ({ body: req.url.includes('/slurmdb/') ? sacct : squeue }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn });
    const records = await api.accounting({ sinceMs: 1_795_912_000_000 });
    expect(seen[0]!.url).toBe('http://slurm/slurmdb/v0.0.38/jobs?start_time=uts1795912000');
    expect(seen[1]!.url).toBe('http://slurm/slurm/v0.0.38/jobs');
    expect(records.find((r) => r.jobId === 14)).toMatchObject({ state: 'FAILED', exitCode: 3 });
  });

  it('requeues through the injected CLI path (v0.0.38 has no requeue operation)', async () => {
    const calls: number[] = [];
    const { fn, seen } = fakeFetch(() => ({ body: {} }));
    const api = new SlurmRestClient({ baseUrl: 'http://slurm', user: 'root', token: 't', fetch: fn, requeueVia: { requeue: async (id) => void calls.push(id) } });
    await api.requeue(7);
    expect(calls).toEqual([7]);
    expect(seen).toHaveLength(0);
  });
});
