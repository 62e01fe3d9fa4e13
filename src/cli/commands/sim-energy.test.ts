import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-io.js';

/** Three weeks of made-up 10-minute buckets (a daily wave), in the Helios file layout. */
function throughputCsv(): string {
  const lines = ['time,submit_job_all,start_job_all,end_job_all,submit_gpu_job,start_gpu_job,end_gpu_job,submit_gpu_num,start_gpu_num,end_gpu_num'];
  const start = Date.UTC(2020, 3, 1);
  for (let i = 0; i < 3 * 1008; i++) {
    const t = new Date(start + i * 600_000).toISOString().replace('T', ' ').slice(0, 19);
    const hour = (i / 6) % 24;
    const jobs = hour >= 9 && hour < 19 ? 2 + (i % 3) : i % 4 === 0 ? 1 : 0;
    const gpus = jobs === 0 ? 0 : jobs + (i % 5);
    lines.push(`${t},${jobs},${jobs},${jobs},${jobs},${jobs},${jobs},${gpus},${gpus},${gpus}`);
  }
  return lines.join('\n') + '\n';
}

const SUMMARY = 'id,gpu_num,complete_gpu_time,cancel_gpu_time,fail_gpu_time\nVenus,64,4000000,0,0\n';

describe('unidle sim energy', () => {
  let dir: string;
  let helios: string;
  let philly: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'unidle-energy-'));
    helios = join(dir, 'helios');
    mkdirSync(helios);
    writeFileSync(join(helios, 'venus_cluster_throughput_10min.csv'), throughputCsv());
    writeFileSync(join(helios, 'helios_cluster_summary.csv'), SUMMARY);
    philly = join(dir, 'runtimes.csv');
    writeFileSync(philly, 'runtime\n' + Array.from({ length: 200 }, (_, i) => 60 + i * 30).join('\n') + '\n');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ['sim', 'energy', '--helios', helios, '--philly', philly, '--nodes', '8', '--gpus-per-node', '8'];

  it('prints the JSON the issue asks for and writes the chart', async () => {
    const out = join(dir, 'out');
    const r = await runCli([...base(), '--json', '--out', out, '--week', '1'], env);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const j = r.json<{ policies: Record<string, unknown>[]; synthesis: { jobs: number; offeredMeanBusyGpus: number; targetMeanBusyGpus: number; method: string } }>();
    expect(j.policies.map((p) => p.name)).toEqual(['always-on', 'idle-timer', 'unidle']);
    for (const p of j.policies) {
      for (const k of ['energyKWh', 'idleEnergySavedPct', 'delayedDemandPct', 'meanDelayMin', 'powerCyclesPerNodeDay']) expect(typeof p[k]).toBe('number');
    }
    expect(j.policies[0]!.idleEnergySavedPct).toBe(0);
    expect(j.policies[1]!.idleEnergySavedPct as number).toBeGreaterThan(0);
    expect(j.synthesis.offeredMeanBusyGpus).toBeCloseTo(j.synthesis.targetMeanBusyGpus, 0);
    expect(j.synthesis.method).toMatch(/Philly/);
    expect(readFileSync(join(out, 'awake-vs-demand.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(join(out, 'energy.json'))).toBe(true);
  });

  it('prints a table for people', async () => {
    const r = await runCli([...base(), '--policies', 'always-on,unidle'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/POLICY\s+PLACEMENT\s+ENERGY kWh/);
    expect(r.stdout).toMatch(/unidle\s+unidle\+consolidate/);
  });

  it('rejects bad flags with exit 2 and names the fix', async () => {
    const bad = async (extra: string[], pattern: RegExp) => {
      const r = await runCli([...base(), ...extra], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
    };
    await bad(['--nodes', 'x'], /--nodes must be a whole number/);
    await bad(['--max-cycles', '0'], /--max-cycles must be a whole number from 1/);
    await bad(['--wake-minutes', '-1'], /--wake-minutes must be a whole number/);
    await bad(['--policies', 'always-on,magic'], /unknown parking policy "magic".*known: always-on, idle-timer, unidle/);
    await bad(['--week', '9', '--out', join(dir, 'w')], /--week 9: the trace has 3 whole weeks/);
    await bad(['--gpu-model', 'V100'], /--gpu-model: unknown model "V100"/);
  });

  it('says clearly when trace files are missing', async () => {
    let r = await runCli(['sim', 'energy', '--helios', join(dir, 'nope')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--helios: no such folder/);
    r = await runCli(['sim', 'energy', '--helios', helios], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--philly: no such file: .*philly_runtime_from_pai_analysis.csv/);
    r = await runCli(['sim', 'energy', '--helios', dir, '--philly', philly], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Helios trace file not found/);
  });
});

const REAL = resolve(process.cwd(), '../shared/traces/helios');
const REAL_PHILLY = resolve(process.cwd(), '../shared/traces/pai2020/philly_runtime_from_pai_analysis.csv');

describe.skipIf(!existsSync(REAL) || !existsSync(REAL_PHILLY))('unidle sim energy on the real Venus trace', () => {
  // About 15-25 s each: seed 1 with all three policies, seed 2 (the seed where unidle's margin over
  // the timer is smallest) with the two compared (docs/energy.md gives seeds 1-7).
  it.each([
    ['1', 'always-on,idle-timer,unidle'],
    ['2', 'idle-timer,unidle'],
  ])('meets the issue targets on seed %s and beats the 30-minute idle timer', async (seed, policies) => {
    const r = await runCli(['sim', 'energy', '--helios', REAL, '--philly', REAL_PHILLY, '--seed', seed, '--policies', policies, '--json'], {});
    expect(r.code).toBe(0);
    type Row = { name: string; idleEnergySavedPct: number; delayedDemandPct: number; powerCyclesPerNodeDay: number; maxCyclesPerNodeDay: number; maxCyclesPerNode24h: number };
    const j = r.json<{ policies: Row[]; synthesis: { jobs: number } }>();
    expect(j.synthesis.jobs).toBeGreaterThan(100_000);
    const timer = j.policies.find((p) => p.name === 'idle-timer')!;
    const unidle = j.policies.find((p) => p.name === 'unidle')!;
    expect(unidle.idleEnergySavedPct).toBeGreaterThanOrEqual(60);
    expect(unidle.delayedDemandPct).toBeLessThan(1);
    // At most 2 power cycles per node per day: on average, and for every node on every calendar day.
    expect(unidle.powerCyclesPerNodeDay).toBeLessThanOrEqual(2);
    expect(unidle.maxCyclesPerNodeDay).toBeLessThanOrEqual(2);
    expect(unidle.maxCyclesPerNode24h).toBeLessThanOrEqual(3);
    expect(unidle.delayedDemandPct).toBeLessThan(timer.delayedDemandPct);
    expect(unidle.idleEnergySavedPct).toBeGreaterThanOrEqual(timer.idleEnergySavedPct);
  }, 180_000);
});
