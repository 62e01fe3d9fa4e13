import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRequestError, AgentUnavailableError, ServerClient, isRetryable } from './server-client.js';

let server: Server;
let url: string;
let seen: { method?: string; url?: string; auth?: string; body: string }[];
let answer: (path: string) => { status: number; body: string };

beforeEach(async () => {
  seen = [];
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += String(c);
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
    const a = answer(req.url ?? '');
    if (a.status === 0) return; // never answer: exercises the timeout
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('ServerClient', () => {
  it('posts JSON with the bearer token to the agent endpoints', async () => {
    answer = () => ({ status: 200, body: '{"nextOffset":5}' });
    const c = new ServerClient({ serverUrl: url, token: 'tok' });
    expect(await c.logs('job_1', { nodeId: 'n', stream: 'stdout', offset: 0, dataBase64: 'aGVsbG8=' })).toEqual({ nextOffset: 5 });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/agent/jobs/job_1/logs', auth: 'Bearer tok' });
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ stream: 'stdout', dataBase64: 'aGVsbG8=' });
    await c.heartbeat({ nodeId: 'n', at: 1, running: [] });
    await c.finished('job_1', { nodeId: 'n', cause: 'exited', exitCode: 0, signal: null, startedAt: 1, endedAt: 2, message: null });
    expect(seen.map((s) => s.url)).toEqual(['/v1/agent/jobs/job_1/logs', '/v1/agent/heartbeat', '/v1/agent/jobs/job_1/finished']);
  });

  it('4xx is a non-retryable error carrying the problem code and detail', async () => {
    answer = () => ({ status: 409, body: '{"type":"about:blank","status":409,"code":"invalid_state","detail":"job already finished"}' });
    const c = new ServerClient({ serverUrl: url, token: 'tok' });
    const err = await c.finished('j', { nodeId: 'n', cause: 'exited', exitCode: 0, signal: null, startedAt: 1, endedAt: 2, message: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentRequestError);
    expect(err).toMatchObject({ status: 409, code: 'invalid_state', detail: 'job already finished' });
    expect(isRetryable(err)).toBe(false);
  });

  it('5xx, refused connections and timeouts are retryable', async () => {
    answer = () => ({ status: 503, body: '{"detail":"restarting"}' });
    const c = new ServerClient({ serverUrl: url, token: 'tok', timeoutMs: 300 });
    const e503 = await new ServerClient({ serverUrl: url, token: 'tok' }).heartbeat({ nodeId: 'n', at: 1, running: [] }).catch((e: unknown) => e);
    expect(e503).toBeInstanceOf(AgentUnavailableError);
    expect((e503 as Error).message).toContain('503: restarting');
    expect(e503).toMatchObject({ status: 503, reason: 'HTTP 503' });

    answer = () => ({ status: 0, body: '' });
    const slow = await c.heartbeat({ nodeId: 'n', at: 1, running: [] }).catch((e: unknown) => e);
    expect(isRetryable(slow)).toBe(true);
    expect((slow as Error).message).toContain('no answer within 300 ms');

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = new ServerClient({ serverUrl: `http://127.0.0.1:${closedPort}`, token: 'tok' });
    const eRefused = await refused.heartbeat({ nodeId: 'n', at: 1, running: [] }).catch((e: unknown) => e);
    expect(isRetryable(eRefused)).toBe(true);
    expect((eRefused as Error).message).toContain('ECONNREFUSED');
  });
});
