import { invalid } from '../domain/errors.js';
import type { DB } from '../store/database.js';
import { scopeTenant, type Principal } from './principal.js';

export type UsageGroup = 'tenant' | 'model' | 'job' | 'period';
export type UsagePeriod = 'hour' | 'day' | 'month';

export interface UsageQuery {
  tenantId?: string;
  jobId?: string;
  from?: number;
  to?: number;
  groupBy?: UsageGroup[];
  period?: UsagePeriod;
}

export interface UsageRow {
  tenantId: string | null;
  tenantName: string | null;
  model: string | null;
  jobId: string | null;
  period: string | null;
  jobs: number;
  gpuMilliSeconds: number;
  gpuHours: number;
  cpuMilliSeconds: number;
  memoryMibSeconds: number;
}

export interface UsageReport {
  from: number | null;
  to: number | null;
  groupBy: UsageGroup[];
  period: UsagePeriod;
  rows: UsageRow[];
  total: Omit<UsageRow, 'tenantId' | 'tenantName' | 'model' | 'jobId' | 'period'>;
}

function periodKey(ms: number, period: UsagePeriod): string {
  const iso = new Date(ms).toISOString();
  if (period === 'month') return iso.slice(0, 7);
  if (period === 'day') return iso.slice(0, 10);
  return `${iso.slice(0, 13)}:00Z`;
}

/**
 * Totals of metered usage. Sums are over whole usage spans in the window (a span belongs to the period
 * it starts in; spans are at most one metering interval long, except a job's last one).
 */
export class UsageService {
  constructor(private readonly db: DB) {}

  async report(p: Principal, query: UsageQuery): Promise<UsageReport> {
    const tenantId = scopeTenant(p, query.tenantId);
    const groupBy = query.groupBy ?? ['tenant', 'model'];
    const period = query.period ?? 'day';
    if (query.from !== undefined && query.to !== undefined && query.to <= query.from) throw invalid('to', 'must be after from');
    let q = this.db
      .selectFrom('usage as u')
      .innerJoin('tenants as t', 't.id', 'u.tenant_id')
      .select(['u.tenant_id', 't.name as tenant_name', 'u.gpu_model', 'u.job_id', 'u.start_at', 'u.gpu_milli_ms', 'u.cpu_milli_ms', 'u.memory_mib_ms']);
    if (tenantId) q = q.where('u.tenant_id', '=', tenantId);
    if (query.jobId) q = q.where('u.job_id', '=', query.jobId);
    if (query.from !== undefined) q = q.where('u.start_at', '>=', query.from);
    if (query.to !== undefined) q = q.where('u.start_at', '<', query.to);
    const spans = await q.execute();

    const groups = new Map<string, { row: UsageRow; jobs: Set<string>; gpu: number; cpu: number; mem: number }>();
    const totals = { jobs: new Set<string>(), gpu: 0, cpu: 0, mem: 0 };
    for (const s of spans) {
      const row: UsageRow = {
        tenantId: groupBy.includes('tenant') ? s.tenant_id : null,
        tenantName: groupBy.includes('tenant') ? s.tenant_name : null,
        model: groupBy.includes('model') ? s.gpu_model : null,
        jobId: groupBy.includes('job') ? s.job_id : null,
        period: groupBy.includes('period') ? periodKey(s.start_at, period) : null,
        jobs: 0,
        gpuMilliSeconds: 0,
        gpuHours: 0,
        cpuMilliSeconds: 0,
        memoryMibSeconds: 0,
      };
      const key = `${row.tenantId}|${row.model}|${row.jobId}|${row.period}`;
      let g = groups.get(key);
      if (!g) {
        g = { row, jobs: new Set(), gpu: 0, cpu: 0, mem: 0 };
        groups.set(key, g);
      }
      g.jobs.add(s.job_id);
      g.gpu += s.gpu_milli_ms;
      g.cpu += s.cpu_milli_ms;
      g.mem += s.memory_mib_ms;
      totals.jobs.add(s.job_id);
      totals.gpu += s.gpu_milli_ms;
      totals.cpu += s.cpu_milli_ms;
      totals.mem += s.memory_mib_ms;
    }
    const finish = (gpu: number, cpu: number, mem: number, jobs: number) => ({
      jobs,
      gpuMilliSeconds: Math.round(gpu / 1000),
      // Hours are for people; the integer milli-GPU-seconds are what prices attach to.
      gpuHours: Math.round(gpu / 3_600) / 1_000_000,
      cpuMilliSeconds: Math.round(cpu / 1000),
      memoryMibSeconds: Math.round(mem / 1000),
    });
    const rows = [...groups.values()]
      .map((g) => ({ ...g.row, ...finish(g.gpu, g.cpu, g.mem, g.jobs.size) }))
      .sort((a, b) => `${a.period}${a.tenantName}${a.model}${a.jobId}`.localeCompare(`${b.period}${b.tenantName}${b.model}${b.jobId}`));
    return {
      from: query.from ?? null,
      to: query.to ?? null,
      groupBy,
      period,
      rows,
      total: finish(totals.gpu, totals.cpu, totals.mem, totals.jobs.size),
    };
  }
}
