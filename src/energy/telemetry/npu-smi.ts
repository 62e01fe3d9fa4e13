import { defaultExec, runTool, type ExecFn } from './exec.js';
import { decimalToScaledInt, TelemetryFormatError, type DeviceSample, type TelemetrySource } from './sample.js';

const SOURCE = 'npu-smi';
const DEFAULT_TIMEOUT_MS = 10_000;

/** One chip row pair of the `npu-smi info` table, with what DeviceSample has no field for. */
export interface NpuSmiChip {
  sample: DeviceSample;
  npuId: number;
  chipId: number;
  /** The `Phy-ID` (newer npu-smi) or `Device` column, when the table has one. */
  phyId: number | null;
  /** As printed, e.g. `910B4-1`, `Ascend910`. */
  name: string;
  /** `OK`, `Warning`, `Alarm`, `Critical`, … as printed. */
  health: string;
  busId: string | null;
  /** HBM total (MB as npu-smi prints it, which is MiB); Memory-Usage total on parts without HBM. */
  memoryTotalMib: number | null;
}

/**
 * Parses the device table of Ascend `npu-smi info`. Each chip is two table rows under a two-row
 * header, for example (910B, npu-smi 25.x):
 *
 *   | NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
 *   | Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
 *   +===========================+===============+====================================================+
 *   | 0     910B4-1             | OK            | 90.6        33                0    / 0             |
 *   | 0                         | 0000:C1:00.0  | 0           0    / 0          3197 / 65536         |
 *
 * The third column's values are matched to the header's names by position, so a release that adds,
 * drops or reorders them (Hugepages, Memory-Usage on parts without HBM) still parses. Power W → mW
 * exactly; `-` or `NA` (the second chip of a two-chip NPU prints `-` for power) is null. AICore % is
 * the utilisation; HBM used is the memory (Memory-Usage where there is no HBM column). The process
 * table that follows the device table is skipped.
 *
 * Device index: the Phy-ID column where the header has one; otherwise the NPU id when every NPU has
 * one chip (910B); otherwise the chip's position in the table.
 */
export function parseNpuSmiInfoDetailed(text: string, at: number): NpuSmiChip[] {
  const lines = text.split(/\r?\n/);
  let header1: { cols: string[]; line: number } | null = null;
  let header2: { chipCols: string[]; cols: string[] } | null = null;
  let inProcesses = false;
  let pending: { npuId: number; name: string; health: string; values: Values; line: number } | null = null;
  const rows: Array<Omit<NpuSmiChip, 'sample'> & { values: Values; line: number }> = [];
  let firstText: { text: string; line: number } | null = null;

  for (let i = 0; i < lines.length && !inProcesses; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    const lineNo = i + 1;
    if (line !== '' && firstText === null) firstText = { text: line, line: lineNo };
    if (!line.startsWith('|')) continue;
    const fail = (problem: string, field?: string): never => {
      throw new TelemetryFormatError(SOURCE, problem, { line: lineNo, ...(field !== undefined ? { field } : {}), text: line });
    };
    const end = line.lastIndexOf('|');
    const cells = line.slice(1, end > 0 ? end : undefined).split('|').map((c) => c.trim());

    if (header1 === null) {
      if (cells.length === 3 && /^NPU\s+Name$/i.test(cells[0]!)) header1 = { cols: cells[2]!.split(/\s+/).filter((c) => c !== ''), line: lineNo };
      continue;
    }
    if (header2 === null) {
      if (cells.length !== 3 || !/^Chip\b/i.test(cells[0]!)) fail('expected the second header row (Chip | Bus-Id | AICore(%) …) after the first');
      header2 = { chipCols: cells[0]!.split(/\s+/), cols: cells[2]!.split(/\s+/).filter((c) => c !== '') };
      continue;
    }

    // The process table (or its "No running processes found" rows) ends the device table.
    if (cells.length !== 3 || /^NPU\s+Chip/i.test(cells[0]!) || /^No running processes/i.test(cells[0]!)) {
      if (pending !== null) fail(`NPU ${pending.npuId} (line ${pending.line}) has no chip row`);
      inProcesses = true;
      continue;
    }
    const [first, second, third] = cells as [string, string, string];
    if (pending === null) {
      const m = /^(\d+)\s+(\S.*)$/.exec(first);
      if (!m) fail(`expected an NPU row starting with the NPU id and name, got ${JSON.stringify(first)}`, 'NPU');
      pending = { npuId: Number(m![1]), name: m![2]!, health: second, values: readValues(third, header1.cols, lineNo, fail), line: lineNo };
    } else {
      const m = /^(\d+)(?:\s+(\d+))?$/.exec(first);
      if (!m) fail(`expected the chip row of NPU ${pending.npuId} (chip id${header2.chipCols.length > 1 ? ` and ${header2.chipCols[1]}` : ''}), got ${JSON.stringify(first)}`, 'Chip');
      const values = readValues(third, header2.cols, lineNo, fail);
      for (const [k, v] of pending.values) values.set(k, v);
      rows.push({
        npuId: pending.npuId,
        chipId: Number(m![1]),
        phyId: m![2] !== undefined && header2.chipCols.length > 1 ? Number(m![2]) : null,
        name: pending.name,
        health: pending.health,
        busId: /^(?:NA|N\/A|-)?$/i.test(second) ? null : second,
        memoryTotalMib: null,
        values,
        line: lineNo,
      });
      pending = null;
    }
  }

  if (header1 === null) {
    if (firstText === null) return [];
    throw new TelemetryFormatError(SOURCE, 'no device table (the "NPU  Name | Health | Power(W) …" header) found', { line: firstText.line, text: firstText.text });
  }
  if (header2 === null) throw new TelemetryFormatError(SOURCE, 'the table header ends after its first row', { line: header1.line });
  if (pending !== null) throw new TelemetryFormatError(SOURCE, `NPU ${pending.npuId} has no chip row`, { line: pending.line });

  const npuCounts = new Map<number, number>();
  const chipLines = new Map<string, number>();
  for (const r of rows) {
    npuCounts.set(r.npuId, (npuCounts.get(r.npuId) ?? 0) + 1);
    const key = `${r.npuId}/${r.chipId}`;
    const earlier = chipLines.get(key);
    if (earlier !== undefined) {
      throw new TelemetryFormatError(SOURCE, `NPU ${r.npuId} chip ${r.chipId} appears twice (lines ${earlier} and ${r.line})`, { line: r.line });
    }
    chipLines.set(key, r.line);
  }
  const oneChipEach = [...npuCounts.values()].every((n) => n === 1);
  const usePhy = rows.length > 0 && rows.every((r) => r.phyId !== null);
  const seen = new Map<number, number>();

  return rows.map((r, position): NpuSmiChip => {
    const deviceIndex = usePhy ? r.phyId! : oneChipEach ? r.npuId : position;
    const earlier = seen.get(deviceIndex);
    if (earlier !== undefined) {
      throw new TelemetryFormatError(SOURCE, `device index ${deviceIndex} appears twice (lines ${earlier} and ${r.line})`, { line: r.line });
    }
    seen.set(deviceIndex, r.line);
    const fail = (problem: string, field: string, line: number): never => {
      throw new TelemetryFormatError(SOURCE, problem, { line, field });
    };
    const memory = usage(r.values, /^HBM-Usage/i, fail) ?? usage(r.values, /^Memory-Usage/i, fail);
    const { values, line: _line, ...chip } = r;
    return {
      ...chip,
      memoryTotalMib: memory?.total ?? null,
      sample: {
        at,
        deviceIndex,
        uuid: null,
        utilizationPct: integerValue(values, /^AICore\(%\)$/i, 100, fail),
        memoryUsedMib: memory?.used ?? null,
        powerMilliwatts: powerValue(values, fail),
        energyMillijoules: null,
        temperatureC: integerValue(values, /^Temp\(C\)$/i, 1000, fail),
        smClockMhz: null,
        pstate: null,
      },
    };
  });
}

/** `npu-smi info` → one sample per chip, sorted by device index. */
export function parseNpuSmiInfo(text: string, at: number): DeviceSample[] {
  return parseNpuSmiInfoDetailed(text, at)
    .map((c) => c.sample)
    .sort((a, b) => a.deviceIndex - b.deviceIndex);
}

const UNAVAILABLE = /^(?:-|NA|N\/A)$/i;

/** A row's values by header name, each with the line it was read from. */
type Values = Map<string, { text: string; line: number }>;
type Fail = (problem: string, field: string, line: number) => never;

/** Splits a value cell into tokens (a `used / total` pair is one token) and names them by the header. */
function readValues(cell: string, cols: string[], line: number, fail: (problem: string, field?: string) => never): Values {
  const tokens = cell.match(/\S+\s*\/\s*\S+|\S+/g) ?? [];
  if (tokens.length !== cols.length) {
    fail(`expected ${cols.length} values (${cols.join(', ')}), got ${tokens.length}`, cols[Math.min(tokens.length, cols.length - 1)]);
  }
  return new Map(cols.map((c, k) => [c, { text: tokens[k]!, line }]));
}

function find(values: Values, name: RegExp): { field: string; text: string; line: number } | undefined {
  for (const [field, v] of values) if (name.test(field)) return { field, ...v };
  return undefined;
}

function powerValue(values: Values, fail: Fail): number | null {
  const e = find(values, /^Power\(W\)$/i);
  if (e === undefined || UNAVAILABLE.test(e.text)) return null;
  const mw = /^\d+(?:\.\d+)?$/.test(e.text) ? decimalToScaledInt(e.text, 3) : undefined;
  if (mw === undefined) return fail(`${JSON.stringify(e.text)} is not a number of watts`, e.field, e.line);
  return mw;
}

function integerValue(values: Values, name: RegExp, max: number, fail: Fail): number | null {
  const e = find(values, name);
  if (e === undefined || UNAVAILABLE.test(e.text)) return null;
  if (!/^\d+$/.test(e.text)) return fail(`${JSON.stringify(e.text)} is not a whole number`, e.field, e.line);
  const n = Number(e.text);
  if (n > max) fail(`${n} is above ${max}`, e.field, e.line);
  return n;
}

function usage(values: Values, name: RegExp, fail: Fail): { used: number; total: number } | null {
  const e = find(values, name);
  if (e === undefined) return null;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(e.text);
  if (!m) {
    if (UNAVAILABLE.test(e.text)) return null;
    return fail(`${JSON.stringify(e.text)} is not "used / total"`, e.field, e.line);
  }
  return { used: Number(m[1]), total: Number(m[2]) };
}

export interface NpuSmiSourceOptions {
  exec?: ExecFn;
  /** Default `npu-smi`. */
  command?: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

/** Reads all Ascend NPUs of this host with `npu-smi info`. */
export class NpuSmiSource implements TelemetrySource {
  readonly name = SOURCE;
  private readonly exec: ExecFn;
  private readonly command: string;
  private readonly timeoutMs: number;

  constructor(options: NpuSmiSourceOptions = {}) {
    this.exec = options.exec ?? defaultExec;
    this.command = options.command ?? 'npu-smi';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive integer, got ${options.timeoutMs}`);
  }

  async sample(now: number): Promise<DeviceSample[]> {
    const stdout = await runTool(SOURCE, this.exec, this.command, ['info'], this.timeoutMs, 'install the Ascend driver, or use the simulated telemetry source');
    return parseNpuSmiInfo(stdout, now);
  }
}
