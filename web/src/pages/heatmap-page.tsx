import { useCallback, useMemo, useState } from 'react';
import { Heatmap, RAMPS } from '../components/heatmap.js';
import { Async, Empty } from '../components/states.js';
import { Card, PageHeader, Segmented } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';

const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000 } as const;
type Range = keyof typeof RANGES;
type Mode = 'allocation' | 'utilization';

export default function HeatmapPage() {
  const { t, f } = useI18n();
  const [range, setRange] = useState<Range>('1h');
  const [mode, setMode] = useState<Mode>('allocation');
  const [drawMs, setDrawMs] = useState<number | null>(null);
  const loaded = useApi(
    (api, signal) => {
      const to = Date.now();
      return api.get('/v1/reports/gpu-timeline', { query: { from: to - RANGES[range], to, buckets: 60, devices: true }, signal });
    },
    [range],
    { pollMs: 30_000 },
  );
  const onDrawn = useCallback((ms: number) => setDrawMs(ms), []);
  const rows = useMemo(() => loaded.data?.devices ?? [], [loaded.data]);

  return (
    <div className="page">
      <PageHeader title={t('heatmap.title')}>
        <Segmented label={t('heatmap.mode')} value={mode} onChange={setMode} options={[{ id: 'allocation', label: t('heatmap.allocation') }, { id: 'utilization', label: t('heatmap.utilization') }]} />
        <Segmented label={t('overview.range')} value={range} onChange={setRange} options={(Object.keys(RANGES) as Range[]).map((r) => ({ id: r, label: t(`range.${r}`) }))} />
      </PageHeader>
      <Async {...loaded}>
        {(data) =>
          rows.length === 0 ? (
            <Empty title={t('overview.noNodesTitle')}>{t('overview.noNodesHint')}</Empty>
          ) : (
            <Card>
              <p className="muted">
                {t('heatmap.summary', { devices: f.number(rows.length), nodes: f.number(new Set(rows.map((r) => r.nodeId)).size), from: f.time(data.from), to: f.time(data.to) })}{' '}
                {drawMs !== null && <span data-testid="heatmap-draw-ms" data-ms={drawMs.toFixed(1)} data-mode={mode}>{t('heatmap.drawn', { ms: f.number(drawMs, 1) })}</span>}
              </p>
              <Heatmap
                rows={rows}
                at={data.at}
                values={mode === 'allocation' ? (data.allocatedMilli ?? []) : (data.utilizationPct ?? [])}
                max={mode === 'allocation' ? 1000 : 100}
                ramp={mode}
                label={t(mode === 'allocation' ? 'heatmap.labelAllocation' : 'heatmap.labelUtilization')}
                onDrawn={onDrawn}
                describe={(row, at, v) =>
                  `${row.nodeName} · GPU ${row.index} (${row.model}) · ${f.time(at)} · ` +
                  (v === null ? t('heatmap.noData') : mode === 'allocation' ? t('heatmap.allocatedValue', { v: f.number(v / 1000, 2) }) : t('heatmap.utilValue', { v: f.number(v) }))
                }
              />
              <div className="legend" aria-hidden="true">
                <span>{mode === 'allocation' ? '0' : '0%'}</span>
                <span className="ramp" style={{ background: `linear-gradient(90deg, ${RAMPS[mode].join(', ')})` }} />
                <span>{mode === 'allocation' ? t('heatmap.wholeGpu') : '100%'}</span>
                {mode === 'utilization' && (
                  <>
                    <span className="swatch nodata" /> <span>{t('heatmap.noData')}</span>
                  </>
                )}
              </div>
              <p className="muted small">{t('heatmap.keys')}</p>
            </Card>
          )
        }
      </Async>
    </div>
  );
}
