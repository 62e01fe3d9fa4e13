import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ExecFn } from './exec.js';
import { NVIDIA_SMI_TELEMETRY_ARGS, NvidiaSmiSource, parseNvidiaSmiQuery } from './nvidia-smi.js';
import { TelemetryFormatError, TelemetrySourceError } from './sample.js';

/**
 * The recordings in test/fixtures/nvidia-smi/h200 were made on a real H200 (driver 580.159.04) by
 * scripts/device/record-nvidia-smi.sh with exactly the query this parser reads. Each file holds one
 * query run per second, so each line is one complete output (one GPU) and is parsed on its own.
 */
const H200_UUID = 'GPU-54196981-1456-6759-7bdc-2a765535945b';
const recording = (name: string): string[] =>
  readFileSync(new URL(`../../../test/fixtures/nvidia-smi/h200/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

/** The recorded lines parsed one by one, as [util %, memory MiB, power mW, temp °C, SM MHz, pstate]. */
function columns(name: string): Array<[number | null, number | null, number | null, number | null, number | null, string | null]> {
  return recording(name).map((line, i) => {
    const samples = parseNvidiaSmiQuery(line, 1_000 * i);
    expect(samples).toHaveLength(1);
    const s = samples[0]!;
    expect(s).toMatchObject({ at: 1_000 * i, deviceIndex: 0, uuid: H200_UUID, energyMillijoules: null });
    return [s.utilizationPct, s.memoryUsedMib, s.powerMilliwatts, s.temperatureC, s.smClockMhz, s.pstate];
  });
}

describe('parseNvidiaSmiQuery on the real H200 recordings', () => {
  it('reads the idle recording exactly (about 80 W, 345 MHz, P0)', () => {
    expect(columns('query-telemetry-idle.csv')).toEqual([
      [0, 0, 108_440, 41, 420, 'P0'],
      [0, 0, 80_490, 41, 345, 'P0'],
      [0, 0, 80_280, 40, 345, 'P0'],
      [0, 0, 80_330, 40, 345, 'P0'],
      [0, 0, 80_230, 40, 345, 'P0'],
      [0, 0, 80_240, 40, 345, 'P0'],
      [0, 0, 80_310, 40, 345, 'P0'],
      [0, 0, 80_250, 40, 345, 'P0'],
    ]);
  });

  it('reads the busy recording exactly (about 690 W of 700 W at 99 %)', () => {
    expect(columns('query-telemetry-busy.csv')).toEqual([
      [0, 0, 80_260, 40, 345, 'P0'],
      [99, 1011, 289_780, 58, 1500, 'P0'],
      [99, 1011, 689_930, 62, 1470, 'P0'],
      [99, 1011, 691_040, 63, 1500, 'P0'],
      [99, 1011, 691_380, 64, 1470, 'P0'],
      [99, 1011, 689_380, 64, 1485, 'P0'],
      [99, 1011, 692_870, 64, 1485, 'P0'],
      [99, 1011, 693_020, 64, 1455, 'P0'],
    ]);
  });

  it('reads the recording after the load', () => {
    expect(columns('query-telemetry-after.csv')).toEqual([
      [0, 0, 250_970, 46, 1980, 'P0'],
      [0, 0, 131_460, 45, 1980, 'P0'],
      [0, 0, 108_600, 43, 345, 'P0'],
    ]);
  });

  it('gives the whole sample shape', () => {
    expect(parseNvidiaSmiQuery(`${recording('query-telemetry-idle.csv')[4]!}\n`, 1_764_361_973_000)).toEqual([
      {
        at: 1_764_361_973_000,
        deviceIndex: 0,
        uuid: H200_UUID,
        utilizationPct: 0,
        memoryUsedMib: 0,
        powerMilliwatts: 80_230,
        energyMillijoules: null,
        temperatureC: 40,
        smClockMhz: 345,
        pstate: 'P0',
      },
    ]);
  });

  it('rejects a concatenation of runs: the same GPU twice is not one output', () => {
    const file = readFileSync(new URL('../../../test/fixtures/nvidia-smi/h200/query-telemetry-idle.csv', import.meta.url), 'utf8');
    expect(() => parseNvidiaSmiQuery(file, 0)).toThrow(/line 2, field index: device index 0 appears twice/);
  });

  it('asks nvidia-smi for exactly the recorded column set', () => {
    const script = readFileSync(new URL('../../../scripts/device/record-nvidia-smi.sh', import.meta.url), 'utf8');
    const recorded = /telemetry='([^']+)'/.exec(script)?.[1];
    expect(NVIDIA_SMI_TELEMETRY_ARGS).toEqual([`--query-gpu=${recorded}`, '--format=csv,noheader,nounits']);
  });
});

// Eight H200s: GPU 0's line is recorded; the others are built from the recorded idle and busy values
// (UUIDs made up) to exercise several lines, CRLF and spacing.
const EIGHT = [
  '',
  `0, ${H200_UUID}, 0, 0, 80.23, 40, 345, P0`,
  '1, GPU-00000000-0000-0000-0000-000000000001, 99, 1011, 691.04, 63, 1500, P0\r',
  '2,GPU-00000000-0000-0000-0000-000000000002,0,0,80.49,41,345,P0',
  '   ',
  '3 ,  GPU-00000000-0000-0000-0000-000000000003 , 0 , 0 , 80.3 , 40 , 345 , P0  ',
  '7, GPU-00000000-0000-0000-0000-000000000007, 0, 0, 80, 40, 345, P0',
  '4, GPU-00000000-0000-0000-0000-000000000004, 0, 0, 80.005, 40, 345, P0',
  '',
].join('\n');

describe('parseNvidiaSmiQuery', () => {
  it('parses several GPUs, tolerating blank lines, CRLF and spaces, sorted by index', () => {
    const samples = parseNvidiaSmiQuery(EIGHT, 5);
    expect(samples.map((s) => [s.deviceIndex, s.powerMilliwatts, s.utilizationPct, s.memoryUsedMib])).toEqual([
      [0, 80_230, 0, 0],
      [1, 691_040, 99, 1011],
      [2, 80_490, 0, 0],
      [3, 80_300, 0, 0],
      [4, 80_005, 0, 0],
      [7, 80_000, 0, 0],
    ]);
    expect(samples[3]!.uuid).toBe('GPU-00000000-0000-0000-0000-000000000003');
    expect(samples.every((s) => s.at === 5)).toBe(true);
  });

  it('converts watts to milliwatts exactly, without float rounding', () => {
    const mw = (w: string) => parseNvidiaSmiQuery(`0, GPU-a, 0, 0, ${w}, 40, 345, P0`, 0)[0]!.powerMilliwatts;
    expect(mw('80.23')).toBe(80_230); // 80.23 * 1000 = 80229.99999999999 in floating point
    expect(mw('0.29')).toBe(290); // 0.29 * 1000 = 289.99999999999994
    expect(mw('4.35')).toBe(4_350);
    expect(mw('700.00')).toBe(700_000);
    expect(mw('1.0005')).toBe(1_001); // beyond mW: half away from zero
    expect(mw('1.00049')).toBe(1_000);
    expect(mw('0')).toBe(0);
  });

  it('turns [N/A] and [Not Supported] into null, in any spelling', () => {
    const [s] = parseNvidiaSmiQuery(`0, ${H200_UUID}, [N/A], [Not Supported], [n/a], [ N/A ], [NotSupported], [not supported]`, 0);
    expect(s).toEqual({
      at: 0,
      deviceIndex: 0,
      uuid: H200_UUID,
      utilizationPct: null,
      memoryUsedMib: null,
      powerMilliwatts: null,
      energyMillijoules: null,
      temperatureC: null,
      smClockMhz: null,
      pstate: null,
    });
    // MIG-enabled H200: utilisation is N/A, everything else is measured.
    expect(parseNvidiaSmiQuery('0, GPU-m, [N/A], 16384, 78.30, 35, 345, P0', 0)[0]).toMatchObject({ utilizationPct: null, memoryUsedMib: 16_384, powerMilliwatts: 78_300 });
    expect(parseNvidiaSmiQuery('0, [N/A], 0, 0, 80, 40, 345, P0', 0)[0]!.uuid).toBeNull();
    expect(parseNvidiaSmiQuery('0, N/A, 0, 0, N/A, 40, 345, P0', 0)[0]).toMatchObject({ uuid: null, powerMilliwatts: null });
    expect(parseNvidiaSmiQuery('', 0)).toEqual([]);
  });

  it('rejects malformed output naming the line and the field', () => {
    const ok = `0, ${H200_UUID}, 0, 0, 80.23, 40, 345, P0`;
    const bad = (line: string) => () => parseNvidiaSmiQuery(`${ok}\n\n${line}`, 0);
    expect(bad("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver")).toThrow(/^nvidia-smi output line 3: expected 8 comma-separated fields/);
    expect(bad('1, GPU-b, 0, 0, 80.23, 40, 345')).toThrow(/line 3: expected 8 .*got 7/);
    expect(bad('1, GPU-b, 0, 0, 80.23, 40, 345, P0, extra')).toThrow(/line 3: .*got 9/);
    expect(bad('1, GPU-b, 0, 0, 80.2.3, 40, 345, P0')).toThrow(/line 3, field power.draw: "80.2.3" is not a number of watts/);
    expect(bad('1, GPU-b, 0, 0, 80.23 W, 40, 345, P0')).toThrow(/field power.draw: .*run with nounits/);
    expect(bad('1, GPU-b, 0, 0, -5, 40, 345, P0')).toThrow(/field power.draw/);
    expect(bad('1, GPU-b, 101, 0, 80, 40, 345, P0')).toThrow(/line 3, field utilization.gpu: 101 % is outside 0–100/);
    expect(bad('1, GPU-b, 5.5, 0, 80, 40, 345, P0')).toThrow(/field utilization.gpu: "5.5" is not a whole number/);
    expect(bad('1, GPU-b, 0, 1011 MiB, 80, 40, 345, P0')).toThrow(/field memory.used: .*run with nounits/);
    expect(bad('1, GPU-b, 0, 0, 80, hot, 345, P0')).toThrow(/field temperature.gpu/);
    expect(bad('1, GPU-b, 0, 0, 80, 40, fast, P0')).toThrow(/field clocks.sm/);
    expect(bad('1, GPU-b, 0, 0, 80, 40, 345, Z9')).toThrow(/field pstate: "Z9"/);
    expect(bad('x, GPU-b, 0, 0, 80, 40, 345, P0')).toThrow(/field index: "x"/);
    expect(bad('[N/A], GPU-b, 0, 0, 80, 40, 345, P0')).toThrow(/field index: the device index is not reported/);
    expect(bad('1, GPU-b, 0, 0, [GPU is lost], 40, 345, P0')).toThrow(/field power.draw: nvidia-smi reports \[GPU is lost\]/);
    expect(bad('1, GPU-b, 0, , 80, 40, 345, P0')).toThrow(/field memory.used: is empty/);
    expect(bad('index, uuid, utilization.gpu, memory.used')).toThrow(/header line/);
  });

  it('throws a TelemetryFormatError carrying the line and field', () => {
    let caught: unknown;
    try {
      parseNvidiaSmiQuery('0, GPU-a, 0, 0, abc, 40, 345, P0', 0);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TelemetryFormatError);
    expect(caught).toMatchObject({ name: 'TelemetryFormatError', source: 'nvidia-smi', line: 1, field: 'power.draw' });
    expect((caught as Error).message).toContain('(line: "0, GPU-a, 0, 0, abc, 40, 345, P0")');
  });
});

describe('NvidiaSmiSource', () => {
  const idleLine = `0, ${H200_UUID}, 0, 0, 80.23, 40, 345, P0\n`;

  it('runs the telemetry query through the injected exec with a timeout', async () => {
    const calls: Array<[string, string[], number]> = [];
    const exec: ExecFn = async (file, args, options) => {
      calls.push([file, args, options.timeout]);
      return { stdout: idleLine, stderr: '' };
    };
    const source = new NvidiaSmiSource({ exec, timeoutMs: 3_000 });
    expect(source.name).toBe('nvidia-smi');
    const samples = await source.sample(42);
    expect(samples).toEqual([expect.objectContaining({ at: 42, deviceIndex: 0, powerMilliwatts: 80_230 })]);
    expect(calls).toEqual([['nvidia-smi', NVIDIA_SMI_TELEMETRY_ARGS, 3_000]]);
    await new NvidiaSmiSource({ exec, command: '/usr/bin/nvidia-smi' }).sample(0);
    expect(calls[1]![0]).toBe('/usr/bin/nvidia-smi');
    expect(calls[1]![2]).toBe(10_000);
  });

  it('says clearly when nvidia-smi is missing, hangs or fails', async () => {
    const failing = (err: object): ExecFn => async () => {
      throw Object.assign(new Error('boom'), err);
    };
    const missing = new NvidiaSmiSource({ exec: failing({ code: 'ENOENT' }) }).sample(0);
    await expect(missing).rejects.toBeInstanceOf(TelemetrySourceError);
    await expect(new NvidiaSmiSource({ exec: failing({ code: 'ENOENT' }) }).sample(0)).rejects.toThrow(/nvidia-smi was not found on this host/);
    await expect(new NvidiaSmiSource({ exec: failing({ killed: true, signal: 'SIGTERM' }), timeoutMs: 500 }).sample(0)).rejects.toThrow(
      /did not answer within 500 ms/,
    );
    await expect(
      new NvidiaSmiSource({
        exec: failing({ code: 9, stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", stderr: '' }),
      }).sample(0),
    ).rejects.toThrow(/nvidia-smi failed with exit status 9: NVIDIA-SMI has failed because it couldn't communicate/);
    expect(() => new NvidiaSmiSource({ timeoutMs: 0 })).toThrow(RangeError);
  });

  it('passes garbage output on as a format error', async () => {
    const exec: ExecFn = async () => ({ stdout: `${idleLine}Unable to determine the device handle for GPU0000:00:07.0: Unknown Error\n`, stderr: '' });
    await expect(new NvidiaSmiSource({ exec }).sample(0)).rejects.toThrow(TelemetryFormatError);
  });

  it('reports ENOENT from the real default exec for a program that does not exist', async () => {
    await expect(new NvidiaSmiSource({ command: '/nonexistent/nvidia-smi-for-test' }).sample(0)).rejects.toThrow(/was not found on this host/);
  });
});
