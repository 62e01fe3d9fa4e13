import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text.js';
import { TelemetryFormatError } from './sample.js';

const parse = (text: string) => parsePrometheusText(text, 'test-exporter');

describe('parsePrometheusText', () => {
  it('reads HELP, TYPE, comments, labels, values and timestamps', () => {
    const page = parse(
      [
        '# HELP http_requests_total The total number of HTTP requests.\\nSecond line, with a \\\\ backslash.',
        '# TYPE http_requests_total counter',
        '# a plain comment',
        '',
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400",} 3   1395066363000',
        '  metric_without_labels\t12.47',
        'metric_empty_labels{} -0.5e-3',
        '# EOF',
      ].join('\r\n'),
    );
    expect(page.types.get('http_requests_total')).toBe('counter');
    expect(page.help.get('http_requests_total')).toBe('The total number of HTTP requests.\nSecond line, with a \\ backslash.');
    expect(page.samples).toEqual([
      { line: 5, name: 'http_requests_total', labels: { method: 'post', code: '200' }, valueText: '1027', value: 1027, timestampMs: 1_395_066_363_000 },
      { line: 6, name: 'http_requests_total', labels: { method: 'post', code: '400' }, valueText: '3', value: 3, timestampMs: 1_395_066_363_000 },
      { line: 7, name: 'metric_without_labels', labels: {}, valueText: '12.47', value: 12.47, timestampMs: null },
      { line: 8, name: 'metric_empty_labels', labels: {}, valueText: '-0.5e-3', value: -0.0005, timestampMs: null },
    ]);
  });

  it('unescapes label values: \\\\, \\" and \\n, with commas, braces and = inside', () => {
    const [s] = parse('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",odd="a,b}=c{"} 1.458255915e9').samples;
    expect(s!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"', odd: 'a,b}=c{' });
    expect(s!.value).toBe(1_458_255_915);
  });

  it('reads NaN and infinities', () => {
    const values = parse('a NaN\nb +Inf\nc -Inf\nd nan\ne Inf').samples.map((s) => s.value);
    expect(values).toEqual([NaN, Infinity, -Infinity, NaN, Infinity]);
  });

  it('tolerates blanks around = and commas in the label set', () => {
    expect(parse('m{ a = "1" , b="2" } 7').samples[0]!.labels).toEqual({ a: '1', b: '2' });
  });

  it('rejects malformed lines naming the line', () => {
    const bad = (text: string) => () => parse(`ok 1\n${text}`);
    expect(bad('m{a="1"')).toThrow(/line 2.*unterminated value of label a|line 2.*expected , or }/);
    expect(bad('m{a="1} 3')).toThrow(/line 2, field a: unterminated value of label a/);
    expect(bad('m{a=1} 3')).toThrow(/line 2, field a: the value of label a must be double-quoted/);
    expect(bad('m{a="x\\t"} 3')).toThrow(/line 2, field a: invalid escape \\t/);
    expect(bad('m{a="1",a="2"} 3')).toThrow(/label a appears twice/);
    expect(bad('m{1a="x"} 3')).toThrow(/line 2, field m: bad label name/);
    expect(bad('m{a="1" b="2"} 3')).toThrow(/expected , or } after label a/);
    expect(bad('m')).toThrow(/line 2, field m: the value is missing/);
    expect(bad('m 12abc')).toThrow(/line 2, field m: "12abc" is not a number/);
    expect(bad('m 1 12.5')).toThrow(/timestamp "12.5"/);
    expect(bad('m 1 2 3')).toThrow(/unexpected "3"/);
    expect(bad('{a="1"} 3')).toThrow(/line 2: expected a metric name/);
    expect(bad('# TYPE m histogramm')).toThrow(/unknown metric type "histogramm"/);
    expect(bad('garbage line here')).toThrow(TelemetryFormatError);
  });
});
