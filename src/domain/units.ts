/**
 * Units (see DESIGN.md §3): every quantity is an integer in its smallest unit. These aliases document
 * intent at type level; the helpers guard the conversions people type in.
 */
export type MilliGpu = number;
export type MilliCpu = number;
export type Mib = number;
export type EpochMs = number;
export type DurationMs = number;

export const MILLI_PER_GPU = 1000;

/** Parses `90s`, `15m`, `2h`, `1d` or a plain number of seconds into milliseconds. */
export function parseDuration(text: string): DurationMs | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  const ms = n * factor;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Parses `512Mi`, `16Gi`, `1Ti` or a plain number of MiB. */
export function parseMib(text: string): Mib | undefined {
  const m = /^\s*(\d+)\s*(mi|mib|gi|gib|ti|tib)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'mi').toLowerCase();
  const factor = unit.startsWith('t') ? 1024 * 1024 : unit.startsWith('g') ? 1024 : 1;
  return n * factor;
}

export function formatDuration(ms: DurationMs): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`;
}
