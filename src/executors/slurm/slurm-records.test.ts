/**
 * The fixtures in test/fixtures/slurm were recorded on the dev cluster (scripts/slurm-dev-cluster.sh,
 * Slurm 22.05.8, 4 nodes × 8 fake H100 + 32 shards) and trimmed to the fields that matter; see docs/slurm.md.
 * squeue/sinfo/sacct --json print the same v0.0.38 shapes slurmrestd serves, so these cover both adapters.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Dbv0038Job, V0038JobResponseProperties, V0038Node, V0038Pings } from './gen/slurmrestd-v0.0.38.js';
import {
  decodeWaitStatus,
  filterActiveSince,
  isControllerUnreachable,
  mapAccountingJobs,
  mapJobs,
  mapNode,
  mapNodes,
  mapPings,
  mapTres,
  mergeExitStatus,
  parseGres,
  parseSacctExitCodes,
  parseScontrolPing,
  responseErrors,
  slurmTimeArg,
} from './slurm-records.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');
const squeue = JSON.parse(fixture('squeue.json')) as { jobs: V0038JobResponseProperties[] };
const sinfo = JSON.parse(fixture('sinfo.json')) as { nodes: V0038Node[] };
const sacct = JSON.parse(fixture('sacct.json')) as { jobs: Dbv0038Job[] };
const T = 1_795_912_532_000; // the fixtures' submit time, ms

describe('parseGres', () => {
  it('reads configured, used and per-job GRES strings', () => {
    expect(parseGres('gpu:h100:8,shard:h100:32')).toEqual([
      { name: 'gpu', type: 'h100', count: 8, indexes: null },
      { name: 'shard', type: 'h100', count: 32, indexes: null },
    ]);
    expect(parseGres('gpu:h100:3(IDX:0,2-3),shard:h100:0(IDX:N/A)')).toEqual([
      { name: 'gpu', type: 'h100', count: 3, indexes: [0, 2, 3] },
      { name: 'shard', type: 'h100', count: 0, indexes: null },
    ]);
    expect(parseGres('shard:2(IDX:0)')).toEqual([{ name: 'shard', type: null, count: 2, indexes: [0] }]);
    expect(parseGres('gpu:8(S:0-1)')).toEqual([{ name: 'gpu', type: null, count: 8, indexes: null }]);
    expect(parseGres('gpu:a100')).toEqual([{ name: 'gpu', type: 'a100', count: 1, indexes: null }]);
    expect(parseGres('(null)')).toEqual([]);
    expect(parseGres('')).toEqual([]);
  });
});

describe('nodes (sinfo --json / GET /slurm/v0.0.38/nodes)', () => {
  it('maps all four nodes with GPUs, shards, memory and partitions', () => {
    const nodes = mapNodes(sinfo);
    expect(nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(nodes[1]).toEqual({
      name: 'n2',
      states: ['MIXED'],
      reason: null,
      cpus: 16,
      allocCpus: 2,
      realMemoryMiB: 64000,
      allocMemoryMiB: 2048,
      gpus: { type: 'h100', count: 8 },
      gpusAllocated: 3,
      shardsTotal: 32,
      partitions: ['batch', 'urgent'],
    });
  });

  it('puts flags after the base state and keeps the drain reason', () => {
    const n4 = mapNodes(sinfo)[3]!;
    expect(n4.states).toEqual(['IDLE', 'DRAIN']);
    expect(n4.reason).toBe('fixture drain');
    expect(mapNode({ name: 'x', state: 'down', state_flags: ['DRAIN', 'NOT_RESPONDING'], gres: '' }).states).toEqual(['DOWN', 'DRAIN', 'NOT_RESPONDING']);
    expect(mapNode({ name: 'x', gres: 'gpu:8' }).gpus).toEqual({ type: null, count: 8 });
  });
});

describe('jobs (squeue --json / GET /slurm/v0.0.38/jobs)', () => {
  const jobs = mapJobs(squeue);
  const byName = (name: string, nth = 0) => jobs.filter((j) => j.name === name)[nth]!;

  it('maps a running 2-GPU job pinned to n2', () => {
    expect(byName('fx-gpu2')).toEqual({
      jobId: 10,
      name: 'fx-gpu2',
      partition: 'batch',
      state: 'RUNNING',
      stateReason: null,
      exitCode: null,
      signal: null,
      nodes: ['n2'],
      submitTimeMs: T,
      startTimeMs: T,
      endTimeMs: null,
      restartCount: 0,
      gresDetail: ['gpu:h100:2(IDX:0-1)'],
    });
  });

  it('shows two shard jobs on the same GPU, and a 2-node job on both nodes', () => {
    expect(byName('fx-shardA').gresDetail).toEqual(['shard:2(IDX:0)']);
    expect(byName('fx-shardB').gresDetail).toEqual(['shard:2(IDX:0)']);
    expect(byName('fx-shardA').nodes).toEqual(byName('fx-shardB').nodes);
    const multi = byName('fx-multi');
    expect(multi.nodes).toEqual(['n1', 'n2']);
    expect(multi.gresDetail).toHaveLength(2);
  });

  it('decodes exit codes and signals from the raw wait status of finished jobs', () => {
    expect(byName('fx-fail')).toMatchObject({ state: 'FAILED', stateReason: 'NonZeroExitCode', exitCode: 3, signal: null, endTimeMs: T + 1000 });
    expect(byName('fx-ok')).toMatchObject({ state: 'COMPLETED', exitCode: 0, signal: null });
    expect(byName('fx-killed')).toMatchObject({ state: 'FAILED', exitCode: null, signal: 9 });
    expect(byName('fx-gpu2', 1)).toMatchObject({ state: 'CANCELLED', exitCode: null, signal: 15, endTimeMs: T + 5000 });
  });

  it('gives a requeued job no start (its start_time is only expected) and counts the restart', () => {
    expect(byName('fx-requeue')).toMatchObject({ state: 'PENDING', stateReason: 'BeginTime', startTimeMs: null, endTimeMs: null, nodes: [], restartCount: 1 });
  });

  it('gives a job cancelled while pending no start and no exit status', () => {
    expect(byName('fx-hold')).toMatchObject({ state: 'CANCELLED', startTimeMs: null, exitCode: null, signal: null, nodes: [] });
  });

  it('decodeWaitStatus', () => {
    expect(decodeWaitStatus(0)).toEqual({ exitCode: 0, signal: null });
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3, signal: null });
    expect(decodeWaitStatus(15)).toEqual({ exitCode: null, signal: 15 });
    expect(decodeWaitStatus(null)).toEqual({ exitCode: null, signal: null });
  });
});

describe('accounting (sacct --json / GET /slurmdb/v0.0.38/jobs)', () => {
  const records = mapAccountingJobs(sacct.jobs);
  const rec = (id: number) => records.find((r) => r.jobId === id)!;

  it('gives one record per job id, ordered by id', () => {
    expect(records.map((r) => r.jobId)).toEqual([10, 11, 13, 14, 15, 16, 17, 18]);
  });

  it('maps times, nodes, user and allocated TRES with gpu and shard counts', () => {
    expect(rec(10)).toMatchObject({
      name: 'fx-gpu2',
      user: 'root',
      account: 'unidle',
      state: 'CANCELLED',
      submitMs: T,
      startMs: T,
      endMs: T + 5000,
      elapsedSec: 5,
      nodes: ['n2'],
      allocated: { cpus: 1, memoryMiB: 1024, nodes: 1, gpus: 2, shards: 0, billing: 1 },
      restarts: 0,
    });
    expect(rec(11).allocated.shards).toBe(2);
    expect(rec(13)).toMatchObject({ nodes: ['n1', 'n2'], allocated: { nodes: 2, gpus: 2, cpus: 2 } });
  });

  it('folds the runs of a requeued job: the latest (pending) one is the record', () => {
    expect(rec(17)).toMatchObject({ state: 'PENDING', startMs: null, endMs: null, restarts: 1 });
    expect(rec(17).previousRuns).toEqual([{ state: 'REQUEUED', startMs: T + 1000, endMs: T + 2000, nodes: ['n2'] }]);
  });

  it("does not believe 22.05's SUCCESS/0 for failed jobs; signals are right", () => {
    expect(rec(15)).toMatchObject({ state: 'COMPLETED', exitCode: 0, signal: null });
    expect(rec(14)).toMatchObject({ state: 'FAILED', exitCode: null, signal: null });
    expect(rec(18)).toMatchObject({ state: 'FAILED', exitCode: null, signal: 9 });
    expect(rec(16)).toMatchObject({ state: 'CANCELLED', startMs: null, exitCode: null, nodes: [] });
  });

  it("merges exit codes from sacct's text output", () => {
    const statuses = parseSacctExitCodes(fixture('sacct-exitcodes.txt'));
    expect(statuses).toContainEqual({ jobId: 14, state: 'FAILED', exitCode: 3, signal: null });
    expect(statuses).toContainEqual({ jobId: 18, state: 'FAILED', exitCode: null, signal: 9 });
    expect(statuses).toContainEqual({ jobId: 16, state: 'CANCELLED', exitCode: 0, signal: null });
    const merged = mergeExitStatus(records, statuses);
    expect(merged.find((r) => r.jobId === 14)).toMatchObject({ exitCode: 3, signal: null });
    expect(merged.find((r) => r.jobId === 18)).toMatchObject({ exitCode: null, signal: 9 });
    // never started: stays unknown; pending: nothing to merge
    expect(merged.find((r) => r.jobId === 16)).toMatchObject({ exitCode: null, signal: null });
    expect(merged.find((r) => r.jobId === 17)).toMatchObject({ exitCode: null, signal: null });
  });

  it('filters to jobs active since a time', () => {
    const ids = filterActiveSince(records, T + 3000).map((r) => r.jobId);
    expect(ids).toEqual([10, 11, 13, 17]);
    expect(filterActiveSince(records, undefined)).toHaveLength(records.length);
  });

  it('counts untyped GRES TRES only (typed ones repeat them)', () => {
    expect(
      mapTres([
        { type: 'gres', name: 'gpu', count: 2 },
        { type: 'gres', name: 'gpu:h100', count: 2 },
        { type: 'mem', count: 2048 },
      ]),
    ).toMatchObject({ gpus: 2, memoryMiB: 2048 });
  });

  it("passes times as Slurm's uts form, clamped to Slurm's earliest", () => {
    expect(slurmTimeArg(1_795_912_532_999)).toBe('uts1795912532');
    expect(slurmTimeArg(0)).toBe('uts1000000000');
  });
});

describe('ping and errors', () => {
  it('reads scontrol ping and the REST ping', () => {
    expect(parseScontrolPing(fixture('scontrol-ping.txt'))).toEqual({ controllers: [{ mode: 'primary', hostname: 'vm', up: true }] });
    expect(parseScontrolPing('Slurmctld(primary) at vm is DOWN\n')).toEqual({ controllers: [{ mode: 'primary', hostname: 'vm', up: false }] });
    expect(mapPings(JSON.parse(fixture('rest-ping.json')) as V0038Pings)).toEqual({ controllers: [{ hostname: 'vm', mode: 'primary', up: true }] });
  });

  it('reads the three error shapes, drops "Nothing found", and spots an unreachable controller', () => {
    const errs = responseErrors({
      errors: [
        { description: 'Unable to find JobId=9', error_number: 2017, error: 'Invalid job id specified', source: 'slurm_load_job' },
        { error_code: 9001, error: 'Failure during parsing' },
        { error: 'Unspecified error', errno: -1 },
        { description: 'Nothing found', error_number: 9003, error: 'Nothing found with query' },
      ],
    });
    expect(errs).toEqual([
      { number: 2017, text: 'Unable to find JobId=9: Invalid job id specified' },
      { number: 9001, text: 'Failure during parsing' },
      { number: -1, text: 'Unspecified error' },
    ]);
    expect(isControllerUnreachable(errs)).toBe(false);
    expect(isControllerUnreachable(responseErrors({ errors: [{ error: 'Unspecified error', errno: -1 }] }))).toBe(true);
    expect(
      isControllerUnreachable(responseErrors({ errors: [{ description: 'slurmctld config is unable to load', error_number: -1, error: 'Unspecified error' }] })),
    ).toBe(true);
  });
});
