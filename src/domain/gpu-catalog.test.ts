import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isUnidleError, type UnidleError } from './errors.js';
import {
  extendCatalog,
  findGpuModel,
  findGpuModelIn,
  GPU_CATALOG,
  knownModelIds,
  modelIdFromSmiName,
  modelIdFromSmiNameIn,
  validateGpuModel,
} from './gpu-catalog.js';

const MI300X = {
  id: 'MI300X',
  vendor: 'amd',
  displayName: 'AMD Instinct MI300X',
  formFactor: 'OAM',
  memoryMib: 196_608,
  memoryGB: 192,
  memoryBandwidthGBps: 5_300,
  fp16DenseGflops: 1_307_400,
  fp64Gflops: 81_700,
  fp64TensorGflops: 163_400,
  tdpMilliwatts: 750_000,
  idleMilliwatts: 140_000,
  smiNames: ['MI300X'],
};

function problemsOf(fn: () => unknown): UnidleError['problems'] {
  try {
    fn();
  } catch (err) {
    if (isUnidleError(err)) {
      expect(err.code).toBe('validation_failed');
      return err.problems;
    }
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('GPU_CATALOG', () => {
  it('has the models the issue names, with unique ids', () => {
    expect(knownModelIds()).toEqual(['H200', 'H100', 'H800', 'A100-80GB', 'A100-40GB', 'A800', 'L40S', 'RTX4090', '910B']);
    expect(new Set(GPU_CATALOG.map((m) => m.id.toLowerCase())).size).toBe(GPU_CATALOG.length);
  });

  it('holds every figure as an integer in its documented unit, and each entry passes the operator validator', () => {
    for (const m of GPU_CATALOG) {
      const ints = [m.memoryMib, m.memoryGB, m.memoryBandwidthGBps, m.fp16DenseGflops, m.tdpMilliwatts, m.idleMilliwatts];
      for (const n of ints) expect(Number.isSafeInteger(n) && n > 0, `${m.id}: ${n}`).toBe(true);
      for (const n of [m.fp64Gflops, m.fp64TensorGflops]) expect(n === null || Number.isSafeInteger(n), `${m.id}: ${n}`).toBe(true);
      expect(m.idleMilliwatts).toBeLessThan(m.tdpMilliwatts);
      // memory.total is the marketed capacity less reserved memory: within a few % of the GB figure.
      const marketedMib = (m.memoryGB * 1e9) / 2 ** 20;
      expect(m.memoryMib / marketedMib, m.id).toBeGreaterThan(0.9);
      expect(m.memoryMib / marketedMib, m.id).toBeLessThan(1.1);
      expect(validateGpuModel({ ...m })).toEqual(m);
    }
  });

  it('carries the datasheet figures (dense FP16, FP64 vector/tensor, bandwidth, TDP)', () => {
    const pick = (id: string) => {
      const m = findGpuModel(id)!;
      return [m.fp16DenseGflops, m.fp64Gflops, m.fp64TensorGflops, m.memoryBandwidthGBps, m.tdpMilliwatts / 1000];
    };
    expect(pick('H200')).toEqual([989_500, 34_000, 67_000, 4_800, 700]);
    expect(pick('H100')).toEqual([989_500, 34_000, 67_000, 3_350, 700]);
    expect(pick('A100-80GB')).toEqual([312_000, 9_700, 19_500, 2_039, 400]);
    expect(pick('A100-40GB')).toEqual([312_000, 9_700, 19_500, 1_555, 400]);
    expect(pick('L40S')).toEqual([362_050, 1_431, null, 864, 350]);
    expect(pick('RTX4090')).toEqual([165_200, 1_290, null, 1_008, 450]);
    expect(pick('910B')).toEqual([320_000, null, null, 1_600, 400]);
  });

  it('models the export variants as their parents with the documented cuts', () => {
    const h100 = findGpuModel('H100')!;
    const h800 = findGpuModel('H800')!;
    expect(h800.fp16DenseGflops).toBe(h100.fp16DenseGflops);
    expect(h800.memoryBandwidthGBps).toBe(h100.memoryBandwidthGBps);
    expect([h800.fp64Gflops, h800.fp64TensorGflops]).toEqual([1_000, 1_000]);
    const a100 = findGpuModel('A100-80GB')!;
    const a800 = findGpuModel('A800')!;
    const { id: _a, displayName: _b, smiNames: _c, ...a100Figures } = a100;
    const { id: _d, displayName: _e, smiNames: _f, ...a800Figures } = a800;
    expect(a800Figures).toEqual(a100Figures);
  });

  it('agrees with the H200 recorded in this project (memory.total, power limit, idle draw)', () => {
    const dir = new URL('../../test/fixtures/nvidia-smi/h200/', import.meta.url);
    const [, , name, mem] = readFileSync(new URL('query-discovery.csv', dir), 'utf8').trim().split(/,\s*/);
    const h200 = findGpuModel(modelIdFromSmiName(name!))!;
    expect(h200.id).toBe('H200');
    expect(h200.memoryMib).toBe(Number(mem));
    const idle = readFileSync(new URL('query-telemetry-idle.csv', dir), 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split(',')[4]))
      .slice(1); // the first sample is still settling from discovery (108 W)
    expect(Math.min(...idle) * 1000).toBeLessThanOrEqual(h200.idleMilliwatts + 200);
    expect(Math.max(...idle) * 1000).toBeGreaterThanOrEqual(h200.idleMilliwatts - 200);
    expect(readFileSync(new URL('inventory.txt', dir), 'utf8')).toContain('700.00 W');
    expect(h200.tdpMilliwatts).toBe(700_000);
  });

  it('maps vendor tool names onto ids, most specific first', () => {
    expect(modelIdFromSmiName('NVIDIA H200')).toBe('H200');
    expect(modelIdFromSmiName('NVIDIA H100 80GB HBM3')).toBe('H100');
    expect(modelIdFromSmiName('NVIDIA H800')).toBe('H800');
    expect(modelIdFromSmiName('NVIDIA A100-SXM4-80GB')).toBe('A100-80GB');
    expect(modelIdFromSmiName('NVIDIA A100-SXM4-40GB')).toBe('A100-40GB');
    expect(modelIdFromSmiName('NVIDIA A800-SXM4-80GB')).toBe('A800');
    expect(modelIdFromSmiName('NVIDIA L40S')).toBe('L40S');
    expect(modelIdFromSmiName('NVIDIA GeForce RTX 4090')).toBe('RTX4090');
    expect(modelIdFromSmiName('910B4-1')).toBe('910B');
    expect(modelIdFromSmiName('NVIDIA B200')).toBe('B200');
    expect(findGpuModel(' a100-80gb ')?.id).toBe('A100-80GB');
  });
});

describe('validateGpuModel', () => {
  it('accepts a complete model, compiling string patterns case-insensitively and defaulting the optional fields', () => {
    const m = validateGpuModel(MI300X);
    expect(m.smiNames).toHaveLength(1);
    expect(m.smiNames[0]!.test('AMD Instinct mi300x')).toBe(true);
    const { fp64Gflops: _a, fp64TensorGflops: _b, smiNames: _c, ...bare } = MI300X;
    const minimal = validateGpuModel(bare);
    expect([minimal.fp64Gflops, minimal.fp64TensorGflops, minimal.smiNames]).toEqual([null, null, []]);
  });

  it('drops the stateful g/y flags so repeated matching is stable', () => {
    const m = validateGpuModel({ ...MI300X, smiNames: [/MI300X/gi] });
    expect(m.smiNames[0]!.flags).toBe('i');
    expect([m.smiNames[0]!.test('MI300X'), m.smiNames[0]!.test('MI300X')]).toEqual([true, true]);
  });

  it('names every bad field at once', () => {
    const problems = problemsOf(() =>
      validateGpuModel({
        ...MI300X,
        id: 'MI 300X',
        vendor: 'intel',
        memoryMib: 196_608.5,
        fp16DenseGflops: '1307 TFLOPS',
        fp64Gflops: -1,
        tdpMilliwatts: 750,
        idleMilliwatts: 140_000,
        smiNames: ['MI300X', '(unclosed'],
        tdpMiliwatts: 750_000,
      }),
    );
    expect(problems.map((p) => p.field).sort()).toEqual(
      ['fp16DenseGflops', 'fp64Gflops', 'id', 'idleMilliwatts', 'memoryMib', 'smiNames[1]', 'tdpMiliwatts', 'vendor'].sort(),
    );
    expect(problems.find((p) => p.field === 'idleMilliwatts')!.message).toMatch(/must not exceed tdpMilliwatts/);
    expect(problems.find((p) => p.field === 'tdpMiliwatts')!.message).toMatch(/not a GpuModel field/);
  });

  it('reports missing required fields and non-objects', () => {
    const problems = problemsOf(() => validateGpuModel({ id: 'X1' }));
    expect(problems.map((p) => p.field)).toEqual(
      expect.arrayContaining(['vendor', 'displayName', 'formFactor', 'memoryMib', 'memoryGB', 'memoryBandwidthGBps', 'fp16DenseGflops', 'tdpMilliwatts', 'idleMilliwatts']),
    );
    expect(problems.map((p) => p.field)).not.toContain('id');
    expect(problemsOf(() => validateGpuModel(null))[0]!.field).toBe('model');
    expect(problemsOf(() => validateGpuModel([], 'models[3].'))[0]!.field).toBe('models[3]');
    expect(problemsOf(() => validateGpuModel({ ...MI300X, smiNames: 'MI300X' }))[0]!.field).toBe('smiNames');
  });
});

describe('extendCatalog', () => {
  it('adds a new model ahead of the built-in ones without touching the built-in catalog', () => {
    const before = GPU_CATALOG.map((m) => m.id);
    const catalog = extendCatalog([MI300X]);
    expect(catalog.map((m) => m.id)).toEqual(['MI300X', ...before]);
    expect(GPU_CATALOG.map((m) => m.id)).toEqual(before);
    expect(findGpuModel('MI300X')).toBeUndefined();
    expect(findGpuModelIn(catalog, 'mi300x')?.memoryGB).toBe(192);
    expect(modelIdFromSmiNameIn(catalog, 'AMD Instinct MI300X')).toBe('MI300X');
  });

  it('overrides by id (case-insensitively) in place', () => {
    const base = findGpuModel('A100-40GB')!;
    const pcie = { ...base, id: 'a100-40gb', formFactor: 'PCIe', tdpMilliwatts: 250_000, smiNames: ['A100'] };
    const catalog = extendCatalog([pcie]);
    expect(catalog).toHaveLength(GPU_CATALOG.length);
    const index = catalog.findIndex((m) => m.id.toLowerCase() === 'a100-40gb');
    expect(index).toBe(GPU_CATALOG.findIndex((m) => m.id === 'A100-40GB'));
    expect(catalog[index]).toMatchObject({ formFactor: 'PCIe', tdpMilliwatts: 250_000 });
    expect(findGpuModel('A100-40GB')!.tdpMilliwatts).toBe(400_000);
  });

  it('lets an operator pattern win over a broader built-in one', () => {
    const pcie80 = {
      ...findGpuModel('A100-80GB')!,
      id: 'A100-80GB-PCIe',
      formFactor: 'PCIe',
      memoryBandwidthGBps: 1_935,
      tdpMilliwatts: 300_000,
      smiNames: ['A100 80GB PCIe'],
    };
    const catalog = extendCatalog([pcie80]);
    expect(modelIdFromSmiNameIn(catalog, 'NVIDIA A100 80GB PCIe')).toBe('A100-80GB-PCIe');
    expect(modelIdFromSmiNameIn(catalog, 'NVIDIA A100-SXM4-80GB')).toBe('A100-80GB');
  });

  it('extends any base catalog and rejects an id given twice, naming both entries', () => {
    const one = extendCatalog([MI300X], []);
    expect(one.map((m) => m.id)).toEqual(['MI300X']);
    const problems = problemsOf(() => extendCatalog([MI300X, { ...MI300X, id: 'mi300x' }]));
    expect(problems).toEqual([{ field: 'models[1].id', message: expect.stringMatching(/models\[0\]/) }]);
  });

  it('collects the problems of every model, prefixed with its index', () => {
    const problems = problemsOf(() => extendCatalog([MI300X, { ...MI300X, id: 'B200', memoryGB: 0 }, 'H20']));
    expect(problems.map((p) => p.field)).toEqual(['models[1].memoryGB', 'models[2]']);
  });
});
