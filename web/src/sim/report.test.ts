import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { energyJson } from '../../../src/cli/commands/sim-energy.js';
import type { EnergyExperiment } from '../../../src/sim/energy/experiment.js';
import { runOpenbExperiment, toJsonText } from '../../../src/sim/openb/experiment.js';
import { parseSimReport, type Problem } from './report.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/e2e/fixtures/${name}`, import.meta.url), 'utf8');
const problems = (text: string): Problem[] => {
  const r = parseSimReport(text);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
};

describe('reading simulator reports in the console', () => {
  it('reads what `unidle sim openb --json` prints (the placement simulator, run here on a tiny cluster)', () => {
    const nodes = [
      { name: 'n1', cpuMilli: 64_000, memoryMib: 262_144, gpus: 8, model: 'V100M32' },
      { name: 'n2', cpuMilli: 64_000, memoryMib: 262_144, gpus: 4, model: 'T4' },
    ];
    const pods = Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, cpuMilli: 2000, memoryMib: 4096, gpuCount: i % 5 === 0 ? 2 : 1, milliPerGpu: i % 3 === 0 ? 500 : 1000, models: [] }));
    const text = toJsonText(runOpenbExperiment({ nodes, pods, policies: ['best-fit', 'fgd'], seeds: [1, 2], now: () => 0 }));
    const r = parseSimReport(text);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok || r.report.kind !== 'openb') return;
    expect(r.report.gpus).toBe(12);
    expect(r.report.summary.map((s) => s.policy)).toEqual(['best-fit', 'fgd']);
    expect(r.report.runs).toHaveLength(4);
    expect(r.report.seeds).toEqual([1, 2]);
  });

  it('reads what `unidle sim energy --json` prints', () => {
    const experiment = {
      policies: [
        { name: 'always-on', placement: 'unidle', energyKWh: 1000.04, idleEnergySavedPct: -0.0, delayedDemandPct: 0, meanDelayMin: 0, powerCyclesPerNodeDay: 0, idleEnergyKWh: 300, delayedJobs: 0, meanAwakeNodes: 4, meanBusyGpus: 20, queueWaitPct: 1, meanQueueWaitMin: 2, wallMs: 5 },
        // Real replays queue far longer than jobs run: 548 % of demanded GPU-minutes waiting (seed 1).
        { name: 'unidle', placement: 'unidle', energyKWh: 800, idleEnergySavedPct: 60.5, delayedDemandPct: 0.263, meanDelayMin: 0.1, powerCyclesPerNodeDay: 0.39, maxCyclesPerNodeDay: 2, maxCyclesPerNode24h: 3, idleEnergyKWh: 120, delayedJobs: 3, meanAwakeNodes: 3, meanBusyGpus: 20, queueWaitPct: 548.55, meanQueueWaitMin: 95, wallMs: 5 },
      ],
      synthesis: { cluster: 'Venus', jobs: 125219, simulatedGpus: 1024, seed: 1, calibrationFactor: 1.5 },
      power: { gpuModel: 'H100', idleWatts: 69.9, busyWatts: 700, pue: 1.3, parkedWatts: 0, wakeMinutes: 10 },
      settings: {},
      runs: [],
    } as unknown as EnergyExperiment;
    const r = parseSimReport(energyJson(experiment, 8));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok || r.report.kind !== 'energy') return;
    expect(r.report.policies.map((p) => [p.name, p.idleEnergySavedPct])).toEqual([['always-on', 0], ['unidle', 60.5]]);
    expect(r.report.policies[1]).toMatchObject({ queueWaitPct: 548.55, maxCyclesPerNodeDay: 2, maxCyclesPerNode24h: 3 });
    expect(r.report.policies[0]).toMatchObject({ maxCyclesPerNodeDay: null, maxCyclesPerNode24h: null });
    expect(r.report).toMatchObject({ cluster: 'Venus', jobs: 125219, simulatedGpus: 1024, power: { gpuModel: 'H100', pue: 1.3 } });
  });

  it('reads the end-to-end fixtures', () => {
    for (const name of ['sim-openb.json', 'sim-energy.json']) expect(parseSimReport(fixture(name)).ok, name).toBe(true);
  });

  it('says what is wrong with a bad file, field by field', () => {
    expect(problems('')).toEqual([{ code: 'empty', path: '' }]);
    expect(problems('{"policies": [')[0]).toMatchObject({ code: 'notJson', detail: expect.any(String) });
    expect(problems('[1, 2]')).toEqual([{ code: 'notObject', path: '', found: 'an array' }]);
    expect(problems('{"jobs": 3, "nodes": []}')).toEqual([{ code: 'unknownShape', path: '', found: 'jobs, nodes' }]);
    expect(problems('{"policies": []}')).toEqual([{ code: 'emptyArray', path: 'policies' }]);
    expect(problems(fixture('sim-bad.json'))).toEqual([
      { code: 'notNumber', path: 'policies[1].energyKWh', found: '"lots"' },
      { code: 'missing', path: 'policies[1].powerCyclesPerNodeDay' },
    ]);
    const openb = JSON.parse(fixture('sim-openb.json')) as { runs: { seed: unknown; policy: string }[]; summary: { allocPctAt: Record<string, unknown> }[]; gpus: unknown };
    openb.runs[0]!.seed = 4.5;
    openb.runs[1]!.policy = 'nope';
    openb.summary[0]!.allocPctAt['90'] = 130;
    openb.gpus = 0;
    expect(problems(JSON.stringify(openb))).toEqual([
      { code: 'outOfRange', path: 'gpus', found: '0', detail: '1…∞' },
      { code: 'outOfRange', path: 'summary[0].allocPctAt.90', found: '130', detail: '0…100' },
      { code: 'notInteger', path: 'runs[0].seed', found: '4.5' },
      { code: 'unknownPolicy', path: 'runs[1].policy', found: '"nope"' },
    ]);
    // Two policies with one name, and at most a dozen problems for a file full of them.
    expect(problems(JSON.stringify({ policies: [{ name: 'a', energyKWh: 1, idleEnergySavedPct: 0, delayedDemandPct: 0, meanDelayMin: 0, powerCyclesPerNodeDay: 0 }, { name: 'a', energyKWh: 1, idleEnergySavedPct: 0, delayedDemandPct: 0, meanDelayMin: 0, powerCyclesPerNodeDay: 0 }] }))).toEqual([
      { code: 'duplicate', path: 'policies[1].name', found: '"a"' },
    ]);
    expect(problems(JSON.stringify({ policies: Array.from({ length: 20 }, () => ({})) }))).toHaveLength(12);
  });
});
