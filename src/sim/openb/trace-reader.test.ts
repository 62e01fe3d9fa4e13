import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUnidleError } from '../../domain/errors.js';
import { TraceFormatError, parseOpenbNodeList, parseOpenbPodList, readOpenbNodeList, readOpenbPodList } from './trace-reader.js';

const POD_HEADER = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';
const NODE_HEADER = 'sn,cpu_milli,memory_mib,gpu,model';

/** A pod row in the 11-column layout with made-up QoS and timestamps. */
const pod = (name: string, cpu: string, mem: string, gpus: string, milli: string, spec = '') =>
  `${name},${cpu},${mem},${gpus},${milli},${spec},LS,Running,0,100,0`;

/** Runs `fn`, expecting a TraceFormatError, and returns it. */
function traceError(fn: () => unknown): TraceFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TraceFormatError);
    return err as TraceFormatError;
  }
  throw new Error('expected a TraceFormatError');
}

describe('parseOpenbPodList', () => {
  it('reads the 11-column layout and normalises per the authors\' conversion', () => {
    const text = [
      POD_HEADER,
      pod('p-cpu', '4000', '8192', '0', '0', 'T4'),
      pod('p-share', '6000', '12288', '1', '460'),
      pod('p-whole', '88000', '327680', '8', '1000', 'V100M16|V100M32'),
      pod('p-over', '1000', '1024', '1', '1500', '|G2||T4|'),
      pod('p-nonpositive', '1000', '1024', '1', '-5'),
      '',
    ].join('\n');
    expect(parseOpenbPodList(text, '/x/pods.csv')).toEqual([
      // CPU-only: gpu_spec ignored, no GPU demand.
      { name: 'p-cpu', cpuMilli: 4000, memoryMib: 8192, gpuCount: 0, milliPerGpu: 0, models: [] },
      { name: 'p-share', cpuMilli: 6000, memoryMib: 12288, gpuCount: 1, milliPerGpu: 460, models: [] },
      { name: 'p-whole', cpuMilli: 88000, memoryMib: 327680, gpuCount: 8, milliPerGpu: 1000, models: ['V100M16', 'V100M32'] },
      { name: 'p-over', cpuMilli: 1000, memoryMib: 1024, gpuCount: 1, milliPerGpu: 1000, models: ['G2', 'T4'] },
      { name: 'p-nonpositive', cpuMilli: 1000, memoryMib: 1024, gpuCount: 1, milliPerGpu: 0, models: [] },
    ]);
  });

  it('reads the 5-column multigpu layout (no gpu_spec)', () => {
    const text = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,12000,16384,1,1000\np1,6000,12288,1,460\np2,88000,327680,8,1000\n';
    expect(parseOpenbPodList(text, 'multigpu.csv')).toEqual([
      { name: 'p0', cpuMilli: 12000, memoryMib: 16384, gpuCount: 1, milliPerGpu: 1000, models: [] },
      { name: 'p1', cpuMilli: 6000, memoryMib: 12288, gpuCount: 1, milliPerGpu: 460, models: [] },
      { name: 'p2', cpuMilli: 88000, memoryMib: 327680, gpuCount: 8, milliPerGpu: 1000, models: [] },
    ]);
  });

  it('asks for whole GPUs when there is no gpu_milli column, and accepts any column order, CRLF, BOM, quotes', () => {
    const text = '\uFEFFextra,num_gpu,name,memory_mib,cpu_milli\r\nz,2,"p,0",100,200\r\n\r\nz,0,p1,100,200\r\n';
    expect(parseOpenbPodList(text, 'x.csv')).toEqual([
      { name: 'p,0', cpuMilli: 200, memoryMib: 100, gpuCount: 2, milliPerGpu: 1000, models: [] },
      { name: 'p1', cpuMilli: 200, memoryMib: 100, gpuCount: 0, milliPerGpu: 0, models: [] },
    ]);
  });

  it('reads pandas\' "nan" in gpu_spec as no constraint', () => {
    const text = [POD_HEADER, pod('p', '1', '1', '1', '500', 'nan')].join('\n');
    expect(parseOpenbPodList(text, 'x.csv')[0]!.models).toEqual([]);
  });

  it('locates a bad number by file, line and column', () => {
    const text = [POD_HEADER, pod('p0', '1', '1', '1', '500'), pod('p1', '1', '1', 'x', '500')].join('\n');
    const err = traceError(() => parseOpenbPodList(text, '/traces/openb_pod_list_default.csv'));
    expect(err.message).toBe('openb_pod_list_default.csv:3: column "num_gpu": expected a whole number from 0 to 64, got "x"');
    expect([err.source, err.line, err.column]).toEqual(['/traces/openb_pod_list_default.csv', 3, 'num_gpu']);
    expect(isUnidleError(err) && err.code).toBe('validation_failed');
    expect(err.problems).toEqual([{ field: 'num_gpu', message: 'expected a whole number from 0 to 64, got "x"' }]);
  });

  it.each([
    ['cpu_milli', pod('p', '-1', '1', '0', '0'), 'expected a non-negative whole number, got "-1"'],
    ['cpu_milli', pod('p', '1.5', '1', '0', '0'), 'expected a non-negative whole number, got "1.5"'],
    ['memory_mib', pod('p', '1', '', '0', '0'), 'expected a non-negative whole number, got ""'],
    ['num_gpu', pod('p', '1', '1', '65', '1000'), 'expected a whole number from 0 to 64, got "65"'],
    ['gpu_milli', pod('p', '1', '1', '1', 'half'), 'expected a whole number, got "half"'],
    ['gpu_milli', pod('p', '1', '1', '0', ''), 'expected a whole number, got ""'],
    ['gpu_milli', pod('p', '1', '1', '2', '500'), 'a pod asking for 2 GPUs must ask for whole GPUs (1000 milli each), got 500'],
    ['name', pod('', '1', '1', '0', '0'), 'must not be empty'],
  ])('rejects a bad %s', (column, row, detail) => {
    const err = traceError(() => parseOpenbPodList([POD_HEADER, pod('ok', '1', '1', '0', '0'), row].join('\n'), 'pods.csv'));
    expect(err.message).toBe(`pods.csv:3: column "${column}": ${detail}`);
    expect(err.line).toBe(3);
    expect(err.column).toBe(column);
  });

  it('accepts a multi-GPU row whose gpu_milli normalises to whole or no GPUs', () => {
    const text = [POD_HEADER, pod('a', '1', '1', '2', '1500'), pod('b', '1', '1', '4', '0')].join('\n');
    expect(parseOpenbPodList(text, 'x.csv').map((p) => [p.gpuCount, p.milliPerGpu])).toEqual([
      [2, 1000],
      [4, 0],
    ]);
  });

  it('rejects a row with the wrong number of fields', () => {
    const err = traceError(() => parseOpenbPodList(`${POD_HEADER}\n${pod('a', '1', '1', '0', '0')}\na,1,1,0,0\n`, 'pods.csv'));
    expect(err.message).toBe('pods.csv:3: expected 11 fields as in the header, got 5');
    expect([err.line, err.column]).toEqual([3, null]);
  });

  it('names the missing required columns', () => {
    const err = traceError(() => parseOpenbPodList('name,cpu_milli,gpu_milli\na,1,1\n', 'pods.csv'));
    expect(err.message).toBe('pods.csv:1: column "memory_mib,num_gpu": required but missing from the header (which has: name,cpu_milli,gpu_milli)');
    expect(err.line).toBe(1);
  });

  it('rejects an empty file, a header-only file, a repeated column and an unterminated quote', () => {
    expect(traceError(() => parseOpenbPodList('', 'e.csv')).message).toBe('e.csv:1: empty file: expected a header line and at least one row');
    expect(traceError(() => parseOpenbPodList('\n\n', 'e.csv')).line).toBe(1);
    expect(traceError(() => parseOpenbPodList(`${POD_HEADER}\n\n`, 'h.csv')).message).toBe('h.csv:1: no rows after the header');
    expect(traceError(() => parseOpenbPodList('name,cpu_milli,memory_mib,num_gpu,name\na,1,1,0,b\n', 'd.csv')).column).toBe('name');
    expect(traceError(() => parseOpenbPodList('name,cpu_milli,memory_mib,num_gpu\n"a,1,1,0\n', 'q.csv')).message).toBe('q.csv:2: unterminated quoted field');
  });
});

describe('parseOpenbNodeList', () => {
  it('reads GPU and CPU-only nodes', () => {
    const text = `${NODE_HEADER}\nn0,32000,262144,0,\nn1,128000,786432,8,G3\nn2,96000,786432,8,V100M32\n`;
    expect(parseOpenbNodeList(text, 'nodes.csv')).toEqual([
      { name: 'n0', cpuMilli: 32000, memoryMib: 262144, gpus: 0, model: '' },
      { name: 'n1', cpuMilli: 128000, memoryMib: 786432, gpus: 8, model: 'G3' },
      { name: 'n2', cpuMilli: 96000, memoryMib: 786432, gpus: 8, model: 'V100M32' },
    ]);
  });

  it('rejects a GPU node without a model', () => {
    const err = traceError(() => parseOpenbNodeList(`${NODE_HEADER}\nn0,1,1,2,\n`, 'nodes.csv'));
    expect(err.message).toBe('nodes.csv:2: column "model": a node with 2 GPU(s) needs a model, got an empty cell');
  });

  it('rejects duplicate node names, pointing at both lines', () => {
    const err = traceError(() => parseOpenbNodeList(`${NODE_HEADER}\nn0,1,1,1,T4\nn1,1,1,1,T4\nn0,1,1,1,T4\n`, 'nodes.csv'));
    expect(err.message).toBe('nodes.csv:4: column "sn": duplicate node name "n0" (first on line 2)');
  });

  it('rejects bad numbers and a missing model column', () => {
    expect(traceError(() => parseOpenbNodeList(`${NODE_HEADER}\nn0,1,1,-2,T4\n`, 'n.csv')).message).toBe(
      'n.csv:2: column "gpu": expected a whole number from 0 to 64, got "-2"',
    );
    expect(traceError(() => parseOpenbNodeList(`${NODE_HEADER}\nn0,1,x,1,T4\n`, 'n.csv')).column).toBe('memory_mib');
    expect(traceError(() => parseOpenbNodeList('sn,cpu_milli,memory_mib,gpu\nn0,1,1,1\n', 'n.csv')).column).toBe('model');
  });
});

describe('readOpenbNodeList / readOpenbPodList', () => {
  it('read a file and report it by path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openb-reader-'));
    try {
      const nodes = path.join(dir, 'nodes.csv');
      const pods = path.join(dir, 'pods.csv');
      writeFileSync(nodes, `${NODE_HEADER}\nn0,1000,1024,1,T4\n`);
      writeFileSync(pods, `${POD_HEADER}\n${pod('p', '1', '1', 'nope', '0')}\n`);
      expect(readOpenbNodeList(nodes)).toHaveLength(1);
      expect(traceError(() => readOpenbPodList(pods)).source).toBe(pods);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The real trace is not part of the repository; check against it where a checkout has it.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const traceDir = path.resolve(repoRoot, '../shared/traces/openb');

describe('the real openb trace', () => {
  it.skipIf(!existsSync(traceDir))('parses every file, with the published sizes', () => {
    const files = readdirSync(traceDir).filter((f) => f.endsWith('.csv'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const full = path.join(traceDir, file);
      const count = file.startsWith('openb_node_list') ? readOpenbNodeList(full).length : readOpenbPodList(full).length;
      expect(count, file).toBeGreaterThan(0);
    }
    const gpuNodes = readOpenbNodeList(path.join(traceDir, 'openb_node_list_gpu_node.csv'));
    expect(gpuNodes).toHaveLength(1213);
    expect(gpuNodes.reduce((sum, n) => sum + n.gpus, 0)).toBe(6212);
    const allNodes = readOpenbNodeList(path.join(traceDir, 'openb_node_list_all_node.csv'));
    expect(allNodes).toHaveLength(1523);
    expect(allNodes.filter((n) => n.gpus === 0 && n.model === '')).toHaveLength(310);
    const pods = readOpenbPodList(path.join(traceDir, 'openb_pod_list_default.csv'));
    expect(pods).toHaveLength(8152);
    // Note §1 and §2: total demand 6,086,800 milli, 1,088 CPU-only pods.
    expect(pods.reduce((sum, p) => sum + p.gpuCount * p.milliPerGpu, 0)).toBe(6_086_800);
    expect(pods.filter((p) => p.gpuCount === 0)).toHaveLength(1088);
  });
});
