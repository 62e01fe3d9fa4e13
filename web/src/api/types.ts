import type { ApiResponse as Response } from './client.js';

/** Shapes the pages use, named after the API's own responses (all derived from schema.gen.ts). */
export type Me = Response<'/v1/me'>;
export type Job = Response<'/v1/jobs'>['items'][number];
export type JobState = Job['state'];
export type JobDetail = Response<'/v1/jobs/{id}'>;
export type LogPage = Response<'/v1/jobs/{id}/logs'>;
export type Node = Response<'/v1/nodes'>['items'][number];
export type Tenant = Response<'/v1/tenants'>['items'][number];
export type TenantBilling = Response<'/v1/tenants/{id}/billing'>;
export type Reservation = Response<'/v1/reservations'>['items'][number];
export type PriceList = Response<'/v1/prices'>;
export type ModelPrices = PriceList['models'][number];
export type Quote = Response<'/v1/quotes', 'post'>;
export type MarketReport = Response<'/v1/reports/market'>;
export type GpuTimeline = Response<'/v1/reports/gpu-timeline'>;
export type Invoice = Response<'/v1/tenants/{id}/invoices/{period}'>;
export type UsageReport = Response<'/v1/usage'>;
export type CatalogModel = Response<'/v1/catalog'>['models'][number];

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'lost', 'preempted'];
export type ParkingStatus = Response<'/v1/parking'>;
export type DemandReport = Response<'/v1/reports/demand'>;
export type Member = Response<'/v1/tenants/{id}/members'>['items'][number];
export type ApiKeyInfo = Response<'/v1/keys'>['items'][number];
export type CreatedApiKey = Response<'/v1/keys', 'post'>;
