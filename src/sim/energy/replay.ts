/**
 * Event-driven energy replay: synthetic jobs (venus-jobs.ts) on N nodes × G GPUs, minute by minute.
 *
 * Each minute: jobs that end free their GPUs; waking nodes whose latency has passed come up; arrivals
 * join a FIFO queue; the queue is scanned in order and every job that fits on awake nodes is placed
 * by the production PlacementEngine (a job above G GPUs is placed as whole-node pieces plus a
 * remainder, all or nothing); the parking policy decides, the simulated power driver acts; then the
 * minute's energy is counted per node:
 *
 *   on:      busy GPUs × busy power + idle GPUs × idle power
 *   waking:  G × idle power  (booting draws about idle)
 *   parked:  standby power per node (default 0)
 *
 * all × PUE. Energy is summed in integer mW·min (DESIGN.md: integer units) and shown in kWh.
 *
 * With consolidation on, placement prefers fuller awake nodes, then nodes whose oldest running job
 * is older (consolidation.ts: ageBonus), and among empty nodes those the parking policy may not park
 * again today (ParkingPolicy.parksLeft): work goes where it adds no awake time.
 *
 * The queue is FIFO with backfill, except that a job waiting `starveMin` minutes or more stops
 * backfill behind it. Delay (delayedDemandPct, meanDelayMin) counts only the minutes a queued job
 * waits because nodes are parked or waking: the awake nodes cannot hold it (counting whole empty
 * nodes and the largest partial gap) but they could if the parked and waking nodes were up. Waiting
 * for a full cluster is contention, reported apart (queueWaitPct, meanQueueWaitMin). Jobs still
 * running at the end are cut there; jobs still queued count their wait up to the end.
 */
import { PlacementEngine, type EngineDecision } from '../../scheduler/placement-engine.js';
import { createPolicy } from '../../scheduler/policy-registry.js';
import type { PlacementPolicy } from '../../scheduler/policy.js';
import type { NodeView, PlacementRequest } from '../../scheduler/snapshot.js';
import { workKind } from '../../scheduler/request-shape.js';
import { checkDecision, type NodePowerState, type ParkingNodeView, type ParkingPolicy } from '../../energy/parking/policy.js';
import { simulatedPowerDriver } from '../../energy/parking/power-driver.js';
import { ageBonus, CANNOT_PARK_POINTS, withConsolidation } from './consolidation.js';
import type { SyntheticJob } from './venus-jobs.js';

const MIN_MS = 60_000;
/** Pure backfill by default: see the README of the result (large jobs can wait long). */
export const DEFAULT_STARVE_MIN = Number.POSITIVE_INFINITY;

/** Demand forecasts for the warm reserve, fed one observation per bucket. */
export interface DemandForecastProvider {
  /** Busy GPUs averaged over the bucket just ended (the queue is passed to the policy apart). */
  observe(demandGpus: number): void;
  /** Upper bound of demand over the next `steps` buckets, or undefined while none is available. */
  upperOver(steps: number): number | undefined;
}

export interface ReplayOptions {
  jobs: readonly SyntheticJob[];
  nodes: number;
  gpusPerNode: number;
  horizonMin: number;
  wakeMin: number;
  parking: ParkingPolicy;
  /** Production placement policy name (default 'unidle'). */
  placement?: string;
  /** Add the energy-aware consolidation scorer (default true). */
  consolidate?: boolean;
  /** Its weight (default CONSOLIDATION_WEIGHT). */
  consolidationWeight?: number;
  /**
   * With consolidation: also prefer nodes whose oldest running job is older, and empty nodes that the
   * parking policy may not park again (default true; false: fullness only).
   */
  consolidateByAge?: boolean;
  idleMilliwatts: number;
  busyMilliwatts: number;
  /** Per parked node, mW (default 0). */
  standbyMilliwatts?: number;
  pue?: number;
  /** Bucket length for the forecast and the recorded series, minutes (default 10). */
  bucketMin?: number;
  forecast?: DemandForecastProvider;
  /** Buckets ahead the reserve covers (default: the wake latency, ceil(wakeMin / bucketMin)). */
  forecastSteps?: number;
  /** A queued job that has waited this long stops backfill behind it, minutes (default: never, pure backfill). */
  starveMin?: number;
  onProgress?: (doneMin: number, totalMin: number) => void;
}

export interface ReplaySeries {
  bucketMin: number;
  /** Per bucket: mean awake (on + waking) nodes, mean busy GPUs, mean demand (busy + queued) GPUs. */
  awakeNodes: Float64Array;
  busyGpus: Float64Array;
  demandGpus: Float64Array;
}

export interface ReplayResult {
  name: string;
  placement: string;
  energyKWh: number;
  busyEnergyKWh: number;
  idleEnergyKWh: number;
  /** Idle energy of an always-on cluster running the same busy GPU-minutes. */
  alwaysOnIdleEnergyKWh: number;
  idleEnergySavedPct: number;
  delayedDemandPct: number;
  meanDelayMin: number;
  /** Jobs that waited for a parked or waking node at least one minute. */
  delayedJobs: number;
  /** All waiting, contention included (always-on has only contention): % of GPU demand and mean per job. */
  queueWaitPct: number;
  meanQueueWaitMin: number;
  /** Jobs that waited at all. */
  queuedJobs: number;
  powerCyclesPerNodeDay: number;
  /** Most parks of any one node in one calendar day (minute 0 is a midnight)… */
  maxCyclesPerNodeDay: number;
  /** …and in any rolling 24 hours. */
  maxCyclesPerNode24h: number;
  parks: number;
  wakes: number;
  jobs: number;
  clampedJobs: number;
  busyGpuMinutes: number;
  meanAwakeNodes: number;
  meanBusyGpus: number;
  series: ReplaySeries;
}

interface Piece {
  node: number;
  decision: EngineDecision;
  request: PlacementRequest;
}

interface Running {
  gpus: number;
  pieces: Piece[];
  /** Start minute. */
  start: number;
}

function wholeRequest(gpus: number): PlacementRequest {
  return { gpuMilli: null, gpus, models: [], minGpuMemoryMib: null, cpuMilli: 0, memoryMib: 0 };
}

const NOTHING = wholeRequest(0);

export function replayEnergy(o: ReplayOptions): ReplayResult {
  const N = o.nodes;
  const G = o.gpusPerNode;
  const H = o.horizonMin;
  const bucket = o.bucketMin ?? 10;
  const pue = o.pue ?? 1.3;
  const standby = o.standbyMilliwatts ?? 0;
  const capacity = N * G;
  const placementName = o.placement ?? 'unidle';
  const starveMin = o.starveMin ?? DEFAULT_STARVE_MIN;
  const base = createPolicy(placementName);
  // Per-node consolidation bonus (see consolidation.ts), refreshed before each placement scan.
  const bonusOf = new Map<NodeView, number>();
  const byAge = o.consolidate !== false && o.consolidateByAge !== false;
  const policy: PlacementPolicy =
    o.consolidate === false ? base : withConsolidation(base, o.consolidationWeight, byAge ? (node) => bonusOf.get(node) ?? 0 : undefined);

  const views: NodeView[] = Array.from({ length: N }, (_, i) => ({
    id: `n${i}`,
    name: `n${i}`,
    schedulable: true,
    unschedulableReason: null,
    cpuMilliTotal: 1e9,
    memoryMibTotal: 1e9,
    cpuMilliFree: 1e9,
    memoryMibFree: 1e9,
    devices: Array.from({ length: G }, (_, d) => ({ id: `n${i}/${d}`, index: d, model: 'sim', memoryMib: 0, freeMilli: 1000 })),
  }));
  const engine = new PlacementEngine(policy, views);
  const indexOf = new Map<NodeView, number>(views.map((v, i) => [v, i]));
  const requests = new Map<number, PlacementRequest>();
  const requestFor = (g: number) => {
    let r = requests.get(g);
    if (!r) requests.set(g, (r = wholeRequest(g)));
    return r;
  };
  const rekey = (i: number) => engine.reserve(NOTHING, { node: views[i]!, placement: { nodeId: views[i]!.id, devices: [] } });

  const used = new Int32Array(N);
  /** Start minutes of the pieces running on each node. */
  const starts: number[][] = Array.from({ length: N }, () => []);
  const emptySince = new Float64Array(N); // minutes; NaN while busy
  const state: NodePowerState[] = new Array(N).fill('on');
  const stateSince = new Float64Array(N);
  const driver = simulatedPowerDriver({ wakeMs: o.wakeMin * MIN_MS });
  const pviews: ParkingNodeView[] = views.map((v) => ({ id: v.id, state: 'on', sinceMs: 0, empty: true, emptySinceMs: 0, gpus: G, freeGpus: G }));
  const idOf = new Map<string, number>(views.map((v, i) => [v.id, i]));

  const release = (p: Piece) => {
    const node = p.decision.node;
    const kind = workKind(p.request);
    if (kind !== null && node.workKinds) node.workKinds.set(kind, (node.workKinds.get(kind) ?? 1) - 1);
    engine.reserve(NOTHING, {
      node,
      placement: { nodeId: node.id, devices: p.decision.placement.devices.map((d) => ({ ...d, milli: -d.milli })) },
    });
  };

  const tryPlace = (gpus: number): Piece[] | undefined => {
    const sizes: number[] = [];
    for (let left = gpus; left > 0; left -= Math.min(G, left)) sizes.push(Math.min(G, left));
    const pieces: Piece[] = [];
    for (const size of sizes) {
      const request = requestFor(size);
      engine.observe(request);
      const decision = engine.place(request);
      if (!decision) {
        for (const p of pieces) release(p);
        return undefined;
      }
      pieces.push({ node: indexOf.get(decision.node)!, decision, request });
    }
    return pieces;
  };

  // Jobs ending at minute t.
  const ends = new Map<number, Running[]>();
  const queue: { job: SyntheticJob; gpus: number; parkDelayed: boolean }[] = [];
  let queueHead = 0;
  let queuedGpus = 0;
  let busy = 0;
  let freeAwake = capacity;

  let mwMin = 0;
  let busyMwMin = 0;
  let busyGpuMin = 0;
  let waitGpuMin = 0;
  let demandGpuMin = 0;
  let waitSum = 0;
  let delayedJobs = 0;
  let parkWaitSum = 0;
  let parkWaitGpuMin = 0;
  let parkDelayedJobs = 0;
  let clampedJobs = 0;
  let parks = 0;
  let wakes = 0;
  /** Park minutes per node, for the per-node maxima. */
  const parkTimes: number[][] = Array.from({ length: N }, () => []);
  let awakeSum = 0;

  const buckets = Math.ceil(H / bucket);
  const series: ReplaySeries = { bucketMin: bucket, awakeNodes: new Float64Array(buckets), busyGpus: new Float64Array(buckets), demandGpus: new Float64Array(buckets) };
  let bucketDemand = 0;
  let forecastUpper: number | undefined;
  const horizonSteps = o.forecastSteps ?? Math.max(1, Math.ceil(o.wakeMin / bucket));

  let next = 0;
  const jobs = o.jobs;
  for (let t = 0; t < H; t++) {
    // 1. Ends.
    const ending = ends.get(t);
    if (ending) {
      ends.delete(t);
      for (const r of ending) {
        for (const p of r.pieces) {
          const st = starts[p.node]!;
          st.splice(st.indexOf(r.start), 1);
          release(p);
          const g = p.request.gpus!;
          used[p.node]! -= g;
          if (used[p.node] === 0) emptySince[p.node] = t;
        }
        busy -= r.gpus;
        freeAwake += r.gpus;
      }
    }
    // 2. Wakes finishing.
    for (let i = 0; i < N; i++) {
      if (state[i] !== 'waking') continue;
      const s = driver.state(views[i]!.id, t * MIN_MS);
      if (s.state === 'on') {
        state[i] = 'on';
        stateSince[i] = t;
        emptySince[i] = t;
        views[i]!.schedulable = true;
        views[i]!.unschedulableReason = null;
        rekey(i);
        freeAwake += G;
      }
    }
    // 3. Arrivals.
    while (next < jobs.length && jobs[next]!.arrivalMin <= t) {
      const job = jobs[next++]!;
      let gpus = job.gpus;
      if (gpus > capacity) {
        gpus = capacity;
        clampedJobs++;
      }
      queue.push({ job, gpus, parkDelayed: false });
      queuedGpus += gpus;
      demandGpuMin += gpus * Math.min(job.durationMin, H - job.arrivalMin);
    }
    // 4. FIFO scan with backfill: every queued job that fits starts.
    if (queueHead < queue.length && freeAwake > 0) {
      if (byAge) {
        for (let i = 0; i < N; i++) {
          if (state[i] !== 'on') continue;
          let b = 0;
          if (used[i]! > 0) {
            let oldest = t;
            for (const x of starts[i]!) if (x < oldest) oldest = x;
            b = ageBonus(t - oldest);
          } else if (o.parking.parksLeft && o.parking.parksLeft(views[i]!.id, t * MIN_MS) <= 0) b = CANNOT_PARK_POINTS;
          if ((bonusOf.get(views[i]!) ?? 0) !== b) {
            bonusOf.set(views[i]!, b);
            rekey(i);
          }
        }
      }
      let failedAt = Number.POSITIVE_INFINITY; // a size that failed: no larger one fits this minute
      let blocked = false;
      let w = queueHead;
      for (let k = queueHead; k < queue.length; k++) {
        const q = queue[k]!;
        let pieces: Piece[] | undefined;
        if (!blocked && q.gpus <= freeAwake && q.gpus < failedAt) {
          pieces = tryPlace(q.gpus);
          if (!pieces) failedAt = q.gpus;
        }
        if (!pieces) {
          // A job that has waited `starveMin` holds back everything behind it (no backfill past it),
          // so large jobs are not starved by a stream of small ones.
          if (t - q.job.arrivalMin >= starveMin) blocked = true;
          queue[w++] = q;
          continue;
        }
        const wait = t - q.job.arrivalMin;
        if (wait > 0) {
          delayedJobs++;
          waitSum += wait;
          waitGpuMin += wait * q.gpus;
        }
        for (const p of pieces) {
          starts[p.node]!.push(t);
          if (used[p.node] === 0) emptySince[p.node] = Number.NaN;
          used[p.node]! += p.request.gpus!;
        }
        busy += q.gpus;
        freeAwake -= q.gpus;
        queuedGpus -= q.gpus;
        const end = t + q.job.durationMin;
        if (end < H) {
          const list = ends.get(end);
          if (list) list.push({ gpus: q.gpus, pieces, start: t });
          else ends.set(end, [{ gpus: q.gpus, pieces, start: t }]);
        }
      }
      queue.length = w;
    }
    // 4b. Delay caused by parking: a queued job that awake nodes cannot hold (not even if they were
    // empty of other queued work) but that would fit if the parked and waking nodes were up.
    if (queue.length > 0) {
      let nonAwake = 0;
      let emptyAwake = 0;
      let maxPartialFree = 0;
      for (let i = 0; i < N; i++) {
        if (state[i] !== 'on') nonAwake++;
        else if (used[i] === 0) emptyAwake++;
        else if (G - used[i]! > maxPartialFree) maxPartialFree = G - used[i]!;
      }
      if (nonAwake > 0) {
        for (const q of queue) {
          const whole = Math.floor(q.gpus / G);
          const rest = q.gpus - whole * G;
          const needed = whole + (rest > 0 && maxPartialFree < rest ? 1 : 0);
          if (needed > emptyAwake && needed <= emptyAwake + nonAwake) {
            parkWaitSum++;
            parkWaitGpuMin += q.gpus;
            if (!q.parkDelayed) {
              q.parkDelayed = true;
              parkDelayedJobs++;
            }
          }
        }
      }
    }
    // 5. Parking.
    for (let i = 0; i < N; i++) {
      const pv = pviews[i]!;
      pv.state = state[i]!;
      pv.sinceMs = stateSince[i]! * MIN_MS;
      pv.empty = used[i] === 0;
      pv.emptySinceMs = used[i] === 0 ? emptySince[i]! * MIN_MS : null;
      pv.freeGpus = state[i] === 'on' ? G - used[i]! : 0;
    }
    const input = { nowMs: t * MIN_MS, nodes: pviews, queuedGpus, busyGpus: busy, forecastUpperGpus: forecastUpper };
    const decision = o.parking.decide(input);
    if (decision.park.length > 0 || decision.wake.length > 0) {
      checkDecision(input, decision);
      for (const id of decision.park) {
        const i = idOf.get(id)!;
        driver.park(id, t * MIN_MS);
        state[i] = 'parked';
        stateSince[i] = t;
        views[i]!.schedulable = false;
        views[i]!.unschedulableReason = 'parked';
        rekey(i);
        freeAwake -= G;
        parks++;
        parkTimes[i]!.push(t);
      }
      for (const id of decision.wake) {
        const i = idOf.get(id)!;
        driver.wake(id, t * MIN_MS);
        state[i] = 'waking';
        stateSince[i] = t;
        wakes++;
      }
    }
    // 6. Energy of this minute.
    let awake = 0;
    let idleGpus = 0;
    let parked = 0;
    for (let i = 0; i < N; i++) {
      const s = state[i];
      if (s === 'on') {
        awake++;
        idleGpus += G - used[i]!;
      } else if (s === 'waking') {
        awake++;
        idleGpus += G;
      } else parked++;
    }
    mwMin += busy * o.busyMilliwatts + idleGpus * o.idleMilliwatts + parked * standby;
    busyMwMin += busy * o.busyMilliwatts;
    busyGpuMin += busy;
    awakeSum += awake;
    // 7. Series and forecast.
    const b = Math.floor(t / bucket);
    series.awakeNodes[b]! += awake / bucket;
    series.busyGpus[b]! += busy / bucket;
    series.demandGpus[b]! += (busy + queuedGpus) / bucket;
    bucketDemand += busy;
    if ((t + 1) % bucket === 0 && o.forecast) {
      o.forecast.observe(bucketDemand / bucket);
      bucketDemand = 0;
      forecastUpper = o.forecast.upperOver(horizonSteps);
    }
    if (o.onProgress && t % 1440 === 0) o.onProgress(t, H);
  }
  for (const q of queue) {
    const wait = H - q.job.arrivalMin;
    if (wait > 0) {
      delayedJobs++;
      waitSum += wait;
      waitGpuMin += wait * q.gpus;
    }
  }
  o.onProgress?.(H, H);

  const toKWh = (x: number) => (x * pue) / 6e7;
  const energyKWh = toKWh(mwMin);
  const busyEnergyKWh = toKWh(busyMwMin);
  const idleEnergyKWh = energyKWh - busyEnergyKWh;
  const alwaysOnIdleEnergyKWh = toKWh((capacity * H - busyGpuMin) * o.idleMilliwatts);
  const days = H / 1440;
  let maxDay = 0;
  let max24h = 0;
  for (const times of parkTimes) {
    let from = 0;
    let dayStart = 0;
    for (let k = 0; k < times.length; k++) {
      while (times[from]! <= times[k]! - 1440) from++;
      max24h = Math.max(max24h, k - from + 1);
      if (Math.floor(times[k]! / 1440) !== Math.floor(times[dayStart]! / 1440)) dayStart = k;
      maxDay = Math.max(maxDay, k - dayStart + 1);
    }
  }
  return {
    name: o.parking.name,
    placement: policy.name,
    energyKWh,
    busyEnergyKWh,
    idleEnergyKWh,
    alwaysOnIdleEnergyKWh,
    idleEnergySavedPct: alwaysOnIdleEnergyKWh > 0 ? ((alwaysOnIdleEnergyKWh - idleEnergyKWh) / alwaysOnIdleEnergyKWh) * 100 : 0,
    delayedDemandPct: demandGpuMin > 0 ? (parkWaitGpuMin / demandGpuMin) * 100 : 0,
    meanDelayMin: next > 0 ? parkWaitSum / next : 0,
    delayedJobs: parkDelayedJobs,
    queueWaitPct: demandGpuMin > 0 ? (waitGpuMin / demandGpuMin) * 100 : 0,
    meanQueueWaitMin: next > 0 ? waitSum / next : 0,
    queuedJobs: delayedJobs,
    powerCyclesPerNodeDay: days > 0 ? parks / N / days : 0,
    maxCyclesPerNodeDay: maxDay,
    maxCyclesPerNode24h: max24h,
    parks,
    wakes,
    jobs: next,
    clampedJobs,
    busyGpuMinutes: busyGpuMin,
    meanAwakeNodes: H > 0 ? awakeSum / H : 0,
    meanBusyGpus: H > 0 ? busyGpuMin / H : 0,
    series,
  };
}
