import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activeCatalog, findGpuModel, GPU_CATALOG, installCatalog, modelIdFromSmiName } from '../domain/gpu-catalog.js';
import { ConfigError, resolveConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'unidle-catalog-'));
afterAll(() => {
  installCatalog(GPU_CATALOG);
  rmSync(dir, { recursive: true, force: true });
});

const B200 = {
  id: 'B200',
  vendor: 'nvidia',
  displayName: 'NVIDIA B200 180GB',
  formFactor: 'SXM6',
  memoryMib: 184_320,
  memoryGB: 180,
  memoryBandwidthGBps: 8_000,
  fp16DenseGflops: 2_250_000,
  fp64Gflops: 37_000,
  fp64TensorGflops: 37_000,
  tdpMilliwatts: 1_000_000,
  idleMilliwatts: 140_000,
  smiNames: ['\\bB200\\b'],
};

describe('the operator catalog file (UNIDLE_CATALOG)', () => {
  it('extends the catalog the whole process uses once the server installs it', () => {
    const path = join(dir, 'catalog.json');
    writeFileSync(path, JSON.stringify([B200]));
    const config = resolveConfig({}, { UNIDLE_CATALOG: path });
    expect(config.catalog!.map((m) => m.id)).toContain('B200');
    installCatalog(config.catalog!);
    expect(findGpuModel('b200')?.tdpMilliwatts).toBe(1_000_000);
    expect(modelIdFromSmiName('NVIDIA B200')).toBe('B200');
    expect(activeCatalog().map((m) => m.id)).toEqual(expect.arrayContaining(['H100', 'H200', 'B200']));
  });

  it('names the file and every field to fix', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ ...B200, tdpMilliwatts: -1, memoryMib: 'lots' }]));
    expect(() => resolveConfig({}, { UNIDLE_CATALOG: bad })).toThrow(ConfigError);
    expect(() => resolveConfig({}, { UNIDLE_CATALOG: bad })).toThrow(/bad\.json: .*models\[0\]\.(tdpMilliwatts|memoryMib)/);
    writeFileSync(bad, '{"id": "B200"}');
    expect(() => resolveConfig({}, { UNIDLE_CATALOG: bad })).toThrow(/JSON array/);
    writeFileSync(bad, '[');
    expect(() => resolveConfig({}, { UNIDLE_CATALOG: bad })).toThrow(/not JSON/);
    expect(() => resolveConfig({}, { UNIDLE_CATALOG: join(dir, 'missing.json') })).toThrow(/cannot read .*ENOENT/);
  });
});
