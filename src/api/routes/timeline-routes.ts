import { sql } from 'kysely';
import { Type, type Static } from 'typebox';
import type { ControlPlane } from '../../control/control-plane.js';
import { requireOperator } from '../../control/principal.js';
import { invalid } from '../../domain/errors.js';
import { principalOf, type App } from '../app.js';
import * as S from '../schemas.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const problems = { 400: S.Problem, 401: S.Problem, 403: S.Problem, 422: S.Problem };

export const GpuTimelineQuery = Type.Object(
  {
    from: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default `to` − 1 h' })),
    to: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default now' })),
    buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 240, default: 60, description: 'how many equal time buckets' })),
    devices: Type.Optional(Type.Boolean({ default: false, description: 'include the per-device matrices (node × device heatmap)' })),
  },
  { additionalProperties: false },
);

export const GpuTimeline = Type.Object(
  {
    from: Type.Integer(),
    to: Type.Integer(),
    bucketMs: Type.Integer(),
    source: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')], { description: 'the telemetry read: raw samples (buckets under a minute), 1-minute rollups (plus raw samples newer than the last rollup) or 1-hour rollups' }),
    at: Type.Array(Type.Integer(), { description: 'start of each bucket' }),
    series: Type.Object({
      capacityGpus: Type.Array(Type.Number(), { description: 'devices registered, time-weighted over the bucket' }),
      allocatedGpus: Type.Array(Type.Number(), { description: 'time-weighted allocated GPUs (milli-GPU / 1000)' }),
      busyGpus: Type.Array(S.Nullable(Type.Number()), { description: 'Σ utilization / 100 over devices with telemetry; null without any' }),
      idleGpuHours: Type.Array(Type.Number(), { description: 'GPU-hours registered but not allocated in the bucket' }),
      powerKw: Type.Array(S.Nullable(Type.Number()), { description: 'Σ average device power, kW; null without telemetry' }),
      energyKwh: Type.Array(Type.Number(), { description: 'powerKw × elapsed bucket length in hours (device energy, before PUE)' }),
    }),
    devices: Type.Optional(
      Type.Array(Type.Object({ id: Type.String(), nodeId: Type.String(), nodeName: Type.String(), index: Type.Integer(), model: Type.String() }), {
        description: 'rows of the matrices, by node name then device index',
      }),
    ),
    allocatedMilli: Type.Optional(Type.Array(Type.Array(Type.Integer()), { description: '[device][bucket] time-weighted allocated milli-GPU' })),
    utilizationPct: Type.Optional(Type.Array(Type.Array(S.Nullable(Type.Integer())), { description: '[device][bucket] average utilization %, null without telemetry' })),
  },
  { $id: 'GpuTimeline' },
);
export type GpuTimelineBody = Static<typeof GpuTimeline>;

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Per-device allocation (from allocation rows) and utilization and power (from stored telemetry) over
 * time, in equal buckets: what the console's overview trends and node × device heatmap draw. Reads
 * only; operators only.
 */
async function gpuTimeline(control: ControlPlane, q: Static<typeof GpuTimelineQuery>): Promise<GpuTimelineBody> {
  const db = control.store.db;
  const now = control.clock.now();
  const to = q.to ?? now;
  const from = q.from ?? to - HOUR;
  if (from >= to) throw invalid('from', 'must be before `to`');
  const n = q.buckets ?? 60;
  const bucketMs = Math.max(1, Math.ceil((to - from) / n));
  const at = Array.from({ length: n }, (_, i) => from + i * bucketMs);
  // Raw samples only for buckets under a minute; minute rollups (plus the raw samples not yet rolled
  // up) for a month back; hourly rollups beyond.
  const source: 'raw' | '1m' | '1h' = bucketMs < MINUTE && from >= now - 23 * HOUR ? 'raw' : from >= now - 29 * 24 * HOUR ? '1m' : '1h';

  const devices = await db
    .selectFrom('devices as d')
    .innerJoin('nodes as n', 'n.id', 'd.node_id')
    .select(['d.id', 'd.idx', 'd.model', 'n.id as nodeId', 'n.name as nodeName', 'n.registered_at'])
    .execute();
  devices.sort((a, b) => a.nodeName.localeCompare(b.nodeName, 'en', { numeric: true }) || a.idx - b.idx);
  const row = new Map(devices.map((d, i) => [d.id, i]));
  const alloc = devices.map(() => new Float64Array(n));
  const util: (number | null)[][] = devices.map(() => new Array<number | null>(n).fill(null));
  const power: (number | null)[][] = devices.map(() => new Array<number | null>(n).fill(null));

  const allocations = await db
    .selectFrom('allocations')
    .select(['device_id', 'gpu_milli', 'created_at', 'released_at'])
    .where('created_at', '<', to)
    .where((eb) => eb.or([eb('released_at', 'is', null), eb('released_at', '>', from)]))
    .execute();
  // Integrals over each bucket's elapsed part (a bucket still in progress, or in the future, is shorter).
  const span = at.map((t) => Math.max(0, Math.min(t + bucketMs, now) - t));
  const addSpan = (start: number, end: number, add: (b: number, overlapMs: number) => void) => {
    for (let b = Math.max(0, Math.floor((start - from) / bucketMs)); b < n && from + b * bucketMs < end; b++) {
      const bs = from + b * bucketMs;
      const overlap = Math.min(end, bs + span[b]!) - Math.max(start, bs);
      if (overlap > 0) add(b, overlap);
    }
  };
  for (const a of allocations) {
    const r = row.get(a.device_id);
    if (r === undefined) continue;
    addSpan(Math.max(Number(a.created_at), from), Math.min(a.released_at === null ? now : Number(a.released_at), to), (b, ms) => (alloc[r]![b]! += Number(a.gpu_milli) * ms));
  }
  const capacityMs = new Float64Array(n);
  for (const d of devices) addSpan(Math.max(Number(d.registered_at), from), Math.min(now, to), (b, ms) => (capacityMs[b]! += ms));

  // Literals, not parameters: PostgreSQL matches the GROUP BY expression to the selected one by its text.
  const bucketOf = (col: string) => sql<number>`cast((${sql.ref(col)} - ${sql.lit(Math.trunc(from))}) / ${sql.lit(Math.trunc(bucketMs))} as integer)`;
  // Sums and counts, so that rollup rows and raw samples of one bucket combine exactly.
  type StatRow = { device_id: string | null; b: number; su: number | null; nu: number; sp: number | null; np: number; du: number; dp: number };
  const read = async (table: 'gpu_samples' | 'gpu_samples_1m' | 'gpu_samples_1h', lo: number, hi: number): Promise<StatRow[]> => {
    if (lo >= hi) return [];
    const raw = table === 'gpu_samples';
    const atCol = raw ? 'at' : 'bucket_at';
    const b = bucketOf(atCol);
    const device = q.devices ? sql`device_id` : sql`null`;
    const sums = raw
      ? sql`sum(utilization_pct) as su, count(utilization_pct) as nu, sum(power_mw) as sp, count(power_mw) as np`
      : sql`sum(utilization_sum) as su, sum(utilization_n) as nu, sum(power_sum_mw) as sp, sum(power_n) as np`;
    // Devices heard from, for the totals (a per-device row is one device).
    const heard = q.devices
      ? sql`0 as du, 0 as dp`
      : raw
        ? sql`count(distinct case when utilization_pct is not null then device_id end) as du, count(distinct case when power_mw is not null then device_id end) as dp`
        : sql`count(distinct case when utilization_n > 0 then device_id end) as du, count(distinct case when power_n > 0 then device_id end) as dp`;
    const groupBy = q.devices ? sql`device_id, ${b}` : b;
    const result = await sql<StatRow>`select ${device} as device_id, ${b} as b, ${sums}, ${heard}
      from ${sql.table(table)} where ${sql.ref(atCol)} >= ${lo} and ${sql.ref(atCol)} < ${hi} group by ${groupBy}`.execute(db);
    return result.rows;
  };
  let rows: StatRow[];
  if (source === '1h') rows = await read('gpu_samples_1h', from, to);
  else if (source === 'raw') rows = await read('gpu_samples', from, to);
  else {
    // Minutes already rolled up come from the rollup (60 times fewer rows than 10-second samples);
    // the minutes since, from the raw samples.
    const mark = (await db.selectFrom('telemetry_rollups').select('done_until').where('level', '=', '1m').executeTakeFirst())?.done_until;
    const rolledUntil = Math.min(to, Math.max(from, mark === undefined ? from : Number(mark)));
    rows = [...(await read('gpu_samples_1m', from, rolledUntil)), ...(await read('gpu_samples', rolledUntil, to))];
  }
  const acc = new Map<string, { r: number; b: number; su: number; nu: number; sp: number; np: number; du: number; dp: number }>();
  for (const x of rows) {
    const b = Number(x.b);
    const r = x.device_id === null ? -1 : row.get(x.device_id);
    if (r === undefined || !(b >= 0 && b < n)) continue;
    const key = `${r}:${b}`;
    const a = acc.get(key) ?? { r, b, su: 0, nu: 0, sp: 0, np: 0, du: 0, dp: 0 };
    a.su += Number(x.su ?? 0);
    a.nu += Number(x.nu);
    a.sp += Number(x.sp ?? 0);
    a.np += Number(x.np);
    // Devices heard from in the bucket: a bucket split between rollup and raw counts the larger part.
    a.du = Math.max(a.du, Number(x.du));
    a.dp = Math.max(a.dp, Number(x.dp));
    acc.set(key, a);
  }
  // Without the matrices, totals come from one aggregate per bucket: Σ over devices of a device's
  // average ≈ the bucket's average × the devices heard from (exact when devices report equally often).
  const totals = new Map<number, { u: number | null; nu: number; p: number | null; np: number }>();
  for (const a of acc.values()) {
    const u = a.nu > 0 ? a.su / a.nu : null;
    const p = a.np > 0 ? a.sp / a.np : null;
    if (a.r >= 0) {
      if (u !== null) util[a.r]![a.b] = Math.round(u);
      if (p !== null) power[a.r]![a.b] = p;
    } else totals.set(a.b, { u, nu: a.du, p, np: a.dp });
  }
  const per = (b: number, x: number) => (span[b]! > 0 ? x / span[b]! : 0);
  const capacityGpus = at.map((_, b) => round(per(b, capacityMs[b]!)));
  const allocMilliMs = at.map((_, b) => alloc.reduce((sum, a) => sum + a[b]!, 0));
  const allocatedGpus = at.map((_, b) => round(per(b, allocMilliMs[b]!) / 1000));
  const busyGpus = at.map((_, b) => {
    if (!q.devices) {
      const x = totals.get(b);
      return x && x.u !== null && x.nu > 0 ? round((x.u * x.nu) / 100) : null;
    }
    let sum = 0;
    let any = false;
    for (const u of util) if (u[b] !== null) (sum += u[b]!), (any = true);
    return any ? round(sum / 100) : null;
  });
  const powerKw = at.map((_, b) => {
    if (!q.devices) {
      const x = totals.get(b);
      return x && x.p !== null && x.np > 0 ? round((x.p * x.np) / 1e6) : null;
    }
    let sum = 0;
    let any = false;
    for (const p of power) if (p[b] !== null) (sum += p[b]!), (any = true);
    return any ? round(sum / 1e6) : null;
  });
  const body: GpuTimelineBody = {
    from,
    to,
    bucketMs,
    source,
    at,
    series: {
      capacityGpus,
      allocatedGpus,
      busyGpus,
      idleGpuHours: at.map((_, b) => round(Math.max(0, capacityMs[b]! - allocMilliMs[b]! / 1000) / HOUR)),
      powerKw,
      energyKwh: powerKw.map((p, b) => round(((p ?? 0) * span[b]!) / HOUR, 4)),
    },
  };
  if (q.devices) {
    body.devices = devices.map((d) => ({ id: d.id, nodeId: d.nodeId, nodeName: d.nodeName, index: Number(d.idx), model: d.model }));
    body.allocatedMilli = alloc.map((a) => Array.from(a, (x, b) => Math.round(per(b, x))));
    body.utilizationPct = util;
  }
  return body;
}

/** GET /v1/reports/gpu-timeline: what the web console's overview and heatmap draw (docs/console.md). */
export function registerTimelineRoutes(app: App, control: ControlPlane): void {
  app.get(
    '/v1/reports/gpu-timeline',
    {
      schema: {
        tags: ['inventory'],
        summary: "Every device's allocation, utilization and power over time, in buckets (operators)",
        description:
          'Totals per bucket (capacity, allocated, busy, idle GPU-hours, power, energy) and, with `devices=true`, a [device][bucket] matrix of allocated milli-GPU and utilization % for a node × device heatmap. Raw telemetry for buckets under a minute in the last day, 1-minute rollups (and the raw samples not yet rolled up) up to 29 days back, hourly rollups beyond.',
        querystring: GpuTimelineQuery,
        response: { 200: GpuTimeline, ...problems },
      },
    },
    async (request) => {
      requireOperator(principalOf(request));
      return gpuTimeline(control, request.query);
    },
  );
}
