/**
 * A small self-contained SVG line chart: awake GPUs (awake nodes × GPUs per node) per policy against
 * GPU demand, over one week of the replay. Pure: same input, same bytes.
 */
import { escapeXml, OKABE_ITO } from '../openb/report-files.js';

export interface WeekSeries {
  label: string;
  /** One value per bucket. */
  values: ArrayLike<number>;
  dashed?: boolean;
}

const W = 900;
const H = 420;
const M = { left: 64, right: 190, top: 40, bottom: 50 };

export function weekChartSvg(series: WeekSeries[], options: { title: string; bucketMin: number; yMax: number }): string {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (i: number) => M.left + (n <= 1 ? 0 : (i / (n - 1)) * pw);
  const y = (v: number) => M.top + ph - (Math.max(0, Math.min(v, options.yMax)) / options.yMax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="14">${escapeXml(options.title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (options.yMax * k) / 4;
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`);
  }
  const perDay = (24 * 60) / options.bucketMin;
  for (let d = 0; d * perDay <= n; d++) {
    const xi = x(Math.min(d * perDay, n - 1));
    out.push(`<line x1="${xi.toFixed(1)}" x2="${xi.toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${xi.toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">day ${d}</text>`);
  }
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">time (days into the week)</text>`);
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">GPUs</text>`);
  series.forEach((s, k) => {
    const color = OKABE_ITO[k % OKABE_ITO.length]!;
    const pts: string[] = [];
    for (let i = 0; i < s.values.length; i++) pts.push(`${x(i).toFixed(1)},${y(s.values[i]!).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`);
    const ly = M.top + 10 + k * 18;
    out.push(`<line x1="${W - M.right + 12}" x2="${W - M.right + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${W - M.right + 42}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
