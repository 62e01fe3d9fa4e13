/**
 * Readers for the openb trace (Alibaba cluster-trace-gpu-v2023, as used by the FGD paper's simulator):
 * node lists and pod lists. Each row becomes one record with the meaning fixed by
 * shared/notes/openb-policies.md §1, which follows the authors' CSV-to-YAML conversion
 * (`pod_csv_to_yaml.py`): that conversion, not the raw columns, is what their simulator saw.
 *
 * The files are plain comma-separated text with a header line; columns are found by name, so extra
 * columns (QoS, phase, timestamps) and a different column order are fine. Everything a row could get
 * wrong is reported as a TraceFormatError naming the file, the line and the column, because a silently
 * skipped or misread row would shift every result of the experiment.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UnidleError } from '../../domain/errors.js';

export interface OpenbNode {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  gpus: number;
  /** GPU model, the same for every GPU of the node; '' when the node has no GPU. */
  model: string;
}

export interface OpenbPod {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  /** `g`: number of GPUs asked for (0 for a CPU-only pod). */
  gpuCount: number;
  /**
   * `m`: milli-GPU asked for on each of the `gpuCount` GPUs, normalised as the authors' conversion
   * does: 0 for a CPU-only pod; `gpu_milli` if 0 < gpu_milli <= 1000; 1000 if above; 0 if <= 0 (no
   * GPU demand at all); 1000 if the file has no gpu_milli column.
   */
  milliPerGpu: number;
  /** Allowed GPU models (`gpu_spec` split on '|', empty parts dropped, order and repeats kept); [] = any. */
  models: string[];
}

/** A row or header the readers cannot take, located precisely enough to fix the file. */
export class TraceFormatError extends UnidleError {
  /** The file (path as given to the reader). */
  readonly source: string;
  /** 1-based physical line; the header is line 1. */
  readonly line: number;
  /** The column to blame, or null when the problem is the whole line or file. */
  readonly column: string | null;

  constructor(source: string, line: number, column: string | null, detail: string) {
    const where = `${basename(source)}:${line}: ${column === null ? '' : `column "${column}": `}`;
    super('validation_failed', `${where}${detail}`, [{ field: column ?? 'file', message: detail }]);
    this.name = 'TraceFormatError';
    this.source = source;
    this.line = line;
    this.column = column;
  }
}

/** The most GPUs one node has or one pod asks for that we accept; openb has 8, anything above 64 is a typo. */
const MAX_GPUS = 64;

const NODE_COLUMNS = ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'] as const;
/** gpu_milli and gpu_spec may be absent (multigpu lists have no gpu_spec); the conversion has a rule for both. */
const POD_COLUMNS = ['name', 'cpu_milli', 'memory_mib', 'num_gpu'] as const;

export function readOpenbNodeList(path: string): OpenbNode[] {
  return parseOpenbNodeList(readFileSync(path, 'utf8'), path);
}

export function readOpenbPodList(path: string): OpenbPod[] {
  return parseOpenbPodList(readFileSync(path, 'utf8'), path);
}

export function parseOpenbNodeList(text: string, source: string): OpenbNode[] {
  const table = readTable(text, source, NODE_COLUMNS);
  const firstLineOfName = new Map<string, number>();
  const nodes: OpenbNode[] = [];
  for (const row of table.rows) {
    const name = row.name('sn');
    const earlier = firstLineOfName.get(name);
    // Node names key the placement state and the tie-breaking rank; two nodes with one name would
    // merge or shadow each other.
    if (earlier !== undefined) throw row.error('sn', `duplicate node name "${name}" (first on line ${earlier})`);
    firstLineOfName.set(name, row.line);
    const gpus = row.wholeNumber('gpu', MAX_GPUS);
    const model = row.text('model');
    // Every GPU of a node has the node's model; pods constrained to models could never be matched
    // against a GPU node without one.
    if (gpus > 0 && model === '') throw row.error('model', `a node with ${gpus} GPU(s) needs a model, got an empty cell`);
    nodes.push({
      name,
      cpuMilli: row.wholeNumber('cpu_milli'),
      memoryMib: row.wholeNumber('memory_mib'),
      gpus,
      model: gpus > 0 ? model : '',
    });
  }
  return nodes;
}

export function parseOpenbPodList(text: string, source: string): OpenbPod[] {
  const table = readTable(text, source, POD_COLUMNS);
  const hasGpuMilli = table.has('gpu_milli');
  const hasGpuSpec = table.has('gpu_spec');
  const pods: OpenbPod[] = [];
  for (const row of table.rows) {
    const name = row.name('name');
    const cpuMilli = row.wholeNumber('cpu_milli');
    const memoryMib = row.wholeNumber('memory_mib');
    const gpuCount = row.wholeNumber('num_gpu', MAX_GPUS);
    // Checked on CPU-only rows too although ignored there: a non-number is a damaged row either way.
    const rawMilli = hasGpuMilli ? row.integer('gpu_milli') : null;
    let milliPerGpu = 0;
    let models: string[] = [];
    if (gpuCount > 0) {
      milliPerGpu = rawMilli === null ? 1000 : rawMilli > 1000 ? 1000 : rawMilli > 0 ? rawMilli : 0;
      // A fraction of several GPUs has no placement rule (feasibility counts floor(f_i / m) per GPU,
      // but the simulator's accounting assumes whole GPUs); openb has no such row, so refuse it
      // rather than invent semantics.
      if (gpuCount >= 2 && milliPerGpu > 0 && milliPerGpu < 1000) {
        throw row.error('gpu_milli', `a pod asking for ${gpuCount} GPUs must ask for whole GPUs (1000 milli each), got ${milliPerGpu}`);
      }
      if (hasGpuSpec) models = row.text('gpu_spec').split('|').filter((part) => part.length > 0);
    }
    pods.push({ name, cpuMilli, memoryMib, gpuCount, milliPerGpu, models });
  }
  return pods;
}

// ---------------------------------------------------------------------------------------------------
// The CSV layer: header lookup, field splitting and typed cell access with located errors.

interface Row {
  readonly line: number;
  error(column: string | null, detail: string): TraceFormatError;
  /** A non-empty identifier. */
  name(column: string): string;
  /** A text cell; pandas' spelling of a missing value (`nan`, `NaN`) reads as ''. */
  text(column: string): string;
  /** An integer from 0 to `max`. */
  wholeNumber(column: string, max?: number): number;
  /** Any safe integer, negative included. */
  integer(column: string): number;
}

interface Table {
  has(column: string): boolean;
  rows: Row[];
}

function readTable(text: string, source: string, required: readonly string[]): Table {
  const fail = (line: number, column: string | null, detail: string) => new TraceFormatError(source, line, column, detail);
  // Tolerate what editors and exporters add: a byte-order mark, CRLF line ends, blank lines (pandas,
  // which wrote and read these files, skips blank lines too).
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw fail(1, null, 'empty file: expected a header line and at least one row');

  const header = splitFields(stripCr(lines[headerIndex]!), () => fail(headerIndex + 1, null, 'unterminated quoted field')).map((h) => h.trim());
  const indexOf = new Map<string, number>();
  header.forEach((columnName, index) => {
    if (columnName === '') throw fail(headerIndex + 1, null, `empty column name at position ${index + 1} of the header`);
    if (indexOf.has(columnName)) throw fail(headerIndex + 1, columnName, 'appears twice in the header');
    indexOf.set(columnName, index);
  });
  const missing = required.filter((c) => !indexOf.has(c));
  if (missing.length > 0) {
    throw fail(headerIndex + 1, missing.join(','), `required but missing from the header (which has: ${header.join(',')})`);
  }

  const rows: Row[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = splitFields(raw, () => fail(line, null, 'unterminated quoted field'));
    if (fields.length !== header.length) {
      throw fail(line, null, `expected ${header.length} fields as in the header, got ${fields.length}`);
    }
    rows.push(makeRow(line, fields, indexOf, fail));
  }
  if (rows.length === 0) throw fail(headerIndex + 1, null, 'no rows after the header');
  return { has: (c) => indexOf.has(c), rows };
}

function makeRow(
  line: number,
  fields: string[],
  indexOf: ReadonlyMap<string, number>,
  fail: (line: number, column: string | null, detail: string) => TraceFormatError,
): Row {
  const cell = (column: string): string => fields[indexOf.get(column)!]!.trim();
  const error = (column: string | null, detail: string) => fail(line, column, detail);
  return {
    line,
    error,
    name(column) {
      const value = cell(column);
      if (value === '') throw error(column, 'must not be empty');
      return value;
    },
    text(column) {
      const value = cell(column);
      return value === 'nan' || value === 'NaN' ? '' : value;
    },
    wholeNumber(column, max = Number.MAX_SAFE_INTEGER) {
      const value = cell(column);
      const range = max === Number.MAX_SAFE_INTEGER ? 'a non-negative whole number' : `a whole number from 0 to ${max}`;
      if (!/^\d+$/.test(value)) throw error(column, `expected ${range}, got "${value}"`);
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n > max) throw error(column, `expected ${range}, got "${value}"`);
      return n;
    },
    integer(column) {
      const value = cell(column);
      if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw error(column, `expected a whole number, got "${value}"`);
      // `-0` parses to -0; normalise so equality and printing behave.
      return Number(value) + 0;
    },
  };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Splits one line on commas, honouring RFC 4180 double quotes (`"a,b"`, `""` for a quote). The openb
 * files contain no quotes, but a re-export through a spreadsheet or pandas may add them; a quoted
 * field spanning lines is not supported (no openb cell holds a newline).
 */
function splitFields(line: string, unterminated: () => Error): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let current = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQuotes) {
      if (ch !== '"') current += ch;
      else if (line[i + 1] === '"') {
        current += '"';
        i++;
      } else inQuotes = false;
    } else if (ch === '"') inQuotes = true;
    else if (ch === ',') {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  if (inQuotes) throw unterminated();
  fields.push(current);
  return fields;
}
