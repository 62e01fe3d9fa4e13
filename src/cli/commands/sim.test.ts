import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-io.js';
import { TINY_NODES_CSV as NODES_CSV, tinyPodsCsv as podsCsv } from '../../test-support/openb-fixtures.js';
import { parseInflate, parsePolicies, parseSeeds } from './sim.js';

/** wallMs is the one field that depends on the machine. */
function withoutWallMs(json: string): string {
  return json.replace(/"wallMs": \d+/g, '"wallMs": 0');
}

describe('unidle sim openb', () => {
  let dir: string;
  let nodes: string;
  let pods: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'unidle-sim-'));
    nodes = join(dir, 'nodes.csv');
    pods = join(dir, 'pods.csv');
    writeFileSync(nodes, NODES_CSV);
    writeFileSync(pods, podsCsv());
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ['sim', 'openb', '--nodes', nodes, '--pods', pods];

  it('is listed under `unidle sim`, with the method and an example in its help', async () => {
    const sim = await runCli(['sim', '--help'], env);
    expect(sim.code).toBe(0);
    expect(sim.stdout).toMatch(/openb \[options\]\s+replay the published openb placement experiment/);
    const help = await runCli(['sim', 'openb', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--policies <list>');
    expect(help.stdout).toContain('../shared/traces/openb/openb_node_list_gpu_node.csv');
  });

  it('--json prints one object in the documented shape, progress on stderr', async () => {
    const run = await runCli([...base(), '--policies', 'best-fit,fgd', '--seeds', '42-44', '--json'], env);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const json = run.json();
    expect(Object.keys(json).slice(0, 3)).toEqual(['gpus', 'runs', 'summary']);
    expect(json.gpus).toBe(28);
    expect(json.runs).toHaveLength(6);
    expect(Object.keys(json.runs[0]).slice(0, 6)).toEqual(['policy', 'seed', 'unallocatedPctAt100', 'allocPctAt', 'placements', 'wallMs']);
    expect(Object.keys(json.runs[0].allocPctAt)).toEqual(['90', '100', '130']);
    expect(json.runs.map((r: { policy: string; seed: number }) => `${r.policy} ${r.seed}`)).toEqual([
      'best-fit 42',
      'best-fit 43',
      'best-fit 44',
      'fgd 42',
      'fgd 43',
      'fgd 44',
    ]);
    expect(Object.keys(json.summary[0]).slice(0, 2)).toEqual(['policy', 'unallocatedPctAt100']);
    expect(Object.keys(json.summary[0].unallocatedPctAt100)).toEqual(['mean', 'sd']);
    // not a terminal: one line per finished run
    expect(run.stderr).toMatch(/^best-fit seed 42: \d+\.\d\d% unallocated at arrived 100% \(\d+ arrivals, [\d,]+ ms\)$/m);
    expect(run.stderr.match(/ seed \d+: /g)).toHaveLength(6);
  });

  it('gives the same JSON for the same inputs, wallMs aside', async () => {
    const args = [...base(), '--policies', 'fgd,unidle', '--seeds', '1,5-6', '--json'];
    const a = await runCli(args, env);
    const b = await runCli(args, env);
    expect(a.code).toBe(0);
    expect(withoutWallMs(b.stdout)).toBe(withoutWallMs(a.stdout));
    const other = await runCli([...base(), '--policies', 'fgd,unidle', '--seeds', '2-4', '--json'], env);
    expect(withoutWallMs(other.stdout)).not.toBe(withoutWallMs(a.stdout));
  });

  it('prints a table and names the lowest-unallocated policy', async () => {
    const run = await runCli([...base(), '--policies', 'best-fit,fgd', '--seeds', '42-43'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/POLICY\s+UNALLOC % @100 \(MEAN ± SD\)\s+ALLOC % @90\s+ALLOC % @100\s+ALLOC % @130\s+PLACEMENTS\s+MS\/RUN/);
    expect(run.stdout).toMatch(/^best-fit\s+\d+\.\d\d ± \d+\.\d\d\s/m);
    expect(run.stdout).toMatch(/^fgd\s/m);
    expect(run.stdout).toMatch(/^lowest unallocated GPU % at arrived 100%: [a-z-]+(, [a-z-]+)* \(\d+\.\d\d%\)$/m);
    expect(run.stderr).toContain('28 GPUs on 6 nodes, 60 pods');
  });

  it('--out writes the per-pod curve, the mean curve, the chart and the summary', async () => {
    const out = join(dir, 'out', 'nested');
    const run = await runCli([...base(), '--policies', 'best-fit,fgd,unidle', '--seeds', '42,43', '--json', '--out', out], env);
    expect(run.code).toBe(0);
    for (const name of ['curve.csv', 'mean-curve.csv', 'unallocated.svg', 'summary.json']) {
      expect(existsSync(join(out, name)), name).toBe(true);
      expect(statSync(join(out, name)).size, name).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(run.stdout);
    const curve = readFileSync(join(out, 'curve.csv'), 'utf8').trimEnd().split('\n');
    expect(curve[0]).toBe('policy,seed,arrival,arrived_pct,allocated_pct,unallocated_pct');
    const arrivals = run.json<{ runs: { arrivals: number }[] }>().runs.reduce((a, r) => a + r.arrivals, 0);
    expect(curve).toHaveLength(arrivals + 1);
    expect(readFileSync(join(out, 'mean-curve.csv'), 'utf8')).toMatch(/^policy,arrived_pct,unallocated_pct\nbest-fit,0\.00,100\.00\n/);
    const svg = readFileSync(join(out, 'unallocated.svg'), 'utf8');
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg).toContain('pods.csv, seeds 42-43');
    expect(run.stderr).toContain(`wrote ${join(out, 'curve.csv')}`);
  });

  describe('bad input exits 2 with a message', () => {
    const cases: [string, string[], RegExp][] = [
      ['unknown policy', ['--policies', 'fgd,nope'], /unknown policy "nope" in --policies; known: .*best-fit.*fgd/],
      ['bad seeds', ['--seeds', '4x'], /--seeds .*"4x"/],
      ['backwards seeds', ['--seeds', '9-3'], /backwards/],
      ['inflate 0', ['--inflate', '0'], /--inflate must be a number above 0/],
      ['inflate 11', ['--inflate', '11'], /at most 10/],
      ['inflate not a number', ['--inflate', 'lots'], /--inflate/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const run = await runCli([...base(), ...args], env);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.stdout).toBe('');
      });
    }

    it('a missing file', async () => {
      const run = await runCli(['sim', 'openb', '--nodes', join(dir, 'absent.csv'), '--pods', pods], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--nodes: no such file: ${join(dir, 'absent.csv')}`);
    });

    it('a directory instead of a file', async () => {
      const run = await runCli(['sim', 'openb', '--nodes', nodes, '--pods', dir], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--pods: .* is a directory/);
    });

    it('a malformed row, with its line number', async () => {
      const bad = join(dir, 'bad-pods.csv');
      const lines = podsCsv().split('\n');
      lines[4] = 'pod-x,4000,8192,two,1000,';
      writeFileSync(bad, lines.join('\n'));
      const run = await runCli(['sim', 'openb', '--nodes', nodes, '--pods', bad], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('bad-pods.csv:5: column "num_gpu"');
    });

    it('a missing required flag', async () => {
      const run = await runCli(['sim', 'openb', '--nodes', nodes], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("required option '--pods <file>' not specified");
    });

    it('a pod list without GPU demand', async () => {
      const cpuOnly = join(dir, 'cpu-pods.csv');
      writeFileSync(cpuOnly, 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,1024,0,0,\n');
      const run = await runCli(['sim', 'openb', '--nodes', nodes, '--pods', cpuOnly], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('no pod asks for a GPU');
    });
  });
});

describe('flag parsers', () => {
  it('parseSeeds takes single seeds, ranges and mixes', () => {
    expect(parseSeeds('42')).toEqual([42]);
    expect(parseSeeds('42-51')).toEqual([42, 43, 44, 45, 46, 47, 48, 49, 50, 51]);
    expect(parseSeeds('1,5,9')).toEqual([1, 5, 9]);
    expect(parseSeeds(' 1, 5-7 ,0')).toEqual([1, 5, 6, 7, 0]);
    for (const bad of ['', ',', '-1', '1-', 'a', '1.5', '5-3', '1,1', '1-2,2', '0-100000']) expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
  });

  it('parsePolicies checks names against the registry', () => {
    expect(parsePolicies('fgd, best-fit')).toEqual(['fgd', 'best-fit']);
    expect(() => parsePolicies('')).toThrow(/comma list/);
    expect(() => parsePolicies('fgd,fgd')).toThrow(/twice/);
    expect(() => parsePolicies('FGD')).toThrow(/known: /);
  });

  it('parseInflate takes (0, 10]', () => {
    expect(parseInflate('1.3')).toBe(1.3);
    expect(parseInflate('10')).toBe(10);
    expect(parseInflate('.5')).toBe(0.5);
    for (const bad of ['0', '-1', '10.01', 'NaN', 'Infinity', '1e1', '', '1,3']) expect(() => parseInflate(bad), bad).toThrow(/--inflate/);
  });
});
