import type { SlurmNode } from './slurm-api.js';

/** Slurm job names carry the Unidle job id, so squeue, sacct and a lost submission can be matched back. */
export function slurmJobName(jobId: string): string {
  return `unidle-${jobId}`;
}

export function unidleJobIdOf(slurmJobName: string): string | null {
  return slurmJobName.startsWith('unidle-') ? slurmJobName.slice('unidle-'.length) : null;
}

/**
 * The GRES a job asks Slurm for on its node.
 * - Whole GPUs: `gpu:TYPE:N`.
 * - A share of one GPU: shards, `shard:K` with K = ceil(milli × shardsPerGpu / 1000), at least 1.
 *   Rounding up means Slurm never packs more work onto a GPU than Unidle sold: with 4 shards per GPU
 *   a 500-milli job takes 2 shards, a 300-milli job 2 as well (1.2 rounded up), so two 500-milli
 *   jobs share one GPU exactly and four 250-milli jobs do too. Unidle bills the milli-GPU sold.
 * - A node without shards cannot split a GPU: a share there takes a whole `gpu:TYPE:1`.
 */
export function gresFor(shape: { gpus: number | null; gpuMilli: number | null }, node: Pick<SlurmNode, 'gpus' | 'shardsTotal'>): string {
  const type = node.gpus.type ? `${node.gpus.type}:` : '';
  if (shape.gpus !== null) return `gpu:${type}${shape.gpus}`;
  const milli = shape.gpuMilli ?? 1000;
  const perGpu = node.gpus.count > 0 ? Math.floor(node.shardsTotal / node.gpus.count) : 0;
  if (perGpu === 0) return `gpu:${type}1`;
  return `shard:${Math.max(1, Math.ceil((milli * perGpu) / 1000))}`;
}
