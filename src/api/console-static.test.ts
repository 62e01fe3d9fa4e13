import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConsole } from './console-static.js';
import type { App } from './app.js';

describe('the console static files', () => {
  let dir: string;
  let app: App;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unidle-console-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(dir, 'assets', 'app-abc123.js.map'), '{}');
    app = Fastify() as unknown as App;
    app.get('/v1/jobs', async () => ({ items: [] }));
    app.get('/openapi.json', async () => ({ openapi: '3.1.0' }));
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'not_found' }));
    registerConsole(app, { dir });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  it('serves index.html at / and for client routes, with a CSP and no caching', async () => {
    for (const url of ['/', '/overview', '/jobs/job_01ABC', '/signin?next=%2Fjobs']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('id="root"');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    }
  });

  it('serves hashed assets for good, gzipped when asked, and never source maps', async () => {
    const plain = await get('/assets/app-abc123.js');
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/text\/javascript/);
    expect(plain.headers['cache-control']).toContain('immutable');
    const gz = await get('/assets/app-abc123.js', { 'accept-encoding': 'gzip, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect((await get('/assets/app-abc123.js.map')).statusCode).toBe(404);
    expect((await get('/assets/missing.js')).statusCode).toBe(404);
    expect((await get('/favicon.ico')).statusCode).toBe(404);
  });

  it('leaves the API paths to the API', async () => {
    expect((await get('/v1/jobs')).json()).toEqual({ items: [] });
    expect((await get('/openapi.json')).json()).toEqual({ openapi: '3.1.0' });
    for (const url of ['/v1/nope', '/v1', '/docs/missing', '/metrics/x', '/healthz/x']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toEqual({ code: 'not_found' });
    }
  });
});
