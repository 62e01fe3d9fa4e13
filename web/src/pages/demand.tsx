import { useMemo, useState } from 'react';
import type { DemandReport } from '../api/types.js';
import { Chart, loadECharts, PALETTE } from '../components/chart.js';
import type { EChartsOption } from '../components/echarts.js';
import { Async } from '../components/states.js';
import { Card, PageHeader, Segmented, Stat } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n, type Formatters } from '../i18n/i18n.js';

const DAYS = { '3d': 3, '7d': 7, '14d': 14, '28d': 28 } as const;
type Days = keyof typeof DAYS;
const HORIZONS = { '24h': 24, '48h': 48 } as const;
type Horizon = keyof typeof HORIZONS;

const COLORS = { actual: PALETTE[0]!, forecast: '#7c3aed', band80: 'rgba(124, 58, 237, 0.28)', band95: 'rgba(124, 58, 237, 0.12)', baseline: '#64748b', backtest: '#f59e0b' };

export default function Demand() {
  const { t } = useI18n();
  const [days, setDays] = useState<Days>('7d');
  const [horizon, setHorizon] = useState<Horizon>('48h');
  const loaded = useApi(
    async (api, signal) => (await Promise.all([api.get('/v1/reports/demand', { query: { days: DAYS[days], horizon: HORIZONS[horizon] }, signal }), loadECharts()]))[0],
    [days, horizon],
    { pollMs: 5 * 60_000 },
  );
  return (
    <div className="page" data-testid="demand">
      <PageHeader title={t('demand.title')}>
        <Segmented label={t('demand.history')} value={days} onChange={setDays} options={(Object.keys(DAYS) as Days[]).map((d) => ({ id: d, label: t('demand.days', { n: DAYS[d] }) }))} />
        <Segmented label={t('demand.horizon')} value={horizon} onChange={setHorizon} options={(Object.keys(HORIZONS) as Horizon[]).map((h) => ({ id: h, label: t('demand.hours', { n: HORIZONS[h] }) }))} />
      </PageHeader>
      <Async {...loaded}>{(report) => <DemandBody report={report} />}</Async>
    </div>
  );
}

function hourLabel(f: Formatters) {
  const fmt = new Intl.DateTimeFormat(f.locale, { weekday: 'short', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return (t: number) => fmt.format(t);
}

function DemandBody({ report }: { report: DemandReport }) {
  const { t, f } = useI18n();
  const { actual, forecast, backtest, unavailable } = report;

  const option = useMemo<EChartsOption>(() => {
    // One hourly axis: the actual hours (the last is in progress; a young center's start at its first
    // allocation, showing at least a day), then the forecast hours after it.
    const firstKnown = actual.busyGpus.findIndex((v) => v !== null);
    const skip = firstKnown < 0 ? 0 : Math.max(0, Math.min(firstKnown, actual.at.length - 24));
    const at = actual.at.slice(skip);
    for (const x of forecast?.at ?? []) if (x > at[at.length - 1]!) at.push(x);
    const index = new Map(at.map((x, i) => [x, i]));
    const spread = (xs: readonly number[], values: readonly (number | null)[]) => {
      const out: (number | null)[] = at.map(() => null);
      xs.forEach((x, i) => {
        const k = index.get(x);
        if (k !== undefined) out[k] = values[i] ?? null;
      });
      return out;
    };
    const label = hourLabel(f);
    const actualSeries = spread(actual.at, actual.busyGpus);
    const hw = forecast?.holtWinters;
    const fc = (v: readonly number[] | undefined) => (forecast && v ? spread(forecast.at, v) : at.map(() => null));
    const lower95 = fc(hw?.lower95);
    const lower80 = fc(hw?.lower80);
    const width = (lo: (number | null)[], hi: (number | null)[]) => lo.map((l, i) => (l === null || hi[i] === null ? null : Math.max(0, hi[i]! - l)));
    const mean = fc(hw?.mean);
    const baseline = fc(forecast?.seasonalNaive.mean);
    const upper80 = fc(hw?.upper80);
    const upper95 = fc(hw?.upper95);
    const back = backtest ? spread(backtest.at, backtest.holtWinters.mean) : at.map(() => null);
    const names = {
      actual: t('demand.actual'),
      forecast: t('demand.forecast'),
      band80: t('demand.band80'),
      band95: t('demand.band95'),
      baseline: t('demand.baseline'),
      backtest: t('demand.backtestLine'),
    };
    const num = (v: number | null | undefined) => f.number(v ?? null, 2);
    const nowIndex = actual.at.length - 1 - skip;
    return {
      tooltip: {
        trigger: 'axis',
        formatter: (params: unknown) => {
          const i = (Array.isArray(params) ? (params[0] as { dataIndex: number }) : (params as { dataIndex: number })).dataIndex;
          const lines = [`<strong>${label(at[i]!)}</strong>`];
          if (actualSeries[i] !== null) lines.push(`${names.actual}: ${num(actualSeries[i])}`);
          if (mean[i] !== null) {
            lines.push(`${names.forecast}: ${num(mean[i])}`);
            lines.push(`${names.band80}: ${num(lower80[i])} – ${num(upper80[i])}`);
            lines.push(`${names.band95}: ${num(lower95[i])} – ${num(upper95[i])}`);
          }
          if (baseline[i] !== null) lines.push(`${names.baseline}: ${num(baseline[i])}`);
          if (back[i] !== null) lines.push(`${names.backtest}: ${num(back[i])}`);
          return lines.join('<br/>');
        },
      },
      legend: { top: 0, data: [names.actual, ...(forecast ? [names.forecast, names.band80, names.band95, names.baseline] : []), ...(backtest ? [names.backtest] : [])] },
      grid: { left: 48, right: 16, top: 56, bottom: 56 },
      xAxis: { type: 'category', data: at.map(label), boundaryGap: false, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', name: t('unit.gpus'), min: 0, minInterval: 1 },
      series: [
        // The bands: an invisible lower edge, then the band's width stacked on it.
        { name: names.band95, type: 'line', stack: 'b95', data: lower95, lineStyle: { opacity: 0 }, showSymbol: false, silent: true, tooltip: { show: false }, itemStyle: { color: COLORS.band95 } },
        { name: names.band95, type: 'line', stack: 'b95', data: width(lower95, upper95), lineStyle: { opacity: 0 }, areaStyle: { color: COLORS.band95 }, showSymbol: false, silent: true, itemStyle: { color: COLORS.band95 } },
        { name: names.band80, type: 'line', stack: 'b80', data: lower80, lineStyle: { opacity: 0 }, showSymbol: false, silent: true, itemStyle: { color: COLORS.band80 } },
        { name: names.band80, type: 'line', stack: 'b80', data: width(lower80, upper80), lineStyle: { opacity: 0 }, areaStyle: { color: COLORS.band80 }, showSymbol: false, silent: true, itemStyle: { color: COLORS.band80 } },
        { name: names.baseline, type: 'line', data: baseline, showSymbol: false, lineStyle: { type: 'dotted', width: 1.5 }, itemStyle: { color: COLORS.baseline } },
        ...(backtest ? [{ name: names.backtest, type: 'line' as const, data: back, showSymbol: false, lineStyle: { type: 'dashed' as const, width: 1.5 }, itemStyle: { color: COLORS.backtest } }] : []),
        { name: names.forecast, type: 'line', data: mean, showSymbol: false, lineStyle: { type: 'dashed', width: 2 }, itemStyle: { color: COLORS.forecast } },
        {
          name: names.actual,
          type: 'line',
          data: actualSeries,
          showSymbol: actual.busyGpus.filter((v) => v !== null).length <= 2,
          lineStyle: { width: 2 },
          itemStyle: { color: COLORS.actual },
          markLine: { symbol: 'none', silent: true, label: { formatter: t('demand.now') }, lineStyle: { color: '#0f172a', type: 'solid', width: 1 }, data: [{ xAxis: nowIndex }] },
        },
      ],
    };
  }, [actual, forecast, backtest, f, t]);

  const nowGpus = actual.busyGpus[actual.busyGpus.length - 1] ?? null;
  const label = hourLabel(f);
  const hour = (x: number | undefined) => (x === undefined ? '—' : label(x));
  const peak = forecast ? forecast.holtWinters.mean.reduce((best, v, i) => (v > best.v ? { v, i } : best), { v: -1, i: 0 }) : null;

  return (
    <div className="stack">
      {unavailable && (
        <div className="state state-info" role="status" data-testid="demand-unavailable" data-reason={unavailable.reason}>
          <strong>{t('demand.noForecast')}</strong>{' '}
          <span>
            {unavailable.reason === 'history-too-short'
              ? t('demand.tooShort', { need: f.number(report.minHistoryDays), have: f.number(report.historyDays, 1), since: f.dateTime(report.historyStart) })
              : unavailable.reason === 'no-history'
                ? t('demand.noHistory', { need: f.number(report.minHistoryDays) })
                : `${t('demand.fitFailed')} ${unavailable.message}`}
          </span>
        </div>
      )}
      {report.historyStart !== null && (
        <>
          <div className="stats">
            <Stat label={t('demand.historyDays')} value={f.number(report.historyDays, 1)} hint={t('demand.since', { when: f.date(report.historyStart) })} testId="demand-history" />
            <Stat label={t('demand.nowGpus')} value={f.number(nowGpus, 1)} hint={t('demand.ofCapacity', { n: f.number(report.capacityGpus) })} />
            {peak && forecast && <Stat label={t('demand.peak', { h: f.number(forecast.at.length) })} value={f.number(peak.v, 1)} hint={hour(forecast.at[peak.i])} tone="warn" testId="demand-peak" />}
            {backtest && (
              <Stat
                label={t('demand.backtestMae')}
                value={f.number(backtest.maeHoltWinters, 2)}
                hint={t('demand.backtestHint', { sn: f.number(backtest.maeSeasonalNaive, 2), c80: f.percent(backtest.coverage80), c95: f.percent(backtest.coverage95) })}
                tone={backtest.maeHoltWinters <= backtest.maeSeasonalNaive ? 'ok' : 'warn'}
                testId="demand-backtest"
              />
            )}
          </div>
          <Card title={t('demand.chartTitle')}>
            <Chart option={option} label={t('demand.chartLabel')} height={360} testId="chart-demand" />
            <p className="muted small">{t('demand.explain')}</p>
          </Card>
        </>
      )}
      {forecast && (
        <Card title={t('demand.tableTitle')}>
          <details>
            <summary>{t('demand.showTable', { n: f.number(forecast.at.length) })}</summary>
            <div className="table-wrap">
              <table data-testid="forecast-table">
                <thead>
                  <tr>
                    <th scope="col">{t('demand.hour')}</th>
                    <th scope="col" className="num">{t('demand.forecast')}</th>
                    <th scope="col" className="num">{t('demand.band80')}</th>
                    <th scope="col" className="num">{t('demand.band95')}</th>
                    <th scope="col" className="num">{t('demand.baseline')}</th>
                  </tr>
                </thead>
                <tbody>
                  {forecast.at.map((x, i) => (
                    <tr key={x}>
                      <td className="nowrap">{hour(x)}</td>
                      <td className="num">{f.number(forecast.holtWinters.mean[i], 2)}</td>
                      <td className="num">{f.number(forecast.holtWinters.lower80[i], 1)} – {f.number(forecast.holtWinters.upper80[i], 1)}</td>
                      <td className="num">{f.number(forecast.holtWinters.lower95[i], 1)} – {f.number(forecast.holtWinters.upper95[i], 1)}</td>
                      <td className="num">{f.number(forecast.seasonalNaive.mean[i], 2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </Card>
      )}
    </div>
  );
}
