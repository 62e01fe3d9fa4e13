import { getBorderCharacters, table } from 'table';

/** Output for people: units they read (GPUs, GiB, durations, local times), aligned columns. */

export function formatGpuMilli(milli: number): string {
  const gpus = milli / 1000;
  const text = Number.isInteger(gpus) ? String(gpus) : String(Number(gpus.toFixed(3)));
  return `${text} ${gpus > 0 && gpus <= 1 ? 'GPU' : 'GPUs'}`;
}

export function jobGpuText(job: { gpuMilli: number | null; gpus: number | null }): string {
  if (job.gpuMilli !== null) return formatGpuMilli(job.gpuMilli);
  if (job.gpus !== null) return formatGpuMilli(job.gpus * 1000);
  return '-';
}

export function formatMib(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024}Gi`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)}Gi`;
  return `${mib}Mi`;
}

export function formatCpuMilli(milli: number): string {
  const cores = milli / 1000;
  return `${Number.isInteger(cores) ? cores : Number(cores.toFixed(3))} CPU`;
}

/** 1.5s, 42s, 3m12s, 2h05m, 3d04h */
export function formatDurationMs(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 10_000) return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1).replace(/\.?0+$/, '') || '0'}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Local time as ISO 8601 with the offset, to the second: 2025-03-01T14:05:09+08:00 */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const tz = off === 0 ? 'Z' : `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${tz}`;
}

export function formatAge(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return '-';
  return `${formatDurationMs(now - ms)} ago`;
}

export function formatNumber(n: number): string {
  return n.toLocaleString('en-US');
}

/** A borderless table: a header row and aligned columns, like kubectl. */
export function renderTable(headers: string[], rows: (string | number)[][], options: { alignRight?: number[] } = {}): string {
  if (rows.length === 0) return '';
  const data = [headers, ...rows.map((r) => r.map((c) => String(c).replace(/[\r\n\t]+/g, ' ')))];
  return table(data, {
    border: getBorderCharacters('void'),
    columnDefault: { paddingLeft: 0, paddingRight: 2 },
    columns: Object.fromEntries((options.alignRight ?? []).map((i) => [i, { alignment: 'right' as const, paddingLeft: 0, paddingRight: 2 }])),
    drawHorizontalLine: () => false,
  })
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line, i, all) => line !== '' || i < all.length - 1)
    .join('\n');
}

/** `key: value` lines with the values aligned. */
export function renderFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}${v}`).join('\n');
}
