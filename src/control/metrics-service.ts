import type { DB } from '../store/database.js';
import type { TelemetryService } from './telemetry-service.js';
import { requireOperator, type Principal } from './principal.js';

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels: Record<string, string | number>; value: number }>;
}

/**
 * What `/metrics` exposes: GPU gauges under the DCGM exporter's names (so existing Grafana DCGM
 * dashboards work on Unidle's own data) and Unidle's business metrics (allocation, idle devices,
 * queue, revenue, energy).
 */
export class MetricsService {
  constructor(
    private readonly db: DB,
    private readonly telemetry: TelemetryService,
  ) {}

  async collect(p: Principal): Promise<MetricFamily[]> {
    requireOperator(p);
    const [devices, latest, queue, jobs, revenue, nodes, idleJobs] = await Promise.all([
      this.db
        .selectFrom('devices as d')
        .innerJoin('nodes as n', 'n.id', 'd.node_id')
        .select(['d.id', 'd.idx', 'd.uuid', 'd.model', 'd.allocated_milli', 'n.name as node', 'n.hostname', 'n.power_state'])
        .execute(),
      this.telemetry.latest(),
      this.db.selectFrom('jobs').select(['tier', (eb) => eb.fn.countAll<number>().as('n')]).where('state', '=', 'queued').groupBy('tier').execute(),
      this.db.selectFrom('jobs').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).where('state', 'in', ['scheduled', 'running']).groupBy('state').execute(),
      this.db
        .selectFrom('ledger_postings')
        .select(['account', 'currency', (eb) => eb.fn.sum<number>('amount_micros').as('s')])
        .where('account', 'like', 'revenue:%')
        .groupBy(['account', 'currency'])
        .execute(),
      this.db.selectFrom('nodes').select(['status', 'power_state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['status', 'power_state']).execute(),
      // Flagged by the idle detector in their current run (a flag from before a requeue does not count).
      this.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', 'running')
        .where('idle_since', 'is not', null)
        .where((eb) => eb('idle_since', '>=', eb.ref('started_at')))
        .executeTakeFirst(),
    ]);
    const byId = new Map(devices.map((d) => [d.id, d]));
    const gpuLabels = (d: (typeof devices)[number]) => ({ gpu: d.idx, UUID: d.uuid, modelName: d.model, Hostname: d.hostname, node: d.node });
    const fromSamples = (name: string, help: string, pick: (s: (typeof latest)[number]) => number | null, type: 'gauge' | 'counter' = 'gauge'): MetricFamily => ({
      name,
      help,
      type,
      samples: latest.flatMap((s) => {
        const d = byId.get(s.device_id);
        const v = pick(s);
        // A parked host is powered off: its last reading is not what it draws now.
        return d && v !== null && d.power_state !== 'parked' ? [{ labels: gpuLabels(d), value: v }] : [];
      }),
    });
    const idle = new Map<string, { total: number; idle: number; parked: number }>();
    for (const d of devices) {
      const m = idle.get(d.model) ?? { total: 0, idle: 0, parked: 0 };
      m.total++;
      // A parked device draws (almost) nothing: it is counted apart from idle ones, which burn power.
      if (d.power_state !== 'on') m.parked++;
      else if (d.allocated_milli === 0) m.idle++;
      idle.set(d.model, m);
    }
    return [
      fromSamples('DCGM_FI_DEV_POWER_USAGE', 'Power draw (in W).', (s) => (s.power_mw === null ? null : s.power_mw / 1000)),
      fromSamples('DCGM_FI_DEV_GPU_UTIL', 'GPU utilization (in %).', (s) => s.utilization_pct),
      fromSamples('DCGM_FI_DEV_FB_USED', 'Framebuffer memory used (in MiB).', (s) => s.memory_used_mib),
      fromSamples('DCGM_FI_DEV_GPU_TEMP', 'GPU temperature (in C).', (s) => s.temperature_c),
      fromSamples('DCGM_FI_DEV_SM_CLOCK', 'SM clock frequency (in MHz).', (s) => s.sm_clock_mhz),
      fromSamples('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'Total energy consumption since boot (in mJ).', (s) => s.energy_mj, 'counter'),
      { name: 'unidle_gpu_allocated_milli', help: 'Milli-GPU of the device allocated to jobs (1000 = all of it).', type: 'gauge', samples: devices.map((d) => ({ labels: gpuLabels(d), value: d.allocated_milli })) },
      { name: 'unidle_gpus', help: 'Devices per model.', type: 'gauge', samples: [...idle].map(([model, m]) => ({ labels: { model }, value: m.total })) },
      { name: 'unidle_gpus_idle', help: 'Devices per model on powered nodes with nothing allocated.', type: 'gauge', samples: [...idle].map(([model, m]) => ({ labels: { model }, value: m.idle })) },
      { name: 'unidle_gpus_parked', help: 'Devices per model on nodes parked, parking or waking (powered down by the parking policy or an operator).', type: 'gauge', samples: [...idle].map(([model, m]) => ({ labels: { model }, value: m.parked })) },
      { name: 'unidle_queue_depth', help: 'Jobs waiting to be placed, per tier.', type: 'gauge', samples: queue.map((q) => ({ labels: { tier: q.tier }, value: Number(q.n) })) },
      { name: 'unidle_jobs_active', help: 'Jobs holding capacity, by state.', type: 'gauge', samples: jobs.map((j) => ({ labels: { state: j.state }, value: Number(j.n) })) },
      { name: 'unidle_jobs_allocated_idle', help: 'Running jobs holding GPUs at near-zero utilization for the configured time (allocated but idle).', type: 'gauge', samples: [{ labels: {}, value: Number(idleJobs?.n ?? 0) }] },
      { name: 'unidle_nodes', help: 'Nodes by status and power state.', type: 'gauge', samples: nodes.map((n) => ({ labels: { status: n.status, power_state: n.power_state }, value: Number(n.n) })) },
      {
        name: 'unidle_revenue_micros_total',
        help: 'Revenue recognised on the ledger, in micro-units of the currency.',
        type: 'counter',
        samples: revenue.map((r) => ({ labels: { tier: r.account.slice('revenue:'.length), currency: r.currency }, value: -Number(r.s) })),
      },
      {
        name: 'unidle_gpu_energy_millijoules_total',
        help: 'Energy counters of the devices heard from in the last 5 minutes, summed per node (in mJ).',
        type: 'counter',
        samples: [...latest.reduce((m, s) => (s.energy_mj === null ? m : m.set(s.node_id, (m.get(s.node_id) ?? 0) + s.energy_mj)), new Map<string, number>())].map(([node, v]) => ({ labels: { node_id: node }, value: v })),
      },
    ];
  }
}
