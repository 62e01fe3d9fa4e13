import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isUnidleError } from '../../domain/errors.js';
import { TraceFormatError, parseHeliosSummary, parseHeliosThroughput, readHeliosDemand } from './demand-series.js';

const THROUGHPUT_HEADER =
  'time,submit_job_all,start_job_all,end_job_all,submit_gpu_job,start_gpu_job,end_gpu_job,submit_gpu_num,start_gpu_num,end_gpu_num';
const SUMMARY_HEADER =
  'id,gpu_num,job_num,gpu_job_num,avg_run_time_gpu,avg_gpu_num,med_run_time_gpu,med_gpu_num,complete_gpu_time,cancel_gpu_time,fail_gpu_time';

/** A made-up row: `startJobs` jobs start with `startGpus` GPUs, `endGpus` GPUs are released. */
const row = (time: string, startJobs: number, startGpus: number, endJobs: number, endGpus: number) =>
  `${time},${startJobs + 1},${startJobs + 1},${endJobs},${startJobs},${startJobs},${endJobs},${startGpus},${startGpus},${endGpus}`;

/** Six buckets whose running sum of start - end GPUs is 4, 6, 3, 3, 1, 7 (mean 4). */
const ROWS = [
  row('2020-04-01 00:00:00', 2, 4, 0, 0),
  row('2020-04-01 00:10:00', 1, 2, 0, 0),
  row('2020-04-01 00:20:00', 0, 0, 2, 3),
  row('2020-04-01 00:30:00', 1, 1, 1, 1),
  row('2020-04-01 00:40:00', 0, 0, 1, 2),
  row('2020-04-01 00:50:00', 3, 6, 0, 0),
];

/** A summary row for `id` whose GPU time means `meanBusy` GPUs over six 10-minute buckets. */
function summaryRow(id: string, gpus: number, meanBusy: number): string {
  const gpuSeconds = meanBusy * 6 * 600;
  return `${id},${gpus},100,50,3600.5,2.5,600.0,1.0,${gpuSeconds / 2}.0,${gpuSeconds / 4},${gpuSeconds / 4}`;
}

const dirs: string[] = [];
function fixture(throughput: string[], summary: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'unidle-helios-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'venus_cluster_throughput_10min.csv'), [THROUGHPUT_HEADER, ...throughput, ''].join('\n'));
  writeFileSync(path.join(dir, 'helios_cluster_summary.csv'), [SUMMARY_HEADER, ...summary, ''].join('\n'));
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function traceError(fn: () => unknown): TraceFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TraceFormatError);
    return err as TraceFormatError;
  }
  throw new Error('expected a TraceFormatError');
}

describe('readHeliosDemand on a generated fixture', () => {
  it('offsets the running sum to the summary mean and exposes the raw columns', () => {
    const dir = fixture(ROWS, [summaryRow('Earth', 99, 50), summaryRow('Venus', 20, 9)]);
    const d = readHeliosDemand(dir);
    expect(d.cluster).toBe('Venus');
    expect(d.capacityGpus).toBe(20);
    expect(d.stepMs).toBe(600_000);
    expect(d.timestampsMs[0]).toBe(Date.UTC(2020, 3, 1, 0, 0, 0));
    expect(d.timestampsMs[5]! - d.timestampsMs[0]!).toBe(50 * 60_000);
    expect(d.targetMeanBusyGpus).toBeCloseTo(9, 12);
    expect(d.runningSumMin).toBe(1);
    expect(d.runningSumMax).toBe(7);
    // No clipping: busy = running sum + 5.
    expect(d.offset).toBeCloseTo(5, 6);
    expect(d.offsetBeforeClipping).toBeCloseTo(5, 12);
    d.busyGpus.forEach((v, i) => expect(v).toBeCloseTo([9, 11, 8, 8, 6, 12][i]!, 6));
    expect(d.meanBusyGpus).toBeCloseTo(9, 6);
    expect(d.startGpuJob).toEqual([2, 1, 0, 1, 0, 3]);
    expect(d.startGpuNum).toEqual([4, 2, 0, 1, 0, 6]);
    expect(d.endGpuNum).toEqual([0, 0, 3, 1, 2, 0]);
    expect(d.endGpuJob).toEqual([0, 0, 2, 1, 1, 0]);
    expect(d.summary.meanGpusPerJob).toBe(2.5);
    expect(d.summary.medianRunTimeGpuS).toBe(600);
    expect(d.note).toMatch(/running sum of start_gpu_num - end_gpu_num/);
    expect(d.note).toMatch(/mean after clipping to \[0, 20\] equals the summary's mean busy GPUs, 9\.00/);
  });

  it('chooses the offset so that the mean after clipping equals the target', () => {
    // Capacity 10, target 8: the plain offset (+4) would put the 7 at 11 and clip it to 10 (mean 7.83).
    // With 6 and 7 clipped, (4 + 3 + 3 + 1 + 4 * offset + 2 * 10) / 6 = 8 gives offset 4.25.
    const dir = fixture(ROWS, [summaryRow('Venus', 10, 8)]);
    const d = readHeliosDemand(dir);
    expect(d.offsetBeforeClipping).toBeCloseTo(4, 12);
    expect(d.meanBusyGpus).toBeCloseTo(8, 6);
    expect(d.offset).toBeCloseTo(4.25, 6);
    expect(d.clippedAtCapacity).toBe(2);
    expect(d.note).toMatch(/Offsetting before clipping, 4\.00, would give a mean of 7\.83/);
    expect(Math.max(...d.busyGpus)).toBe(10);
    expect(Math.min(...d.busyGpus)).toBeGreaterThanOrEqual(0);
  });

  it('names the file and line of malformed rows', () => {
    const bad = [...ROWS];
    bad[3] = row('2020-04-01 00:30:00', 1, 1, 1, 1).replace(/,1$/, ',x');
    const err = traceError(() => readHeliosDemand(fixture(bad, [summaryRow('Venus', 20, 9)])));
    expect(err.message).toBe('venus_cluster_throughput_10min.csv:5: column "end_gpu_num": expected a whole number >= 0, got "x"');
    expect(err.line).toBe(5);
    expect(isUnidleError(err)).toBe(true);

    const negative = traceError(() => parseHeliosThroughput([THROUGHPUT_HEADER, ROWS[0]!, row('2020-04-01 00:10:00', 1, -2, 0, 0)].join('\n'), 't.csv'));
    expect(negative.message).toMatch(/^t\.csv:3: column "start_gpu_num"/);

    const fields = traceError(() => parseHeliosThroughput([THROUGHPUT_HEADER, ROWS[0]!, '2020-04-01 00:10:00,1,2'].join('\n'), 't.csv'));
    expect(fields.message).toBe('t.csv:3: expected 10 fields as in the header, got 3');
  });

  it('rejects bad, unordered and unevenly spaced time stamps', () => {
    const parse = (rows: string[]) => () => parseHeliosThroughput([THROUGHPUT_HEADER, ...rows].join('\n'), 't.csv');
    expect(traceError(parse([ROWS[0]!, row('2020-04-31 00:10:00', 0, 0, 0, 0)])).message).toMatch(/t\.csv:3: column "time": expected a time/);
    expect(traceError(parse([ROWS[1]!, ROWS[0]!])).message).toMatch(/t\.csv:3: column "time": .*time order/);
    expect(traceError(parse([ROWS[0]!, ROWS[1]!, ROWS[3]!])).message).toMatch(/t\.csv:4: column "time": .*20 min after line 3; rows must be evenly spaced \(10 min so far\)/);
    expect(traceError(parse([ROWS[0]!])).message).toMatch(/at least two rows/);
  });

  it('reports missing columns, a missing cluster, an impossible summary and a missing folder', () => {
    const noColumn = traceError(() => parseHeliosThroughput('time,start_gpu_num\n2020-04-01 00:00:00,1\n', 't.csv'));
    expect(noColumn.message).toMatch(/t\.csv:1: column "start_gpu_job,end_gpu_job,end_gpu_num": required but missing/);

    const noCluster = traceError(() => parseHeliosSummary([SUMMARY_HEADER, summaryRow('Earth', 9, 1)].join('\n'), 's.csv', 'Venus'));
    expect(noCluster.message).toBe('s.csv:1: column "id": no row for cluster "Venus" (rows: Earth)');

    const badGpus = traceError(() => parseHeliosSummary([SUMMARY_HEADER, summaryRow('Venus', 9, 1).replace(',9,', ',9.5,')].join('\n'), 's.csv', 'Venus'));
    expect(badGpus.message).toMatch(/s\.csv:2: column "gpu_num": must be a positive whole number/);

    expect(() => readHeliosDemand(fixture(ROWS, [summaryRow('Venus', 10, 11)]))).toThrow(/more than the 10 GPUs of Venus/);

    const missing = path.join(tmpdir(), 'unidle-helios-does-not-exist');
    expect(() => readHeliosDemand(missing)).toThrow(/Helios trace file not found: .*venus_cluster_throughput_10min\.csv/);
  });
});

const HELIOS = fileURLToPath(new URL('../../../../shared/traces/helios', import.meta.url));

describe.skipIf(!existsSync(path.join(HELIOS, 'venus_cluster_throughput_10min.csv')))('on the real Venus trace (skipped when ../shared/traces/helios is absent)', () => {
  it('reconstructs busy GPUs with the summary mean, within [0, capacity]', () => {
    const d = readHeliosDemand(HELIOS);
    // The summary's numbers, read independently of the reader.
    const [header, ...lines] = readFileSync(path.join(HELIOS, 'helios_cluster_summary.csv'), 'utf8').trim().split('\n');
    const columns = header!.split(',');
    const venus = lines.map((l) => l.split(',')).find((f) => f[0] === 'Venus')!;
    const col = (name: string) => Number(venus[columns.indexOf(name)]);
    const gpuSeconds = col('complete_gpu_time') + col('cancel_gpu_time') + col('fail_gpu_time');
    const rows = readFileSync(path.join(HELIOS, 'venus_cluster_throughput_10min.csv'), 'utf8').trim().split('\n').length - 1;
    const expectedMean = gpuSeconds / (rows * 600);

    expect(d.capacityGpus).toBe(col('gpu_num'));
    expect(d.busyGpus).toHaveLength(rows);
    expect(d.targetMeanBusyGpus).toBeCloseTo(expectedMean, 9);
    expect(Math.abs(d.meanBusyGpus - expectedMean)).toBeLessThan(0.01);
    expect(expectedMean).toBeGreaterThan(700); // README: "about 785 of 1,022"
    expect(expectedMean).toBeLessThan(850);
    let min = Infinity;
    let max = -Infinity;
    for (const v of d.busyGpus) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(d.capacityGpus);
    expect(d.stepMs).toBe(600_000);
    expect(d.startGpuJob).toHaveLength(rows);
  });
});
