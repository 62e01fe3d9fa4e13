// Synthetic clusters and pod lists for bench/placement: an openb-like cluster of any size, and a pod
// list to drive it, both seeded and deterministic. The output has the trace reader's shapes
// (OpenbNode, OpenbPod), so `runOpenb` takes them as it takes the real trace.
import { createRandom, shuffleInPlace } from '../dist/domain/random.js';

/**
 * The node mix used when the openb node list is not available: common GPU server configurations of
 * our own choosing (not taken from any trace), heterogeneous in GPUs per node, cores per GPU and
 * model, so grouping identical nodes is tested on a realistic spread:
 *   40% 8x H100 with 192 cores, 20% 8x A100-80GB with 128 cores, 15% 4x L40S with 64 cores,
 *   15% 2x RTX4090 with 32 cores, 10% 1x A10 with 16 cores.
 */
export const BUILT_IN_NODE_MIX = [
  { cpuMilli: 192000, memoryMib: 2097152, gpus: 8, model: 'H100', count: 40 },
  { cpuMilli: 128000, memoryMib: 1048576, gpus: 8, model: 'A100-80GB', count: 20 },
  { cpuMilli: 64000, memoryMib: 524288, gpus: 4, model: 'L40S', count: 15 },
  { cpuMilli: 32000, memoryMib: 131072, gpus: 2, model: 'RTX4090', count: 15 },
  { cpuMilli: 16000, memoryMib: 65536, gpus: 1, model: 'A10', count: 10 },
];

/** The node types of a node list (CPU, memory, GPU count, model) with how many nodes have each. */
export function nodeMixOf(nodes) {
  const byKey = new Map();
  for (const n of nodes) {
    const key = `${n.cpuMilli},${n.memoryMib},${n.gpus},${n.model}`;
    const type = byKey.get(key);
    if (type) type.count++;
    else byKey.set(key, { cpuMilli: n.cpuMilli, memoryMib: n.memoryMib, gpus: n.gpus, model: n.model, count: 1 });
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count);
}

/**
 * `size` nodes named syn-000001…, with the mix's types in proportion (largest remainder, so the
 * counts add up to `size` exactly and a type with a share of at least 1/size is present), listed in
 * a seeded random order.
 */
export function syntheticNodes(size, mix = BUILT_IN_NODE_MIX, seed = 1) {
  const total = mix.reduce((sum, t) => sum + t.count, 0);
  const counts = mix.map((t) => Math.floor((t.count * size) / total));
  let left = size - counts.reduce((a, b) => a + b, 0);
  const byRemainder = mix.map((t, i) => [i, (t.count * size) / total - counts[i]]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  for (let k = 0; left > 0; k++, left--) counts[byRemainder[k % byRemainder.length][0]]++;
  const types = [];
  mix.forEach((t, i) => {
    for (let k = 0; k < counts[i]; k++) types.push(t);
  });
  shuffleInPlace(types, createRandom(seed));
  const width = Math.max(6, String(size).length);
  return types.map((t, i) => ({ name: `syn-${String(i + 1).padStart(width, '0')}`, cpuMilli: t.cpuMilli, memoryMib: t.memoryMib, gpus: t.gpus, model: t.model }));
}

/**
 * A pod list with openb default's kind mix, used when the trace is not available: 13% CPU-only,
 * 38% GPU shares (milli per GPU from {100, 200, 250, 300, 400, 500, 600, 700, 800}), 48% one whole
 * GPU, and 1% multi-GPU (2, 4 or 8 whole GPUs). CPU and memory come from small menus scaled to the
 * GPU demand, so the list has on the order of 150 distinct shapes, like openb default (151).
 * Deterministic for a seed.
 */
export function syntheticPods(count = 8152, seed = 7) {
  const rng = createRandom(seed);
  const pick = (list) => list[rng.int(list.length)];
  const shares = [100, 200, 250, 300, 400, 500, 600, 700, 800];
  const cpus = [1000, 2000, 4000, 6000, 8000, 12000, 16000];
  const memPerCore = [2048, 4096, 8192];
  const pods = [];
  for (let i = 0; i < count; i++) {
    const u = rng.int(10000) / 10000;
    let gpuCount;
    let milliPerGpu;
    if (u < 0.13) [gpuCount, milliPerGpu] = [0, 0];
    else if (u < 0.51) [gpuCount, milliPerGpu] = [1, pick(shares)];
    else if (u < 0.99) [gpuCount, milliPerGpu] = [1, 1000];
    else [gpuCount, milliPerGpu] = [pick([2, 2, 4, 4, 8, 8, 8]), 1000];
    const cpuMilli = gpuCount >= 2 ? gpuCount * pick([8000, 11000]) : pick(cpus);
    const memoryMib = (cpuMilli / 1000) * pick(memPerCore);
    pods.push({ name: `syn-pod-${String(i + 1).padStart(6, '0')}`, cpuMilli, memoryMib, gpuCount, milliPerGpu, models: [] });
  }
  return pods;
}
