import { describe, expect, it } from 'vitest';
import { UnidleError } from '../../domain/errors.js';
import type { SlurmSubmit } from './slurm-api.js';
import { parseSbatchParsable, toJobProperties, toSbatchInvocation } from './slurm-submit.js';

const base: SlurmSubmit = {
  name: 'unidle-j1',
  script: '#!/bin/bash\necho hi\n',
  partition: 'batch',
  workDir: '/tmp/w',
  stdoutPath: '/tmp/w/%j.out',
  stderrPath: '/tmp/w/%j.err',
  environment: { PATH: '/usr/bin:/bin', FOO: 'bar baz' },
};

describe('toJobProperties (REST v0.0.38)', () => {
  it('maps every field, with nodelist (accepted though undocumented) and nodes as a number (22.05 ignores [min, max])', () => {
    const job = toJobProperties({
      ...base,
      nodeList: ['n2', 'n3'],
      nodes: 2,
      gres: 'gpu:h100:2',
      cpusPerTask: 4,
      memoryPerNodeMiB: 8192,
      timeLimitMinutes: 30,
      requeue: false,
    });
    expect(job).toEqual({
      name: 'unidle-j1',
      partition: 'batch',
      current_working_directory: '/tmp/w',
      standard_output: '/tmp/w/%j.out',
      standard_error: '/tmp/w/%j.err',
      environment: { PATH: '/usr/bin:/bin', FOO: 'bar baz' },
      nodelist: 'n2,n3',
      nodes: 2,
      gres: 'gpu:h100:2',
      cpus_per_task: 4,
      memory_per_node: 8192,
      time_limit: 30,
      requeue: false,
    });
  });

  it('adds SLURM_CONF to the job environment when given and the job sets none', () => {
    expect(toJobProperties(base, { slurmConf: '/s/slurm.conf' }).environment).toEqual({ ...base.environment, SLURM_CONF: '/s/slurm.conf' });
    expect(toJobProperties({ ...base, environment: { SLURM_CONF: '/mine' } }, { slurmConf: '/s' }).environment).toEqual({ SLURM_CONF: '/mine' });
  });

  it('leaves out what was not asked for', () => {
    expect(Object.keys(toJobProperties(base)).sort()).toEqual(
      ['current_working_directory', 'environment', 'name', 'partition', 'standard_error', 'standard_output'],
    );
  });
});

describe('toSbatchInvocation (CLI)', () => {
  it('builds sbatch options and runs sbatch with exactly the job environment plus SLURM_CONF', () => {
    const { args, env } = toSbatchInvocation(
      { ...base, nodeList: ['n2'], gres: 'shard:2', memoryPerNodeMiB: 1024, timeLimitMinutes: 5, cpusPerTask: 2, nodes: 1, requeue: true },
      { slurmConf: '/s/slurm.conf', fallbackPath: '/usr/sbin:/usr/bin' },
    );
    expect(args).toEqual([
      '--parsable',
      '--job-name=unidle-j1',
      '--partition=batch',
      '--chdir=/tmp/w',
      '--output=/tmp/w/%j.out',
      '--error=/tmp/w/%j.err',
      '--nodelist=n2',
      '--nodes=1',
      '--gres=shard:2',
      '--cpus-per-task=2',
      '--mem=1024M',
      '--time=5',
      '--requeue',
      '--export=ALL',
    ]);
    expect(env).toEqual({ PATH: '/usr/bin:/bin', FOO: 'bar baz', SLURM_CONF: '/s/slurm.conf' });
  });

  it('gives sbatch a PATH to be found with when the job sets none', () => {
    const { env } = toSbatchInvocation({ ...base, environment: {} }, { fallbackPath: '/usr/bin' });
    expect(env).toEqual({ PATH: '/usr/bin' });
  });
});

describe('validation', () => {
  it('rejects what Slurm would misread, naming the fields', () => {
    const bad = { ...base, script: 'echo no shebang', nodeList: ['n1,n2'], gres: 'gpu h100', workDir: 'relative', nodes: 0, environment: { 'A-B': 'x' } };
    let err: unknown;
    try {
      toJobProperties(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnidleError);
    const fields = (err as UnidleError).problems.map((p) => p.field).sort();
    expect(fields).toEqual(['environment.A-B', 'gres', 'nodeList.0', 'nodes', 'script', 'workDir']);
    expect(() => toSbatchInvocation({ ...base, cpusPerTask: 1.5 })).toThrow(/cpusPerTask/);
  });
});

describe('parseSbatchParsable', () => {
  it("reads 'id' and 'id;cluster'", () => {
    expect(parseSbatchParsable('42\n')).toBe(42);
    expect(parseSbatchParsable('43;unidle\n')).toBe(43);
    expect(() => parseSbatchParsable('sbatch: error')).toThrow(/unexpected sbatch output/);
  });
});
