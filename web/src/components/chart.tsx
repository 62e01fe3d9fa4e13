import { useEffect, useRef, useState } from 'react';
import type { EChartsOption } from './echarts.js';

type ECharts = typeof import('./echarts.js')['echarts'];
let loaded: ECharts | null = null;
let loading: Promise<ECharts> | null = null;

/**
 * ECharts is the largest part of the console (about 600 kB): it is fetched and compiled on its own,
 * in parallel with a page's API calls (pages await `loadECharts()` beside their data).
 */
export function loadECharts(): Promise<ECharts> {
  loading ??= import('./echarts.js').then((m) => (loaded = m.echarts));
  return loading;
}

export const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

/**
 * An ECharts chart. `label` describes it to screen readers; `data-chart-ready` is set once it has drawn
 * a series with data (the end-to-end tests wait on it). On a narrow chart (a phone) a legend scrolls on
 * one line instead of wrapping over the plot.
 */
export function Chart({ option, label, height = 260, testId }: { option: EChartsOption; label: string; height?: number; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<ECharts['init']> | null>(null);
  const [lib, setLib] = useState<ECharts | null>(loaded);
  const [narrow, setNarrow] = useState(false);

  useEffect(() => {
    if (!lib) void loadECharts().then(setLib);
  }, [lib]);

  useEffect(() => {
    if (!el.current || !lib) return;
    const c = lib.init(el.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const ro = new ResizeObserver(() => {
      c.resize();
      setNarrow((el.current?.clientWidth ?? 1000) < 560);
    });
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, [lib]);

  useEffect(() => {
    const c = chart.current;
    if (!c || !el.current) return;
    const legend = (option as { legend?: unknown }).legend;
    const fitted = narrow && legend && typeof legend === 'object' && !Array.isArray(legend) ? { legend: { ...legend, type: 'scroll' } } : {};
    c.setOption({ color: PALETTE, animationDuration: 300, textStyle: { fontFamily: 'inherit' }, ...(option as object), ...fitted }, { notMerge: true });
    const series = ((option as { series?: { data?: unknown[] }[] }).series ?? []) as { data?: unknown[] }[];
    const hasData = series.some((s) => Array.isArray(s.data) && s.data.some((d) => d !== null && d !== undefined));
    el.current.dataset.chartReady = hasData ? 'true' : 'empty';
  }, [option, lib, narrow]);

  return <div ref={el} className="chart" role="img" aria-label={label} style={{ height }} data-testid={testId} />;
}
