import { TelemetryFormatError } from './sample.js';

/**
 * A reader for the Prometheus text exposition format (version 0.0.4, what exporters such as NVIDIA's
 * dcgm-exporter serve on /metrics), written from the format's specification:
 *
 *   # HELP <name> <docstring>
 *   # TYPE <name> counter|gauge|histogram|summary|untyped
 *   <name>[{<label>="<value>",...}] <value> [<timestamp ms>]
 *
 * Other `#` lines are comments; blank lines are ignored; blanks and tabs separate tokens. Label values
 * are double-quoted with three escapes: `\\`, `\"` and `\n`. A trailing comma in the label set is
 * allowed. Values are Go floats: decimals, exponents, `NaN`, `+Inf`, `-Inf`. The timestamp is an
 * optional integer (ms since the epoch).
 */
export interface PrometheusSample {
  /** 1-based line number in the page, for error messages. */
  line: number;
  name: string;
  labels: Record<string, string>;
  /** The value as written, for exact decimal conversion (`80.264000`). */
  valueText: string;
  /** The value as a double; NaN and ±Infinity included. */
  value: number;
  timestampMs: number | null;
}

export interface PrometheusPage {
  samples: PrometheusSample[];
  /** `# TYPE` declarations by metric name. */
  types: Map<string, string>;
  /** `# HELP` texts by metric name (unescaped). */
  help: Map<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^(?:[+-]?inf(?:inity)?|nan)$/i;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses a whole page; any malformed line is a TelemetryFormatError from `source` naming the line. */
export function parsePrometheusText(text: string, source: string): PrometheusPage {
  const page: PrometheusPage = { samples: [], types: new Map(), help: new Map() };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    const line = raw.replace(/^[ \t]+/, '');
    if (line.trim() === '') continue;
    const fail = (problem: string, field?: string): TelemetryFormatError =>
      new TelemetryFormatError(source, problem, { line: lineNo, ...(field !== undefined ? { field } : {}), text: raw });
    if (line.startsWith('#')) {
      readComment(line, page, fail);
      continue;
    }
    page.samples.push(readSample(line, lineNo, fail));
  }
  return page;
}

function readComment(line: string, page: PrometheusPage, fail: (problem: string, field?: string) => TelemetryFormatError): void {
  const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return; // an ordinary comment (or `# EOF`)
  const [, keyword, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
  if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) throw fail(`${JSON.stringify(name)} is not a metric name`, keyword);
  if (keyword === 'TYPE') {
    const type = (rest ?? '').trim();
    if (!TYPES.has(type)) throw fail(`unknown metric type ${JSON.stringify(type)} for ${name}`, name);
    page.types.set(name, type);
  } else {
    page.help.set(name, (rest ?? '').replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')));
  }
}

function readSample(line: string, lineNo: number, fail: (problem: string, field?: string) => TelemetryFormatError): PrometheusSample {
  const nameMatch = METRIC_NAME.exec(line);
  if (!nameMatch) throw fail('expected a metric name at the start of the line');
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  const skipBlanks = (): void => {
    while (line[pos] === ' ' || line[pos] === '\t') pos++;
  };

  skipBlanks();
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      skipBlanks();
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const labelMatch = LABEL_NAME.exec(line.slice(pos));
      if (!labelMatch) throw fail(`bad label name at column ${pos + 1}`, name);
      const label = labelMatch[0];
      pos += label.length;
      skipBlanks();
      if (line[pos] !== '=') throw fail(`expected = after label ${label}`, label);
      pos++;
      skipBlanks();
      if (line[pos] !== '"') throw fail(`the value of label ${label} must be double-quoted`, label);
      pos++;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw fail(`unterminated value of label ${label}`, label);
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos];
          pos++;
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw fail(`invalid escape \\${e ?? ''} in the value of label ${label} (only \\\\, \\" and \\n)`, label);
        } else {
          value += c;
        }
      }
      if (Object.prototype.hasOwnProperty.call(labels, label)) throw fail(`label ${label} appears twice`, label);
      labels[label] = value;
      skipBlanks();
      if (line[pos] === ',') {
        pos++;
        continue;
      }
      if (line[pos] === '}') {
        pos++;
        break;
      }
      throw fail(`expected , or } after label ${label}`, label);
    }
  }

  const tokens = line.slice(pos).trim().split(/[ \t]+/).filter((t) => t !== '');
  if (tokens.length === 0) throw fail('the value is missing', name);
  if (tokens.length > 2) throw fail(`unexpected ${JSON.stringify(tokens[2])} after the value and timestamp`, name);
  const valueText = tokens[0]!;
  let value: number;
  if (FLOAT.test(valueText)) value = Number(valueText);
  else if (SPECIAL.test(valueText)) value = /nan/i.test(valueText) ? NaN : valueText.startsWith('-') ? -Infinity : Infinity;
  else throw fail(`${JSON.stringify(valueText)} is not a number`, name);
  let timestampMs: number | null = null;
  if (tokens[1] !== undefined) {
    if (!/^-?\d+$/.test(tokens[1]) || !Number.isSafeInteger(Number(tokens[1]))) throw fail(`timestamp ${JSON.stringify(tokens[1])} is not an integer of ms`, name);
    timestampMs = Number(tokens[1]);
  }
  return { line: lineNo, name, labels, valueText, value, timestampMs };
}
