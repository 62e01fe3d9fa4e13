/**
 * Report files for the openb simulation: unallocated-GPU curves as CSV (long format) and as a
 * self-contained SVG line chart. Pure functions: same input, byte-identical output (no ids, no times).
 */

export interface CurveSeries {
  policy: string;
  /** Already averaged over seeds by the caller, in arrival order. */
  points: { arrivedPct: number; unallocatedPct: number }[];
}

export type CurvePoint = CurveSeries['points'][number];

export interface SvgChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  /** Points kept per series at most (first, last and local extremes are kept). Default 600. */
  maxPointsPerSeries?: number;
  /** Leave out points below this arrived % (the x axis starts there). Default 0. */
  arrivedFromPct?: number;
}

export const DEFAULT_MAX_POINTS_PER_SERIES = 600;

/**
 * Okabe–Ito palette (colour-blind friendly), ordered so the most distinct come first; the yellow is
 * last as it is faint on white. Series past the eighth reuse colours with a dash pattern.
 */
export const OKABE_ITO = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = { left: 64, right: 176, top: 44, bottom: 56 };

/** Two decimals, never `-0.00`. */
function fixed2(n: number): string {
  const s = n.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** Coordinates: one decimal is plenty on an 800-px canvas. */
function coord(n: number): string {
  const r = Math.round(n * 10) / 10;
  return String(r === 0 ? 0 : r);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Long format: `policy,arrived_pct,unallocated_pct`, one row per point, series in the given order. */
export function curvesToCsv(series: CurveSeries[]): string {
  const lines = ['policy,arrived_pct,unallocated_pct'];
  for (const s of series) {
    const name = csvField(s.policy);
    for (const p of s.points) lines.push(`${name},${fixed2(p.arrivedPct)},${fixed2(p.unallocatedPct)}`);
  }
  return lines.join('\n') + '\n';
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * At most `maxPoints` points: the first and last, and in each of equal-width index buckets between them
 * the lowest and highest `unallocatedPct` (in their original order), so peaks and dips survive.
 * Non-finite points are dropped. Returns the input's points unchanged (copied) when already small enough.
 */
export function downsamplePoints(points: readonly CurvePoint[], maxPoints = DEFAULT_MAX_POINTS_PER_SERIES): CurvePoint[] {
  const finite = points.filter((p) => Number.isFinite(p.arrivedPct) && Number.isFinite(p.unallocatedPct));
  const cap = Math.max(2, Math.floor(maxPoints));
  if (finite.length <= cap) return finite.slice();
  const first = finite[0]!;
  const last = finite[finite.length - 1]!;
  const interior = finite.length - 2;
  const buckets = Math.max(1, Math.floor((cap - 2) / 2));
  const out: CurvePoint[] = [first];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * interior) / buckets);
    const end = 1 + Math.floor(((b + 1) * interior) / buckets);
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (finite[i]!.unallocatedPct < finite[lo]!.unallocatedPct) lo = i;
      if (finite[i]!.unallocatedPct > finite[hi]!.unallocatedPct) hi = i;
    }
    if (lo === hi) out.push(finite[lo]!);
    else if (lo < hi) out.push(finite[lo]!, finite[hi]!);
    else out.push(finite[hi]!, finite[lo]!);
  }
  out.push(last);
  return out;
}

/** A tick step of 1, 2, 2.5 or 5 × 10^k giving at most ~`target` intervals over `span`. */
function niceStep(span: number, target: number): number {
  if (!(span > 0)) return 1;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

interface Axis {
  min: number;
  max: number;
  step: number;
}

/** From `floor` (0 unless zoomed; lower for negative data) up to `dataMax` rounded up to a multiple of a nice step. */
function niceAxis(dataMin: number, dataMax: number, target: number, floor = 0): Axis {
  let lo = Math.min(floor, dataMin);
  let hi = Math.max(dataMax, lo);
  if (hi === lo) hi = lo + 1;
  const step = niceStep(hi - lo, target);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  return { min: lo === 0 ? 0 : lo, max: hi, step };
}

function ticks(axis: Axis): number[] {
  const out: number[] = [];
  const n = Math.round((axis.max - axis.min) / axis.step);
  for (let i = 0; i <= n; i++) out.push(Number((axis.min + i * axis.step).toFixed(10)));
  return out;
}

function tickLabel(v: number): string {
  return String(Number(v.toFixed(2)));
}

/** A line chart of unallocated GPU % against arrived workload %, one polyline per series. */
export function curvesToSvg(series: CurveSeries[], options: SvgChartOptions): string {
  const maxPoints = options.maxPointsPerSeries ?? DEFAULT_MAX_POINTS_PER_SERIES;
  const xLabel = options.xLabel ?? 'Arrived workload (% of GPU capacity)';
  const yLabel = options.yLabel ?? 'Unallocated GPU (%)';
  // Below ~80% arrived every policy places everything and the curves coincide with 100 − arrived;
  // callers zoom in where they differ.
  const from = options.arrivedFromPct ?? 0;
  const sampled = series.map((s) => downsamplePoints(s.points.filter((p) => p.arrivedPct >= from), maxPoints));

  let xMin = from;
  let xMax = 100;
  let yMin = 0;
  let yMax = 0;
  for (const pts of sampled) {
    for (const p of pts) {
      xMin = Math.min(xMin, p.arrivedPct);
      xMax = Math.max(xMax, p.arrivedPct);
      yMin = Math.min(yMin, p.unallocatedPct);
      yMax = Math.max(yMax, p.unallocatedPct);
    }
  }
  const xAxis = niceAxis(xMin, xMax, 14, from);
  const yAxis = niceAxis(yMin, yMax, 10);

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = MARGIN.top + plotH;
  const sx = (v: number): number => x0 + ((v - xAxis.min) / (xAxis.max - xAxis.min)) * plotW;
  const sy = (v: number): number => y0 - ((v - yAxis.min) / (yAxis.max - yAxis.min)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(
    `<text x="${coord(WIDTH / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="bold">` +
      `${escapeXml(options.title)}</text>`,
  );

  // Gridlines and ticks.
  out.push('<g stroke="#e0e0e0" stroke-width="1">');
  for (const t of ticks(xAxis)) out.push(`<line x1="${coord(sx(t))}" y1="${MARGIN.top}" x2="${coord(sx(t))}" y2="${y0}"/>`);
  for (const t of ticks(yAxis)) out.push(`<line x1="${x0}" y1="${coord(sy(t))}" x2="${x0 + plotW}" y2="${coord(sy(t))}"/>`);
  out.push('</g>');
  out.push('<g stroke="#000000" stroke-width="1">');
  for (const t of ticks(xAxis)) out.push(`<line x1="${coord(sx(t))}" y1="${y0}" x2="${coord(sx(t))}" y2="${y0 + 5}"/>`);
  for (const t of ticks(yAxis)) out.push(`<line x1="${x0 - 5}" y1="${coord(sy(t))}" x2="${x0}" y2="${coord(sy(t))}"/>`);
  out.push('</g>');
  out.push('<g text-anchor="middle">');
  for (const t of ticks(xAxis)) out.push(`<text x="${coord(sx(t))}" y="${y0 + 18}">${tickLabel(t)}</text>`);
  out.push('</g>');
  out.push('<g text-anchor="end">');
  for (const t of ticks(yAxis)) out.push(`<text x="${x0 - 8}" y="${coord(sy(t) + 4)}">${tickLabel(t)}</text>`);
  out.push('</g>');

  // Axes and labels.
  out.push(
    `<path d="M${x0} ${MARGIN.top}V${y0}H${x0 + plotW}" fill="none" stroke="#000000" stroke-width="1"/>`,
  );
  out.push(`<text x="${coord(x0 + plotW / 2)}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  const yLabelY = coord(MARGIN.top + plotH / 2);
  out.push(
    `<text x="18" y="${yLabelY}" text-anchor="middle" transform="rotate(-90 18 ${yLabelY})">${escapeXml(yLabel)}</text>`,
  );

  // Arrived = 100% marker.
  if (xAxis.min <= 100 && 100 <= xAxis.max) {
    out.push(
      `<line x1="${coord(sx(100))}" y1="${MARGIN.top}" x2="${coord(sx(100))}" y2="${y0}" ` +
        `stroke="#555555" stroke-width="1" stroke-dasharray="5 4"/>`,
    );
  }

  // Curves.
  sampled.forEach((pts, i) => {
    const pointsAttr = pts.map((p) => `${coord(sx(p.arrivedPct))},${coord(sy(p.unallocatedPct))}`).join(' ');
    out.push(`<polyline points="${pointsAttr}" ${strokeAttrs(i)} fill="none" stroke-linejoin="round"/>`);
  });

  // Legend, right of the plot.
  const lx = x0 + plotW + 16;
  out.push('<g>');
  series.forEach((s, i) => {
    const ly = MARGIN.top + 10 + i * 20;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" ${strokeAttrs(i)}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.policy)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function strokeAttrs(i: number): string {
  const colour = OKABE_ITO[i % OKABE_ITO.length]!;
  const dash = DASHES[Math.floor(i / OKABE_ITO.length) % DASHES.length]!;
  return `stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
}
