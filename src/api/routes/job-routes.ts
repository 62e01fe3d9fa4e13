import { Type } from 'typebox';
import type { JobState } from '../../domain/job.js';
import type { ControlPlane } from '../../control/control-plane.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 404: S.Problem, 409: S.Problem, 413: S.Problem, 422: S.Problem };

export function registerJobRoutes(app: App, control: ControlPlane): void {
  app.post(
    '/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job',
        description:
          'Queues a job. Send an `Idempotency-Key` header to make retries safe: the same key and body return the first job (200, `Idempotent-Replayed: true`); the same key with another body is a 409.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
        body: S.JobSubmission,
        response: { 201: S.Job, 200: S.Job, ...problems },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { job, created } = await control.jobs.submit(principalOf(request), request.body, typeof key === 'string' ? key : undefined);
      if (!created) reply.header('Idempotent-Replayed', 'true');
      return reply.code(created ? 201 : 200).header('Location', `/v1/jobs/${job.id}`).send(job);
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, newest first',
        description: 'Cursor pagination: pass `nextCursor` back as `cursor`. Tenants see their own jobs; operators see all and may filter by tenant.',
        querystring: S.JobListQuery,
        response: { 200: S.JobPage, ...problems },
      },
    },
    async (request) => {
      const q = request.query;
      return control.jobs.list(principalOf(request), {
        state: q.state ? (q.state.split(',').map((s) => s.trim()).filter(Boolean) as JobState[]) : undefined,
        tenantId: q.tenantId,
        nodeId: q.nodeId,
        createdAfter: q.createdAfter,
        createdBefore: q.createdBefore,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  app.get(
    '/v1/jobs/:id',
    { schema: { tags: ['jobs'], summary: 'A job with its devices, transitions and usage so far', params: S.IdParams, response: { 200: S.JobDetail, ...problems } } },
    async (request) => control.jobs.get(principalOf(request), request.params.id),
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a job',
        description: 'Queued jobs end at once; scheduled and running ones get SIGTERM, a grace period, then SIGKILL.',
        params: S.IdParams,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })),
        response: { 200: S.Job, ...problems },
      },
    },
    async (request) => control.jobs.cancel(principalOf(request), request.params.id, request.body?.reason),
  );

  app.get(
    '/v1/jobs/:id/logs',
    {
      schema: {
        tags: ['jobs'],
        summary: "A job's output",
        description: 'Entries in arrival order; poll with `after` = the last `next` to follow.',
        params: S.IdParams,
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
            stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: S.LogPage, ...problems },
      },
    },
    async (request) => control.jobs.logs(principalOf(request), request.params.id, request.query),
  );
}
