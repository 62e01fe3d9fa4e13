import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { UnidleError } from '../domain/errors.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { Principal } from '../control/principal.js';
import { sendProblem, toUnidleError } from './errors.js';
import * as S from './schemas.js';
import { registerAgentRoutes } from './routes/agent-routes.js';
import { renderPrometheus } from './prometheus-text.js';
import { registerIdleRoutes } from './routes/idle-routes.js';
import { registerInventoryRoutes } from './routes/inventory-routes.js';
import { registerJobRoutes } from './routes/job-routes.js';
import { registerMarketRoutes } from './routes/market-routes.js';
import { registerTenantRoutes } from './routes/tenant-routes.js';
import { registerUsageRoutes } from './routes/usage-routes.js';
import { registerTimelineRoutes } from './routes/timeline-routes.js';
import { registerDemandRoutes } from './routes/demand-routes.js';
import { registerConsole } from './console-static.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AppOptions {
  control: ControlPlane;
  version: string;
  /** pino options or false; tests pass false. */
  logger?: boolean | object;
  /** Where server-side failures (500s) are reported; callers' mistakes (4xx) are not logged. */
  errorLog?: { error(obj: object, msg?: string): void };
  /** Largest accepted body. Above the job limits on purpose, so oversize fields get a field-level answer. */
  bodyLimit?: number;
}

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

/**
 * Bodies are validated strictly (a string is not a number); query strings and headers are text by
 * nature, so their numbers are coerced.
 */
function validatorCompiler() {
  const strict = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false });
  const lenient = new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false });
  const addFormats = addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv };
  addFormats.default(strict);
  addFormats.default(lenient);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? strict.compile(schema) : lenient.compile(schema));
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnidleError('unauthorized', 'send Authorization: Bearer <API key>');
  return request.principal;
}

export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    ajv: {},
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());
  app.decorateRequest('principal', null);

  for (const schema of [S.Problem, S.Job, S.JobDetail, S.JobPage, S.LogPage, S.Device, S.Node, S.ParkingStatus, S.Center, S.Tenant, S.Member, S.ApiKey, S.CreatedApiKey, S.Me, S.AuditEvent, S.UsageReport, S.JobSubmission]) {
    app.addSchema(schema);
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Unidle API',
        version: options.version,
        description:
          'Sell, schedule, meter and bill GPU capacity. Authenticate with `Authorization: Bearer <API key>`. Units: milli-GPU (1000 = one GPU), milli-CPU, MiB, milliseconds since the epoch. Errors are application/problem+json with a stable `code`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((err, request, reply) => {
    const error = toUnidleError(err as Error);
    if (error.code === 'internal') (options.errorLog ?? request.log).error({ err, method: request.method, url: request.url }, 'request failed');
    return sendProblem(reply, error, request);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new UnidleError('not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /docs`), request));

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/') && request.url.split('?')[0] !== '/metrics') return;
    const header = request.headers.authorization;
    if (!header) throw new UnidleError('unauthorized', 'send Authorization: Bearer <API key> (get one from `unidle up` or `unidle keys create`)');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnidleError('unauthorized', 'the Authorization header must be "Bearer <API key>"');
    request.principal = await options.control.keys.authenticate(m[1]!);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Prometheus scrapes with the operator key as its bearer token (`authorization` in the scrape config).
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderPrometheus(await options.control.metrics.collect(principalOf(request)))),
  );
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true, version: options.version, leader: options.control.isLeader, database: options.control.store.dialect }));

  registerInventoryRoutes(app, options.control);
  registerTenantRoutes(app, options.control);
  registerJobRoutes(app, options.control);
  registerUsageRoutes(app, options.control);
  registerMarketRoutes(app, options.control);
  registerAgentRoutes(app, options.control);
  registerIdleRoutes(app, options.control);
  registerTimelineRoutes(app, options.control);
  registerDemandRoutes(app, options.control);
  registerConsole(app);
  return app;
}
