import { access, mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobAlreadyKnownError, JobRunner, type JobRunnerLogger, type JobState } from './job-runner.js';
import type { JobAssignment, StopNotice } from './protocol.js';

let stateDir: string;
const runners: JobRunner[] = [];

function runner(logger?: JobRunnerLogger): JobRunner {
  const r = new JobRunner({ stateDir, pollIntervalMs: 50, logger });
  runners.push(r);
  return r;
}

function assignment(jobId: string, command: string[], extra: Partial<JobAssignment> = {}): JobAssignment {
  return { jobId, command, env: {}, workingDir: null, deviceIndexes: [0], gpuMilli: 1000, maxDurationMs: 60_000, graceMs: 1000, ...extra };
}

async function stateFile(jobId: string): Promise<JobState> {
  return JSON.parse(await readFile(path.join(stateDir, 'jobs', jobId, 'state.json'), 'utf8')) as JobState;
}

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'unidle-runner-'));
});

afterEach(async () => {
  for (const r of runners.splice(0)) await r.shutdown({ killJobs: true, graceMs: 0 });
  await rm(stateDir, { recursive: true, force: true });
});

describe('JobRunner', () => {
  it('records the exit code and both log streams', async () => {
    const r = runner();
    const started = await r.start(assignment('job_exit3', ['sh', '-c', 'echo hi; echo err >&2; exit 3']));
    expect(started.pid).toBeGreaterThan(0);
    const end = await r.waitForFinish('job_exit3');
    expect(end).toMatchObject({ cause: 'exited', exitCode: 3, signal: null });
    expect(end.endedAt).toBeGreaterThanOrEqual(end.startedAt!);
    expect((await r.readLogs('job_exit3', 'stdout', 0, 1024)).toString()).toBe('hi\n');
    expect((await r.readLogs('job_exit3', 'stderr', 0, 1024)).toString()).toBe('err\n');
    expect((await r.readLogs('job_exit3', 'stdout', 1, 1)).toString()).toBe('i');
    const persisted = await stateFile('job_exit3');
    expect(persisted).toMatchObject({ exitCode: 3, cause: 'exited', startedAt: end.startedAt, endedAt: end.endedAt });
    const spec = JSON.parse(await readFile(path.join(stateDir, 'jobs', 'job_exit3', 'spec.json'), 'utf8')) as JobAssignment;
    expect(spec.command).toEqual(['sh', '-c', 'echo hi; echo err >&2; exit 3']);
  });

  it('sets the device and share environment and hides agent secrets', async () => {
    process.env.UNIDLE_AGENT_TOKEN = 'secret-token';
    try {
      const r = runner();
      const script = 'echo "cvd=$CUDA_VISIBLE_DEVICES milli=$UNIDLE_GPU_MILLI mps=$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE id=$UNIDLE_JOB_ID tok=${UNIDLE_AGENT_TOKEN:-none} mine=$MINE"; pwd';
      await r.start(assignment('job_env', ['sh', '-c', script], { deviceIndexes: [2], gpuMilli: 255, env: { MINE: 'x y', CUDA_VISIBLE_DEVICES: '7' } }));
      await r.waitForFinish('job_env');
      const out = (await r.readLogs('job_env', 'stdout', 0, 4096)).toString().split('\n');
      expect(out[0]).toBe('cvd=2 milli=255 mps=26 id=job_env tok=none mine=x y');
      expect(out[1]).toBe(path.join(stateDir, 'jobs', 'job_env'));

      await r.start(assignment('job_whole', ['sh', '-c', 'echo "cvd=$CUDA_VISIBLE_DEVICES milli=${UNIDLE_GPU_MILLI:-unset}"'], { deviceIndexes: [0, 1, 3], gpuMilli: 1000 }));
      await r.waitForFinish('job_whole');
      expect((await r.readLogs('job_whole', 'stdout', 0, 4096)).toString()).toBe('cvd=0,1,3 milli=unset\n');
    } finally {
      delete process.env.UNIDLE_AGENT_TOKEN;
    }
  });

  it('treats an unknown command as exit 127 and a missing working dir as start-failed', async () => {
    const r = runner();
    await r.start(assignment('job_nocmd', ['definitely-not-a-command-xyz']));
    expect(await r.waitForFinish('job_nocmd')).toMatchObject({ cause: 'exited', exitCode: 127 });
    await r.start(assignment('job_nocwd', ['true'], { workingDir: path.join(stateDir, 'nope') }));
    const end = await r.waitForFinish('job_nocwd');
    expect(end).toMatchObject({ cause: 'start-failed', exitCode: null, startedAt: null });
    expect(end.message).toContain('nope');
  });

  it('never starts a job twice', async () => {
    const r = runner();
    await r.start(assignment('job_once', ['true']));
    await expect(r.start(assignment('job_once', ['true']))).rejects.toBeInstanceOf(JobAlreadyKnownError);
    await r.waitForFinish('job_once');
    const other = runner();
    await mkdir(path.join(stateDir, 'jobs', 'job_folder'), { recursive: true });
    await expect(other.start(assignment('job_folder', ['true']))).rejects.toBeInstanceOf(JobAlreadyKnownError);
  });

  it('stops with SIGTERM and records the cause', async () => {
    const r = runner();
    await r.start(assignment('job_stop', ['sh', '-c', 'echo up; exec sleep 30']));
    // Stop only once the wrapper is past its `trap`; a SIGTERM in its first instants kills it outright.
    await waitFor(async () => (await r.logSize('job_stop', 'stdout')) > 0);
    await r.stop('job_stop', 2000, 'stopped');
    const end = await r.waitForFinish('job_stop');
    // The wrapper survives the group's SIGTERM to record the command's own status: 128 + 15.
    expect(end).toMatchObject({ cause: 'stopped', signal: null, exitCode: 143 });

    await r.start(assignment('job_graceful', ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo up; while :; do sleep 0.05; done']));
    await waitFor(async () => (await r.logSize('job_graceful', 'stdout')) > 0);
    await r.stop('job_graceful', 2000, 'stopped');
    const graceful = await r.waitForFinish('job_graceful');
    expect(graceful, JSON.stringify(graceful)).toMatchObject({ cause: 'stopped', exitCode: 0 });
    expect((await r.readLogs('job_graceful', 'stdout', 0, 100)).toString()).toBe('up\nbye\n');
  });

  describe('stop notice', () => {
    // Traps TERM, then prints its notice file (or says there is none) and exits 0; first says whether the
    // file existed at start, so the test also sees what the job saw.
    const NOTICE_JOB = [
      'trap \'if [ -e "$UNIDLE_NOTICE_FILE" ]; then cat "$UNIDLE_NOTICE_FILE"; else echo no-notice; fi; exit 0\' TERM',
      'if [ -e "$UNIDLE_NOTICE_FILE" ]; then echo "at-start=present"; else echo "at-start=absent"; fi',
      // Short sleeps, not one long one: a TERM landing between `echo` and the fork of a long sleep would
      // only be handled once that sleep ends (the group signal predates the sleep process).
      'while :; do sleep 0.05; done',
    ].join('; ');
    const notice: StopNotice = { kind: 'preemption', reason: 'preempted by job_prio for a higher bid', deadlineAt: 1_900_000_000_000, requeue: true };
    const exists = (file: string) => access(file).then(() => true, () => false);

    it('writes the notice to UNIDLE_NOTICE_FILE before the SIGTERM, so the trapping job can read it', async () => {
      const r = runner();
      const file = path.join(stateDir, 'jobs', 'job_notice', 'notice.json');
      await r.start(assignment('job_notice', ['sh', '-c', `echo "file=$UNIDLE_NOTICE_FILE"; ${NOTICE_JOB}`]));
      await waitFor(async () => (await r.readLogs('job_notice', 'stdout', 0, 4096)).toString().includes('at-start='));
      expect(await exists(file)).toBe(false);

      await r.stop('job_notice', 2000, 'stopped', notice);
      const end = await r.waitForFinish('job_notice');
      expect(end, JSON.stringify(end)).toMatchObject({ cause: 'stopped', exitCode: 0, signal: null });
      const [fileLine, startLine, ...rest] = (await r.readLogs('job_notice', 'stdout', 0, 4096)).toString().split('\n');
      expect(fileLine).toBe(`file=${file}`);
      expect(startLine).toBe('at-start=absent');
      const printed = rest.join('\n');
      expect(printed).toContain(notice.reason);
      expect(printed).toContain('"preemption"');
      expect(JSON.parse(printed)).toEqual({ ...notice, graceMs: 2000 });
      // Written through a temp file that was renamed into place: nothing else is left behind.
      expect((await readdir(path.dirname(file))).filter((n) => n.includes('notice'))).toEqual(['notice.json']);
    });

    it('a stop without a notice stops the job as before and writes no notice file', async () => {
      const r = runner();
      await r.start(assignment('job_plain', ['sh', '-c', NOTICE_JOB]));
      await waitFor(async () => (await r.logSize('job_plain', 'stdout')) > 0);
      await r.stop('job_plain', 2000, 'stopped');
      const end = await r.waitForFinish('job_plain');
      expect(end, JSON.stringify(end)).toMatchObject({ cause: 'stopped', exitCode: 0, signal: null });
      expect((await r.readLogs('job_plain', 'stdout', 0, 4096)).toString()).toBe('at-start=absent\nno-notice\n');
      expect(await exists(path.join(stateDir, 'jobs', 'job_plain', 'notice.json'))).toBe(false);
    });

    it('a notice that cannot be written is logged and the job is stopped anyway', async () => {
      const warnings: string[] = [];
      const r = runner({ info() {}, error() {}, debug() {}, warn: (_o, m) => warnings.push(m) });
      // The job blocks its own notice path with a folder: the rename onto it fails.
      await r.start(assignment('job_blocked', ['sh', '-c', 'mkdir "$UNIDLE_NOTICE_FILE"; trap "echo term; exit 0" TERM; echo up; while :; do sleep 0.05; done']));
      await waitFor(async () => (await r.logSize('job_blocked', 'stdout')) > 0);
      await r.stop('job_blocked', 2000, 'stopped', notice);
      const end = await r.waitForFinish('job_blocked');
      expect(end, JSON.stringify(end)).toMatchObject({ cause: 'stopped', exitCode: 0, signal: null });
      expect((await r.readLogs('job_blocked', 'stdout', 0, 4096)).toString()).toBe('up\nterm\n');
      expect(warnings).toContain('could not write the stop notice; stopping the job anyway');
      expect((await readdir(path.join(stateDir, 'jobs', 'job_blocked'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  });

  it('SIGKILLs a process group that ignores SIGTERM after the grace period', async () => {
    const r = runner();
    await r.start(assignment('job_stubborn', ['sh', '-c', 'trap "" TERM; echo ready; sleep 30; echo survived']));
    await waitFor(async () => (await r.logSize('job_stubborn', 'stdout')) > 0);
    const t0 = Date.now();
    await r.stop('job_stubborn', 300, 'stopped');
    const end = await r.waitForFinish('job_stubborn');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(end).toMatchObject({ cause: 'stopped', signal: 'SIGKILL' });
    expect((await r.readLogs('job_stubborn', 'stdout', 0, 100)).toString()).toBe('ready\n');
  });

  it('kills a job at its maximum duration', async () => {
    const r = runner();
    const t0 = Date.now();
    await r.start(assignment('job_max', ['sleep', '30'], { maxDurationMs: 300, graceMs: 200 }));
    const end = await r.waitForFinish('job_max');
    expect(end.cause).toBe('max-duration');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(end.endedAt! - end.startedAt!).toBeGreaterThanOrEqual(300);
  });

  it('a restarted runner adopts a running job, sees its exit code and does not re-run it', async () => {
    const counter = path.join(stateDir, 'counter');
    const go = path.join(stateDir, 'go');
    const a = runner();
    // Runs until the test says so, however slow the machine: no race between the job ending and adopt().
    await a.start(assignment('job_adopt', ['sh', '-c', `echo run >> "${counter}"; while [ ! -f "${go}" ]; do sleep 0.05; done; exit 0`]));
    const startedA = await stateFile('job_adopt');
    a.abandon(); // the agent "crashes": the process keeps running

    const b = runner();
    expect(await b.adopt()).toEqual(['job_adopt']);
    expect(b.running().map((j) => j.jobId)).toEqual(['job_adopt']);
    expect(b.knows('job_adopt')).toBe(true);
    await writeFile(go, '');
    const end = await b.waitForFinish('job_adopt');
    expect(end).toMatchObject({ cause: 'exited', exitCode: 0, startedAt: startedA.startedAt, pid: startedA.pid });

    // A third incarnation sees the job as finished and leaves it alone.
    const c = runner();
    await c.adopt();
    expect(c.get('job_adopt')).toMatchObject({ cause: 'exited', exitCode: 0 });
    await expect(c.start(assignment('job_adopt', ['true']))).rejects.toBeInstanceOf(JobAlreadyKnownError);
    await sleep(100);
    expect(await readFile(counter, 'utf8')).toBe('run\n');
  });

  it('adopted jobs can still be stopped, and a stop in progress survives a restart', async () => {
    const a = runner();
    await a.start(assignment('job_adopt_stop', ['sh', '-c', 'trap "" TERM; echo ready; sleep 30']));
    await waitFor(async () => (await a.logSize('job_adopt_stop', 'stdout')) > 0);
    await a.stop('job_adopt_stop', 300, 'stopped');
    a.abandon();
    const b = runner();
    await b.adopt();
    const end = await b.waitForFinish('job_adopt_stop');
    expect(end).toMatchObject({ cause: 'stopped', exitCode: null, signal: 'SIGKILL' });
  });

  it('marks a job vanished when its process is gone and left no exit file', async () => {
    const dir = path.join(stateDir, 'jobs', 'job_gone');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'spec.json'), JSON.stringify(assignment('job_gone', ['true'])));
    // A pid far above pid_max is never alive.
    const state: JobState = { pid: 99_999_999, pidStartTicks: null, startedAt: Date.now() - 5000, shippedOffsets: { stdout: 0, stderr: 0 }, reported: { started: true, finished: false } };
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
    const r = runner();
    await r.adopt();
    const end = await r.waitForFinish('job_gone');
    expect(end).toMatchObject({ cause: 'vanished', exitCode: null });
    expect(await stateFile('job_gone')).toMatchObject({ cause: 'vanished', exitCode: null });
  });

  it('an intent without a spawned process ends as start-failed, never spawned', async () => {
    const dir = path.join(stateDir, 'jobs', 'job_intent');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'spec.json'), JSON.stringify(assignment('job_intent', ['true'])));
    await writeFile(path.join(dir, 'state.json'), JSON.stringify({ pid: null, pidStartTicks: null, startedAt: null, shippedOffsets: { stdout: 0, stderr: 0 }, reported: { started: false, finished: false } }));
    const r = runner();
    await r.adopt();
    expect(await r.waitForFinish('job_intent')).toMatchObject({ cause: 'start-failed' });
  });

  it('garbage-collects only acknowledged finished jobs past the age limit', async () => {
    const r = runner();
    await r.start(assignment('job_gc1', ['true']));
    await r.start(assignment('job_gc2', ['true']));
    await r.waitForFinish('job_gc1');
    await r.waitForFinish('job_gc2');
    await r.markReported('job_gc1', 'finished');
    expect(await r.gc(60_000)).toEqual([]);
    expect(await r.gc(0)).toEqual(['job_gc1']);
    expect(r.knows('job_gc1')).toBe(true);
    expect(r.get('job_gc2')).toBeDefined();
  });

  it('shutdown({ killJobs: true }) stops everything and waits', async () => {
    const r = runner();
    await r.start(assignment('job_sd', ['sleep', '30']));
    await r.shutdown({ killJobs: true, graceMs: 500 });
    expect(await stateFile('job_sd')).toMatchObject({ cause: 'stopped' });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}
