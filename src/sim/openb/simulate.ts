import { createRandom, randomPermutation } from '../../domain/random.js';
import { PlacementEngine } from '../../scheduler/placement-engine.js';
import { createPolicy } from '../../scheduler/policy-registry.js';
import type { NodeView, PlacementRequest } from '../../scheduler/snapshot.js';
import { typicalWorkload } from '../../scheduler/typical-workload.js';
import { buildArrivals } from './arrivals.js';
import type { OpenbNode, OpenbPod } from './trace-reader.js';

export interface OpenbRunOptions {
  nodes: readonly OpenbNode[];
  pods: readonly OpenbPod[];
  policy: string;
  seed: number;
  /** Total GPU demand as a multiple of capacity (the published method uses 1.3). */
  inflate?: number;
  /** Called every few hundred arrivals and at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Milliseconds, for `wallMs`; injected so tests can pin the output byte for byte. */
  now?: () => number;
}

export interface OpenbRun {
  policy: string;
  seed: number;
  gpus: number;
  arrivals: number;
  placements: number;
  failures: number;
  /** Cumulative GPU milli requested after each arrival (CPU-only pods add 0). */
  arrivedMilli: Float64Array;
  /** Cumulative GPU milli allocated after each arrival. */
  allocatedMilli: Float64Array;
  /** Node classes left at the end: how far grouping identical nodes shrank the search. */
  nodeClasses: number;
  wallMs: number;
}

export function nodeViewsOf(nodes: readonly OpenbNode[]): NodeView[] {
  return nodes.map((n) => ({
    id: n.name,
    name: n.name,
    schedulable: true,
    unschedulableReason: null,
    cpuMilliTotal: n.cpuMilli,
    memoryMibTotal: n.memoryMib,
    cpuMilliFree: n.cpuMilli,
    memoryMibFree: n.memoryMib,
    devices: Array.from({ length: n.gpus }, (_, index) => ({ id: `${n.name}/${index}`, index, model: n.model, memoryMib: 0, freeMilli: 1000 })),
  }));
}

export function requestOf(pod: OpenbPod): PlacementRequest {
  const sharing = pod.gpuCount === 1 && pod.milliPerGpu > 0 && pod.milliPerGpu < 1000;
  return {
    gpuMilli: sharing ? pod.milliPerGpu : null,
    gpus: sharing ? null : pod.milliPerGpu === 0 ? 0 : pod.gpuCount,
    models: pod.models,
    minGpuMemoryMib: null,
    cpuMilli: pod.cpuMilli,
    memoryMib: pod.memoryMib,
  };
}

/**
 * One run of the published openb experiment (FGD, USENIX ATC'23): shuffle and inflate the pod list
 * with the seed, draw the per-run node tie ranks, and place the pods one by one, in order, on an
 * empty cluster with the named policy. Nothing departs; a pod that fits nowhere is dropped.
 *
 * The seeded stream is consumed in a fixed order (shuffle, inflation, ranks, then the `random`
 * policy's own draws), so the same inputs and seed give the same run.
 */
export function runOpenb(options: OpenbRunOptions): OpenbRun {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const gpus = options.nodes.reduce((sum, n) => sum + n.gpus, 0);
  const rng = createRandom(options.seed);
  const arrivals = buildArrivals(options.pods, { capacityMilli: gpus * 1000, inflate: options.inflate ?? 1.3, rng });
  const ranks = randomPermutation(options.nodes.length, rng);
  const requests = new Map<OpenbPod, PlacementRequest>();
  for (const pod of options.pods) requests.set(pod, requestOf(pod));
  const policy = createPolicy(options.policy, {
    random: rng,
    // FGD's typical pods come from the original list, CPU-only shapes included, as in the paper.
    workload: options.policy === 'fgd' ? typicalWorkload(options.pods.map((p) => requests.get(p)!)) : undefined,
  });
  const engine = new PlacementEngine(policy, nodeViewsOf(options.nodes), { ranks, random: rng });
  const arrivedMilli = new Float64Array(arrivals.length);
  const allocatedMilli = new Float64Array(arrivals.length);
  let arrived = 0;
  let allocated = 0;
  let placements = 0;
  for (let j = 0; j < arrivals.length; j++) {
    const pod = arrivals[j]!;
    const request = requests.get(pod) ?? requestOf(pod);
    const demand = pod.gpuCount * pod.milliPerGpu;
    engine.observe(request);
    if (engine.place(request)) {
      placements++;
      allocated += demand;
    }
    arrived += demand;
    arrivedMilli[j] = arrived;
    allocatedMilli[j] = allocated;
    if (options.onProgress && (j + 1) % 256 === 0) options.onProgress(j + 1, arrivals.length);
  }
  options.onProgress?.(arrivals.length, arrivals.length);
  return {
    policy: options.policy,
    seed: options.seed,
    gpus,
    arrivals: arrivals.length,
    placements,
    failures: arrivals.length - placements,
    arrivedMilli,
    allocatedMilli,
    nodeClasses: engine.classCount,
    wallMs: Math.round(now() - started),
  };
}
