import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryFormatError, type TelemetrySource } from '../energy/telemetry/sample.js';
import { startAgent, type AgentHandle, type AgentLogger } from './agent.js';
import type { FinishedReport, JobAssignment, LogChunk, RegisterRequest, StartedReport, StopOrder } from './protocol.js';

const TOKEN = 'agent-token-test';

interface Event {
  kind: 'register' | 'heartbeat' | 'started' | 'logs' | 'finished' | 'telemetry';
  jobId?: string;
  body: unknown;
}

/** A tiny stand-in for the control plane: just enough server behaviour to drive the agent. */
class FakeServer {
  events: Event[] = [];
  /** While true every request gets 503, as during a server restart. */
  down = false;
  unavailableAnswers = 0;
  registrations = 0;
  /** Pending assignments, handed out once on the next heartbeat. */
  toStart: JobAssignment[] = [];
  /** Pending stop orders, handed out once on the next heartbeat. */
  toStop: StopOrder[] = [];
  /** What heartbeats say of the node's power (undefined: nothing, as an older server). */
  parked: boolean | undefined = undefined;
  logs = new Map<string, Buffer>();
  finishedAcks = new Map<string, number>();
  private server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  of(kind: Event['kind'], jobId?: string): Event[] {
    return this.events.filter((e) => e.kind === kind && (jobId === undefined || e.jobId === jobId));
  }

  log(jobId: string, stream: string): string {
    return this.logs.get(`${jobId}/${stream}`)?.toString() ?? '';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.down) {
      this.unavailableAnswers++;
      return send(503, { code: 'unavailable', detail: 'restarting' });
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { code: 'unauthorized', detail: 'bad token' });
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    const url = req.url ?? '';
    if (url === '/v1/agent/register') {
      this.registrations++;
      this.events.push({ kind: 'register', body });
      return send(200, { nodeId: `node_${this.registrations}`, centerId: 'ctr_1', heartbeatIntervalMs: 50 });
    }
    if (url === '/v1/agent/heartbeat') {
      this.events.push({ kind: 'heartbeat', body });
      if (body.nodeId !== `node_${this.registrations}`) return send(404, { code: 'not_found', detail: 'node does not exist' });
      const start = this.toStart.splice(0);
      return send(200, { at: Date.now(), start, stop: this.toStop.splice(0), ...(this.parked === undefined ? {} : { parked: this.parked }) });
    }
    if (url === '/v1/agent/telemetry') {
      this.events.push({ kind: 'telemetry', body });
      return send(200, { accepted: (body.samples as unknown[]).length, duplicates: 0 });
    }
    const m = /^\/v1\/agent\/jobs\/([^/]+)\/(started|logs|finished)$/.exec(url);
    if (!m) return send(404, { code: 'not_found', detail: 'no route' });
    const jobId = decodeURIComponent(m[1]!);
    const kind = m[2] as 'started' | 'logs' | 'finished';
    this.events.push({ kind, jobId, body });
    if (kind === 'started') return send(200, { state: 'running' });
    if (kind === 'logs') {
      const chunk = body as unknown as LogChunk;
      const key = `${jobId}/${chunk.stream}`;
      const have = this.logs.get(key) ?? Buffer.alloc(0);
      const data = Buffer.from(chunk.dataBase64, 'base64');
      if (chunk.offset <= have.length) {
        const fresh = data.subarray(have.length - chunk.offset);
        this.logs.set(key, Buffer.concat([have, fresh]));
      }
      return send(200, { nextOffset: this.logs.get(key)?.length ?? 0 });
    }
    this.finishedAcks.set(jobId, (this.finishedAcks.get(jobId) ?? 0) + 1);
    return send(200, { state: (body as unknown as FinishedReport).exitCode === 0 ? 'succeeded' : 'failed' });
  }
}

function job(jobId: string, command: string[]): JobAssignment {
  return { jobId, command, env: {}, workingDir: null, deviceIndexes: [0], gpuMilli: 500, maxDurationMs: 60_000, graceMs: 500 };
}

const quiet: AgentLogger = { info() {}, warn() {}, error() {}, debug() {} };

let server: FakeServer;
let stateDir: string;
const agents: AgentHandle[] = [];

async function agent(extra: { logger?: AgentLogger; telemetrySource?: TelemetrySource; telemetryIntervalMs?: number } = {}): Promise<AgentHandle> {
  const a = await startAgent({
    serverUrl: server.url,
    token: TOKEN,
    nodeName: 'gpu-01',
    hostname: 'gpu-01.test',
    stateDir,
    simulate: '2xH100',
    maxBackoffMs: 100,
    pollIntervalMs: 50,
    logger: extra.logger ?? quiet,
    telemetrySource: extra.telemetrySource,
    telemetryIntervalMs: extra.telemetryIntervalMs ?? 0,
  });
  agents.push(a);
  return a;
}

beforeEach(async () => {
  server = new FakeServer();
  await server.listen();
  stateDir = await mkdtemp(path.join(tmpdir(), 'unidle-agent-'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop({ killJobs: true });
  await server.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent against a fake control plane', () => {
  it('registers, runs an assignment, ships logs and reports started then finished', async () => {
    server.toStart.push(job('job_a', ['sh', '-c', 'echo hello; echo oops >&2; exit 7']));
    const a = await agent();
    expect(a.nodeId).toBe('node_1');
    const reg = server.of('register')[0]!.body as RegisterRequest;
    expect(reg).toMatchObject({ nodeName: 'gpu-01', hostname: 'gpu-01.test', runningJobIds: [] });
    expect(reg.devices.map((d) => d.model)).toEqual(['H100', 'H100']);
    expect(reg.cpuMilli).toBeGreaterThan(0);

    await until(() => server.finishedAcks.get('job_a') === 1);
    const kinds = server.events.filter((e) => e.jobId === 'job_a').map((e) => e.kind);
    expect(kinds[0]).toBe('started');
    expect(kinds.at(-1)).toBe('finished');
    expect(kinds.indexOf('finished')).toBeGreaterThan(kinds.lastIndexOf('logs'));
    expect(server.log('job_a', 'stdout')).toBe('hello\n');
    expect(server.log('job_a', 'stderr')).toBe('oops\n');
    const started = server.of('started', 'job_a')[0]!.body as StartedReport;
    const finished = server.of('finished', 'job_a')[0]!.body as FinishedReport;
    expect(finished).toMatchObject({ nodeId: 'node_1', cause: 'exited', exitCode: 7, signal: null, startedAt: started.startedAt });
    expect(finished.endedAt).toBeGreaterThanOrEqual(started.startedAt);

    // The billed span is exactly what the node recorded on disk.
    const state = JSON.parse(await readFile(path.join(stateDir, 'jobs', 'job_a', 'state.json'), 'utf8')) as { startedAt: number; endedAt: number; reported: { finished: boolean } };
    expect([state.startedAt, state.endedAt]).toEqual([finished.startedAt, finished.endedAt]);
    await until(() => server.of('heartbeat').length > 5);
    expect(server.finishedAcks.get('job_a')).toBe(1);
    expect(server.of('started', 'job_a')).toHaveLength(1);
  });

  it('keeps the job running through a server outage and delivers the finish exactly once after', async () => {
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger: AgentLogger = { ...quiet, warn: (_o, m) => warnings.push(m), info: (_o, m) => infos.push(m) };
    server.toStart.push(job('job_b', ['sh', '-c', 'sleep 0.3; echo done; exit 0']));
    await agent({ logger });
    await until(() => server.of('started', 'job_b').length === 1);
    server.down = true;
    // The job ends while the server is away.
    await until(() => server.unavailableAnswers >= 5, 3000);
    await new Promise((r) => setTimeout(r, 400));
    expect(server.finishedAcks.get('job_b')).toBeUndefined();
    server.down = false;
    await until(() => server.finishedAcks.get('job_b') === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.finishedAcks.get('job_b')).toBe(1);
    expect(server.of('finished', 'job_b')[0]!.body).toMatchObject({ cause: 'exited', exitCode: 0 });
    expect(server.log('job_b', 'stdout')).toBe('done\n');
    // One warning for the outage (same error each retry), one note when it is back.
    expect(warnings.filter((w) => w.startsWith('server unreachable'))).toHaveLength(1);
    expect(infos).toContain('server reachable again');
  });

  it('a restarted agent neither orphans nor re-runs a job, and re-registers when the server forgets it', async () => {
    const counter = path.join(stateDir, 'ran');
    server.toStart.push(job('job_c', ['sh', '-c', `echo x >> "${counter}"; sleep 0.6; echo late`]));
    const first = await agent();
    await until(() => server.of('started', 'job_c').length === 1);
    await first.stop({ killJobs: false });
    agents.splice(agents.indexOf(first), 1);

    // The server still lists the job for this node and (wrongly) offers it again: the agent must not re-run it.
    server.toStart.push(job('job_c', ['sh', '-c', `echo x >> "${counter}"`]));
    const second = await agent();
    const reg = server.of('register')[1]!.body as RegisterRequest;
    expect(reg.runningJobIds).toEqual(['job_c']);
    await until(() => server.finishedAcks.get('job_c') === 1);
    expect(server.of('finished', 'job_c')[0]!.body).toMatchObject({ cause: 'exited', exitCode: 0 });
    expect(server.log('job_c', 'stdout')).toBe('late\n');
    expect(await readFile(counter, 'utf8')).toBe('x\n');

    // Database reset: the next heartbeat gets 404 and the agent registers again under a new id.
    server.registrations = 5;
    await until(() => second.nodeId === 'node_6');
  });

  it('hands a stop order\'s notice to the job before its SIGTERM', async () => {
    const script = 'trap \'cat "$UNIDLE_NOTICE_FILE"; exit 0\' TERM; [ -e "$UNIDLE_NOTICE_FILE" ] || echo ready; while :; do sleep 0.05; done';
    server.toStart.push(job('job_n', ['sh', '-c', script]));
    await agent();
    await until(() => server.log('job_n', 'stdout') === 'ready\n');
    const notice = { kind: 'budget' as const, reason: 'the budget of team-a is spent', deadlineAt: Date.now() + 500, requeue: false };
    server.toStop.push({ jobId: 'job_n', reason: 'budget', graceMs: 500, notice });
    await until(() => server.finishedAcks.get('job_n') === 1);
    expect(server.of('finished', 'job_n')[0]!.body).toMatchObject({ cause: 'stopped', exitCode: 0, signal: null });
    const out = server.log('job_n', 'stdout');
    expect(out).toContain('the budget of team-a is spent');
    expect(JSON.parse(out.slice('ready\n'.length))).toEqual({ ...notice, graceMs: 500 });
  });

  it('sends device telemetry, and a tool printing garbage is logged once while the agent carries on', async () => {
    let calls = 0;
    const source: TelemetrySource = {
      name: 'nvidia-smi',
      async sample(now) {
        calls++;
        if (calls <= 3) throw new TelemetryFormatError('nvidia-smi', '"garbage" is not a number of watts', { line: 1, field: 'power.draw' });
        return [0, 1].map((deviceIndex) => ({ at: now, deviceIndex, uuid: null, utilizationPct: 0, memoryUsedMib: 0, powerMilliwatts: 69_900, energyMillijoules: null, temperatureC: 30, smClockMhz: 345, pstate: 'P8' }));
      },
    };
    const warnings: string[] = [];
    const logger: AgentLogger = { ...quiet, warn: (obj: object, msg?: string) => void warnings.push(`${msg} ${JSON.stringify(obj)}`) };
    await agent({ telemetrySource: source, telemetryIntervalMs: 10, logger });
    await until(() => server.of('telemetry').length >= 2);
    // The garbage did not stop heartbeats or telemetry; it was reported once, naming the line and field.
    expect(server.of('heartbeat').length).toBeGreaterThan(3);
    expect(warnings.filter((w) => w.includes('could not read device telemetry'))).toHaveLength(1);
    expect(warnings.join('\n')).toMatch(/line 1, field power\.draw/);
    const sent = server.of('telemetry')[0]!.body as { nodeId: string; samples: Array<{ deviceIndex: number; powerMilliwatts: number }> };
    expect(sent.nodeId).toBe('node_1');
    expect(sent.samples.map((x) => [x.deviceIndex, x.powerMilliwatts])).toEqual([
      [0, 69_900],
      [1, 69_900],
    ]);
  });

  it('a simulated node told it is parked goes dark (no telemetry, counters still) until it is woken', async () => {
    await agent({ telemetryIntervalMs: 10 });
    type Batch = { samples: Array<{ deviceIndex: number; powerMilliwatts: number; energyMillijoules: number; at: number }> };
    await until(() => server.of('telemetry').length >= 2);
    server.parked = true;
    const hb = server.of('heartbeat').length;
    await until(() => server.of('heartbeat').length >= hb + 2);
    const sentBefore = server.of('telemetry').length;
    const lastBefore = (server.of('telemetry').at(-1)!.body as Batch).samples[0]!;
    // Parked for a while: heartbeats go on (that is how it hears of the wake), telemetry stops.
    const hb2 = server.of('heartbeat').length;
    await until(() => server.of('heartbeat').length >= hb2 + 5);
    expect(server.of('telemetry').length).toBeLessThanOrEqual(sentBefore + 1);
    // The agent has heard "parked" (heartbeats since), so it stays dark at least these 300 ms.
    await new Promise((r) => setTimeout(r, 300));
    server.parked = false;
    await until(() => server.of('telemetry').length >= sentBefore + 3);
    const after = (server.of('telemetry').at(-1)!.body as Batch).samples[0]!;
    // The counter grew by the idle power before the park and after the wake, not over the dark time.
    expect(after.energyMillijoules - lastBefore.energyMillijoules).toBeLessThan((69_900 * (after.at - lastBefore.at - 250)) / 1000);
    expect(after.powerMilliwatts).toBe(69_900);
  });

  it('stop({ killJobs: true }) kills running jobs and reports their end', async () => {
    server.toStart.push(job('job_d', ['sleep', '30']));
    const a = await agent();
    await until(() => server.of('started', 'job_d').length === 1);
    await a.stop({ killJobs: true });
    agents.splice(agents.indexOf(a), 1);
    expect(server.of('finished', 'job_d')[0]?.body).toMatchObject({ cause: 'stopped' });
  });
});
