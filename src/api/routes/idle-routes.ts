import { Type, type Static } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 422: S.Problem };

const IdleAllocation = Type.Object(
  {
    jobId: Type.String(),
    jobName: S.Nullable(Type.String()),
    tenantId: Type.String(),
    tenantName: Type.String(),
    tier: Type.String(),
    nodeId: S.Nullable(Type.String()),
    nodeName: S.Nullable(Type.String()),
    model: Type.String({ description: 'GPU model the job holds' }),
    gpuMilli: Type.Integer({ description: 'milli-GPU held (1000 = one GPU)' }),
    devices: Type.Array(Type.Object({ deviceId: Type.String(), index: Type.Integer(), gpuMilli: Type.Integer() })),
    idleSince: Type.Integer({ description: 'start of the idle episode, ms since the epoch' }),
    flaggedAt: S.Nullable(Type.Integer({ description: 'when the job was flagged (and its tenant told)' })),
    idleMs: Type.Integer(),
    idleGpuHours: Type.Number({ description: 'GPU-hours held idle so far: milli-GPU × idle time / 1000 / 3600000' }),
    idleCost: Type.Array(Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }), {
      description: 'charged for the idle time so far, per currency: each lease pro rata of its charged span after idleSince (time not yet metered is not included)',
    }),
    leavingSince: S.Nullable(Type.Integer({ description: 'set when the job has been told to leave (reclaimed or cancelled)' })),
  },
  { additionalProperties: false },
);

export const IdleReport = Type.Object(
  {
    at: Type.Integer(),
    thresholdPct: Type.Number({ description: 'a sample at or below this utilization counts as idle' }),
    idleForMs: Type.Integer({ description: 'how long a job must be idle before it is flagged' }),
    reclaimSpot: Type.Boolean({ description: 'whether idle spot work is told to leave' }),
    items: Type.Array(IdleAllocation),
    totalIdleGpuHours: Type.Number(),
  },
  { additionalProperties: false },
);
export type IdleReportBody = Static<typeof IdleReport>;

export function registerIdleRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/reports/idle-allocations',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Running jobs that hold GPUs at near-zero utilization (allocated but idle)',
        description:
          'Jobs flagged by the idle detector: every device they hold stayed at or below the threshold for the configured time. Shows what each holds, since when, the idle GPU-hours and what the idle time has cost. Operators see every tenant (or one, with `tenantId`); tenant members see their own tenant.',
        querystring: Type.Object({ tenantId: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: IdleReport, ...problems },
      },
    },
    async (request) => control.idle.list(principalOf(request), request.query),
  );
}
