import { defaultExec, runTool, type ExecFn } from './exec.js';
import { decimalToScaledInt, TelemetryFormatError, type DeviceSample, type TelemetrySource } from './sample.js';

/** The columns asked for, in order; the parser maps them by position. */
export const NVIDIA_SMI_TELEMETRY_FIELDS = [
  'index',
  'uuid',
  'utilization.gpu',
  'memory.used',
  'power.draw',
  'temperature.gpu',
  'clocks.sm',
  'pstate',
] as const;

export const NVIDIA_SMI_TELEMETRY_ARGS = [`--query-gpu=${NVIDIA_SMI_TELEMETRY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

const SOURCE = 'nvidia-smi';
const DEFAULT_TIMEOUT_MS = 10_000;

/** `[N/A]`, `[Not Supported]` (any case, spaces inside the brackets or not) and a bare `N/A`. */
const UNAVAILABLE = /^(?:\[\s*(?:n\s*\/\s*a|not\s*supported)\s*\]|n\/a)$/i;

/**
 * Parses one run of `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,power.draw,
 * temperature.gpu,clocks.sm,pstate --format=csv,noheader,nounits`: one line per GPU, e.g. (recorded on
 * an H200) `0, GPU-54196981-…, 0, 0, 80.23, 40, 345, P0`.
 *
 * - `[N/A]` / `[Not Supported]` become null (utilisation is N/A on MIG-enabled GPUs); any other
 *   bracketed message (`[GPU is lost]`, `[Unknown Error]`) is an error, since it means trouble, not
 *   "not measured".
 * - power.draw is watts with decimals, converted to integer mW by shifting the decimal digits
 *   (`80.23` → 80230, no floating point).
 * - Blank lines and spaces around fields are ignored; CRLF is accepted.
 * - A wrong column count, an unparsable or out-of-range number, or a repeated device index is a
 *   TelemetryFormatError naming the line and the field.
 *
 * Samples come back sorted by device index, stamped `at`. No energy counter is read by this query, so
 * `energyMillijoules` is null.
 */
export function parseNvidiaSmiQuery(text: string, at: number): DeviceSample[] {
  const samples: DeviceSample[] = [];
  const seen = new Set<number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const lineNo = i + 1;
    function fail(problem: string, field?: string): never {
      throw new TelemetryFormatError(SOURCE, problem, { line: lineNo, ...(field !== undefined ? { field } : {}), text: line });
    }
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== NVIDIA_SMI_TELEMETRY_FIELDS.length) {
      const hint = /^index\b/i.test(line) ? ' (a header line: run with --format=csv,noheader,nounits)' : '';
      fail(`expected ${NVIDIA_SMI_TELEMETRY_FIELDS.length} comma-separated fields (${NVIDIA_SMI_TELEMETRY_FIELDS.join(', ')}), got ${cells.length}${hint}`);
    }
    const cell = (k: number): { field: string; value: string | null } => {
      const field = NVIDIA_SMI_TELEMETRY_FIELDS[k]!;
      const value = cells[k]!;
      if (UNAVAILABLE.test(value)) return { field, value: null };
      if (/^\[.*\]$/.test(value)) fail(`nvidia-smi reports ${value}`, field);
      if (value === '') fail('is empty', field);
      return { field, value };
    };
    const integer = (k: number, min: number, max: number, unit: string): number | null => {
      const { field, value } = cell(k);
      if (value === null) return null;
      if (!/^\d+$/.test(value)) fail(`${JSON.stringify(value)} is not a whole number of ${unit}${/[a-z%]/i.test(value) ? ' (run with nounits)' : ''}`, field);
      const n = Number(value);
      if (n < min || n > max) fail(`${value} ${unit} is outside ${min}–${max}`, field);
      return n;
    };

    const indexCell = cell(0);
    if (indexCell.value === null) fail('the device index is not reported', 'index');
    const deviceIndex = integer(0, 0, 1_000_000, 'index')!;
    if (seen.has(deviceIndex)) fail(`device index ${deviceIndex} appears twice`, 'index');
    seen.add(deviceIndex);

    const uuid = cell(1).value;

    const power = cell(4);
    let powerMilliwatts: number | null = null;
    if (power.value !== null) {
      const mw = /^\d+(?:\.\d+)?$/.test(power.value) ? decimalToScaledInt(power.value, 3) : undefined;
      if (mw === undefined) fail(`${JSON.stringify(power.value)} is not a number of watts${/w$/i.test(power.value) ? ' (run with nounits)' : ''}`, power.field);
      if (mw > 100_000_000) fail(`${power.value} W is not a plausible board power`, power.field);
      powerMilliwatts = mw;
    }

    const pstate = cell(7);
    if (pstate.value !== null && !/^P\d{1,2}$/.test(pstate.value)) fail(`${JSON.stringify(pstate.value)} is not a performance state (P0…P15)`, pstate.field);

    samples.push({
      at,
      deviceIndex,
      uuid,
      utilizationPct: integer(2, 0, 100, '%'),
      memoryUsedMib: integer(3, 0, 1 << 30, 'MiB'),
      powerMilliwatts,
      energyMillijoules: null,
      temperatureC: integer(5, 0, 1000, '°C'),
      smClockMhz: integer(6, 0, 1_000_000, 'MHz'),
      pstate: pstate.value,
    });
  });
  return samples.sort((a, b) => a.deviceIndex - b.deviceIndex);
}

export interface NvidiaSmiSourceOptions {
  /** Defaults to running the real program with execFile (no shell). */
  exec?: ExecFn;
  /** Path or name of the program; default `nvidia-smi` (found on PATH). */
  command?: string;
  /** How long one query may take before it is killed; default 10 s (a hung driver never answers). */
  timeoutMs?: number;
}

/** Reads all GPUs of this host with one nvidia-smi query per sample. */
export class NvidiaSmiSource implements TelemetrySource {
  readonly name = SOURCE;
  private readonly exec: ExecFn;
  private readonly command: string;
  private readonly timeoutMs: number;

  constructor(options: NvidiaSmiSourceOptions = {}) {
    this.exec = options.exec ?? defaultExec;
    this.command = options.command ?? 'nvidia-smi';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive integer, got ${options.timeoutMs}`);
  }

  async sample(now: number): Promise<DeviceSample[]> {
    const stdout = await runTool(
      SOURCE,
      this.exec,
      this.command,
      NVIDIA_SMI_TELEMETRY_ARGS,
      this.timeoutMs,
      'install the NVIDIA driver, or use the DCGM exporter or simulated telemetry source',
    );
    return parseNvidiaSmiQuery(stdout, now);
  }
}
