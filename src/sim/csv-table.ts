/**
 * The CSV layer of the trace readers (openb, Helios): plain comma-separated text with a header line,
 * columns found by name, RFC 4180 quotes honoured, and typed cell access whose errors name the file,
 * the line and the column.
 */
import { basename } from 'node:path';
import { UnidleError } from '../domain/errors.js';

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

export interface CsvRow {
  readonly line: number;
  error(column: string | null, detail: string): TraceFormatError;
  /** The trimmed text of a cell, as it is. */
  cell(column: string): string;
  /** A non-empty identifier. */
  name(column: string): string;
  /** A text cell; pandas' spelling of a missing value (`nan`, `NaN`) reads as ''. */
  text(column: string): string;
  /** An integer from 0 to `max`. */
  wholeNumber(column: string, max?: number): number;
  /** Any safe integer, negative included. */
  integer(column: string): number;
}

export interface CsvTable {
  has(column: string): boolean;
  rows: CsvRow[];
}

export function readCsvTable(text: string, source: string, required: readonly string[]): CsvTable {
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

  const rows: CsvRow[] = [];
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
): CsvRow {
  const cell = (column: string): string => fields[indexOf.get(column)!]!.trim();
  const error = (column: string | null, detail: string) => fail(line, column, detail);
  return {
    line,
    error,
    cell,
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
