import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ExecFn } from './exec.js';
import { NpuSmiSource, parseNpuSmiInfo, parseNpuSmiInfoDetailed } from './npu-smi.js';
import { TelemetryFormatError, TelemetrySourceError } from './sample.js';

/**
 * test/fixtures/telemetry/npu-smi-910b.txt is constructed: no Ascend host was available. Its layout
 * is npu-smi 25.2.0's table (98 columns, two rows per NPU, process table after); every value is made
 * up (idle near the ~90 W docs/catalog.md cites, HBM 3141 / 65536, three busy NPUs at 211–343 W).
 */
const TABLE = readFileSync(new URL('../../../test/fixtures/telemetry/npu-smi-910b.txt', import.meta.url), 'utf8');

const chip = (deviceIndex: number, utilizationPct: number, memoryUsedMib: number, powerMilliwatts: number, temperatureC: number) => ({
  at: 7,
  deviceIndex,
  uuid: null,
  utilizationPct,
  memoryUsedMib,
  powerMilliwatts,
  energyMillijoules: null,
  temperatureC,
  smClockMhz: null,
  pstate: null,
});

describe('parseNpuSmiInfo', () => {
  it('reads the eight 910B NPUs of the fixture exactly', () => {
    expect(parseNpuSmiInfo(TABLE, 7)).toEqual([
      chip(0, 0, 3141, 90_600, 33),
      chip(1, 0, 3141, 87_400, 32),
      chip(2, 96, 52_113, 342_600, 51),
      chip(3, 94, 52_113, 338_900, 52),
      chip(4, 0, 3141, 90_200, 34),
      chip(5, 0, 3141, 89_700, 33),
      chip(6, 37, 20_480, 211_400, 44),
      chip(7, 0, 3141, 88_900, 32),
    ]);
  });

  it('keeps name, health, bus id and HBM total beside each sample', () => {
    const chips = parseNpuSmiInfoDetailed(TABLE, 7);
    expect(chips).toHaveLength(8);
    expect(chips[0]).toEqual({ sample: chip(0, 0, 3141, 90_600, 33), npuId: 0, chipId: 0, phyId: null, name: '910B4-1', health: 'OK', busId: '0000:C1:00.0', memoryTotalMib: 65_536 });
    expect(chips[5]).toMatchObject({ npuId: 5, health: 'Warning', busId: '0000:02:00.0' });
  });

  // Layout of newer npu-smi releases on two-chip NPUs (a Phy-ID column; the second chip prints "-" for
  // power), as in public outputs from Atlas A3 hosts; values made up.
  const A3 = [
    '+------------------------------------------------------------------------------------------------+',
    '| npu-smi 25.2.0                   Version: 25.2.0                                               |',
    '+---------------------------+---------------+----------------------------------------------------+',
    '| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|',
    '| Chip  Phy-ID              | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |',
    '+===========================+===============+====================================================+',
    '| 0     Ascend910           | OK            | 178.5       36                0    / 0             |',
    '| 0     0                   | 0000:9D:00.0  | 12          0    / 0          3416 / 65536         |',
    '+------------------------------------------------------------------------------------------------+',
    '| 0     Ascend910           | OK            | -           36                0    / 0             |',
    '| 1     1                   | 0000:9F:00.0  | 0           0    / 0          3195 / 65536         |',
    '+===========================+===============+====================================================+',
    '| 1     Ascend910           | OK            | 186.3       37                0    / 0             |',
    '| 0     2                   | 0000:99:00.0  | 100         0    / 0          60001 / 65536        |',
    '+------------------------------------------------------------------------------------------------+',
    '| 1     Ascend910           | OK            | -           35                0    / 0             |',
    '| 1     3                   | 0000:9B:00.0  | 0           0    / 0          3195 / 65536         |',
    '+===========================+===============+====================================================+',
  ].join('\r\n');

  it('reads two-chip NPUs by Phy-ID, with "-" power as null', () => {
    const chips = parseNpuSmiInfoDetailed(A3, 0);
    expect(chips.map((c) => [c.npuId, c.chipId, c.phyId, c.sample.deviceIndex, c.sample.powerMilliwatts, c.sample.utilizationPct, c.sample.memoryUsedMib])).toEqual([
      [0, 0, 0, 0, 178_500, 12, 3416],
      [0, 1, 1, 1, null, 0, 3195],
      [1, 0, 2, 2, 186_300, 100, 60_001],
      [1, 1, 3, 3, null, 0, 3195],
    ]);
  });

  it('numbers two-chip NPUs by position when there is no Phy-ID column', () => {
    const old = A3.replace('| Chip  Phy-ID              |', '| Chip                      |').replace(/\| (\d)     \d                   \| 0000/g, '| $1                         | 0000');
    expect(parseNpuSmiInfoDetailed(old, 0).map((c) => [c.npuId, c.chipId, c.phyId, c.sample.deviceIndex])).toEqual([
      [0, 0, null, 0],
      [0, 1, null, 1],
      [1, 0, null, 2],
      [1, 1, null, 3],
    ]);
  });

  it('maps values by the header, so a table without HBM or Hugepages columns still parses', () => {
    const table = [
      '| NPU   Name                | Health        | Power(W)    Temp(C)   |',
      '| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB) |',
      '| 4     310P3               | OK            | 12.5        41        |',
      '| 0                         | NA            | 3           1201 / 21527 |',
    ].join('\n');
    expect(parseNpuSmiInfoDetailed(table, 0)).toEqual([
      { sample: { ...chip(4, 3, 1201, 12_500, 41), at: 0 }, npuId: 4, chipId: 0, phyId: null, name: '310P3', health: 'OK', busId: null, memoryTotalMib: 21_527 },
    ]);
  });

  it('returns nothing for empty output and rejects output without the table', () => {
    expect(parseNpuSmiInfo('', 0)).toEqual([]);
    expect(() => parseNpuSmiInfo('\ndcmi module initialize failed. ret is -8005\n', 0)).toThrow(/^npu-smi output line 2: no device table/);
  });

  it('rejects malformed rows naming the line and the column', () => {
    const lines = TABLE.split('\n');
    const replaced = (n: number, from: string | RegExp, to: string) => () => parseNpuSmiInfo([...lines.slice(0, n - 1), lines[n - 1]!.replace(from, to), ...lines.slice(n)].join('\n'), 0);
    expect(lines[9]).toContain('| 1     910B4-1             | OK            | 87.4');
    expect(replaced(10, '87.4', 'hot!')).toThrow(/^npu-smi output line 10, field Power\(W\): "hot!" is not a number of watts/);
    expect(replaced(10, '87.4', '    ')).toThrow(/line 10, field Hugepages-Usage\(page\): expected 3 values \(Power\(W\), Temp\(C\), Hugepages-Usage\(page\)\), got 2/);
    expect(replaced(11, '3141 / 65536', '3141 of 65536')).toThrow(/line 11, field HBM-Usage\(MB\): expected 3 values .* got 5/);
    expect(replaced(11, '3141 / 65536', 'lots / 65536')).toThrow(/line 11, field HBM-Usage\(MB\): "lots \/ 65536" is not "used \/ total"/);
    expect(replaced(11, /\| 0           0    \//, '| 101         0    /')).toThrow(/line 11, field AICore\(%\): 101 is above 100/);
    expect(replaced(11, '| 0                         |', '| zero                      |')).toThrow(/line 11, field Chip: expected the chip row of NPU 1/);
    expect(replaced(10, '| 1     910B4-1', '| x     910B4-1')).toThrow(/line 10, field NPU: expected an NPU row/);
    expect(replaced(10, '| 1     910B4-1', '| 0     910B4-1')).toThrow(/line 11: NPU 0 chip 0 appears twice \(lines 8 and 11\)/);
    expect(() => parseNpuSmiInfo(A3.replace('| 1     3                   |', '| 1     2                   |'), 0)).toThrow(/line 17: device index 2 appears twice \(lines 14 and 17\)/);
    expect(replaced(5, 'Chip  ', 'Chop  ')).toThrow(/line 5: expected the second header row/);
    // A chip row lost: the NPU row is left without its chip row.
    expect(() => parseNpuSmiInfo(lines.filter((_, k) => k !== 10).join('\n'), 0)).toThrow(/line 12, field Chip: expected the chip row of NPU 1/);
    expect(() => parseNpuSmiInfo(lines.slice(0, 28).join('\n'), 0)).toThrow(/line 28: NPU 7 has no chip row/);
    let caught: unknown;
    try {
      replaced(10, '87.4', 'hot!')();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TelemetryFormatError);
    expect(caught).toMatchObject({ source: 'npu-smi', line: 10, field: 'Power(W)' });
  });
});

describe('NpuSmiSource', () => {
  it('runs npu-smi info through the injected exec', async () => {
    const calls: Array<[string, string[], number]> = [];
    const exec: ExecFn = async (file, args, options) => {
      calls.push([file, args, options.timeout]);
      return { stdout: TABLE, stderr: '' };
    };
    const source = new NpuSmiSource({ exec, timeoutMs: 4_000 });
    expect(source.name).toBe('npu-smi');
    const samples = await source.sample(99);
    expect(samples).toHaveLength(8);
    expect(samples[2]).toMatchObject({ at: 99, deviceIndex: 2, powerMilliwatts: 342_600 });
    expect(calls).toEqual([['npu-smi', ['info'], 4_000]]);
  });

  it('says clearly when npu-smi is missing or fails', async () => {
    const failing = (err: object): ExecFn => async () => {
      throw Object.assign(new Error('boom'), err);
    };
    await expect(new NpuSmiSource({ exec: failing({ code: 'ENOENT' }) }).sample(0)).rejects.toThrow(/npu-smi was not found on this host/);
    await expect(new NpuSmiSource({ exec: failing({ code: 'ENOENT' }) }).sample(0)).rejects.toBeInstanceOf(TelemetrySourceError);
    await expect(new NpuSmiSource({ exec: failing({ code: 255, stderr: 'dcmi module initialize failed. ret is -8005\n' }) }).sample(0)).rejects.toThrow(
      /npu-smi failed with exit status 255: dcmi module initialize failed/,
    );
  });
});
