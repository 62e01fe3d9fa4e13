#!/usr/bin/env node
// Where the unallocated GPUs sit when arrived workload reaches 100% on an openb pod list, for one
// policy and seed, and how well the sharing pods that arrived by then could be packed offline.
// This is the analysis behind docs/scheduling.md ("What limits unidle").
//
//   npm run build && node bench/openb-leftovers.mjs [--pods default] [--policy unidle] [--seed 42] [--trace-dir DIR]
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRandom, randomPermutation } from '../dist/domain/random.js';
import { PlacementEngine } from '../dist/scheduler/placement-engine.js';
import { createPolicy } from '../dist/scheduler/policy-registry.js';
import { typicalWorkload } from '../dist/scheduler/typical-workload.js';
import { buildArrivals } from '../dist/sim/openb/arrivals.js';
import { nodeViewsOf, requestOf } from '../dist/sim/openb/simulate.js';
import { readOpenbNodeList, readOpenbPodList } from '../dist/sim/openb/trace-reader.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'trace-dir': { type: 'string', default: resolve(root, '../shared/traces/openb') },
    pods: { type: 'string', default: 'default' },
    policy: { type: 'string', default: 'unidle' },
    seed: { type: 'string', default: '42' },
  },
});
const dir = values['trace-dir'];
if (!existsSync(join(dir, 'openb_node_list_gpu_node.csv'))) {
  console.log(`openb trace not found in ${dir}: nothing to analyse (give --trace-dir)`);
  process.exit(0);
}
const nodeList = readOpenbNodeList(join(dir, 'openb_node_list_gpu_node.csv'));
const pods = readOpenbPodList(join(dir, `openb_pod_list_${values.pods}.csv`));
const gpus = nodeList.reduce((sum, n) => sum + n.gpus, 0);

// The same stream order as runOpenb: arrivals, then ranks, then the policy's own draws.
const rng = createRandom(Number(values.seed));
const arrivals = buildArrivals(pods, { capacityMilli: gpus * 1000, inflate: 1.3, rng });
const ranks = randomPermutation(nodeList.length, rng);
const policy = createPolicy(values.policy, { random: rng, workload: values.policy === 'fgd' ? typicalWorkload(pods.map(requestOf)) : undefined });
const nodes = nodeViewsOf(nodeList);
const engine = new PlacementEngine(policy, nodes, { ranks, random: rng });

const isShare = (p) => p.gpuCount === 1 && p.milliPerGpu > 0 && p.milliPerGpu < 1000;
const kindOf = (p) => (p.gpuCount === 0 ? 'cpu-only' : isShare(p) ? 'share' : `${p.gpuCount}-gpu`);
let arrived = 0;
let allocated = 0;
const failed = {};
const arrivedShares = [];
for (const pod of arrivals) {
  const request = requestOf(pod);
  const demand = pod.gpuCount * pod.milliPerGpu;
  engine.observe(request);
  if (engine.place(request)) allocated += demand;
  else {
    const f = (failed[kindOf(pod)] ??= { pods: 0, gpus: 0 });
    f.pods++;
    f.gpus += demand / 1000;
  }
  if (isShare(pod)) arrivedShares.push(pod.milliPerGpu);
  arrived += demand;
  if (arrived >= gpus * 1000) break;
}

console.log(`${values.policy} on ${values.pods}, seed ${values.seed}: ${(100 - (100 * allocated) / gpus / 1000).toFixed(2)}% unallocated at arrived 100%`);
console.log('failed by kind:', Object.entries(failed).map(([k, f]) => `${k} ${f.pods} pods / ${f.gpus.toFixed(1)} GPUs`).join(', '));

const STARVED_CPU = 2000;
const gaps = new Map();
let starved = 0;
let wholeFree = 0;
for (const node of nodes) {
  for (const device of node.devices) {
    if (device.freeMilli === 0) continue;
    if (node.cpuMilliFree < STARVED_CPU) starved += device.freeMilli;
    else if (device.freeMilli === 1000) wholeFree++;
    else gaps.set(device.freeMilli, (gaps.get(device.freeMilli) ?? 0) + 1);
  }
}
console.log(`free GPU on nodes with < ${STARVED_CPU / 1000} free cores: ${(starved / 1000).toFixed(1)} GPUs; fully free GPUs elsewhere: ${wholeFree}`);
const sorted = [...gaps.entries()].sort((a, b) => b[0] * b[1] - a[0] * a[1]);
console.log('partly used GPUs by free milli (count, GPUs):', sorted.slice(0, 15).map(([g, c]) => `${g}: ${c} (${((g * c) / 1000).toFixed(1)})`).join(', '));

// Offline packing of the same sharing pods, with the whole list known and no CPU limits.
const shareDemand = arrivedShares.reduce((a, b) => a + b, 0);
const pct = (wasteMilli) => `${(wasteMilli / 1000).toFixed(1)} GPUs = ${((100 * wasteMilli) / 1000 / gpus).toFixed(2)}%`;
{
  const bins = [];
  for (const s of [...arrivedShares].sort((a, b) => b - a)) {
    let best = -1;
    for (let i = 0; i < bins.length; i++) if (bins[i] >= s && (best < 0 || bins[i] < bins[best])) best = i;
    if (best < 0) bins.push(1000 - s);
    else bins[best] -= s;
  }
  console.log(`offline best-fit decreasing leaves ${pct(bins.reduce((a, b) => a + b, 0))}`);
}
{
  // Minimum bin slack: open a GPU with the largest pod left, fill it as full as possible (bounded knapsack).
  const counts = new Map();
  for (const s of arrivedShares) counts.set(s, (counts.get(s) ?? 0) + 1);
  let waste = 0;
  for (;;) {
    const sizes = [...counts.keys()].filter((s) => counts.get(s) > 0).sort((a, b) => b - a);
    if (sizes.length === 0) break;
    counts.set(sizes[0], counts.get(sizes[0]) - 1);
    const cap = 1000 - sizes[0];
    const best = new Array(cap + 1).fill(null);
    best[0] = new Map();
    for (let v = 1; v <= cap; v++) {
      for (const s of sizes) {
        const prev = v >= s ? best[v - s] : null;
        if (prev && (prev.get(s) ?? 0) < counts.get(s)) {
          best[v] = new Map(prev).set(s, (prev.get(s) ?? 0) + 1);
          break;
        }
      }
    }
    let v = cap;
    while (!best[v]) v--;
    for (const [s, n] of best[v]) counts.set(s, counts.get(s) - n);
    waste += cap - v;
  }
  console.log(`offline minimum bin slack leaves ${pct(waste)}`);
}
{
  // Lower bound: a pod over 500 needs its own GPU; smaller pods fill the rest fractionally, each gap
  // only with pods that fit it.
  const big = arrivedShares.filter((s) => s > 500);
  const small = arrivedShares.filter((s) => s <= 500).sort((a, b) => a - b);
  const holes = big.map((b) => 1000 - b).sort((a, b) => a - b);
  let next = 0;
  let partial = 0;
  let filled = 0;
  for (const hole of holes) {
    let room = hole;
    while (next < small.length && small[next] <= hole && room > 0) {
      const take = Math.min(room, small[next] - partial);
      room -= take;
      filled += take;
      partial += take;
      if (partial >= small[next]) {
        next++;
        partial = 0;
      }
    }
  }
  const smallDemand = small.reduce((a, b) => a + b, 0);
  const bins = big.length + Math.ceil((smallDemand - filled) / 1000);
  console.log(`any packing leaves at least ${pct(bins * 1000 - shareDemand)} (fractional bound)`);
}
