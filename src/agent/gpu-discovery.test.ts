import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { discoverDevices, hostResources, parseNvidiaSmiInventory, parseSimulateSpec, type ExecFn } from './gpu-discovery.js';

const H100_X8 = [
  '0, GPU-5f2c1a3e-8b1d-4c9e-a7f0-1d2e3f4a5b60, NVIDIA H100 80GB HBM3, 81559',
  '1, GPU-6a3d2b4f-9c2e-5daf-b801-2e3f4a5b6c71, NVIDIA H100 80GB HBM3, 81559',
  '2, GPU-7b4e3c50-ad3f-6eb0-c912-3f4a5b6c7d82, NVIDIA H100 80GB HBM3, 81559',
  '3, GPU-8c5f4d61-be40-7fc1-da23-4a5b6c7d8e93, NVIDIA H100 80GB HBM3, 81559',
  '4, GPU-9d605e72-cf51-80d2-eb34-5b6c7d8e9fa4, NVIDIA H100 80GB HBM3, 81559',
  '5, GPU-ae716f83-d062-91e3-fc45-6c7d8e9fa0b5, NVIDIA H100 80GB HBM3, 81559',
  '6, GPU-bf827094-e173-a2f4-0d56-7d8e9fa0b1c6, NVIDIA H100 80GB HBM3, 81559',
  '7, GPU-c09381a5-f284-b305-1e67-8e9fa0b1c2d7, NVIDIA H100 80GB HBM3, 81559',
  '',
].join('\n');

const H200 = '0, GPU-d1a492b6-0395-c416-2f78-9fa0b1c2d3e8, NVIDIA H200, 143771\r\n';

describe('parseNvidiaSmiInventory', () => {
  it('reads the output recorded on a real H200 host', () => {
    const csv = readFileSync(new URL('../../test/fixtures/nvidia-smi/h200/query-discovery.csv', import.meta.url), 'utf8');
    expect(parseNvidiaSmiInventory(csv)).toEqual([
      { index: 0, uuid: 'GPU-54196981-1456-6759-7bdc-2a765535945b', name: 'NVIDIA H200', model: 'H200', memoryMib: 143_771 },
    ]);
  });

  it('parses eight H100s', () => {
    const devices = parseNvidiaSmiInventory(H100_X8);
    expect(devices).toHaveLength(8);
    expect(devices[0]).toEqual({ index: 0, uuid: 'GPU-5f2c1a3e-8b1d-4c9e-a7f0-1d2e3f4a5b60', name: 'NVIDIA H100 80GB HBM3', model: 'H100', memoryMib: 81559 });
    expect(devices.map((d) => d.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('parses an H200 with CRLF and blank lines, and keeps unknown names', () => {
    expect(parseNvidiaSmiInventory(`\n${H200}\n  \n`)).toEqual([
      { index: 0, uuid: 'GPU-d1a492b6-0395-c416-2f78-9fa0b1c2d3e8', name: 'NVIDIA H200', model: 'H200', memoryMib: 143771 },
    ]);
    expect(parseNvidiaSmiInventory('0, GPU-x, NVIDIA A100-SXM4-80GB, 81920\n1, GPU-y, NVIDIA Tesla T4, 15360')).toMatchObject([
      { model: 'A100-80GB' },
      { model: 'Tesla T4' },
    ]);
    expect(parseNvidiaSmiInventory('')).toEqual([]);
  });

  it('rejects garbage naming the line and the problem', () => {
    expect(() => parseNvidiaSmiInventory('0, GPU-a, NVIDIA H100 80GB HBM3, 81559\nNVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver')).toThrow(/line 2: expected 4 comma-separated fields/);
    expect(() => parseNvidiaSmiInventory('0, GPU-a, NVIDIA H100 80GB HBM3, [N/A]')).toThrow(/line 1: memory.total "\[N\/A\]"/);
    expect(() => parseNvidiaSmiInventory('x, GPU-a, NVIDIA H100, 81559')).toThrow(/line 1: index "x"/);
    expect(() => parseNvidiaSmiInventory('0, GPU-a, H100, 1\n0, GPU-b, H100, 1')).toThrow(/line 2: duplicate device index 0/);
    expect(() => parseNvidiaSmiInventory('0, , H100, 1')).toThrow(/line 1: empty uuid/);
  });
});

describe('parseSimulateSpec', () => {
  it('builds a deterministic fake inventory from the catalog', () => {
    const devices = parseSimulateSpec('8xH100', 'gpu-01');
    expect(devices).toHaveLength(8);
    expect(devices[7]).toMatchObject({ index: 7, model: 'H100', name: 'NVIDIA H100 80GB HBM3', memoryMib: 81_559 });
    expect(devices[0]!.uuid).toMatch(/^GPU-sim-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(devices.map((d) => d.uuid)).size).toBe(8);
    expect(parseSimulateSpec('8xH100', 'gpu-01')).toEqual(devices);
    expect(parseSimulateSpec('8xH100', 'gpu-02')[0]!.uuid).not.toBe(devices[0]!.uuid);
  });

  it('accepts model ids with dashes, any case, and comma lists', () => {
    expect(parseSimulateSpec('4xA100-80GB').map((d) => d.model)).toEqual(['A100-80GB', 'A100-80GB', 'A100-80GB', 'A100-80GB']);
    const mixed = parseSimulateSpec('2xh100, 2xL40S', 'n');
    expect(mixed.map((d) => [d.index, d.model])).toEqual([[0, 'H100'], [1, 'H100'], [2, 'L40S'], [3, 'L40S']]);
    expect(mixed[2]!.memoryMib).toBe(46_068);
  });

  it('rejects unknown models and bad counts with the list of known models', () => {
    expect(() => parseSimulateSpec('8xB300')).toThrow(/unknown GPU model "B300"; known models: H200, H100/);
    expect(() => parseSimulateSpec('0xH100')).toThrow(/at least 1/);
    expect(() => parseSimulateSpec('H100')).toThrow(/COUNTxMODEL.*known models/);
    expect(() => parseSimulateSpec('')).toThrow(/expected e.g. 8xH100/);
    expect(() => parseSimulateSpec('999xH100')).toThrow(/at most 64/);
  });
});

describe('discoverDevices', () => {
  it('runs nvidia-smi through the injected exec', async () => {
    const calls: string[][] = [];
    const exec: ExecFn = async (file, args, opts) => {
      calls.push([file, ...args, String(opts.timeout)]);
      return { stdout: H200, stderr: '' };
    };
    expect(await discoverDevices({ nodeName: 'n', exec })).toMatchObject([{ model: 'H200' }]);
    expect(calls).toEqual([['nvidia-smi', '--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits', '10000']]);
  });

  it('prefers --simulate and explains how to run without GPUs', async () => {
    const never: ExecFn = () => Promise.reject(new Error('must not run'));
    expect(await discoverDevices({ nodeName: 'n', simulate: '1xH100', exec: never })).toHaveLength(1);
    const enoent: ExecFn = () => Promise.reject(Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' }));
    await expect(discoverDevices({ nodeName: 'n', exec: enoent })).rejects.toThrow(/--simulate 8xH100/);
    const failing: ExecFn = () => Promise.reject(Object.assign(new Error('Command failed'), { code: 9, stderr: 'NVIDIA-SMI has failed' }));
    await expect(discoverDevices({ nodeName: 'n', exec: failing })).rejects.toThrow(/nvidia-smi failed: NVIDIA-SMI has failed/);
  });

  it('reports host resources in milli-cores and MiB', () => {
    const host = hostResources();
    expect(host.cpuMilli % 1000).toBe(0);
    expect(host.cpuMilli).toBeGreaterThanOrEqual(1000);
    expect(Number.isInteger(host.memoryMib)).toBe(true);
  });
});
