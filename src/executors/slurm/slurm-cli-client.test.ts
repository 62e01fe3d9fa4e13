import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlurmError, SlurmUnavailableError } from './slurm-api.js';
import { SlurmCliClient, type CommandResult, type CommandRunner } from './slurm-cli-client.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');

interface Call {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  input: string | undefined;
}

function fakeRunner(respond: (c: Call) => Partial<CommandResult> | Error) {
  const calls: Call[] = [];
  const run: CommandRunner = async (file, args, options) => {
    const c = { file, args, env: options.env, input: options.input };
    calls.push(c);
    const r = respond(c);
    if (r instanceof Error) throw r;
    return { stdout: '', stderr: '', code: 0, ...r };
  };
  return { run, calls };
}

const env = { PATH: '/usr/sbin:/usr/bin', HOME: '/root', SECRET: 'not for jobs' };

describe('SlurmCliClient', () => {
  it('runs sbatch with the script on stdin and exactly the job environment (+ SLURM_CONF)', async () => {
    const { run, calls } = fakeRunner(() => ({ stdout: '42\n' }));
    const api = new SlurmCliClient({ run, env, slurmConf: '/s/slurm.conf', binDir: '/opt/slurm/bin' });
    const res = await api.submit({
      name: 'j',
      script: '#!/bin/bash\necho $CUDA_VISIBLE_DEVICES\n',
      partition: 'batch',
      gres: 'gpu:h100:2',
      workDir: '/w',
      stdoutPath: '/w/%j.out',
      stderrPath: '/w/%j.err',
      environment: { FOO: '1' },
    });
    expect(res).toEqual({ jobId: 42 });
    expect(calls[0]!.file).toBe('/opt/slurm/bin/sbatch');
    expect(calls[0]!.input).toBe('#!/bin/bash\necho $CUDA_VISIBLE_DEVICES\n');
    expect(calls[0]!.args).toContain('--gres=gpu:h100:2');
    expect(calls[0]!.env).toEqual({ FOO: '1', SLURM_CONF: '/s/slurm.conf', PATH: '/usr/sbin:/usr/bin' });
  });

  it('passes SLURM_CONF to the query commands and maps their JSON', async () => {
    const { run, calls } = fakeRunner((c) => ({ stdout: c.file === 'sinfo' ? fixture('sinfo.json') : fixture('squeue.json') }));
    const api = new SlurmCliClient({ run, env, slurmConf: '/s/slurm.conf' });
    expect((await api.listNodes()).map((n) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect((await api.listJobs()).length).toBeGreaterThan(5);
    expect(calls.map((c) => `${c.file} ${c.args.join(' ')}`)).toEqual(['sinfo --json', 'squeue --json']);
    expect(calls[0]!.env).toMatchObject({ SLURM_CONF: '/s/slurm.conf', PATH: env.PATH });
  });

  it('reports a missing program and an unreachable controller as SlurmUnavailableError', async () => {
    const enoent = fakeRunner(() => Object.assign(new Error('spawn sbatch ENOENT'), { code: 'ENOENT' }));
    await expect(new SlurmCliClient({ run: enoent.run, env }).listJobs()).rejects.toThrow(/squeue not found on PATH/);
    const down = fakeRunner(() => ({ code: 1, stderr: 'squeue: error: Unable to contact slurm controller (connect failure)\n' }));
    await expect(new SlurmCliClient({ run: down.run, env }).listJobs()).rejects.toBeInstanceOf(SlurmUnavailableError);
    // squeue/sinfo --json print {"errors":[{"error":"Unspecified error","errno":-1}]} and exit 0 when slurmctld is down
    const silent = fakeRunner(() => ({ stdout: JSON.stringify({ errors: [{ error: 'Unspecified error', errno: -1 }], nodes: [] }) }));
    await expect(new SlurmCliClient({ run: silent.run, env }).listNodes()).rejects.toBeInstanceOf(SlurmUnavailableError);
    const pingDown = fakeRunner(() => ({ code: 1, stdout: 'Slurmctld(primary) at vm is DOWN\n' }));
    await expect(new SlurmCliClient({ run: pingDown.run, env }).ping()).rejects.toBeInstanceOf(SlurmUnavailableError);
  });

  it('cancel: unknown job → not_found (scancel -v says so, exit 0); already finished → no-op', async () => {
    const unknown = fakeRunner(() => ({ stderr: 'scancel: Terminating job 9\nscancel: error: Kill job error on job id 9: Invalid job id specified\n' }));
    await expect(new SlurmCliClient({ run: unknown.run, env }).cancel(9)).rejects.toMatchObject({ reason: 'not_found' });
    expect(unknown.calls[0]!.args).toEqual(['-v', '9']);
    const done = fakeRunner(() => ({ stderr: 'scancel: error: Kill job error on job id 1: Job/step already completing or completed\n' }));
    await expect(new SlurmCliClient({ run: done.run, env }).cancel(1)).resolves.toBeUndefined();
    const sig = fakeRunner(() => ({}));
    await new SlurmCliClient({ run: sig.run, env }).cancel(5, 'USR1');
    expect(sig.calls[0]!.args).toEqual(['-v', '--full', '--signal=USR1', '5']);
  });

  it('requeue runs scontrol requeue; a refusal is a SlurmError', async () => {
    const { run, calls } = fakeRunner(() => ({ code: 1, stderr: 'Requested operation is presently disabled for job 5\n' }));
    const err = await new SlurmCliClient({ run, env }).requeue(5).catch((e: unknown) => e);
    expect(calls[0]!.args).toEqual(['requeue', '5']);
    expect(err).toBeInstanceOf(SlurmError);
    expect(err).toMatchObject({ reason: 'rejected' });
  });

  it('accounting: sacct --json plus the text exit codes, for the given jobs', async () => {
    const { run, calls } = fakeRunner((c) => ({ stdout: c.args.includes('--json') ? fixture('sacct.json') : fixture('sacct-exitcodes.txt') }));
    const records = await new SlurmCliClient({ run, env }).accounting({ jobIds: [14, 18] });
    expect(calls.map((c) => c.args.join(' '))).toEqual(['--json -D -j 14,18', '-n -P -X -D -o JobIDRaw,State,ExitCode -j 14,18']);
    expect(records.find((r) => r.jobId === 14)).toMatchObject({ state: 'FAILED', exitCode: 3, signal: null });
    expect(records.find((r) => r.jobId === 18)).toMatchObject({ state: 'FAILED', exitCode: null, signal: 9 });
  });
});
