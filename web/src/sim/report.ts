/**
 * Reading a JSON file written by `unidle sim energy --json` (or its `--out` energy.json) or
 * `unidle sim openb --json` (or its `--out` summary.json) in the browser. Pure: no DOM, no I18n; a
 * problem is a code with a JSON path and values, which the page translates.
 */

export interface EnergyPolicy {
  name: string;
  energyKWh: number;
  idleEnergySavedPct: number;
  delayedDemandPct: number;
  meanDelayMin: number;
  powerCyclesPerNodeDay: number;
  placement: string | null;
  idleEnergyKWh: number | null;
  delayedJobs: number | null;
  queueWaitPct: number | null;
  meanQueueWaitMin: number | null;
  meanAwakeNodes: number | null;
  meanBusyGpus: number | null;
  /** Most parks of one node on one calendar day, and in any 24 h (files from before 2026-11-29 lack them). */
  maxCyclesPerNodeDay: number | null;
  maxCyclesPerNode24h: number | null;
}

export interface EnergyReport {
  kind: 'energy';
  policies: EnergyPolicy[];
  /** From `synthesis` and `power` when present; each field may be missing from older files. */
  cluster: string | null;
  jobs: number | null;
  simulatedGpus: number | null;
  seed: number | null;
  power: { gpuModel: string; idleWatts: number; busyWatts: number; pue: number; wakeMinutes: number } | null;
}

export interface AllocPctAt {
  '90': number | null;
  '100': number | null;
  '130': number | null;
}
export interface MeanSd {
  mean: number | null;
  sd: number | null;
}

export interface OpenbSummary {
  policy: string;
  unallocatedPctAt100: MeanSd;
  allocPctAt: AllocPctAt;
  publishedMethodUnallocatedPctAt100: MeanSd | null;
  placements: number;
  failures: number;
  wallMs: number;
}

export interface OpenbRun {
  policy: string;
  seed: number;
  unallocatedPctAt100: number | null;
  allocPctAt: AllocPctAt;
  placements: number;
  arrivals: number;
  failures: number;
  wallMs: number;
}

export interface OpenbReport {
  kind: 'openb';
  gpus: number;
  nodes: number;
  pods: number;
  inflate: number;
  seeds: number[];
  summary: OpenbSummary[];
  runs: OpenbRun[];
}

export type SimReport = EnergyReport | OpenbReport;

export type ProblemCode =
  | 'empty'
  | 'tooLarge'
  | 'notJson'
  | 'notObject'
  | 'unknownShape'
  | 'missing'
  | 'notNumber'
  | 'notInteger'
  | 'notString'
  | 'notArray'
  | 'emptyArray'
  | 'outOfRange'
  | 'duplicate'
  | 'unknownPolicy';

export interface Problem {
  code: ProblemCode;
  /** Where in the file, e.g. `policies[2].energyKWh`; empty for the whole file. */
  path: string;
  /** Values for the message: what was found, the allowed range, the parser's own words. */
  found?: string;
  detail?: string;
}

export type ParseResult = { ok: true; report: SimReport } | { ok: false; problems: Problem[] };

export const MAX_BYTES = 20 * 1024 * 1024;
const MAX_PROBLEMS = 12;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A short description of a JSON value for messages: `"abc"`, `null`, `an array`, `an object`. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

class Checker {
  problems: Problem[] = [];
  add(p: Problem): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
  }
  number(o: Obj, key: string, path: string, opts: { min?: number; max?: number; integer?: boolean; nullable?: boolean; optional?: boolean } = {}): number | null {
    const p = path ? `${path}.${key}` : key;
    const v = o[key];
    if (v === undefined) {
      if (!opts.optional) this.add({ code: 'missing', path: p });
      return null;
    }
    if (v === null && (opts.nullable || opts.optional)) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.add({ code: 'notNumber', path: p, found: describe(v) });
      return null;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.add({ code: 'notInteger', path: p, found: describe(v) });
      return null;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.add({ code: 'outOfRange', path: p, found: describe(v), detail: `${opts.min ?? '−∞'}…${opts.max ?? '∞'}` });
      return null;
    }
    return v;
  }
  string(o: Obj, key: string, path: string, opts: { optional?: boolean } = {}): string | null {
    const p = path ? `${path}.${key}` : key;
    const v = o[key];
    if (v === undefined || (v === null && opts.optional)) {
      if (!opts.optional) this.add({ code: 'missing', path: p });
      return null;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.add({ code: 'notString', path: p, found: describe(v) });
      return null;
    }
    return v;
  }
  array(o: Obj, key: string, path = ''): Json[] | null {
    const p = path ? `${path}.${key}` : key;
    const v = o[key];
    if (v === undefined) {
      this.add({ code: 'missing', path: p });
      return null;
    }
    if (!Array.isArray(v)) {
      this.add({ code: 'notArray', path: p, found: describe(v) });
      return null;
    }
    if (v.length === 0) {
      this.add({ code: 'emptyArray', path: p });
      return null;
    }
    return v;
  }
  object(v: unknown, path: string): Obj | null {
    if (!isObj(v)) {
      this.add(v === undefined ? { code: 'missing', path } : { code: 'notObject', path, found: describe(v) });
      return null;
    }
    return v;
  }
}

/** Parses and checks a file's text; every problem found (up to a dozen) is reported, not just the first. */
export function parseSimReport(text: string): ParseResult {
  if (text.trim() === '') return { ok: false, problems: [{ code: 'empty', path: '' }] };
  if (text.length > MAX_BYTES) return { ok: false, problems: [{ code: 'tooLarge', path: '', found: String(text.length) }] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [{ code: 'notJson', path: '', detail: (err as Error).message }] };
  }
  if (!isObj(value)) return { ok: false, problems: [{ code: 'notObject', path: '', found: describe(value) }] };
  if ('policies' in value) return finish(parseEnergy(value));
  if ('summary' in value || 'runs' in value) return finish(parseOpenb(value));
  return { ok: false, problems: [{ code: 'unknownShape', path: '', found: Object.keys(value).slice(0, 8).join(', ') || '{}' }] };
}

function finish([report, c]: [SimReport | null, Checker]): ParseResult {
  return c.problems.length > 0 || !report ? { ok: false, problems: c.problems } : { ok: true, report };
}

function parseEnergy(o: Obj): [EnergyReport | null, Checker] {
  const c = new Checker();
  const list = c.array(o, 'policies');
  const policies: EnergyPolicy[] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((item, i) => {
    const path = `policies[${i}]`;
    const p = c.object(item, path);
    if (!p) return;
    const name = c.string(p, 'name', path);
    if (name !== null) {
      if (seen.has(name)) c.add({ code: 'duplicate', path: `${path}.name`, found: describe(name) });
      seen.add(name);
    }
    const energyKWh = c.number(p, 'energyKWh', path, { min: 0 });
    const idleEnergySavedPct = c.number(p, 'idleEnergySavedPct', path, { min: -100, max: 100 });
    const delayedDemandPct = c.number(p, 'delayedDemandPct', path, { min: 0, max: 100 });
    const meanDelayMin = c.number(p, 'meanDelayMin', path, { min: 0 });
    const powerCyclesPerNodeDay = c.number(p, 'powerCyclesPerNodeDay', path, { min: 0 });
    const opt = (key: string, opts: { min?: number; max?: number; integer?: boolean } = {}) => c.number(p, key, path, { optional: true, ...opts });
    const placement = c.string(p, 'placement', path, { optional: true });
    const rest = {
      idleEnergyKWh: opt('idleEnergyKWh', { min: 0 }),
      delayedJobs: opt('delayedJobs', { min: 0, integer: true }),
      // Waiting GPU-minutes as a share of demanded GPU-minutes: above 100 % when work waits longer than it runs.
      queueWaitPct: opt('queueWaitPct', { min: 0 }),
      meanQueueWaitMin: opt('meanQueueWaitMin', { min: 0 }),
      meanAwakeNodes: opt('meanAwakeNodes', { min: 0 }),
      meanBusyGpus: opt('meanBusyGpus', { min: 0 }),
      maxCyclesPerNodeDay: opt('maxCyclesPerNodeDay', { min: 0, integer: true }),
      maxCyclesPerNode24h: opt('maxCyclesPerNode24h', { min: 0, integer: true }),
    };
    if (name !== null && energyKWh !== null && idleEnergySavedPct !== null && delayedDemandPct !== null && meanDelayMin !== null && powerCyclesPerNodeDay !== null)
      policies.push({ name, energyKWh, idleEnergySavedPct, delayedDemandPct, meanDelayMin, powerCyclesPerNodeDay, placement, ...rest });
  });
  // Context: taken when well formed, skipped (not an error) when absent.
  const synthesis = isObj(o.synthesis) ? o.synthesis : null;
  const power = isObj(o.power) ? o.power : null;
  const num = (x: Obj | null, k: string) => (x && typeof x[k] === 'number' && Number.isFinite(x[k]) ? (x[k] as number) : null);
  const powerInfo =
    power && typeof power.gpuModel === 'string' && num(power, 'idleWatts') !== null && num(power, 'busyWatts') !== null && num(power, 'pue') !== null
      ? { gpuModel: power.gpuModel, idleWatts: num(power, 'idleWatts')!, busyWatts: num(power, 'busyWatts')!, pue: num(power, 'pue')!, wakeMinutes: num(power, 'wakeMinutes') ?? 0 }
      : null;
  const report: EnergyReport = {
    kind: 'energy',
    policies,
    cluster: synthesis && typeof synthesis.cluster === 'string' ? synthesis.cluster : null,
    jobs: num(synthesis, 'jobs'),
    simulatedGpus: num(synthesis, 'simulatedGpus'),
    seed: num(synthesis, 'seed'),
    power: powerInfo,
  };
  return [report, c];
}

function allocPct(c: Checker, o: Obj, path: string): AllocPctAt {
  const a = c.object(o.allocPctAt, `${path}.allocPctAt`);
  if (!a) return { '90': null, '100': null, '130': null };
  const p = `${path}.allocPctAt`;
  return {
    '90': c.number(a, '90', p, { nullable: true, min: 0, max: 100 }),
    '100': c.number(a, '100', p, { nullable: true, min: 0, max: 100 }),
    '130': c.number(a, '130', p, { nullable: true, min: 0, max: 100 }),
  };
}

function meanSd(c: Checker, v: unknown, path: string): MeanSd {
  const o = c.object(v, path);
  if (!o) return { mean: null, sd: null };
  return { mean: c.number(o, 'mean', path, { nullable: true, min: 0, max: 100 }), sd: c.number(o, 'sd', path, { nullable: true, min: 0 }) };
}

function parseOpenb(o: Obj): [OpenbReport | null, Checker] {
  const c = new Checker();
  const gpus = c.number(o, 'gpus', '', { integer: true, min: 1 });
  const nodes = c.number(o, 'nodes', '', { integer: true, min: 1 });
  const pods = c.number(o, 'pods', '', { integer: true, min: 1 });
  const inflate = c.number(o, 'inflate', '', { min: 0.000001, max: 10 });
  const seedList = c.array(o, 'seeds');
  const seeds: number[] = [];
  (seedList ?? []).forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s)) c.add({ code: 'notInteger', path: `seeds[${i}]`, found: describe(s) });
    else seeds.push(s);
  });
  const summary: OpenbSummary[] = [];
  const policies = new Set<string>();
  (c.array(o, 'summary') ?? []).forEach((item, i) => {
    const path = `summary[${i}]`;
    const s = c.object(item, path);
    if (!s) return;
    const policy = c.string(s, 'policy', path);
    if (policy !== null) {
      if (policies.has(policy)) c.add({ code: 'duplicate', path: `${path}.policy`, found: describe(policy) });
      policies.add(policy);
    }
    const row = {
      unallocatedPctAt100: meanSd(c, s.unallocatedPctAt100, `${path}.unallocatedPctAt100`),
      allocPctAt: allocPct(c, s, path),
      publishedMethodUnallocatedPctAt100: s.publishedMethodUnallocatedPctAt100 === undefined ? null : meanSd(c, s.publishedMethodUnallocatedPctAt100, `${path}.publishedMethodUnallocatedPctAt100`),
      placements: c.number(s, 'placements', path, { min: 0 }),
      failures: c.number(s, 'failures', path, { min: 0 }),
      wallMs: c.number(s, 'wallMs', path, { min: 0 }),
    };
    if (policy !== null && row.placements !== null && row.failures !== null && row.wallMs !== null) summary.push({ ...row, policy, placements: row.placements, failures: row.failures, wallMs: row.wallMs });
  });
  const runs: OpenbRun[] = [];
  (c.array(o, 'runs') ?? []).forEach((item, i) => {
    const path = `runs[${i}]`;
    const r = c.object(item, path);
    if (!r) return;
    const policy = c.string(r, 'policy', path);
    if (policy !== null && policies.size > 0 && !policies.has(policy)) c.add({ code: 'unknownPolicy', path: `${path}.policy`, found: describe(policy) });
    const seed = c.number(r, 'seed', path, { integer: true });
    const unallocatedPctAt100 = c.number(r, 'unallocatedPctAt100', path, { nullable: true, min: 0, max: 100 });
    const allocPctAt = allocPct(c, r, path);
    const placements = c.number(r, 'placements', path, { integer: true, min: 0 });
    const arrivals = c.number(r, 'arrivals', path, { integer: true, min: 0 });
    const failures = c.number(r, 'failures', path, { integer: true, min: 0 });
    const wallMs = c.number(r, 'wallMs', path, { min: 0 });
    if (policy !== null && seed !== null && placements !== null && arrivals !== null && failures !== null && wallMs !== null)
      runs.push({ policy, seed, unallocatedPctAt100, allocPctAt, placements, arrivals, failures, wallMs });
  });
  if (gpus === null || nodes === null || pods === null || inflate === null) return [null, c];
  return [{ kind: 'openb', gpus, nodes, pods, inflate, seeds, summary, runs }, c];
}
