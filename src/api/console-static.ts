import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from './app.js';

/** Where `npm run build` puts the console (web/vite.config.ts): <repo>/dist/console, from src/api or dist/api alike. */
export const DEFAULT_CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'console');

/** Paths the API owns: never answered with the console, even when nothing matches there. */
const API_PREFIXES = ['/v1/', '/v1', '/docs', '/openapi.json', '/metrics', '/healthz'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt', '.webmanifest']);

// ECharts sets inline styles on its own elements, hence 'unsafe-inline' for styles only.
const HTML_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  immutable: boolean;
}

function loadDir(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const ext = extname(name).toLowerCase();
        if (ext === '.map') continue; // never served, even if a dev build left one
        const body = readFileSync(full);
        const url = '/' + relative(dir, full).split(sep).join('/');
        const gz = COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body) : null;
        files.set(url, { body, gzip: gz && gz.length < body.length ? gz : null, type: TYPES[ext] ?? 'application/octet-stream', immutable: url.startsWith('/assets/') });
      }
    }
  };
  walk(dir);
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Unidle</title>
<p>The web console is not built. Run <code>npm run build</code> (or <code>npm install</code>) and restart.
The API is at <a href="/docs">/docs</a>.</p>`;

/**
 * Serves the web console (React, built by Vite) at `/`: its files from memory, gzipped when the client
 * accepts it, hashed assets cached for good, and `index.html` for any other page path so client-side
 * routes load on a reload. API paths (`/v1/*`, `/docs`, `/openapi.json`, `/metrics`, `/healthz`) are
 * left to the API: an unknown one still gets the API's problem+json 404.
 */
export function registerConsole(app: App, options: { dir?: string } = {}): void {
  const dir = options.dir ?? process.env.UNIDLE_CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR;
  const files = existsSync(join(dir, 'index.html')) ? loadDir(dir) : new Map<string, StaticFile>();
  const index = files.get('/index.html');

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile) => {
    reply.type(file.type).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
    reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (file.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(file.gzip);
    return reply.send(file.body);
  };
  const sendIndex = (request: FastifyRequest, reply: FastifyReply) => {
    if (!index) return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT);
    reply.headers(HTML_HEADERS);
    return send(request, reply, { ...index, immutable: false });
  };

  app.get('/', { schema: { hide: true } }, async (request, reply) => sendIndex(request, reply));
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (API_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`))) return reply.callNotFound();
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return reply.callNotFound();
    }
    const file = files.get(decoded);
    if (file && decoded !== '/index.html') return send(request, reply, file);
    // A missing file (it has an extension, or lives under /assets/) is a 404, not the app.
    if (decoded.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(decoded)) return reply.callNotFound();
    return sendIndex(request, reply);
  });
}
