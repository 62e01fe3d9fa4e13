import { useEffect, useMemo, useRef, useState } from 'react';
import type { GpuTimeline, Job, MarketReport, Node, ParkingStatus } from '../api/types.js';
import { Chart, loadECharts } from '../components/chart.js';
import type { EChartsOption } from '../components/echarts.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Card, PageHeader, Segmented, Stat } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n, type Formatters } from '../i18n/i18n.js';
import { Link } from '../router.js';
import type { MessageKey } from '../i18n/en.js';
import { ParkingFacts } from '../components/parking.js';

const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 } as const;
type Range = keyof typeof RANGES;

interface OverviewData {
  nodes: Node[];
  timeline: GpuTimeline;
  market: MarketReport;
  queued: Job[];
  idleJobs: number;
  parking: ParkingStatus;
}

export function fleetCounts(nodes: Node[]) {
  let total = 0;
  let allocatedMilli = 0;
  let allocatedDevices = 0;
  let parked = 0;
  let idle = 0;
  for (const n of nodes) {
    const asleep = n.powerState !== 'on';
    for (const d of n.devices) {
      total++;
      allocatedMilli += d.allocatedMilli;
      if (d.allocatedMilli > 0) allocatedDevices++;
      else if (asleep) parked++;
      else idle++;
    }
  }
  return { total, allocatedGpus: allocatedMilli / 1000, allocatedDevices, parked, idle };
}

function axisLabels(f: Formatters, at: number[], rangeMs: number) {
  return at.map((t) => (rangeMs > 24 * 3_600_000 ? `${f.date(t)} ${f.time(t)}` : f.time(t)));
}

export default function Overview() {
  const { t, f } = useI18n();
  const [range, setRange] = useState<Range>('1h');
  const loaded = useApi<OverviewData>(
    async (api, signal) => {
      const to = Date.now();
      const from = to - RANGES[range];
      const [nodes, timeline, market, queued, idle, parking] = await Promise.all([
        api.get('/v1/nodes', { signal }),
        api.get('/v1/reports/gpu-timeline', { query: { from, to, buckets: 60 }, signal }),
        api.get('/v1/reports/market', { query: { from, to }, signal }),
        api.get('/v1/jobs', { query: { state: 'queued', limit: 500 }, signal }),
        api.get('/v1/reports/idle-allocations', { signal }),
        api.get('/v1/parking', { signal }),
        loadECharts(),
      ]);
      return { nodes: nodes.items, timeline, market, queued: queued.items, idleJobs: idle.items.length, parking };
    },
    [range],
    { pollMs: 15_000 },
  );

  const rootRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Charts have drawn (their effects run first): mark the page ready once, for the load-time check.
    if (loaded.data && rootRef.current && !rootRef.current.dataset.ready) {
      rootRef.current.dataset.ready = 'true';
      performance.mark('unidle:overview-ready');
    }
  }, [loaded.data]);

  return (
    <div ref={rootRef} className="page" data-testid="overview">
      <PageHeader title={t('overview.title')}>
        <Segmented label={t('overview.range')} value={range} onChange={setRange} options={(Object.keys(RANGES) as Range[]).map((r) => ({ id: r, label: t(`range.${r}`) }))} />
      </PageHeader>
      {loaded.error && <ErrorState error={loaded.error} retry={loaded.reload} />}
      {!loaded.data ? !loaded.error && <Loading /> : <OverviewBody data={loaded.data} rangeMs={RANGES[range]} />}
    </div>
  );
}

function OverviewBody({ data, rangeMs }: { data: OverviewData; rangeMs: number }) {
  const { t, f } = useI18n();
  const { nodes, timeline, market, queued } = data;
  const c = fleetCounts(nodes);
  const s = timeline.series;
  const lastBusy = [...s.busyGpus].reverse().find((x) => x !== null) ?? null;
  const lastPower = [...s.powerKw].reverse().find((x) => x !== null) ?? null;
  const energyKwh = s.energyKwh.reduce((a, b) => a + b, 0);
  const idleHours = s.idleGpuHours.reduce((a, b) => a + b, 0);
  const floorCost = market.models.reduce((sum, m) => sum + m.soldGpuHours * m.floorPerGpuHour.amountMicros, 0);
  const currency = market.currency;
  const labels = useMemo(() => axisLabels(f, timeline.at, rangeMs), [f, timeline.at, rangeMs]);

  const byTier = new Map<string, number>();
  const reasons = new Map<string, number>();
  for (const j of queued) {
    byTier.set(j.tier, (byTier.get(j.tier) ?? 0) + 1);
    reasons.set(j.stateReason, (reasons.get(j.stateReason) ?? 0) + 1);
  }
  const topReasons = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 4);

  const tooltipNumber = (digits: number) => (v: unknown) => f.number(typeof v === 'number' ? v : null, digits);
  const gpuOption: EChartsOption = {
    tooltip: { trigger: 'axis', valueFormatter: tooltipNumber(2) },
    legend: { top: 0 },
    grid: { left: 44, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: labels, boundaryGap: false },
    yAxis: { type: 'value', name: t('unit.gpus'), minInterval: 1 },
    series: [
      { name: t('overview.capacity'), type: 'line', data: s.capacityGpus, showSymbol: false, lineStyle: { type: 'dashed' } },
      { name: t('overview.allocated'), type: 'line', data: s.allocatedGpus, showSymbol: false, areaStyle: { opacity: 0.15 } },
      { name: t('overview.busy'), type: 'line', data: s.busyGpus, showSymbol: false, connectNulls: false },
    ],
  };
  const idleOption: EChartsOption = {
    tooltip: { trigger: 'axis', valueFormatter: tooltipNumber(2) },
    grid: { left: 44, right: 16, top: 24, bottom: 28 },
    xAxis: { type: 'category', data: labels },
    yAxis: { type: 'value', name: t('unit.gpuHours') },
    series: [{ name: t('overview.idleGpuHours'), type: 'bar', data: s.idleGpuHours, itemStyle: { color: '#f59e0b' } }],
  };
  const models = market.models.map((m) => m.model);
  const moneyFmt = (v: unknown) => f.money({ amountMicros: Math.round((typeof v === 'number' ? v : 0) * 1e6), currency });
  const revenueOption: EChartsOption = {
    tooltip: { trigger: 'axis', valueFormatter: moneyFmt },
    legend: { top: 0 },
    grid: { left: 56, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: models },
    yAxis: { type: 'value', name: currency },
    series: [
      { name: t('overview.revenue'), type: 'bar', data: market.models.map((m) => m.revenue.amountMicros / 1e6), itemStyle: { color: '#16a34a' } },
      { name: t('overview.floorCost'), type: 'bar', data: market.models.map((m) => (m.soldGpuHours * m.floorPerGpuHour.amountMicros) / 1e6), itemStyle: { color: '#94a3b8' } },
      { name: t('overview.idleCost'), type: 'bar', data: market.models.map((m) => m.idleCost.amountMicros / 1e6), itemStyle: { color: '#f59e0b' } },
    ],
  };
  const energyOption: EChartsOption = {
    tooltip: { trigger: 'axis', valueFormatter: tooltipNumber(3) },
    legend: { top: 0 },
    grid: { left: 48, right: 48, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: labels },
    yAxis: [
      { type: 'value', name: t('unit.kw') },
      { type: 'value', name: t('unit.kwh'), splitLine: { show: false } },
    ],
    series: [
      { name: t('overview.power'), type: 'line', data: s.powerKw, showSymbol: false, itemStyle: { color: '#7c3aed' } },
      { name: t('overview.energy'), type: 'bar', yAxisIndex: 1, data: s.energyKwh, itemStyle: { color: '#c4b5fd' } },
    ],
  };
  const tiers = ['on-demand', 'spot', 'reserved'];
  const queueOption: EChartsOption = {
    tooltip: { trigger: 'axis' },
    grid: { left: 80, right: 16, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: tiers.map((x) => t(`tier.${x}` as 'tier.spot')) },
    series: [{ name: t('overview.queued'), type: 'bar', data: tiers.map((x) => byTier.get(x) ?? 0), itemStyle: { color: '#2563eb' } }],
  };

  if (c.total === 0)
    return (
      <Empty title={t('overview.noNodesTitle')}>
        <p>{t('overview.noNodesHint')}</p>
      </Empty>
    );

  return (
    <>
      <div className="stats" aria-label={t('overview.fleet')}>
        <Stat label={t('overview.total')} value={f.number(c.total)} hint={t('overview.nodesCount', { n: f.number(nodes.length) })} testId="stat-total" />
        <Stat label={t('overview.allocated')} value={f.number(c.allocatedGpus, 1)} hint={t('overview.devicesInUse', { n: f.number(c.allocatedDevices) })} tone="ok" testId="stat-allocated" />
        <Stat label={t('overview.busy')} value={f.number(lastBusy, 1)} hint={lastBusy === null ? t('overview.noTelemetry') : t('overview.idleJobs', { n: f.number(data.idleJobs) })} testId="stat-busy" />
        <Stat label={t('overview.idle')} value={f.number(c.idle)} hint={t('overview.idleHint', { h: f.number(idleHours, 1) })} tone={c.idle > 0 ? 'warn' : undefined} testId="stat-idle" />
        <Stat
          label={t('overview.parked')}
          value={f.number(data.parking.parkedGpus)}
          hint={t('overview.parkedHint', { nodes: f.number(data.parking.nodes.parked + data.parking.nodes.parking), policy: t(`parking.policy.${data.parking.policy}` as MessageKey) })}
          tone="muted"
          testId="stat-parked"
        />
        <Stat label={t('overview.queued')} value={f.number(queued.length)} hint={topReasons.length ? t('overview.queueHint') : t('overview.queueEmpty')} testId="stat-queue" />
        <Stat label={t('overview.revenue')} value={f.money(market.totals.revenue)} hint={t('overview.floorHint', { v: f.money({ amountMicros: Math.round(floorCost), currency }) })} testId="stat-revenue" />
        <Stat label={t('overview.energy')} value={`${f.number(energyKwh, 2)} ${t('unit.kwh')}`} hint={lastPower === null ? t('overview.noTelemetry') : t('overview.powerNow', { kw: f.number(lastPower, 2) })} testId="stat-energy" />
      </div>
      <div className="grid-2">
        <Card title={t('overview.gpusOverTime')}>
          <Chart option={gpuOption} label={t('overview.gpusOverTime')} testId="chart-gpus" />
        </Card>
        <Card title={t('overview.idleTrend')}>
          <Chart option={idleOption} label={t('overview.idleTrend')} testId="chart-idle" />
        </Card>
        <Card title={t('overview.revenueVsFloor')}>
          {models.length === 0 ? <Empty title={t('overview.noSales')} /> : <Chart option={revenueOption} label={t('overview.revenueVsFloor')} testId="chart-revenue" />}
        </Card>
        <Card title={t('overview.energyTitle')}>
          <Chart option={energyOption} label={t('overview.energyTitle')} testId="chart-energy" />
        </Card>
        <Card title={t('overview.queueTitle')} actions={<Link href="/jobs?state=queued">{t('overview.seeQueue')}</Link>}>
          <Chart option={queueOption} label={t('overview.queueTitle')} height={140} testId="chart-queue" />
          {topReasons.length > 0 ? (
            <ul className="reasons">
              {topReasons.map(([r, n]) => (
                <li key={r}>
                  <span className="count">{f.number(n)}</span> {r}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">{t('overview.queueEmpty')}</p>
          )}
        </Card>
        <Card title={t('parking.title')} actions={<Link href="/nodes">{t('overview.seeNodes')}</Link>}>
          <ParkingFacts status={data.parking} nodes={nodes} />
        </Card>
        <Card title={t('overview.byModel')}>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.model')}</th>
                  <th scope="col" className="num">{t('overview.soldHours')}</th>
                  <th scope="col" className="num">{t('overview.idleGpuHours')}</th>
                  <th scope="col" className="num">{t('col.utilization')}</th>
                  <th scope="col" className="num">{t('overview.effPrice')}</th>
                  <th scope="col" className="num">{t('col.floor')}</th>
                </tr>
              </thead>
              <tbody>
                {market.models.map((m) => (
                  <tr key={m.model}>
                    <td>{m.model}</td>
                    <td className="num">{f.number(m.soldGpuHours, 2)}</td>
                    <td className="num">{f.number(m.idleGpuHours, 2)}</td>
                    <td className="num">{f.percent(m.utilizationPermille / 1000, 1)}</td>
                    <td className="num">{f.money(m.effectivePricePerGpuHour)}</td>
                    <td className="num">{f.money(m.floorPerGpuHour)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      </div>
    </>
  );
}
