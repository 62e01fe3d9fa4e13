import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../domain/shell-quote.js';
import { gresFor, slurmJobName, unidleJobIdOf } from './slurm-mapping.js';

const h100 = { gpus: { type: 'h100', count: 8 }, shardsTotal: 32 };

describe('Slurm GRES for Unidle shapes', () => {
  it('asks for whole GPUs by type', () => {
    expect(gresFor({ gpus: 2, gpuMilli: null }, h100)).toBe('gpu:h100:2');
    expect(gresFor({ gpus: 1, gpuMilli: null }, { gpus: { type: null, count: 4 }, shardsTotal: 0 })).toBe('gpu:1');
  });

  it('maps milli-GPU to shards, rounding up so Slurm never packs more than Unidle sold', () => {
    expect(gresFor({ gpus: null, gpuMilli: 500 }, h100)).toBe('shard:2');
    expect(gresFor({ gpus: null, gpuMilli: 250 }, h100)).toBe('shard:1');
    expect(gresFor({ gpus: null, gpuMilli: 300 }, h100)).toBe('shard:2');
    expect(gresFor({ gpus: null, gpuMilli: 1 }, h100)).toBe('shard:1');
    expect(gresFor({ gpus: null, gpuMilli: 999 }, h100)).toBe('shard:4');
  });

  it('gives a share a whole GPU on a node without shards', () => {
    expect(gresFor({ gpus: null, gpuMilli: 500 }, { gpus: { type: 'a100', count: 4 }, shardsTotal: 0 })).toBe('gpu:a100:1');
  });
});

describe('job names', () => {
  it('round-trip the Unidle job id', () => {
    expect(unidleJobIdOf(slurmJobName('job_01abc'))).toBe('job_01abc');
    expect(unidleJobIdOf('someone-elses-job')).toBeNull();
  });

  it('quote arguments for the batch script', () => {
    expect(shellQuote('nvidia-smi')).toBe('nvidia-smi');
    expect(shellQuote('echo $CUDA_VISIBLE_DEVICES')).toBe(`'echo $CUDA_VISIBLE_DEVICES'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
  });
});
