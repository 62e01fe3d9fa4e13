/**
 * Published reference numbers for the openb pod lists (FGD, "Beware of Fragmentation: Scheduling GPU-Sharing
 * Workloads with Fragmentation Gradient Descent", USENIX ATC'23).
 *
 * Source: github.com/hkust-adsl/kubernetes-scheduler-simulator, file
 * `experiments/analysis/expected_results/analysis_allo_discrete.csv` at commit
 * 8f3d6417353c5083c6d56617f255fadd8dc306bc (the file itself last changed in
 * 1853fc0e79d74778719c8137d7ca31dd61729e4f, 2023-05-10). Repository licence: Apache-2.0.
 *
 * These are summary statistics computed from that file; its per-run data is not copied here.
 * The file holds one row per (workload, sc_policy, seed): columns `workload` (`openb_pod_list_<name>`),
 * `sc_policy` (`01-Random`, `02-DotProd`, `03-GpuClustering`, `04-GpuPacking`, `05-BestFit`, `06-FGD`),
 * `tune` (GPU-request inflation, 1.3 throughout), `seed` (42-51), `total_gpus` (6212), then `0`..`130`:
 * allocated GPU % at arrived workload X%, i.e. the mean over the arrivals whose arrived % rounds to X
 * (Python round, half to even; if none, those within X±1) of 100 x used milli-GPU / (6212 x 1000),
 * each row value rounded to 2 decimals (experiments/analysis/merge_alloc_discrete.py).
 *
 * For each pod list and policy, over the ten seeds:
 * - `unallocatedPctAt100` = 100 - mean of column `100`;
 * - `sd` = sample standard deviation (n - 1) of column `100` over seeds;
 * - `allocPctAt` = mean of columns `90`, `100` and `130`.
 * All rounded to 2 decimals.
 *
 * The published file covers 17 pod lists, not quite the 17 under shared/traces/openb: it also has cpu250,
 * gpushare80, gpuspec20, gpuspec25, gpuspec33, multigpu40 and multigpu50 (shipped by the FGD repo, not
 * here), and has no results for cpu0, cpu037, cpu072, cpu300, gpushare20 or gpuspec05 (present here).
 * `hasPublishedOpenb` tells which is which.
 */

export type PublishedPolicy = 'random' | 'dotprod' | 'gpu-clustering' | 'gpu-packing' | 'best-fit' | 'fgd';

export interface PublishedRun {
  /** 100 - mean allocated GPU % at arrived workload 100%, over seeds 42-51. */
  unallocatedPctAt100: number;
  /** Seed-to-seed sample standard deviation of that value. */
  sd: number;
  /** Mean allocated GPU % at arrived workload 90%, 100% and 130%. */
  allocPctAt: { '90': number; '100': number; '130': number };
}

export const PUBLISHED_POLICIES: readonly PublishedPolicy[] = [
  'random',
  'dotprod',
  'gpu-clustering',
  'gpu-packing',
  'best-fit',
  'fgd',
];

/** The policy names as the published CSV's `sc_policy` column spells them. */
export const PUBLISHED_POLICY_CSV_NAMES: Readonly<Record<PublishedPolicy, string>> = {
  random: '01-Random',
  dotprod: '02-DotProd',
  'gpu-clustering': '03-GpuClustering',
  'gpu-packing': '04-GpuPacking',
  'best-fit': '05-BestFit',
  fgd: '06-FGD',
};

export const PUBLISHED_OPENB_SOURCE = {
  repo: 'hkust-adsl/kubernetes-scheduler-simulator',
  path: 'experiments/analysis/expected_results/analysis_allo_discrete.csv',
  commit: '8f3d6417353c5083c6d56617f255fadd8dc306bc',
  seeds: [42, 43, 44, 45, 46, 47, 48, 49, 50, 51],
  inflation: 1.3,
  totalGpus: 6212,
} as const;

/** Keyed by pod list name without the `openb_pod_list_` prefix and `.csv` suffix (e.g. `default`). */
export const PUBLISHED_OPENB: Record<string, Record<PublishedPolicy, PublishedRun>> = {
  cpu050: {
    random: { unallocatedPctAt100: 10.98, sd: 0.26, allocPctAt: { '90': 87.42, '100': 89.02, '130': 91.24 } },
    dotprod: { unallocatedPctAt100: 6.97, sd: 0.19, allocPctAt: { '90': 90.01, '100': 93.03, '130': 93.27 } },
    'gpu-clustering': { unallocatedPctAt100: 6.48, sd: 0.34, allocPctAt: { '90': 90.01, '100': 93.52, '130': 93.79 } },
    'gpu-packing': { unallocatedPctAt100: 6.54, sd: 0.32, allocPctAt: { '90': 90.01, '100': 93.46, '130': 93.72 } },
    'best-fit': { unallocatedPctAt100: 6.44, sd: 0.13, allocPctAt: { '90': 90.01, '100': 93.56, '130': 93.79 } },
    fgd: { unallocatedPctAt100: 5, sd: 0.11, allocPctAt: { '90': 90.01, '100': 95, '130': 95.21 } },
  },
  cpu100: {
    random: { unallocatedPctAt100: 12.57, sd: 0.28, allocPctAt: { '90': 86.04, '100': 87.44, '130': 89.11 } },
    dotprod: { unallocatedPctAt100: 8.27, sd: 0.27, allocPctAt: { '90': 90, '100': 91.73, '130': 91.95 } },
    'gpu-clustering': { unallocatedPctAt100: 7.58, sd: 0.4, allocPctAt: { '90': 90, '100': 92.42, '130': 92.64 } },
    'gpu-packing': { unallocatedPctAt100: 7.5, sd: 0.42, allocPctAt: { '90': 90, '100': 92.5, '130': 92.72 } },
    'best-fit': { unallocatedPctAt100: 6.74, sd: 0.13, allocPctAt: { '90': 90, '100': 93.26, '130': 93.44 } },
    fgd: { unallocatedPctAt100: 4.79, sd: 0.14, allocPctAt: { '90': 90, '100': 95.21, '130': 95.35 } },
  },
  cpu200: {
    random: { unallocatedPctAt100: 16.97, sd: 0.27, allocPctAt: { '90': 82.32, '100': 83.03, '130': 83.77 } },
    dotprod: { unallocatedPctAt100: 12.55, sd: 0.61, allocPctAt: { '90': 87.37, '100': 87.45, '130': 87.7 } },
    'gpu-clustering': { unallocatedPctAt100: 10.33, sd: 0.38, allocPctAt: { '90': 89.53, '100': 89.67, '130': 89.92 } },
    'gpu-packing': { unallocatedPctAt100: 10.02, sd: 0.48, allocPctAt: { '90': 89.71, '100': 89.98, '130': 90.22 } },
    'best-fit': { unallocatedPctAt100: 7.85, sd: 0.21, allocPctAt: { '90': 89.99, '100': 92.15, '130': 92.4 } },
    fgd: { unallocatedPctAt100: 5.18, sd: 0.16, allocPctAt: { '90': 89.99, '100': 94.82, '130': 95.05 } },
  },
  cpu250: {
    random: { unallocatedPctAt100: 20, sd: 0.33, allocPctAt: { '90': 79.46, '100': 80, '130': 80.42 } },
    dotprod: { unallocatedPctAt100: 16.43, sd: 0.45, allocPctAt: { '90': 83.47, '100': 83.57, '130': 83.81 } },
    'gpu-clustering': { unallocatedPctAt100: 12.25, sd: 0.61, allocPctAt: { '90': 87.65, '100': 87.75, '130': 87.99 } },
    'gpu-packing': { unallocatedPctAt100: 11.95, sd: 0.68, allocPctAt: { '90': 87.95, '100': 88.05, '130': 88.28 } },
    'best-fit': { unallocatedPctAt100: 8.79, sd: 0.25, allocPctAt: { '90': 89.99, '100': 91.21, '130': 91.45 } },
    fgd: { unallocatedPctAt100: 6.8, sd: 0.29, allocPctAt: { '90': 89.98, '100': 93.2, '130': 93.41 } },
  },
  default: {
    random: { unallocatedPctAt100: 13.7, sd: 0.33, allocPctAt: { '90': 85.02, '100': 86.3, '130': 87.47 } },
    dotprod: { unallocatedPctAt100: 9.38, sd: 0.19, allocPctAt: { '90': 89.98, '100': 90.62, '130': 90.85 } },
    'gpu-clustering': { unallocatedPctAt100: 8.35, sd: 0.61, allocPctAt: { '90': 89.98, '100': 91.65, '130': 91.88 } },
    'gpu-packing': { unallocatedPctAt100: 8.22, sd: 0.53, allocPctAt: { '90': 89.98, '100': 91.78, '130': 92 } },
    'best-fit': { unallocatedPctAt100: 7.14, sd: 0.14, allocPctAt: { '90': 89.99, '100': 92.86, '130': 93.08 } },
    fgd: { unallocatedPctAt100: 4.77, sd: 0.11, allocPctAt: { '90': 89.98, '100': 95.23, '130': 95.39 } },
  },
  gpushare40: {
    random: { unallocatedPctAt100: 15.14, sd: 0.34, allocPctAt: { '90': 83.51, '100': 84.86, '130': 86 } },
    dotprod: { unallocatedPctAt100: 10.7, sd: 0.14, allocPctAt: { '90': 89.21, '100': 89.3, '130': 89.56 } },
    'gpu-clustering': { unallocatedPctAt100: 10.24, sd: 0.62, allocPctAt: { '90': 89.53, '100': 89.76, '130': 90.02 } },
    'gpu-packing': { unallocatedPctAt100: 10.23, sd: 0.53, allocPctAt: { '90': 89.57, '100': 89.77, '130': 90.03 } },
    'best-fit': { unallocatedPctAt100: 8.56, sd: 0.2, allocPctAt: { '90': 89.99, '100': 91.44, '130': 91.69 } },
    fgd: { unallocatedPctAt100: 6.04, sd: 0.07, allocPctAt: { '90': 89.99, '100': 93.96, '130': 94.15 } },
  },
  gpushare60: {
    random: { unallocatedPctAt100: 17.19, sd: 0.35, allocPctAt: { '90': 81.91, '100': 82.81, '130': 83.65 } },
    dotprod: { unallocatedPctAt100: 13.18, sd: 0.28, allocPctAt: { '90': 86.71, '100': 86.82, '130': 87.11 } },
    'gpu-clustering': { unallocatedPctAt100: 13.1, sd: 0.41, allocPctAt: { '90': 86.79, '100': 86.9, '130': 87.2 } },
    'gpu-packing': { unallocatedPctAt100: 12.85, sd: 0.37, allocPctAt: { '90': 87.04, '100': 87.15, '130': 87.45 } },
    'best-fit': { unallocatedPctAt100: 10.94, sd: 0.18, allocPctAt: { '90': 88.95, '100': 89.06, '130': 89.36 } },
    fgd: { unallocatedPctAt100: 8.75, sd: 0.13, allocPctAt: { '90': 90, '100': 91.25, '130': 91.4 } },
  },
  gpushare80: {
    random: { unallocatedPctAt100: 19.38, sd: 0.28, allocPctAt: { '90': 79.71, '100': 80.62, '130': 81.22 } },
    dotprod: { unallocatedPctAt100: 15.86, sd: 0.19, allocPctAt: { '90': 84.01, '100': 84.14, '130': 84.49 } },
    'gpu-clustering': { unallocatedPctAt100: 15.5, sd: 0.54, allocPctAt: { '90': 84.37, '100': 84.5, '130': 84.85 } },
    'gpu-packing': { unallocatedPctAt100: 15.35, sd: 0.5, allocPctAt: { '90': 84.52, '100': 84.65, '130': 85 } },
    'best-fit': { unallocatedPctAt100: 13.34, sd: 0.24, allocPctAt: { '90': 86.53, '100': 86.66, '130': 87.01 } },
    fgd: { unallocatedPctAt100: 10.92, sd: 0.11, allocPctAt: { '90': 88.97, '100': 89.08, '130': 89.3 } },
  },
  gpushare100: {
    random: { unallocatedPctAt100: 21.1, sd: 0.15, allocPctAt: { '90': 78.21, '100': 78.9, '130': 79.44 } },
    dotprod: { unallocatedPctAt100: 18.02, sd: 0.3, allocPctAt: { '90': 81.84, '100': 81.98, '130': 82.42 } },
    'gpu-clustering': { unallocatedPctAt100: 17.78, sd: 0.51, allocPctAt: { '90': 82.08, '100': 82.22, '130': 82.65 } },
    'gpu-packing': { unallocatedPctAt100: 17.87, sd: 0.5, allocPctAt: { '90': 81.99, '100': 82.13, '130': 82.57 } },
    'best-fit': { unallocatedPctAt100: 15.38, sd: 0.22, allocPctAt: { '90': 84.47, '100': 84.62, '130': 85.01 } },
    fgd: { unallocatedPctAt100: 13.36, sd: 0.16, allocPctAt: { '90': 86.53, '100': 86.64, '130': 86.9 } },
  },
  gpuspec10: {
    random: { unallocatedPctAt100: 13.74, sd: 0.25, allocPctAt: { '90': 84.87, '100': 86.26, '130': 87.43 } },
    dotprod: { unallocatedPctAt100: 9.83, sd: 0.39, allocPctAt: { '90': 84.91, '100': 90.17, '130': 90.39 } },
    'gpu-clustering': { unallocatedPctAt100: 8.04, sd: 0.71, allocPctAt: { '90': 85.41, '100': 91.96, '130': 92.18 } },
    'gpu-packing': { unallocatedPctAt100: 7.76, sd: 0.65, allocPctAt: { '90': 85.4, '100': 92.24, '130': 92.46 } },
    'best-fit': { unallocatedPctAt100: 6.9, sd: 0.21, allocPctAt: { '90': 84.98, '100': 93.1, '130': 93.3 } },
    fgd: { unallocatedPctAt100: 5.34, sd: 0.19, allocPctAt: { '90': 85.83, '100': 94.66, '130': 94.95 } },
  },
  gpuspec20: {
    random: { unallocatedPctAt100: 14.1, sd: 0.35, allocPctAt: { '90': 83.36, '100': 85.9, '130': 87.24 } },
    dotprod: { unallocatedPctAt100: 11.71, sd: 0.17, allocPctAt: { '90': 79.91, '100': 88.29, '130': 89.97 } },
    'gpu-clustering': { unallocatedPctAt100: 10.89, sd: 0.21, allocPctAt: { '90': 80.84, '100': 89.11, '130': 92.25 } },
    'gpu-packing': { unallocatedPctAt100: 10.72, sd: 0.25, allocPctAt: { '90': 81.01, '100': 89.28, '130': 92.94 } },
    'best-fit': { unallocatedPctAt100: 11.54, sd: 0.12, allocPctAt: { '90': 80.05, '100': 88.46, '130': 93.3 } },
    fgd: { unallocatedPctAt100: 5.34, sd: 0.13, allocPctAt: { '90': 86.2, '100': 94.66, '130': 94.84 } },
  },
  gpuspec25: {
    random: { unallocatedPctAt100: 14.58, sd: 0.34, allocPctAt: { '90': 81.42, '100': 85.42, '130': 86.94 } },
    dotprod: { unallocatedPctAt100: 14.56, sd: 0.16, allocPctAt: { '90': 77.42, '100': 85.44, '130': 89.63 } },
    'gpu-clustering': { unallocatedPctAt100: 13.59, sd: 0.29, allocPctAt: { '90': 78.51, '100': 86.41, '130': 92.08 } },
    'gpu-packing': { unallocatedPctAt100: 13.23, sd: 0.35, allocPctAt: { '90': 78.88, '100': 86.77, '130': 92.98 } },
    'best-fit': { unallocatedPctAt100: 14.33, sd: 0.2, allocPctAt: { '90': 77.59, '100': 85.67, '130': 93.23 } },
    fgd: { unallocatedPctAt100: 6.09, sd: 0.11, allocPctAt: { '90': 85.2, '100': 93.91, '130': 94.74 } },
  },
  gpuspec33: {
    random: { unallocatedPctAt100: 16.13, sd: 0.26, allocPctAt: { '90': 77.4, '100': 83.87, '130': 86.46 } },
    dotprod: { unallocatedPctAt100: 20.18, sd: 0.25, allocPctAt: { '90': 72.6, '100': 79.82, '130': 89.14 } },
    'gpu-clustering': { unallocatedPctAt100: 18.91, sd: 0.22, allocPctAt: { '90': 73.87, '100': 81.09, '130': 92.12 } },
    'gpu-packing': { unallocatedPctAt100: 17.78, sd: 0.39, allocPctAt: { '90': 75, '100': 82.22, '130': 93.22 } },
    'best-fit': { unallocatedPctAt100: 19.61, sd: 0.27, allocPctAt: { '90': 73.1, '100': 80.39, '130': 93.09 } },
    fgd: { unallocatedPctAt100: 12.16, sd: 0.18, allocPctAt: { '90': 80.62, '100': 87.84, '130': 94.55 } },
  },
  multigpu20: {
    random: { unallocatedPctAt100: 13.08, sd: 0.52, allocPctAt: { '90': 84.12, '100': 86.92, '130': 88.69 } },
    dotprod: { unallocatedPctAt100: 8.15, sd: 0.32, allocPctAt: { '90': 90, '100': 91.85, '130': 92.06 } },
    'gpu-clustering': { unallocatedPctAt100: 6.66, sd: 0.6, allocPctAt: { '90': 90, '100': 93.34, '130': 93.56 } },
    'gpu-packing': { unallocatedPctAt100: 6.5, sd: 0.64, allocPctAt: { '90': 90, '100': 93.5, '130': 93.71 } },
    'best-fit': { unallocatedPctAt100: 6.27, sd: 0.25, allocPctAt: { '90': 90.01, '100': 93.73, '130': 93.93 } },
    fgd: { unallocatedPctAt100: 4.47, sd: 0.16, allocPctAt: { '90': 90.01, '100': 95.53, '130': 95.65 } },
  },
  multigpu30: {
    random: { unallocatedPctAt100: 13.37, sd: 0.47, allocPctAt: { '90': 80.61, '100': 86.63, '130': 89.27 } },
    dotprod: { unallocatedPctAt100: 6.89, sd: 0.31, allocPctAt: { '90': 90.01, '100': 93.11, '130': 93.28 } },
    'gpu-clustering': { unallocatedPctAt100: 5.45, sd: 0.32, allocPctAt: { '90': 89.99, '100': 94.55, '130': 94.72 } },
    'gpu-packing': { unallocatedPctAt100: 5.3, sd: 0.32, allocPctAt: { '90': 90, '100': 94.7, '130': 94.87 } },
    'best-fit': { unallocatedPctAt100: 5.43, sd: 0.24, allocPctAt: { '90': 90.01, '100': 94.57, '130': 94.72 } },
    fgd: { unallocatedPctAt100: 3.64, sd: 0.1, allocPctAt: { '90': 90.01, '100': 96.36, '130': 96.46 } },
  },
  multigpu40: {
    random: { unallocatedPctAt100: 14.62, sd: 0.76, allocPctAt: { '90': 78.42, '100': 85.38, '130': 90.09 } },
    dotprod: { unallocatedPctAt100: 5.96, sd: 0.22, allocPctAt: { '90': 89.99, '100': 94.04, '130': 94.19 } },
    'gpu-clustering': { unallocatedPctAt100: 4.65, sd: 0.3, allocPctAt: { '90': 89.98, '100': 95.35, '130': 95.5 } },
    'gpu-packing': { unallocatedPctAt100: 4.41, sd: 0.31, allocPctAt: { '90': 89.99, '100': 95.59, '130': 95.74 } },
    'best-fit': { unallocatedPctAt100: 4.9, sd: 0.23, allocPctAt: { '90': 89.99, '100': 95.1, '130': 95.23 } },
    fgd: { unallocatedPctAt100: 3.09, sd: 0.1, allocPctAt: { '90': 89.96, '100': 96.91, '130': 96.99 } },
  },
  multigpu50: {
    random: { unallocatedPctAt100: 18.72, sd: 0.83, allocPctAt: { '90': 75.07, '100': 81.28, '130': 90.27 } },
    dotprod: { unallocatedPctAt100: 5.27, sd: 0.2, allocPctAt: { '90': 89.87, '100': 94.73, '130': 94.85 } },
    'gpu-clustering': { unallocatedPctAt100: 4.31, sd: 0.28, allocPctAt: { '90': 89.85, '100': 95.69, '130': 95.81 } },
    'gpu-packing': { unallocatedPctAt100: 3.94, sd: 0.31, allocPctAt: { '90': 89.87, '100': 96.06, '130': 96.18 } },
    'best-fit': { unallocatedPctAt100: 4.38, sd: 0.18, allocPctAt: { '90': 89.97, '100': 95.62, '130': 95.74 } },
    fgd: { unallocatedPctAt100: 2.91, sd: 0.11, allocPctAt: { '90': 89.93, '100': 97.09, '130': 97.18 } },
  },
};

/** Pod list name (`default`, or a file name like `openb_pod_list_default.csv`) → its name in PUBLISHED_OPENB. */
export function publishedPodListName(name: string): string {
  const base = name.replace(/^.*[\\/]/, '');
  return base.replace(/^openb_pod_list_/, '').replace(/\.csv$/, '');
}

/** Whether the published results cover this pod list. */
export function hasPublishedOpenb(name: string): boolean {
  return Object.hasOwn(PUBLISHED_OPENB, publishedPodListName(name));
}
