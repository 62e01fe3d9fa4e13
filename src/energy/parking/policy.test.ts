import { describe, expect, it } from 'vitest';
import { alwaysOnPolicy, checkDecision, createParkingPolicy, idleTimerPolicy, unidleParkingPolicy, type ParkingInput, type ParkingNodeView } from './policy.js';
import { simulatedPowerDriver } from './power-driver.js';

const MIN = 60_000;

function node(id: string, over: Partial<ParkingNodeView> = {}): ParkingNodeView {
  return { id, state: 'on', sinceMs: 0, empty: true, emptySinceMs: 0, gpus: 8, freeGpus: 8, ...over };
}
function busy(id: string): ParkingNodeView {
  return node(id, { empty: false, emptySinceMs: null, freeGpus: 0 });
}

describe('parking policies', () => {
  it('always-on never parks', () => {
    const input: ParkingInput = { nowMs: 10 * 24 * 60 * MIN, nodes: [node('a'), node('b')], queuedGpus: 0, busyGpus: 0 };
    expect(alwaysOnPolicy().decide(input)).toEqual({ park: [], wake: [] });
  });

  it('never parks a node with work or a veto, whatever the policy', () => {
    const nodes = [busy('a'), node('b', { veto: true }), busy('c')];
    for (const name of ['always-on', 'idle-timer', 'unidle']) {
      const p = createParkingPolicy(name, { unidle: { marginGpus: 0, minEmptyMs: 0 } });
      const input: ParkingInput = { nowMs: 100 * MIN, nodes, queuedGpus: 0, busyGpus: 16 };
      const d = p.decide(input);
      expect(d.park).toEqual([]);
      checkDecision(input, d);
    }
    expect(() => checkDecision({ nowMs: 0, nodes, queuedGpus: 0, busyGpus: 16 }, { park: ['a'], wake: [] })).toThrow(/with work/);
  });

  it('idle-timer parks after T empty minutes and wakes on queued demand', () => {
    const p = idleTimerPolicy({ idleMs: 30 * MIN });
    const nodes = [node('a', { emptySinceMs: 0 }), node('b', { emptySinceMs: 10 * MIN }), busy('c')];
    expect(p.decide({ nowMs: 29 * MIN, nodes, queuedGpus: 0, busyGpus: 8 }).park).toEqual([]);
    expect(p.decide({ nowMs: 30 * MIN, nodes, queuedGpus: 0, busyGpus: 8 }).park).toEqual(['a']);
    expect(p.decide({ nowMs: 40 * MIN, nodes, queuedGpus: 0, busyGpus: 8 }).park).toEqual(['a', 'b']);
    const parked = [node('a', { state: 'parked', sinceMs: 0, freeGpus: 0 }), node('b', { state: 'parked', sinceMs: 5, freeGpus: 0 }), busy('c')];
    expect(p.decide({ nowMs: 50 * MIN, nodes: parked, queuedGpus: 12, busyGpus: 8 }).wake).toEqual(['a', 'b']);
    expect(p.decide({ nowMs: 50 * MIN, nodes: parked, queuedGpus: 4, busyGpus: 8 }).wake).toEqual(['a']);
    // Already waking covers the queue.
    const waking = [node('a', { state: 'waking', freeGpus: 0 }), parked[1]!, parked[2]!];
    expect(p.decide({ nowMs: 50 * MIN, nodes: waking, queuedGpus: 8, busyGpus: 8 }).wake).toEqual([]);
  });

  it('unidle keeps the warm reserve from the forecast upper bound', () => {
    const p = unidleParkingPolicy({ marginGpus: 8, minEmptyMs: 0, maxCyclesPerDay: 10 });
    const nodes = [busy('a'), node('b'), node('c'), node('d'), node('e')];
    // Busy 8, forecast up to 24: reserve = 16 + 8 = 24 GPUs, 32 free → one node parks.
    const d = p.decide({ nowMs: MIN, nodes, queuedGpus: 0, busyGpus: 8, forecastUpperGpus: 24 });
    expect(d.park).toHaveLength(1);
    // Forecast rise to 40: reserve 40 > 32 available with one parked... wake one.
    const after = nodes.map((n) => (n.id === d.park[0] ? node(n.id, { state: 'parked', sinceMs: MIN, freeGpus: 0 }) : n));
    const w = p.decide({ nowMs: 2 * MIN, nodes: after, queuedGpus: 0, busyGpus: 8, forecastUpperGpus: 40 });
    expect(w.wake).toEqual(d.park);
    expect(w.park).toEqual([]);
    // Never goes below the reserve.
    for (const upper of [8, 16, 24, 32, 40]) {
      const q = unidleParkingPolicy({ marginGpus: 8, minEmptyMs: 0, maxCyclesPerDay: 10 });
      const r = q.decide({ nowMs: MIN, nodes, queuedGpus: 0, busyGpus: 8, forecastUpperGpus: upper });
      expect(32 - 8 * r.park.length).toBeGreaterThanOrEqual(Math.min(32, upper - 8 + 8));
      if (upper - 8 + 8 > 32) expect(r.park).toEqual([]);
    }
  });

  it('unidle wakes for queued work even when scattered GPUs are free, and keeps whole empty nodes', () => {
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 10, minEmptyNodes: 1 });
    const half = (id: string) => node(id, { empty: false, emptySinceMs: null, freeGpus: 4 });
    const parked = node('p', { state: 'parked', sinceMs: 0, freeGpus: 0 });
    // 8 GPUs free in two halves, an 8-GPU job queued: wake.
    expect(p.decide({ nowMs: MIN, nodes: [half('a'), half('b'), parked], queuedGpus: 8, busyGpus: 8 }).wake).toEqual(['p']);
    // No queue, but no whole empty node awake: wake one to keep it warm.
    expect(p.decide({ nowMs: MIN, nodes: [half('a'), half('b'), parked], queuedGpus: 0, busyGpus: 8 }).wake).toEqual(['p']);
    // Two empty nodes: one parks, one stays.
    expect(p.decide({ nowMs: MIN, nodes: [half('a'), node('c'), node('d')], queuedGpus: 0, busyGpus: 4 }).park).toHaveLength(1);
  });

  it('unidle waits for the minimum empty time', () => {
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 20 * MIN, maxCyclesPerDay: 10 });
    const nodes = [node('a', { emptySinceMs: 5 * MIN })];
    expect(p.decide({ nowMs: 24 * MIN, nodes, queuedGpus: 0, busyGpus: 0 }).park).toEqual([]);
    expect(p.decide({ nowMs: 25 * MIN, nodes, queuedGpus: 0, busyGpus: 0 }).park).toEqual(['a']);
  });

  it('hysteresis bounds parks per node per calendar day and per rolling 24 h', () => {
    const HOUR = 60 * MIN;
    const bounce = (opts: { maxCyclesPerDay: number; maxCyclesPer24h?: number }, days: number) => {
      const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, ...opts });
      const at: number[] = [];
      // The node comes back empty every 10 minutes.
      for (let t = 0; t < days * 24 * 60; t += 10) {
        if (p.decide({ nowMs: t * MIN, nodes: [node('a', { emptySinceMs: t * MIN })], queuedGpus: 0, busyGpus: 0 }).park.length) at.push(t * MIN);
      }
      return at;
    };
    // Two per calendar day: the budget renews at midnight.
    expect(bounce({ maxCyclesPerDay: 2 }, 3)).toEqual([0, 10 * MIN, 24 * HOUR, 24 * HOUR + 10 * MIN, 48 * HOUR, 48 * HOUR + 10 * MIN]);
    // Two in any 24 h as well (a purely rolling budget): the same here, where parks are 24 h apart,
    // unlike parks late in one day and early in the next (next test).
    expect(bounce({ maxCyclesPerDay: 2, maxCyclesPer24h: 2 }, 2)).toEqual([0, 10 * MIN, 24 * HOUR, 24 * HOUR + 10 * MIN]);
    expect(() => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, maxCyclesPer24h: 1 })).toThrow(/maxCyclesPer24h \(1\) must be >= maxCyclesPerDay \(2\)/);
  });

  it('the rolling 24 h cap stops two days\' budgets piling up around midnight', () => {
    const HOUR = 60 * MIN;
    // Parked at 23:00 and 23:30: one more park just after midnight (3 in 24 h), not a second.
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, history: new Map([['a', [23 * HOUR, 23.5 * HOUR]]]) });
    expect(p.parksLeft!('a', 23.9 * HOUR)).toBe(0);
    expect(p.parksLeft!('a', 24 * HOUR + 10 * MIN)).toBe(1);
    expect(p.decide({ nowMs: 24 * HOUR + 10 * MIN, nodes: [node('a', { emptySinceMs: 24 * HOUR })], queuedGpus: 0, busyGpus: 0 }).park).toEqual(['a']);
    expect(p.parksLeft!('a', 24 * HOUR + 20 * MIN)).toBe(0);
    // Both of yesterday's parks are 24 h old at 23:30: the day's second park is allowed again.
    expect(p.parksLeft!('a', 47.5 * HOUR)).toBe(1);
  });

  it('the calendar day is the node\'s local day', () => {
    const HOUR = 60 * MIN;
    // UTC+8: local midnight is 16:00 UTC. Two parks at 15:00 and 15:30 UTC spend the local day.
    const history = new Map([['a', [15 * HOUR, 15.5 * HOUR]]]);
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, history, utcOffsetMinutes: (id) => (id === 'a' ? 480 : 0) });
    expect(p.parksLeft!('a', 15.9 * HOUR)).toBe(0);
    expect(p.parksLeft!('a', 16 * HOUR)).toBe(1);
    // In UTC the same parks and times are one day.
    const utc = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, history });
    expect(utc.parksLeft!('a', 16 * HOUR)).toBe(0);
  });

  it('unidle keeps a node whose budget is spent awake as the warm empty node and parks one that can', () => {
    const HOUR = 60 * MIN;
    const now = 30 * HOUR; // 06:00 on day 1
    // a has been empty longest but was parked twice today; b has its budget.
    const history = new Map([['a', [now - 5 * HOUR, now - 2 * HOUR]]]);
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, minEmptyNodes: 1, history });
    const nodes = [busy('x'), node('a', { emptySinceMs: 0 }), node('b', { emptySinceMs: 5 * MIN })];
    const d = p.decide({ nowMs: now, nodes, queuedGpus: 0, busyGpus: 8 });
    expect(d.park).toEqual(['b']);
    expect(p.parksLeft!('a', now)).toBe(0);
    expect(p.parksLeft!('b', now)).toBe(1);
    // At midnight a may park again (its two parks are within 24 h, so once: the rolling cap of 3).
    expect(p.parksLeft!('a', 48 * HOUR - 1)).toBe(0);
    expect(p.parksLeft!('a', 48 * HOUR)).toBe(1);
  });

  it('unidle spends a node\'s last park of the day only after lastParkMinEmptyMs', () => {
    const history = new Map([['a', [0]]]);
    const p = unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 5 * MIN, maxCyclesPerDay: 2, lastParkMinEmptyMs: 20 * MIN, history });
    const nodes = [node('a', { emptySinceMs: 60 * MIN }), node('b', { emptySinceMs: 60 * MIN })];
    // b has two parks left and goes after 5 minutes; a has one left and waits 20.
    expect(p.decide({ nowMs: 65 * MIN, nodes, queuedGpus: 0, busyGpus: 0 }).park).toEqual(['b']);
    expect(p.decide({ nowMs: 79 * MIN, nodes: [nodes[0]!], queuedGpus: 0, busyGpus: 0 }).park).toEqual([]);
    expect(p.decide({ nowMs: 80 * MIN, nodes: [nodes[0]!], queuedGpus: 0, busyGpus: 0 }).park).toEqual(['a']);
    // The live control plane sets its own minimum empty time and gets it for every park, the last included.
    // (Its defaults keep one empty node awake: c, empty too recently to park.)
    const live = createParkingPolicy('unidle', { unidle: { marginGpus: 0, minEmptyMs: 10 * MIN, maxCyclesPerDay: 2, history } });
    const withC = [nodes[0]!, node('c', { emptySinceMs: 65 * MIN })];
    expect(live.decide({ nowMs: 69 * MIN, nodes: withC, queuedGpus: 0, busyGpus: 0 }).park).toEqual([]);
    expect(live.decide({ nowMs: 70 * MIN, nodes: withC, queuedGpus: 0, busyGpus: 0 }).park).toEqual(['a']);
    // With the defaults, the last park waits 60 minutes.
    const defaults = createParkingPolicy('unidle', { unidle: { history } });
    const withD = [nodes[0]!, node('d', { emptySinceMs: 116 * MIN })];
    expect(defaults.decide({ nowMs: 119 * MIN, nodes: withD, queuedGpus: 0, busyGpus: 0 }).park).toEqual([]);
    expect(defaults.decide({ nowMs: 120 * MIN, nodes: withD, queuedGpus: 0, busyGpus: 0 }).park).toEqual(['a']);
  });

  it('unidle wakes the parked nodes with the most parks left first, then those whose budget returns soonest', () => {
    const HOUR = 60 * MIN;
    const now = 30 * HOUR; // 06:00 on day 1
    const parked = (id: string, sinceMs: number) => node(id, { state: 'parked', sinceMs, freeGpus: 0, empty: true, emptySinceMs: null });
    const history = new Map([
      ['spent-old', [now - 5 * HOUR, now - 3 * HOUR]],
      ['spent-new', [now - 4 * HOUR, now - 2 * HOUR]],
      ['one', [now - HOUR]],
      ['fresh', [now - 30 * HOUR]],
    ]);
    const nodes = [parked('spent-new', now - 2 * HOUR), parked('spent-old', now - 3 * HOUR), parked('one', now - HOUR), parked('fresh', now - 30 * HOUR)];
    const wake = (gpus: number) => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, history }).decide({ nowMs: now, nodes, queuedGpus: gpus, busyGpus: 0 }).wake;
    expect(wake(8)).toEqual(['fresh']);
    expect(wake(16)).toEqual(['fresh', 'one']);
    expect(wake(32)).toEqual(['fresh', 'one', 'spent-old', 'spent-new']);
  });

  it('queued work wakes only parked nodes of a model it accepts; work no node can run wakes nothing', () => {
    const now = 100 * MIN;
    const parked = (id: string, model: string, sinceMs: number) => node(id, { state: 'parked', sinceMs, freeGpus: 0, emptySinceMs: null, model });
    const nodes = [{ ...busy('x'), model: 'H100' }, parked('a100', 'A100', 0), parked('h100', 'H100', 10 * MIN), parked('h100-2', 'H100', 20 * MIN)];
    const input = (queued: { gpus: number; models: string[] }[]): ParkingInput => ({
      nowMs: now,
      nodes,
      queuedGpus: queued.reduce((a, q) => a + q.gpus, 0),
      queued,
      busyGpus: 8,
    });
    const timer = idleTimerPolicy({ idleMs: 30 * MIN });
    const unidle = () => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2 });
    for (const p of [timer, unidle()]) {
      // The A100 node has been parked longest, but the work wants an H100.
      expect(p.decide(input([{ gpus: 8, models: ['H100'] }])).wake).toEqual(['h100']);
      expect(p.decide(input([{ gpus: 16, models: ['H100'] }])).wake).toEqual(['h100', 'h100-2']);
      expect(p.decide(input([{ gpus: 8, models: ['H100'] }, { gpus: 4, models: ['A100'] }])).wake.sort()).toEqual(['a100', 'h100']);
      // Any model: the usual order.
      expect(p.decide(input([{ gpus: 8, models: [] }])).wake).toEqual(['a100']);
      // A model the fleet does not have: no wake.
      expect(p.decide(input([{ gpus: 8, models: ['MI300X'] }])).wake).toEqual([]);
    }
    // A waking H100 node already covers the H100 work.
    const withWaking = [...nodes, node('h100-w', { state: 'waking', sinceMs: now - MIN, freeGpus: 0, emptySinceMs: null, model: 'H100' })];
    expect(timer.decide({ ...input([{ gpus: 8, models: ['H100'] }]), nodes: withWaking }).wake).toEqual([]);
    // Work for a model nobody has does not hold parking back.
    const idle = [{ ...busy('x'), model: 'H100' }, node('e', { emptySinceMs: 0, model: 'H100' }), node('f', { emptySinceMs: 0, model: 'H100' })];
    expect(timer.decide({ nowMs: now, nodes: idle, queuedGpus: 8, queued: [{ gpus: 8, models: ['MI300X'] }], busyGpus: 8 }).park).toEqual(['e', 'f']);
    expect(unidle().decide({ nowMs: now, nodes: idle, queuedGpus: 8, queued: [{ gpus: 8, models: ['MI300X'] }], busyGpus: 8 }).park).toEqual(['e', 'f']);
  });

  it('work no set of nodes could hold, even all empty and awake, neither wakes nodes nor holds parking back', () => {
    const now = 100 * MIN;
    const parked = (id: string) => node(id, { state: 'parked', sinceMs: 0, freeGpus: 0, emptySinceMs: null, model: 'H100' });
    const idle = (id: string) => node(id, { emptySinceMs: 0, model: 'H100' });
    const timer = idleTimerPolicy({ idleMs: 30 * MIN });
    const unidle = () => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2 });
    const withQueue = (nodes: ParkingNodeView[], queued: ParkingInput['queued'] & object): ParkingInput => ({
      nowMs: now,
      nodes,
      queuedGpus: queued.reduce((a, q) => a + q.gpus, 0),
      queued,
      busyGpus: 8,
    });
    for (const p of [timer, unidle()]) {
      // 16 GPUs on one node: no 8-GPU node can ever hold it.
      expect(p.decide(withQueue([busy('x'), parked('p')], [{ gpus: 16, models: ['H100'], perNodeGpus: 16, nodes: 1 }])).wake).toEqual([]);
      // A 3-node gang on a fleet of 2 nodes: the same.
      expect(p.decide(withQueue([busy('x'), parked('p')], [{ gpus: 24, models: [], perNodeGpus: 8, nodes: 3 }])).wake).toEqual([]);
      // A 2-node gang the fleet can hold (x busy now, p parked) wakes p.
      expect(p.decide(withQueue([busy('x'), parked('p')], [{ gpus: 16, models: [], perNodeGpus: 8, nodes: 2 }])).wake).toEqual(['p']);
    }
    // The empty nodes park as if the impossible work were not queued.
    const nodes = [{ ...busy('x'), model: 'H100' }, idle('e'), idle('f')];
    expect(timer.decide(withQueue(nodes, [{ gpus: 16, models: ['H100'], perNodeGpus: 16, nodes: 1 }])).park).toEqual(['e', 'f']);
    expect(unidle().decide(withQueue(nodes, [{ gpus: 16, models: ['H100'], perNodeGpus: 16, nodes: 1 }])).park).toEqual(['e', 'f']);
    // While possible work of the same size in GPUs holds them.
    expect(timer.decide(withQueue(nodes, [{ gpus: 16, models: ['H100'], perNodeGpus: 8, nodes: 2 }])).park).toEqual([]);
  });

  it('unidle keeps each pool its own forecast rise when forecasts are per pool', () => {
    const now = 100 * MIN;
    const unidle = () => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2 });
    const h = (id: string, over: Partial<ParkingNodeView> = {}) => node(id, { model: 'H100', pool: 'c1/H100', ...over });
    const a = (id: string, over: Partial<ParkingNodeView> = {}) => node(id, { model: 'A100', pool: 'c1/A100', ...over });
    const busyNode = { empty: false, emptySinceMs: null, freeGpus: 0 };
    const parked = { state: 'parked' as const, sinceMs: 0, freeGpus: 0, emptySinceMs: null };
    // H100 demand is forecast to rise by 8 GPUs within the wake latency; A100 demand is flat.
    const poolForecasts = [
      { pool: 'c1/H100', busyGpus: 8, upperGpus: 16 },
      { pool: 'c1/A100', busyGpus: 8, upperGpus: 8 },
    ];
    // Parking: h2 has been empty longest, but it is the H100 pool's only free capacity for the rise.
    const nodes = [h('h1', busyNode), h('h2', { emptySinceMs: 0 }), a('a1', busyNode), a('a2', { emptySinceMs: MIN }), a('a3', { emptySinceMs: MIN })];
    const input: ParkingInput = { nowMs: now, nodes, queuedGpus: 0, busyGpus: 16, poolForecasts };
    expect(unidle().decide(input).park).toEqual(['a2', 'a3']);
    // One fleet-wide forecast of the same total (16 busy, 24 upper) parks the H100 node instead.
    const { poolForecasts: _, ...fleetWide } = input;
    expect(unidle().decide({ ...fleetWide, forecastUpperGpus: 24 }).park).toEqual(['h2', 'a2']);
    // Waking: the fleet has 16 free A100 GPUs, more than the 8 of the rise, but none of them are
    // H100s, so a parked H100 node wakes; a fleet-wide forecast would wake nothing.
    const short = [h('h1', busyNode), h('h3', parked), h('h4', { ...parked, sinceMs: MIN }), a('a1', busyNode), a('a2', { emptySinceMs: MIN }), a('a3', { emptySinceMs: MIN })];
    expect(unidle().decide({ nowMs: now, nodes: short, queuedGpus: 0, busyGpus: 16, poolForecasts }).wake).toEqual(['h3']);
    expect(unidle().decide({ nowMs: now, nodes: short, queuedGpus: 0, busyGpus: 16, forecastUpperGpus: 24 }).wake).toEqual([]);
    // A waking H100 node covers the rise: nothing more wakes, and nothing parks below the rise.
    const covered = short.map((n) => (n.id === 'h3' ? { ...n, state: 'waking' as const, sinceMs: now - MIN } : n));
    expect(unidle().decide({ nowMs: now, nodes: covered, queuedGpus: 0, busyGpus: 16, poolForecasts })).toEqual({ park: ['a2', 'a3'], wake: [] });
  });

  it('unidle keeps its empty nodes per pool (center and model), and wakes one in the pool that has none', () => {
    const now = 100 * MIN;
    const p = () => unidleParkingPolicy({ marginGpus: 0, minEmptyMs: 0, maxCyclesPerDay: 2, minEmptyNodes: 1 });
    const h = (id: string) => node(id, { emptySinceMs: 0, model: 'H100', pool: 'c1/H100' });
    const a = (id: string, over: Partial<ParkingNodeView> = {}) => node(id, { emptySinceMs: 0, model: 'A100', pool: 'c1/A100', ...over });
    // Two empty H100 nodes and one empty A100 node: one H100 node parks, the A100 node is its pool's warm node.
    expect(p().decide({ nowMs: now, nodes: [h('h1'), h('h2'), a('a1')], queuedGpus: 0, busyGpus: 0 }).park).toEqual(['h1']);
    // The A100 pool has no empty node awake: its parked node is woken, not the H100 one parked longer.
    const parked = (over: Partial<ParkingNodeView>) => ({ state: 'parked' as const, freeGpus: 0, emptySinceMs: null, ...over });
    const nodes = [h('h1'), node('h2', { model: 'H100', pool: 'c1/H100', ...parked({ sinceMs: 0 }) }), a('a1', { empty: false, emptySinceMs: null, freeGpus: 0 }), a('a2', parked({ sinceMs: 50 * MIN }))];
    expect(p().decide({ nowMs: now, nodes, queuedGpus: 0, busyGpus: 8 }).wake).toEqual(['a2']);
  });

  it('simulated driver wakes after wakeMs', () => {
    const d = simulatedPowerDriver({ wakeMs: 10 * MIN });
    d.park('a', 0);
    expect(d.state('a', 1).state).toBe('parked');
    d.wake('a', 5 * MIN);
    expect(d.state('a', 14 * MIN).state).toBe('waking');
    expect(d.state('a', 15 * MIN)).toEqual({ state: 'on', sinceMs: 15 * MIN });
    expect(() => d.wake('a', 16 * MIN)).toThrow(/it is on/);
  });
});
