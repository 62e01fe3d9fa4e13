/** A tiny openb-format cluster for tests: 6 nodes, 28 GPUs of 5 models. */
export const TINY_NODES_CSV = [
  'sn,cpu_milli,memory_mib,gpu,model',
  'node-a,64000,262144,2,T4',
  'node-b,96000,393216,4,V100M16',
  'node-c,96000,786432,8,V100M32',
  'node-d,96000,786432,8,A10',
  'node-e,64000,262144,4,G2',
  'node-f,32000,131072,2,P100',
].join('\n');

/**
 * 60 pods in the 11-column-style layout (first six columns): CPU-only, GPU shares, 1-, 2- and 8-GPU
 * pods, and one constrained to two GPU models; about 44 GPUs of demand on 28 GPUs, so 1.3 × capacity
 * needs deflation and smaller factors inflation.
 */
export function tinyPodsCsv(): string {
  const shares = [200, 250, 300, 500, 700];
  const lines = ['name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec'];
  for (let i = 0; i < 60; i++) {
    let gpus = 1;
    let milli = 1000;
    if (i % 6 === 0) [gpus, milli] = [0, 0];
    else if (i % 6 === 1 || i % 6 === 4) milli = shares[i % 5]!;
    else if (i === 59) gpus = 8;
    else if (i % 12 === 5) gpus = 2;
    lines.push(`pod-${String(i).padStart(2, '0')},${2000 + (i % 7) * 2000},${8192 * (1 + (i % 4))},${gpus},${milli},${i === 7 ? 'V100M32|A10' : ''}`);
  }
  return lines.join('\n') + '\n';
}
