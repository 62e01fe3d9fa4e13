import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';

export interface HeatmapRow {
  nodeName: string;
  index: number;
  model: string;
}

interface Props {
  rows: HeatmapRow[];
  at: number[];
  /** [row][column]; null: no data. */
  values: (number | null)[][];
  max: number;
  ramp: 'allocation' | 'utilization';
  label: string;
  describe(row: HeatmapRow, at: number, value: number | null): string;
  onDrawn?(ms: number): void;
}

const GUTTER = 112;
const MAX_HEIGHT = 640;

function hex(c: string): [number, number, number] {
  const n = parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** 256 colours from `stops`, as packed RGBA for ImageData. */
function lut(stops: string[]): Uint32Array {
  const out = new Uint32Array(256);
  const cs = stops.map(hex);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (cs.length - 1);
    const k = Math.min(cs.length - 2, Math.floor(x));
    const f = x - k;
    const [a, b] = [cs[k]!, cs[k + 1]!];
    const r = Math.round(a[0] + (b[0] - a[0]) * f);
    const g = Math.round(a[1] + (b[1] - a[1]) * f);
    const bl = Math.round(a[2] + (b[2] - a[2]) * f);
    out[i] = (255 << 24) | (bl << 16) | (g << 8) | r; // little-endian RGBA
  }
  return out;
}
export const RAMPS = {
  allocation: ['#eef2f7', '#93c5fd', '#2563eb', '#1e3a8a'],
  utilization: ['#f0fdf4', '#86efac', '#facc15', '#f97316', '#b91c1c'],
};
const LUTS = { allocation: lut(RAMPS.allocation), utilization: lut(RAMPS.utilization) };
const NO_DATA = (255 << 24) | (0xe5 << 16) | (0xe7 << 8) | 0xeb; // #ebe7e5-ish grey: no telemetry

/**
 * A node × device by time heatmap on one canvas. The cells are painted once into an image of
 * columns × rows pixels and scaled up without smoothing, so 2,000 devices × 240 buckets draw in a few
 * milliseconds. Hover, or focus it and use the arrow keys, to read a cell.
 */
export function Heatmap({ rows, at, values, max, ramp, label, describe, onDrawn }: Props) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(800);
  const [cursor, setCursor] = useState<{ r: number; c: number } | null>(null);
  const cols = at.length;
  const rowH = rows.length === 0 ? 1 : Math.max(1, Math.min(14, Math.floor(MAX_HEIGHT / rows.length)));
  const height = Math.max(40, rows.length * rowH);

  const image = useMemo(() => {
    const t0 = performance.now();
    const off = document.createElement('canvas');
    off.width = Math.max(1, cols);
    off.height = Math.max(1, rows.length);
    const ctx = off.getContext('2d')!;
    const img = ctx.createImageData(off.width, off.height);
    const px = new Uint32Array(img.data.buffer);
    const colors = LUTS[ramp];
    for (let r = 0; r < rows.length; r++) {
      const line = values[r];
      for (let c = 0; c < cols; c++) {
        const v = line?.[c];
        px[r * cols + c] = v === null || v === undefined ? NO_DATA : colors[Math.max(0, Math.min(255, Math.round((v / max) * 255)))]!;
      }
    }
    ctx.putImageData(img, 0, 0);
    return { off, ms: performance.now() - t0 };
  }, [rows, cols, values, max, ramp]);

  // Node boundaries and the labels that fit (at least 14 px apart).
  const nodes = useMemo(() => {
    const starts: { row: number; name: string }[] = [];
    rows.forEach((d, i) => {
      if (i === 0 || rows[i - 1]!.nodeName !== d.nodeName) starts.push({ row: i, name: d.nodeName });
    });
    return starts;
  }, [rows]);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const cv = canvas.current;
    if (!cv) return;
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    cv.width = Math.round(width * dpr);
    cv.height = Math.round(height * dpr);
    cv.style.width = `${width}px`;
    cv.style.height = `${height}px`;
    const ctx = cv.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = false;
    const plotW = width - GUTTER;
    if (rows.length > 0 && cols > 0) ctx.drawImage(image.off, GUTTER, 0, plotW, rows.length * rowH);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#475569';
    ctx.textBaseline = 'top';
    let lastY = -100;
    for (const n of nodes) {
      const y = n.row * rowH;
      if (rowH >= 3 && n.row > 0) {
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(GUTTER, y, plotW, 1);
        ctx.fillStyle = '#475569';
      }
      if (y - lastY >= 14 && y + 10 <= height) {
        ctx.fillText(n.name.length > 16 ? `${n.name.slice(0, 15)}…` : n.name, 4, y + 1);
        lastY = y;
      }
    }
    if (cursor && cols > 0) {
      const cw = plotW / cols;
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(GUTTER + cursor.c * cw, cursor.r * rowH, Math.max(2, cw), Math.max(2, rowH));
    }
    onDrawn?.(image.ms + performance.now() - t0);
  }, [image, width, height, rowH, nodes, cursor, cols, rows.length, onDrawn]);

  const pick = useCallback(
    (e: MouseEvent<HTMLCanvasElement>) => {
      const rect = e.currentTarget.getBoundingClientRect();
      const x = e.clientX - rect.left - GUTTER;
      const y = e.clientY - rect.top;
      if (x < 0 || cols === 0) return setCursor(null);
      const c = Math.min(cols - 1, Math.floor((x / (width - GUTTER)) * cols));
      const r = Math.min(rows.length - 1, Math.floor(y / rowH));
      setCursor(r >= 0 ? { r, c } : null);
    },
    [cols, rows.length, rowH, width],
  );

  const onKey = (e: KeyboardEvent<HTMLCanvasElement>) => {
    if (rows.length === 0 || cols === 0) return;
    const cur = cursor ?? { r: 0, c: cols - 1 };
    const step = e.shiftKey ? 10 : 1;
    const moves: Record<string, [number, number]> = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step], Home: [0, -cols], End: [0, cols] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    setCursor({ r: Math.max(0, Math.min(rows.length - 1, cur.r + m[0])), c: Math.max(0, Math.min(cols - 1, cur.c + m[1])) });
  };

  const detail = cursor && rows[cursor.r] ? describe(rows[cursor.r]!, at[cursor.c]!, values[cursor.r]?.[cursor.c] ?? null) : '';
  return (
    <div className="heatmap" ref={wrap}>
      <div className="heatmap-scroll" style={{ maxHeight: MAX_HEIGHT + 2 }}>
        <canvas
          ref={canvas}
          tabIndex={0}
          role="img"
          aria-label={label}
          aria-describedby="heatmap-detail"
          data-testid="heatmap-canvas"
          data-rows={rows.length}
          onMouseMove={pick}
          onMouseLeave={() => setCursor(null)}
          onKeyDown={onKey}
          onFocus={() => !cursor && rows.length > 0 && cols > 0 && setCursor({ r: 0, c: cols - 1 })}
        />
      </div>
      <div id="heatmap-detail" className="heatmap-detail" aria-live="polite">
        {detail || '\u00a0'}
      </div>
    </div>
  );
}
