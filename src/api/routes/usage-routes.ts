import { Type } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import type { UsageGroup } from '../../control/usage-service.js';
import { invalid } from '../../domain/errors.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const GROUPS: UsageGroup[] = ['tenant', 'model', 'job', 'period'];

export function registerUsageRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['usage'],
        summary: 'The audit trail, oldest first',
        description: 'Every state change that matters, append-only. Tenants see their own; operators all. Poll with `after` = the last `next`.',
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            subjectId: Type.Optional(Type.String()),
            type: Type.Optional(Type.String()),
            tenantId: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(S.AuditEvent), next: Type.Integer() }), 401: S.Problem, 403: S.Problem, 422: S.Problem },
      },
    },
    async (request) => control.events.list(principalOf(request), request.query),
  );

  app.get(
    '/v1/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Metered usage totals',
        description: 'Per second of allocation while running: milli-GPU-seconds by GPU model, CPU milli-seconds, MiB-seconds. Group by tenant, model, job and/or period.',
        querystring: S.UsageQuery,
        response: { 200: S.UsageReport, 400: S.Problem, 401: S.Problem, 403: S.Problem, 422: S.Problem },
      },
    },
    async (request) => {
      const q = request.query;
      const groupBy = q.groupBy?.split(',').map((g) => g.trim()).filter(Boolean);
      for (const g of groupBy ?? []) if (!GROUPS.includes(g as UsageGroup)) throw invalid('groupBy', `unknown group "${g}"; use ${GROUPS.join(', ')}`);
      return control.usage.report(principalOf(request), { ...q, groupBy: groupBy as UsageGroup[] | undefined });
    },
  );
}
