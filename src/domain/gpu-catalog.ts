import { invalidMany, isUnidleError, type FieldProblem } from './errors.js';

/**
 * Accelerator models Unidle knows. A model id is the short name people type (`--model H100`);
 * `smiNames` are patterns that map what `nvidia-smi --query-gpu=name` (or npu-smi) prints onto it.
 * Memory is the usable memory as nvidia-smi reports it (`memory.total`, MiB). Power figures are board
 * power: TDP from vendor datasheets, idle from the captures in docs (see docs/catalog.md, which also
 * cites the source of every compute figure and says which ones are uncertain).
 * The selling issue extends entries with prices; operators can add models at run time (inventory
 * with an unknown name is registered under its reported name so nothing is dropped), and can add or
 * override catalog entries with `extendCatalog` (validated by `validateGpuModel`).
 *
 * Every figure is an integer in a fixed unit:
 * - `memoryMib`: MiB as nvidia-smi reports `memory.total` (npu-smi: HBM total, MB = MiB);
 * - `memoryGB`: the capacity as marketed, decimal GB (141 for the H200);
 * - `memoryBandwidthGBps`: peak memory bandwidth, decimal GB/s (3.35 TB/s → 3350);
 * - `fp16DenseGflops`: peak FP16 tensor/matrix throughput WITHOUT 2:4 structured sparsity, GFLOPS
 *   (datasheets print the sparse figure, twice this; 989.5 TFLOPS → 989_500). For GeForce cards it
 *   is the FP32-accumulate rate, the one mixed-precision training uses;
 * - `fp64Gflops`: peak FP64 on the vector (non-tensor) units, GFLOPS; null where the vendor
 *   publishes none and the part has no FP64 units worth the name (Ascend 910B);
 * - `fp64TensorGflops`: peak FP64 on tensor cores (NVIDIA datacenter parts from Ampere on), GFLOPS;
 *   null where there is no such unit;
 * - `tdpMilliwatts` / `idleMilliwatts`: board power limit (TDP / TGP / max board power) and idle
 *   board power at 0 % utilisation, persistence mode on, in mW.
 */
export interface GpuModel {
  id: string;
  vendor: 'nvidia' | 'huawei' | 'amd';
  displayName: string;
  /** The board the figures are for (SXM5, SXM4, PCIe, ...); the same chip in another form factor differs. */
  formFactor: string;
  memoryMib: number;
  memoryGB: number;
  memoryBandwidthGBps: number;
  fp16DenseGflops: number;
  fp64Gflops: number | null;
  fp64TensorGflops: number | null;
  tdpMilliwatts: number;
  idleMilliwatts: number;
  smiNames: RegExp[];
}

const GIB = 1024;

export const GPU_CATALOG: readonly GpuModel[] = [
  {
    id: 'H200',
    vendor: 'nvidia',
    displayName: 'NVIDIA H200 141GB',
    formFactor: 'SXM5',
    memoryMib: 143_771,
    memoryGB: 141,
    memoryBandwidthGBps: 4_800,
    fp16DenseGflops: 989_500,
    fp64Gflops: 34_000,
    fp64TensorGflops: 67_000,
    tdpMilliwatts: 700_000,
    // Median of the steady idle samples in test/fixtures/nvidia-smi/h200 (80.23–80.49 W, driver 580.159.04).
    idleMilliwatts: 80_300,
    smiNames: [/\bH200\b/i],
  },
  {
    id: 'H100',
    vendor: 'nvidia',
    displayName: 'NVIDIA H100 80GB HBM3',
    formFactor: 'SXM5',
    memoryMib: 81_559,
    memoryGB: 80,
    memoryBandwidthGBps: 3_350,
    fp16DenseGflops: 989_500,
    fp64Gflops: 34_000,
    fp64TensorGflops: 67_000,
    tdpMilliwatts: 700_000,
    idleMilliwatts: 69_900,
    smiNames: [/\bH100\b/i],
  },
  {
    // Export variant of the H100 SXM5: same die, memory and tensor rates; NVLink cut to 400 GB/s and FP64 to 1 TFLOPS.
    id: 'H800',
    vendor: 'nvidia',
    displayName: 'NVIDIA H800 80GB HBM3',
    formFactor: 'SXM5',
    memoryMib: 81_559,
    memoryGB: 80,
    memoryBandwidthGBps: 3_350,
    fp16DenseGflops: 989_500,
    fp64Gflops: 1_000,
    fp64TensorGflops: 1_000,
    tdpMilliwatts: 700_000,
    idleMilliwatts: 70_000,
    smiNames: [/\bH800\b/i],
  },
  {
    id: 'A100-80GB',
    vendor: 'nvidia',
    displayName: 'NVIDIA A100-SXM4-80GB',
    formFactor: 'SXM4',
    memoryMib: 81_920,
    memoryGB: 80,
    memoryBandwidthGBps: 2_039,
    fp16DenseGflops: 312_000,
    fp64Gflops: 9_700,
    fp64TensorGflops: 19_500,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 60_000,
    smiNames: [/\bA100\b.*80\s*GB/i],
  },
  {
    id: 'A100-40GB',
    vendor: 'nvidia',
    displayName: 'NVIDIA A100-SXM4-40GB',
    formFactor: 'SXM4',
    memoryMib: 40_960,
    memoryGB: 40,
    memoryBandwidthGBps: 1_555,
    fp16DenseGflops: 312_000,
    fp64Gflops: 9_700,
    fp64TensorGflops: 19_500,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 55_000,
    smiNames: [/\bA100\b/i],
  },
  {
    // Export variant of the A100 80GB SXM4: NVLink cut to 400 GB/s, compute and memory unchanged.
    id: 'A800',
    vendor: 'nvidia',
    displayName: 'NVIDIA A800-SXM4-80GB',
    formFactor: 'SXM4',
    memoryMib: 81_920,
    memoryGB: 80,
    memoryBandwidthGBps: 2_039,
    fp16DenseGflops: 312_000,
    fp64Gflops: 9_700,
    fp64TensorGflops: 19_500,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 60_000,
    smiNames: [/\bA800\b/i],
  },
  {
    id: 'L40S',
    vendor: 'nvidia',
    displayName: 'NVIDIA L40S',
    formFactor: 'PCIe',
    memoryMib: 46_068,
    memoryGB: 48,
    memoryBandwidthGBps: 864,
    fp16DenseGflops: 362_050,
    // Not on the datasheet: 1/64 of the 91.6 TFLOPS FP32 rate.
    fp64Gflops: 1_431,
    fp64TensorGflops: null,
    tdpMilliwatts: 350_000,
    idleMilliwatts: 37_000,
    smiNames: [/\bL40S\b/i],
  },
  {
    id: 'RTX4090',
    vendor: 'nvidia',
    displayName: 'NVIDIA GeForce RTX 4090',
    formFactor: 'PCIe (consumer card)',
    memoryMib: 24_564,
    memoryGB: 24,
    memoryBandwidthGBps: 1_008,
    // FP16 tensor with FP32 accumulate (Ada whitepaper); with FP16 accumulate it is 330.3 TFLOPS.
    fp16DenseGflops: 165_200,
    // Not on the whitepaper's FP64 line: 1/64 of the 82.6 TFLOPS FP32 rate.
    fp64Gflops: 1_290,
    fp64TensorGflops: null,
    tdpMilliwatts: 450_000,
    idleMilliwatts: 21_000,
    smiNames: [/\b4090\b/],
  },
  {
    // Huawei publishes no per-chip datasheet for the 910B; these are the commonly cited figures and are
    // uncertain (the 910B1–B4 bins differ: FP16 about 280–400 TFLOPS). See docs/catalog.md.
    id: '910B',
    vendor: 'huawei',
    displayName: 'Huawei Ascend 910B',
    formFactor: 'NPU module (Atlas 800T A2)',
    memoryMib: 64 * GIB,
    memoryGB: 64,
    memoryBandwidthGBps: 1_600,
    fp16DenseGflops: 320_000,
    fp64Gflops: null,
    fp64TensorGflops: null,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 90_000,
    smiNames: [/\b910B/i],
  },
];

/**
 * The catalog this process uses: the built-in one, or the built-in one extended by the operator's
 * catalog file at startup (`installCatalog`). One per process, set before serving, because every
 * layer (validation, agents' discovery, prices) must agree on what a model id means.
 */
let active: readonly GpuModel[] = GPU_CATALOG;
let byId = new Map(active.map((m) => [m.id.toLowerCase(), m]));

export function installCatalog(catalog: readonly GpuModel[]): void {
  active = catalog;
  byId = new Map(active.map((m) => [m.id.toLowerCase(), m]));
}

/** The catalog in use (built-in plus the operator's models). */
export function activeCatalog(): readonly GpuModel[] {
  return active;
}

/** Case-insensitive lookup by model id (`h100`, `A100-80GB`) in the catalog in use. */
export function findGpuModel(id: string): GpuModel | undefined {
  return byId.get(id.trim().toLowerCase());
}

export function knownModelIds(): string[] {
  return active.map((m) => m.id);
}

/**
 * Maps a vendor tool's device name to a catalog id. Order matters: the catalog lists the more specific
 * patterns first (A100 80GB before A100). Unknown names pass through, trimmed of the vendor prefix.
 */
export function modelIdFromSmiName(name: string): string {
  return modelIdFromSmiNameIn(active, name);
}

/** `findGpuModel` over any catalog, e.g. one returned by `extendCatalog`. */
export function findGpuModelIn(catalog: readonly GpuModel[], id: string): GpuModel | undefined {
  const key = id.trim().toLowerCase();
  return catalog.find((m) => m.id.toLowerCase() === key);
}

/** `modelIdFromSmiName` over any catalog, e.g. one returned by `extendCatalog`. */
export function modelIdFromSmiNameIn(catalog: readonly GpuModel[], name: string): string {
  for (const model of catalog) {
    if (model.smiNames.some((re) => re.test(name))) return model.id;
  }
  return name.replace(/^NVIDIA\s+/i, '').trim() || 'unknown';
}

// ---------------------------------------------------------------------------------------------------
// Operator extensions
// ---------------------------------------------------------------------------------------------------

/**
 * What an operator supplies for a model (from a config file, so plain JSON): the `GpuModel` fields, with
 * `smiNames` given as strings (compiled case-insensitively) or RegExps, and the optional fields
 * `fp64Gflops`, `fp64TensorGflops` (default null) and `smiNames` (default none: the model is then
 * usable by id but never matched from nvidia-smi output).
 */
export interface GpuModelInput {
  id: string;
  vendor: GpuModel['vendor'];
  displayName: string;
  formFactor: string;
  memoryMib: number;
  memoryGB: number;
  memoryBandwidthGBps: number;
  fp16DenseGflops: number;
  fp64Gflops?: number | null;
  fp64TensorGflops?: number | null;
  tdpMilliwatts: number;
  idleMilliwatts: number;
  smiNames?: ReadonlyArray<string | RegExp>;
}

const VENDORS: readonly GpuModel['vendor'][] = ['nvidia', 'huawei', 'amd'];
/** Ids are typed on command lines and stored as labels: letters, digits, `.`, `_`, `-`; at most 64. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_TEXT = 128;
const MAX_SMI_NAMES = 16;
const KNOWN_FIELDS = new Set([
  'id',
  'vendor',
  'displayName',
  'formFactor',
  'memoryMib',
  'memoryGB',
  'memoryBandwidthGBps',
  'fp16DenseGflops',
  'fp64Gflops',
  'fp64TensorGflops',
  'tdpMilliwatts',
  'idleMilliwatts',
  'smiNames',
]);

/**
 * Checks one operator-supplied model and returns it as a `GpuModel` (a fresh object; RegExps recompiled
 * without the stateful `g`/`y` flags). Reports every problem at once, each naming its field (prefixed
 * with `prefix`, e.g. `models[2].`), as a `validation_failed` UnidleError. Pure: no I/O.
 */
export function validateGpuModel(input: unknown, prefix = ''): GpuModel {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field: `${prefix}${field}`, message });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidMany([{ field: prefix.replace(/\.$/, '') || 'model', message: 'must be an object with the GpuModel fields' }]);
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_FIELDS.has(key)) bad(key, `is not a GpuModel field (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }

  const text = (field: string): string => {
    const v = o[field];
    if (typeof v !== 'string' || v.trim() === '') {
      bad(field, 'must be a non-empty string');
      return '';
    }
    if (v.length > MAX_TEXT) bad(field, `must be at most ${MAX_TEXT} characters`);
    return v.trim();
  };
  const int = (field: string, min: number, unit: string): number => {
    const v = o[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      bad(field, `must be a whole number ≥ ${min} (${unit}), got ${JSON.stringify(v)}`);
      return 0;
    }
    return v;
  };
  const intOrNull = (field: string, unit: string): number | null => {
    const v = o[field];
    if (v === undefined || v === null) return null;
    return int(field, 0, `${unit}, or null when there is none`);
  };

  const id = text('id');
  if (id !== '' && !ID_PATTERN.test(id)) {
    bad('id', `must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(id)})`);
  }
  const vendor = o.vendor as GpuModel['vendor'];
  if (!VENDORS.includes(vendor)) bad('vendor', `must be one of ${VENDORS.join(', ')} (got ${JSON.stringify(o.vendor)})`);
  const displayName = text('displayName');
  const formFactor = text('formFactor');
  const memoryMib = int('memoryMib', 1, 'MiB as nvidia-smi reports memory.total');
  const memoryGB = int('memoryGB', 1, 'GB as marketed');
  const memoryBandwidthGBps = int('memoryBandwidthGBps', 1, 'GB/s');
  const fp16DenseGflops = int('fp16DenseGflops', 1, 'dense FP16 tensor GFLOPS, without sparsity');
  const fp64Gflops = intOrNull('fp64Gflops', 'GFLOPS');
  const fp64TensorGflops = intOrNull('fp64TensorGflops', 'GFLOPS');
  const tdpMilliwatts = int('tdpMilliwatts', 1, 'mW');
  const idleMilliwatts = int('idleMilliwatts', 0, 'mW');
  if (tdpMilliwatts > 0 && idleMilliwatts > tdpMilliwatts) {
    bad('idleMilliwatts', `must not exceed tdpMilliwatts (${idleMilliwatts} > ${tdpMilliwatts}); both are mW`);
  }

  const smiNames: RegExp[] = [];
  const rawNames = o.smiNames;
  if (rawNames !== undefined) {
    if (!Array.isArray(rawNames)) bad('smiNames', 'must be an array of patterns (strings or RegExps)');
    else if (rawNames.length > MAX_SMI_NAMES) bad('smiNames', `must have at most ${MAX_SMI_NAMES} patterns`);
    else {
      rawNames.forEach((p: unknown, i) => {
        if (p instanceof RegExp) smiNames.push(new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
        else if (typeof p === 'string' && p.trim() !== '' && p.length <= MAX_TEXT) {
          try {
            smiNames.push(new RegExp(p, 'i'));
          } catch (err) {
            bad(`smiNames[${i}]`, `is not a valid regular expression: ${(err as Error).message}`);
          }
        } else bad(`smiNames[${i}]`, `must be a non-empty pattern of at most ${MAX_TEXT} characters, or a RegExp`);
      });
    }
  }

  if (problems.length > 0) throw invalidMany(problems);
  return {
    id,
    vendor,
    displayName,
    formFactor,
    memoryMib,
    memoryGB,
    memoryBandwidthGBps,
    fp16DenseGflops,
    fp64Gflops,
    fp64TensorGflops,
    tdpMilliwatts,
    idleMilliwatts,
    smiNames,
  };
}

/**
 * Returns a new catalog: `base` (the built-in one by default) with the operator's models validated and
 * applied. A model whose id matches an existing one (case-insensitively) replaces it in place; new
 * models go before the built-in ones, so an operator's more specific `smiNames` (say
 * `A100-PCIE-40GB`) win over a built-in catalog's broader pattern (`A100`). Every problem in every
 * model, and ids given twice, are reported at once (fields named `models[i].field`). Pure: neither
 * argument is modified.
 */
export function extendCatalog(models: readonly unknown[], base: readonly GpuModel[] = GPU_CATALOG): readonly GpuModel[] {
  const problems: FieldProblem[] = [];
  const valid: GpuModel[] = [];
  const seen = new Map<string, number>();
  models.forEach((raw, i) => {
    try {
      const model = validateGpuModel(raw, `models[${i}].`);
      const key = model.id.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push({ field: `models[${i}].id`, message: `"${model.id}" is also given by models[${first}]; give each id once` });
      } else {
        seen.set(key, i);
        valid.push(model);
      }
    } catch (err) {
      if (isUnidleError(err)) problems.push(...err.problems);
      else throw err;
    }
  });
  if (problems.length > 0) throw invalidMany(problems);

  const byId = new Map(valid.map((m) => [m.id.toLowerCase(), m]));
  const replaced = base.map((m) => {
    const override = byId.get(m.id.toLowerCase());
    if (override) byId.delete(m.id.toLowerCase());
    return override ?? m;
  });
  const added = valid.filter((m) => byId.has(m.id.toLowerCase()));
  return [...added, ...replaced];
}
