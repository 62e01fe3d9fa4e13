import type { ControlPlane } from '../../control/control-plane.js';
import type { UsageGroup } from '../../control/usage-service.js';
import { invalid } from '../../domain/errors.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const GROUPS: UsageGroup[] = ['tenant', 'model', 'job', 'period'];

export function registerUsageRoutes(app: App, control: ControlPlane): void {
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
