import { Type } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { requireOperator } from '../../control/principal.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 404: S.Problem, 409: S.Problem, 422: S.Problem };

export function registerInventoryRoutes(app: App, control: ControlPlane): void {
  app.get('/v1/centers', { schema: { tags: ['inventory'], summary: 'Centers', response: { 200: Type.Object({ items: Type.Array(S.Center) }), ...problems } } }, async (request) => {
    principalOf(request);
    return { items: await control.inventory.listCenters() };
  });

  app.post(
    '/v1/centers',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Create a center (operator)',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 63 }), region: Type.Optional(Type.String({ maxLength: 63 })), timezone: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 201: S.Center, ...problems },
      },
    },
    async (request, reply) => reply.code(201).send(await control.inventory.createCenter(principalOf(request), request.body)),
  );

  app.get(
    '/v1/centers/:id',
    { schema: { tags: ['inventory'], summary: 'A center by id or name', params: S.IdParams, response: { 200: S.Center, ...problems } } },
    async (request) => {
      principalOf(request);
      return control.inventory.getCenter(request.params.id);
    },
  );

  app.post(
    '/v1/centers/:id/agent-tokens',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Make an agent token for a center (operator)',
        description: 'The token `unidle agent --token` uses on a GPU host; it can only register and run nodes of this center. Shown once.',
        params: S.IdParams,
        body: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false })),
        response: { 201: S.CreatedApiKey, ...problems },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      requireOperator(p);
      const center = await control.inventory.getCenter(request.params.id);
      return reply.code(201).send(await control.keys.createAgentToken(p, center.id, request.body?.name));
    },
  );

  app.get(
    '/v1/nodes',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Nodes with their devices (operator)',
        querystring: Type.Object({ centerId: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(S.Node) }), ...problems },
      },
    },
    async (request) => {
      requireOperator(principalOf(request));
      return { items: await control.inventory.listNodes({ centerId: request.query.centerId }) };
    },
  );

  app.get(
    '/v1/nodes/:id',
    { schema: { tags: ['inventory'], summary: 'A node by id or name (operator)', params: S.IdParams, response: { 200: S.Node, ...problems } } },
    async (request) => {
      requireOperator(principalOf(request));
      return control.inventory.getNode(request.params.id);
    },
  );

  const CordonBody = Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }));
  for (const [action, cordoned, drain, summary] of [
    ['cordon', true, false, 'Stop placing new work on a node; running work continues'],
    ['drain', true, true, 'Cordon and mark the node as leaving once its work ends'],
    ['uncordon', false, false, 'Let the node take new work again'],
  ] as const) {
    app.post(
      `/v1/nodes/:id/${action}`,
      { schema: { tags: ['inventory'], summary: `${summary} (operator)`, params: S.IdParams, body: CordonBody, response: { 200: S.Node, ...problems } } },
      async (request) => {
        const node = await control.inventory.setCordon(principalOf(request), request.params.id, { cordoned, drain, reason: request.body?.reason });
        control.kick();
        return node;
      },
    );
  }

  app.post(
    '/v1/nodes/:id/park',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Power an empty node down now through the power driver (operator); refused while it holds work or carries a parking veto',
        params: S.IdParams,
        response: { 200: S.Node, ...problems },
      },
    },
    async (request) => control.parking.park(principalOf(request), request.params.id),
  );
  app.post(
    '/v1/nodes/:id/wake',
    { schema: { tags: ['inventory'], summary: 'Power a parked node up (operator); it takes work once it is up', params: S.IdParams, response: { 200: S.Node, ...problems } } },
    async (request) => control.parking.wake(principalOf(request), request.params.id),
  );
  for (const [action, veto, summary] of [
    ['forbid-park', true, 'Never park this node by policy (a cordon owner or operator veto)'],
    ['allow-park', false, 'Let the parking policy park this node again'],
  ] as const) {
    app.post(
      `/v1/nodes/:id/${action}`,
      { schema: { tags: ['inventory'], summary: `${summary} (operator)`, params: S.IdParams, body: CordonBody, response: { 200: S.Node, ...problems } } },
      async (request) => control.parking.setVeto(principalOf(request), request.params.id, veto, request.body?.reason),
    );
  }
  app.get(
    '/v1/parking',
    { schema: { tags: ['inventory'], summary: 'Node parking: the policy, driver, nodes by power state and the last decision (operator)', response: { 200: S.ParkingStatus, ...problems } } },
    async (request) => control.parking.status(principalOf(request)),
  );
}
