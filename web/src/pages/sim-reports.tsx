import { useEffect, useMemo, useState, type ChangeEvent, type DragEvent } from 'react';
import { Chart, loadECharts, PALETTE } from '../components/chart.js';
import type { EChartsOption } from '../components/echarts.js';
import { Empty, Loading } from '../components/states.js';
import { Card, PageHeader, Stat } from '../components/ui.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { MAX_BYTES, parseSimReport, type EnergyReport, type OpenbReport, type Problem, type SimReport } from '../sim/report.js';

type Loaded = { file: string; size: number } & ({ state: 'reading' } | { state: 'bad'; problems: Problem[] } | { state: 'ok'; report: SimReport });

/** The last report stays while the console is open, so leaving the page and coming back keeps it. */
let remembered: Loaded | null = null;

export default function SimReports() {
  const { t, f } = useI18n();
  const [loaded, setLoaded] = useState<Loaded | null>(remembered);
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    remembered = loaded?.state === 'reading' ? remembered : loaded;
  }, [loaded]);
  useEffect(() => void loadECharts(), []);

  const open = async (file: File) => {
    const base = { file: file.name, size: file.size };
    if (file.size > MAX_BYTES) return setLoaded({ ...base, state: 'bad', problems: [{ code: 'tooLarge', path: '', found: String(file.size) }] });
    setLoaded({ ...base, state: 'reading' });
    try {
      const [text] = await Promise.all([file.text(), loadECharts()]);
      const r = parseSimReport(text);
      setLoaded(r.ok ? { ...base, state: 'ok', report: r.report } : { ...base, state: 'bad', problems: r.problems });
    } catch (err) {
      setLoaded({ ...base, state: 'bad', problems: [{ code: 'notJson', path: '', detail: (err as Error).message }] });
    }
  };
  const onPick = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) void open(file);
    e.target.value = ''; // choosing the same file again reads it again
  };
  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void open(file);
  };

  return (
    <div className="page" data-testid="sim-reports">
      <PageHeader title={t('sim.title')} />
      <Card title={t('sim.open')}>
        <div
          className={`dropzone ${dragging ? 'dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label htmlFor="sim-file" className="label">
            {t('sim.pick')}
          </label>
          <input id="sim-file" type="file" accept=".json,application/json" onChange={onPick} aria-describedby="sim-file-hint" data-testid="sim-file" />
          <p id="sim-file-hint" className="muted small">
            {t('sim.pickHint')}
          </p>
        </div>
      </Card>
      {!loaded ? (
        <Empty title={t('sim.emptyTitle')}>
          <p>{t('sim.emptyHint')}</p>
          <pre className="cmd">unidle sim energy --helios ../shared/traces/helios --json &gt; energy.json{'\n'}unidle sim openb --nodes NODES.csv --pods PODS.csv --seeds 42-51 --json &gt; openb.json</pre>
        </Empty>
      ) : loaded.state === 'reading' ? (
        <Loading label={t('sim.reading', { file: loaded.file })} />
      ) : loaded.state === 'bad' ? (
        <div className="state state-error" role="alert" data-testid="sim-problems">
          <strong>{t('sim.bad', { file: loaded.file })}</strong>
          <ul>
            {loaded.problems.map((p, i) => (
              <li key={i}>{problemText(t, f, p)}</li>
            ))}
          </ul>
          <span>{t('sim.badHint')}</span>
        </div>
      ) : (
        <div className="stack" data-testid="sim-report" data-kind={loaded.report.kind}>
          <p className="muted">
            {t('sim.showing', { file: loaded.file, kind: t(loaded.report.kind === 'energy' ? 'sim.kind.energy' : 'sim.kind.openb'), size: f.number(loaded.size / 1024, 1) })}
          </p>
          {loaded.report.kind === 'energy' ? <EnergyView report={loaded.report} /> : <OpenbView report={loaded.report} />}
        </div>
      )}
    </div>
  );
}

function problemText(t: ReturnType<typeof useI18n>['t'], f: ReturnType<typeof useI18n>['f'], p: Problem): string {
  const where = p.path || t('sim.theFile');
  const found = p.code === 'tooLarge' ? f.number(Number(p.found) / 1024 / 1024, 1) : (p.found ?? '');
  return t(`sim.problem.${p.code}` as MessageKey, { path: where, found, detail: p.detail ?? '', max: f.number(MAX_BYTES / 1024 / 1024) });
}

const axisTooltip = (format: (v: number | null) => string) => ({ trigger: 'axis' as const, valueFormatter: (v: unknown) => format(typeof v === 'number' ? v : null) });

function EnergyView({ report }: { report: EnergyReport }) {
  const { t, f } = useI18n();
  const names = report.policies.map((p) => p.name);
  const base = report.policies.find((p) => p.name === 'always-on') ?? null;
  const best = report.policies.reduce((a, b) => (b.idleEnergySavedPct > a.idleEnergySavedPct ? b : a));
  const leastDelay = report.policies.filter((p) => p !== base).reduce<typeof best | null>((a, b) => (!a || b.delayedDemandPct < a.delayedDemandPct ? b : a), null);

  const energyOption = useMemo<EChartsOption>(
    () => ({
      tooltip: axisTooltip((v) => `${f.number(v)} ${t('unit.kwh')}`),
      grid: { left: 80, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: names },
      yAxis: { type: 'value', name: t('unit.kwh'), scale: true },
      series: [{ name: t('sim.energy'), type: 'bar', data: report.policies.map((p) => p.energyKWh), itemStyle: { color: '#7c3aed' }, label: { show: true, position: 'top', formatter: (x: { value: unknown }) => f.number(Number(x.value)) } }],
    }),
    [report, f, t, names],
  );
  const tradeOption = useMemo<EChartsOption>(
    () => ({
      tooltip: axisTooltip((v) => f.number(v, 3)),
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 40, bottom: 28 },
      xAxis: { type: 'category', data: names },
      yAxis: [
        { type: 'value', name: t('sim.savedAxis'), max: 100 },
        { type: 'value', name: t('sim.delayedAxis'), splitLine: { show: false } },
      ],
      series: [
        { name: t('sim.idleSaved'), type: 'bar', data: report.policies.map((p) => p.idleEnergySavedPct), itemStyle: { color: '#16a34a' } },
        { name: t('sim.delayedDemand'), type: 'bar', yAxisIndex: 1, data: report.policies.map((p) => p.delayedDemandPct), itemStyle: { color: '#f59e0b' } },
      ],
    }),
    [report, f, t, names],
  );
  const cyclesOption = useMemo<EChartsOption>(
    () => ({
      tooltip: axisTooltip((v) => f.number(v, 3)),
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 40, bottom: 28 },
      xAxis: { type: 'category', data: names },
      yAxis: [
        { type: 'value', name: t('sim.cyclesAxis') },
        { type: 'value', name: t('sim.minutes'), splitLine: { show: false } },
      ],
      series: [
        { name: t('sim.cycles'), type: 'bar', data: report.policies.map((p) => p.powerCyclesPerNodeDay), itemStyle: { color: PALETTE[5] } },
        { name: t('sim.meanDelay'), type: 'bar', yAxisIndex: 1, data: report.policies.map((p) => p.meanDelayMin), itemStyle: { color: PALETTE[3] } },
      ],
    }),
    [report, f, t, names],
  );

  const pct = (v: number | null, d = 2) => (v === null ? '—' : `${f.number(v, d)} %`);
  return (
    <>
      <div className="stats">
        <Stat label={t('sim.policies')} value={f.number(report.policies.length)} hint={report.cluster ? t('sim.cluster', { cluster: report.cluster, gpus: f.number(report.simulatedGpus) }) : undefined} />
        <Stat label={t('sim.bestSaving')} value={pct(best.idleEnergySavedPct, 1)} hint={best.name} tone="ok" testId="sim-best" />
        {leastDelay && <Stat label={t('sim.leastDelay')} value={pct(leastDelay.delayedDemandPct, 3)} hint={leastDelay.name} tone="warn" />}
        {report.jobs !== null && <Stat label={t('sim.jobs')} value={f.number(report.jobs)} hint={report.seed !== null ? t('sim.seed', { seed: report.seed }) : undefined} />}
        {report.power && (
          <Stat
            label={t('sim.power')}
            value={report.power.gpuModel}
            hint={t('sim.powerHint', { idle: f.number(report.power.idleWatts, 1), busy: f.number(report.power.busyWatts), pue: f.number(report.power.pue, 2), wake: f.number(report.power.wakeMinutes) })}
          />
        )}
      </div>
      <div className="grid-2">
        <Card title={t('sim.energyTitle')}>
          <Chart option={energyOption} label={t('sim.energyTitle')} testId="chart-sim-energy" />
        </Card>
        <Card title={t('sim.tradeTitle')}>
          <Chart option={tradeOption} label={t('sim.tradeTitle')} testId="chart-sim-trade" />
        </Card>
        <Card title={t('sim.cyclesTitle')}>
          <Chart option={cyclesOption} label={t('sim.cyclesTitle')} testId="chart-sim-cycles" />
        </Card>
      </div>
      <Card title={t('sim.tableTitle')}>
        <div className="table-wrap">
          <table data-testid="sim-table">
            <thead>
              <tr>
                <th scope="col">{t('sim.policy')}</th>
                <th scope="col">{t('sim.placement')}</th>
                <th scope="col" className="num">{t('sim.energy')}</th>
                <th scope="col" className="num">{t('sim.idleSaved')}</th>
                <th scope="col" className="num">{t('sim.delayedDemand')}</th>
                <th scope="col" className="num">{t('sim.meanDelay')}</th>
                <th scope="col" className="num">{t('sim.cycles')}</th>
                <th scope="col" className="num">{t('sim.mostCycles')}</th>
                <th scope="col" className="num">{t('sim.awakeNodes')}</th>
                <th scope="col" className="num">{t('sim.queueWait')}</th>
              </tr>
            </thead>
            <tbody>
              {report.policies.map((p) => (
                <tr key={p.name}>
                  <th scope="row">{p.name}</th>
                  <td>{p.placement ?? '—'}</td>
                  <td className="num">{f.number(p.energyKWh)} {t('unit.kwh')}</td>
                  <td className="num">{pct(p.idleEnergySavedPct, 1)}</td>
                  <td className="num">{pct(p.delayedDemandPct, 3)}</td>
                  <td className="num">{t('sim.min', { n: f.number(p.meanDelayMin, 2) })}</td>
                  <td className="num">{f.number(p.powerCyclesPerNodeDay, 2)}</td>
                  <td className="num">{p.maxCyclesPerNodeDay === null ? '—' : `${f.number(p.maxCyclesPerNodeDay)} (${p.maxCyclesPerNode24h === null ? '—' : f.number(p.maxCyclesPerNode24h)})`}</td>
                  <td className="num">{f.number(p.meanAwakeNodes, 1)}</td>
                  <td className="num">{p.queueWaitPct === null ? '—' : `${pct(p.queueWaitPct, 1)} / ${t('sim.min', { n: f.number(p.meanQueueWaitMin, 1) })}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="muted small">{t('sim.energyNote')}</p>
      </Card>
    </>
  );
}

function OpenbView({ report }: { report: OpenbReport }) {
  const { t, f } = useI18n();
  const names = report.summary.map((s) => s.policy);
  const ranked = report.summary.filter((s) => s.unallocatedPctAt100.mean !== null);
  const best = ranked.length ? ranked.reduce((a, b) => (b.unallocatedPctAt100.mean! < a.unallocatedPctAt100.mean! ? b : a)) : null;

  const unallocOption = useMemo<EChartsOption>(
    () => ({
      tooltip: {
        trigger: 'axis',
        formatter: (params: unknown) => {
          const i = (params as { dataIndex: number }[])[0]!.dataIndex;
          const s = report.summary[i]!;
          return `<strong>${s.policy}</strong><br/>${t('sim.unalloc')}: ${f.number(s.unallocatedPctAt100.mean, 2)} %${s.unallocatedPctAt100.sd !== null ? ` ± ${f.number(s.unallocatedPctAt100.sd, 2)}` : ''}`;
        },
      },
      grid: { left: 48, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: names },
      yAxis: { type: 'value', name: '%' },
      series: [
        {
          name: t('sim.unalloc'),
          type: 'bar',
          data: report.summary.map((s) => s.unallocatedPctAt100.mean),
          itemStyle: { color: '#dc2626' },
          label: { show: true, position: 'top', formatter: (x: { dataIndex: number }) => { const s = report.summary[x.dataIndex]!.unallocatedPctAt100; return s.sd === null ? f.number(s.mean, 2) : `${f.number(s.mean, 2)} ± ${f.number(s.sd, 2)}`; } },
        },
      ],
    }),
    [report, f, t, names],
  );
  const allocOption = useMemo<EChartsOption>(
    () => ({
      tooltip: axisTooltip((v) => `${f.number(v, 2)} %`),
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 28 },
      xAxis: { type: 'category', data: names },
      yAxis: { type: 'value', name: '%', min: (v: { min: number }) => Math.max(0, Math.floor((v.min - 2) / 5) * 5), max: 100, interval: 5 },
      series: (['90', '100', '130'] as const).map((k, i) => ({ name: t('sim.allocAt', { pct: k }), type: 'bar' as const, data: report.summary.map((s) => s.allocPctAt[k]), itemStyle: { color: PALETTE[[0, 1, 4][i]!] } })),
    }),
    [report, f, t, names],
  );
  const seedsOption = useMemo<EChartsOption>(
    () => ({
      tooltip: axisTooltip((v) => `${f.number(v, 2)} %`),
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: report.seeds.map(String), name: t('sim.seedAxis'), nameLocation: 'middle', nameGap: 26 },
      yAxis: { type: 'value', name: '%', scale: true },
      series: names.map((policy) => ({
        name: policy,
        type: 'line' as const,
        data: report.seeds.map((seed) => report.runs.find((r) => r.policy === policy && r.seed === seed)?.unallocatedPctAt100 ?? null),
        symbolSize: 7,
      })),
    }),
    [report, f, t, names],
  );

  return (
    <>
      <div className="stats">
        <Stat label={t('sim.gpus')} value={f.number(report.gpus)} hint={t('sim.nodesPods', { nodes: f.number(report.nodes), pods: f.number(report.pods) })} />
        <Stat label={t('sim.inflate')} value={`${f.number(report.inflate, 2)}×`} hint={t('sim.seedsHint', { n: f.number(report.seeds.length) })} />
        {best && <Stat label={t('sim.lowestUnalloc')} value={`${f.number(best.unallocatedPctAt100.mean, 2)} %`} hint={best.policy} tone="ok" testId="sim-best" />}
        <Stat label={t('sim.policies')} value={f.number(report.summary.length)} hint={names.join(', ')} />
      </div>
      <div className="grid-2">
        <Card title={t('sim.unallocTitle')}>
          <Chart option={unallocOption} label={t('sim.unallocTitle')} testId="chart-sim-unalloc" />
        </Card>
        <Card title={t('sim.allocTitle')}>
          <Chart option={allocOption} label={t('sim.allocTitle')} testId="chart-sim-alloc" />
        </Card>
        <Card title={t('sim.seedsTitle')}>
          <Chart option={seedsOption} label={t('sim.seedsTitle')} testId="chart-sim-seeds" />
        </Card>
      </div>
      <Card title={t('sim.tableTitle')}>
        <div className="table-wrap">
          <table data-testid="sim-table">
            <thead>
              <tr>
                <th scope="col">{t('sim.policy')}</th>
                <th scope="col" className="num">{t('sim.unalloc')}</th>
                <th scope="col" className="num">{t('sim.allocAt', { pct: 90 })}</th>
                <th scope="col" className="num">{t('sim.allocAt', { pct: 100 })}</th>
                <th scope="col" className="num">{t('sim.allocAt', { pct: 130 })}</th>
                <th scope="col" className="num">{t('sim.placements')}</th>
                <th scope="col" className="num">{t('sim.failures')}</th>
                <th scope="col" className="num">{t('sim.msPerRun')}</th>
              </tr>
            </thead>
            <tbody>
              {report.summary.map((s) => (
                <tr key={s.policy}>
                  <th scope="row">{s.policy}</th>
                  <td className="num">
                    {f.number(s.unallocatedPctAt100.mean, 2)}
                    {s.unallocatedPctAt100.sd !== null && ` ± ${f.number(s.unallocatedPctAt100.sd, 2)}`}
                  </td>
                  <td className="num">{f.number(s.allocPctAt['90'], 2)}</td>
                  <td className="num">{f.number(s.allocPctAt['100'], 2)}</td>
                  <td className="num">{f.number(s.allocPctAt['130'], 2)}</td>
                  <td className="num">{f.number(s.placements)}</td>
                  <td className="num">{f.number(s.failures)}</td>
                  <td className="num">{f.number(s.wallMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <details>
          <summary>{t('sim.runs', { n: f.number(report.runs.length) })}</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('sim.policy')}</th>
                  <th scope="col" className="num">{t('sim.seedAxis')}</th>
                  <th scope="col" className="num">{t('sim.unalloc')}</th>
                  <th scope="col" className="num">{t('sim.arrivals')}</th>
                  <th scope="col" className="num">{t('sim.placements')}</th>
                  <th scope="col" className="num">{t('sim.failures')}</th>
                </tr>
              </thead>
              <tbody>
                {report.runs.map((r) => (
                  <tr key={`${r.policy}-${r.seed}`}>
                    <td>{r.policy}</td>
                    <td className="num">{r.seed}</td>
                    <td className="num">{f.number(r.unallocatedPctAt100, 2)}</td>
                    <td className="num">{f.number(r.arrivals)}</td>
                    <td className="num">{f.number(r.placements)}</td>
                    <td className="num">{f.number(r.failures)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
        <p className="muted small">{t('sim.openbNote')}</p>
      </Card>
    </>
  );
}
