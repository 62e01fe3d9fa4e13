/**
 * Accelerator models Unidle knows. A model id is the short name people type (`--model H100`);
 * `smiNames` are patterns that map what `nvidia-smi --query-gpu=name` (or npu-smi) prints onto it.
 * Memory is the usable memory as nvidia-smi reports it (`memory.total`, MiB). Power figures are board
 * power: TDP from vendor datasheets, idle from the captures in docs (see docs/catalog.md).
 * The selling issue extends entries with prices; operators can add models at run time (inventory
 * with an unknown name is registered under its reported name so nothing is dropped).
 */
export interface GpuModel {
  id: string;
  vendor: 'nvidia' | 'huawei' | 'amd';
  displayName: string;
  memoryMib: number;
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
    memoryMib: 143_771,
    tdpMilliwatts: 700_000,
    idleMilliwatts: 77_700,
    smiNames: [/\bH200\b/i],
  },
  {
    id: 'H100',
    vendor: 'nvidia',
    displayName: 'NVIDIA H100 80GB HBM3',
    memoryMib: 81_559,
    tdpMilliwatts: 700_000,
    idleMilliwatts: 69_900,
    smiNames: [/\bH100\b/i],
  },
  {
    id: 'H800',
    vendor: 'nvidia',
    displayName: 'NVIDIA H800 80GB HBM3',
    memoryMib: 81_559,
    tdpMilliwatts: 700_000,
    idleMilliwatts: 70_000,
    smiNames: [/\bH800\b/i],
  },
  {
    id: 'A100-80GB',
    vendor: 'nvidia',
    displayName: 'NVIDIA A100-SXM4-80GB',
    memoryMib: 81_920,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 60_000,
    smiNames: [/\bA100\b.*80\s*GB/i],
  },
  {
    id: 'A100-40GB',
    vendor: 'nvidia',
    displayName: 'NVIDIA A100-SXM4-40GB',
    memoryMib: 40_960,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 55_000,
    smiNames: [/\bA100\b/i],
  },
  {
    id: 'A800',
    vendor: 'nvidia',
    displayName: 'NVIDIA A800-SXM4-80GB',
    memoryMib: 81_920,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 60_000,
    smiNames: [/\bA800\b/i],
  },
  {
    id: 'L40S',
    vendor: 'nvidia',
    displayName: 'NVIDIA L40S',
    memoryMib: 46_068,
    tdpMilliwatts: 350_000,
    idleMilliwatts: 37_000,
    smiNames: [/\bL40S\b/i],
  },
  {
    id: 'RTX4090',
    vendor: 'nvidia',
    displayName: 'NVIDIA GeForce RTX 4090',
    memoryMib: 24 * GIB,
    tdpMilliwatts: 450_000,
    idleMilliwatts: 21_000,
    smiNames: [/\b4090\b/],
  },
  {
    id: '910B',
    vendor: 'huawei',
    displayName: 'Huawei Ascend 910B',
    memoryMib: 64 * GIB,
    tdpMilliwatts: 400_000,
    idleMilliwatts: 90_000,
    smiNames: [/\b910B/i],
  },
];

const BY_ID = new Map(GPU_CATALOG.map((m) => [m.id.toLowerCase(), m]));

/** Case-insensitive lookup by model id (`h100`, `A100-80GB`). */
export function findGpuModel(id: string): GpuModel | undefined {
  return BY_ID.get(id.trim().toLowerCase());
}

export function knownModelIds(): string[] {
  return GPU_CATALOG.map((m) => m.id);
}

/**
 * Maps a vendor tool's device name to a catalog id. Order matters: the catalog lists the more specific
 * patterns first (A100 80GB before A100). Unknown names pass through, trimmed of the vendor prefix.
 */
export function modelIdFromSmiName(name: string): string {
  for (const model of GPU_CATALOG) {
    if (model.smiNames.some((re) => re.test(name))) return model.id;
  }
  return name.replace(/^NVIDIA\s+/i, '').trim() || 'unknown';
}
