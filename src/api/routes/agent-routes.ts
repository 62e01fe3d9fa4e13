import { Type } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import type { FinishedReport, HeartbeatRequest, LogChunk, RegisterRequest, StartedReport } from '../../agent/protocol.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const Int = Type.Integer({ minimum: 0 });
const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 404: S.Problem, 409: S.Problem, 422: S.Problem };
const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const Reading = Type.Object(
  {
    deviceIndex: Int,
    at: Int,
    uuid: Type.Optional(S.Nullable(Type.String({ maxLength: 128 }))),
    utilizationPct: S.Nullable(Type.Integer()),
    memoryUsedMib: S.Nullable(Type.Integer()),
    powerMilliwatts: S.Nullable(Type.Integer()),
    energyMillijoules: S.Nullable(Type.Integer()),
    temperatureC: S.Nullable(Type.Integer()),
    smClockMhz: S.Nullable(Type.Integer()),
    pstate: S.Nullable(Type.String({ maxLength: 8 })),
  },
  { additionalProperties: false },
);

/** The agent protocol (src/agent/protocol.ts) over HTTP; agent tokens only. */
export function registerAgentRoutes(app: App, control: ControlPlane): void {
  app.post(
    '/v1/agent/telemetry',
    {
      schema: {
        tags: ['agent'],
        summary: "A node agent reports its devices' telemetry (power mW, energy mJ, utilisation %, memory MiB)",
        description: 'Idempotent: a sample is kept once per device and instant, so a retried report adds nothing.',
        body: Type.Object({ nodeId: Type.String(), samples: Type.Array(Reading, { maxItems: 10_000 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ accepted: Type.Integer(), duplicates: Type.Integer() }), ...problems },
      },
    },
    async (request) => control.telemetry.ingest(principalOf(request), request.body),
  );

  app.post(
    '/v1/agent/register',
    {
      schema: {
        tags: ['agent'],
        summary: 'A node agent announces its node and devices',
        body: Type.Object(
          {
            nodeName: Type.String({ minLength: 1, maxLength: 63 }),
            hostname: Type.String({ maxLength: 255 }),
            agentVersion: Type.String({ maxLength: 64 }),
            cpuMilli: Int,
            memoryMib: Int,
            devices: Type.Array(
              Type.Object({ index: Int, uuid: Type.String({ maxLength: 128 }), name: Type.String({ maxLength: 128 }), model: Type.String({ maxLength: 64 }), memoryMib: Int }),
              { maxItems: 64 },
            ),
            runningJobIds: Type.Array(Type.String(), { maxItems: 10000 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ nodeId: Type.String(), centerId: Type.String(), heartbeatIntervalMs: Type.Integer() }), ...problems },
      },
    },
    async (request) => control.agents.register(principalOf(request), request.body as RegisterRequest),
  );

  app.post(
    '/v1/agent/heartbeat',
    {
      schema: {
        tags: ['agent'],
        summary: 'Agent heartbeat: confirms running jobs, returns what to start and stop',
        body: Type.Object(
          { nodeId: Type.String(), at: Int, running: Type.Array(Type.Object({ jobId: Type.String(), pid: Type.Integer(), startedAt: Int }), { maxItems: 10000 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => control.agents.heartbeat(principalOf(request), request.body as HeartbeatRequest),
  );

  app.post(
    '/v1/agent/jobs/:id/started',
    {
      schema: {
        tags: ['agent'],
        summary: 'Agent reports a job process started',
        params: JobParams,
        body: Type.Object({ nodeId: Type.String(), startedAt: Int, pid: Type.Integer() }, { additionalProperties: false }),
      },
    },
    async (request) => control.agents.started(principalOf(request), request.params.id, request.body as StartedReport),
  );

  app.post(
    '/v1/agent/jobs/:id/logs',
    {
      schema: {
        tags: ['agent'],
        summary: 'Agent ships a chunk of job output',
        params: JobParams,
        body: Type.Object(
          { nodeId: Type.String(), stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]), offset: Int, dataBase64: Type.String() },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => control.agents.appendLog(principalOf(request), request.params.id, request.body as LogChunk),
  );

  app.post(
    '/v1/agent/jobs/:id/finished',
    {
      schema: {
        tags: ['agent'],
        summary: 'Agent reports a job process ended',
        params: JobParams,
        body: Type.Object(
          {
            nodeId: Type.String(),
            cause: Type.Union([Type.Literal('exited'), Type.Literal('stopped'), Type.Literal('max-duration'), Type.Literal('start-failed'), Type.Literal('vanished')]),
            exitCode: S.Nullable(Type.Integer()),
            signal: S.Nullable(Type.String()),
            startedAt: S.Nullable(Int),
            endedAt: Int,
            message: S.Nullable(Type.String({ maxLength: 4000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => control.agents.finished(principalOf(request), request.params.id, request.body as FinishedReport),
  );
}
