import { Type } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { activeCatalog } from '../../domain/gpu-catalog.js';
import { principalOf, type App } from '../app.js';
import { invoiceHtml } from '../invoice-html.js';
import * as MS from '../market-schemas.js';
import * as S from '../schemas.js';

const problems = { 400: S.Problem, 401: S.Problem, 402: S.Problem, 403: S.Problem, 404: S.Problem, 409: S.Problem, 422: S.Problem };
const TenantParams = Type.Object({ id: Type.String() });

export function registerMarketRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/catalog',
    { schema: { tags: ['market'], summary: 'The accelerator catalog in use: built-in models plus the operator\'s (UNIDLE_CATALOG)', response: { 200: Type.Object({ models: Type.Array(MS.CatalogModel) }), ...problems } } },
    async (request) => {
      principalOf(request);
      return { models: activeCatalog().map(({ smiNames: _names, ...m }) => m) };
    },
  );

  app.get(
    '/v1/prices',
    { schema: { tags: ['market'], summary: 'Prices per model and tier, with the cost floor and margin beside each', response: { 200: MS.PriceList, ...problems } } },
    async (request) => {
      const p = principalOf(request);
      const list = await control.market.listPrices();
      // Purchase prices and overheads are the operator's business; floors and margins are shown to all.
      return p.role === 'operator' ? list : { ...list, models: list.models.map(({ costs: _costs, ...m }) => m) };
    },
  );

  app.put(
    '/v1/prices/:model',
    {
      schema: {
        tags: ['market'],
        summary: "Set a model's list price and cost inputs (operators)",
        description: 'New leases use the new price; running leases keep the price they started at.',
        params: Type.Object({ model: Type.String() }),
        body: MS.ModelPriceInput,
        response: { 200: MS.PriceList, ...problems },
      },
    },
    async (request) => control.market.setModelPrice(principalOf(request), request.params.model, request.body),
  );

  app.patch(
    '/v1/market/settings',
    { schema: { tags: ['market'], summary: 'Center market settings: pricing policy, PUE, tariff, spot floor, reserved discount, grace, tax (operators)', body: MS.MarketSettingsInput, response: { 200: MS.PriceList, ...problems } } },
    async (request) => control.market.updateSettings(principalOf(request), request.body),
  );

  app.post(
    '/v1/quotes',
    {
      schema: {
        tags: ['market'],
        summary: 'Price, estimated start and total for a shape, with cheaper or sooner alternatives',
        description: 'Commits to nothing. Spot prices follow the clearing price; on-demand and reserved leases keep the quoted price.',
        body: MS.QuoteRequest,
        response: { 200: MS.Quote, ...problems },
      },
    },
    async (request) => control.market.quote(principalOf(request), request.body),
  );

  app.post(
    '/v1/reservations',
    {
      schema: {
        tags: ['market'],
        summary: 'Buy a reservation: a guaranteed quota of one model for a term, prepaid at a discount',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
        body: MS.ReservationInput,
        response: { 201: MS.Reservation, 200: MS.Reservation, ...problems },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { reservation, created } = await control.market.buyReservation(principalOf(request), request.body, typeof key === 'string' ? key : undefined);
      if (!created) reply.header('Idempotent-Replayed', 'true');
      return reply.code(created ? 201 : 200).header('Location', `/v1/reservations/${reservation.id}`).send(reservation);
    },
  );

  app.get(
    '/v1/reservations',
    { schema: { tags: ['market'], summary: 'Reservations (tenants: their own)', querystring: Type.Object({ tenantId: Type.Optional(Type.String()) }), response: { 200: Type.Object({ items: Type.Array(MS.Reservation) }), ...problems } } },
    async (request) => ({ items: await control.market.listReservations(principalOf(request), request.query.tenantId) }),
  );

  app.get(
    '/v1/reservations/:id',
    { schema: { tags: ['market'], summary: 'One reservation with its quota in use', params: S.IdParams, response: { 200: MS.Reservation, ...problems } } },
    async (request) => control.market.getReservation(principalOf(request), request.params.id),
  );

  app.get(
    '/v1/ledger/trial-balance',
    { schema: { tags: ['billing'], summary: 'The trial balance of the whole ledger (operators): debits equal credits per currency', response: { 200: MS.TrialBalance, ...problems } } },
    async (request) => control.billing.trialBalance(principalOf(request)),
  );

  app.get(
    '/v1/tenants/:id/billing',
    { schema: { tags: ['billing'], summary: "A tenant's balance, month-to-date spend, budget and burn rate", params: TenantParams, response: { 200: MS.TenantBilling, ...problems } } },
    async (request) => control.billing.tenantBilling(principalOf(request), request.params.id),
  );

  app.patch(
    '/v1/tenants/:id/billing',
    {
      schema: {
        tags: ['billing'],
        summary: 'Payment mode, monthly budget (hard limit) and fair-share weight',
        description: 'Operators set anything; tenant admins may lower their own budget.',
        params: TenantParams,
        body: MS.TenantBillingInput,
        response: { 200: MS.TenantBilling, ...problems },
      },
    },
    async (request) => control.billing.updateTenantBilling(principalOf(request), request.params.id, request.body),
  );

  app.post(
    '/v1/tenants/:id/top-ups',
    {
      schema: {
        tags: ['billing'],
        summary: 'Record money paid in (operators)',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
        params: TenantParams,
        body: MS.TopUpInput,
        response: { 200: MS.TenantBilling, ...problems },
      },
    },
    async (request) => {
      const key = request.headers['idempotency-key'];
      return control.billing.topUp(principalOf(request), request.params.id, request.body, typeof key === 'string' ? key : undefined);
    },
  );

  app.post(
    '/v1/tenants/:id/refunds',
    { schema: { tags: ['billing'], summary: 'Give back charged money (operators); never more than was charged', params: TenantParams, body: MS.RefundInput, response: { 200: MS.TenantBilling, ...problems } } },
    async (request) => control.billing.refund(principalOf(request), request.params.id, request.body),
  );

  app.get(
    '/v1/tenants/:id/invoices/:period',
    {
      schema: {
        tags: ['billing'],
        summary: "A tenant's monthly invoice (JSON, or printable HTML with Accept: text/html or ?format=html)",
        params: Type.Object({ id: Type.String(), period: Type.String({ description: 'YYYY-MM' }) }),
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])) }, { additionalProperties: false }),
        response: { 200: MS.Invoice, ...problems },
      },
    },
    async (request, reply) => {
      const invoice = await control.billing.invoice(principalOf(request), request.params.id, request.params.period);
      const wantsHtml = request.query.format === 'html' || (request.query.format !== 'json' && /text\/html/.test(request.headers.accept ?? ''));
      if (wantsHtml) return reply.type('text/html; charset=utf-8').serializer((x: unknown) => x as string).send(invoiceHtml(invoice) as never);
      return invoice;
    },
  );

  app.get(
    '/v1/reports/market',
    {
      schema: {
        tags: ['billing'],
        summary: 'Revenue, sold vs idle GPU-hours per model, idle cost and effective price vs floor (operators)',
        querystring: Type.Object({ from: Type.Optional(Type.Integer({ minimum: 0 })), to: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
        response: { 200: MS.MarketReport, ...problems },
      },
    },
    async (request) => control.billing.report(principalOf(request), request.query),
  );
}
