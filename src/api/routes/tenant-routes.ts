import { Type } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { requireTenantAccess } from '../../control/principal.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 404: S.Problem, 409: S.Problem, 422: S.Problem };

export function registerTenantRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/me',
    {
      schema: {
        tags: ['keys'],
        summary: 'Who the API key belongs to',
        response: {
          200: S.Me,
          ...problems,
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const tenant = p.tenantId ? await control.tenants.get(p, p.tenantId) : null;
      return { memberId: p.memberId, name: p.name, role: p.role, tenantId: p.tenantId, tenantName: tenant?.name ?? null, centerId: p.centerId, keyId: p.keyId };
    },
  );

  app.get('/v1/tenants', { schema: { tags: ['tenants'], summary: 'Tenants you can see', response: { 200: Type.Object({ items: Type.Array(S.Tenant) }), ...problems } } }, async (request) => ({
    items: await control.tenants.list(principalOf(request)),
  }));

  app.post(
    '/v1/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant (operator)',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }), displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false }),
        response: { 201: S.Tenant, ...problems },
      },
    },
    async (request, reply) => reply.code(201).send(await control.tenants.create(principalOf(request), request.body)),
  );

  app.get('/v1/tenants/:id', { schema: { tags: ['tenants'], summary: 'A tenant by id or name', params: S.IdParams, response: { 200: S.Tenant, ...problems } } }, async (request) =>
    control.tenants.get(principalOf(request), request.params.id),
  );

  app.get(
    '/v1/tenants/:id/members',
    { schema: { tags: ['tenants'], summary: "A tenant's members", params: S.IdParams, response: { 200: Type.Object({ items: Type.Array(S.Member) }), ...problems } } },
    async (request) => ({ items: await control.tenants.listMembers(principalOf(request), request.params.id) }),
  );

  app.post(
    '/v1/tenants/:id/members',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Add a member (tenant-admin or operator)',
        params: S.IdParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 128 }),
            email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
            role: Type.Optional(Type.Union([Type.Literal('member'), Type.Literal('tenant-admin')])),
          },
          { additionalProperties: false },
        ),
        response: { 201: S.Member, ...problems },
      },
    },
    async (request, reply) => reply.code(201).send(await control.tenants.addMember(principalOf(request), request.params.id, request.body)),
  );

  app.get(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'API keys you can see',
        description: 'Members see their own keys, tenant admins their tenant\'s, operators all (filter with tenantId).',
        querystring: Type.Object({ tenantId: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(S.ApiKey) }), ...problems },
      },
    },
    async (request) => {
      const p = principalOf(request);
      if (request.query.tenantId) requireTenantAccess(p, request.query.tenantId);
      return { items: await control.keys.list(p, { tenantId: request.query.tenantId }) };
    },
  );

  app.post(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key',
        description: 'For yourself by default, or for `memberId` (tenant admins: members of their tenant; operators: anyone). The secret is in the response only.',
        body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), memberId: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 201: S.CreatedApiKey, ...problems },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      return reply.code(201).send(await control.keys.create(p, { memberId: request.body.memberId ?? p.memberId, name: request.body.name }));
    },
  );

  app.post(
    '/v1/keys/:id/revoke',
    { schema: { tags: ['keys'], summary: 'Revoke an API key', params: S.IdParams, response: { 200: S.ApiKey, ...problems } } },
    async (request) => control.keys.revoke(principalOf(request), request.params.id),
  );
}
