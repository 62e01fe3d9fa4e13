import { Type, type Static } from 'typebox';
import { JOB_TIERS } from '../domain/job.js';

/**
 * One schema per resource drives validation, serialization, the TypeScript types and /openapi.json.
 * Integers are integers: milli-GPU, milli-CPU, MiB and ms (DESIGN.md §3).
 */
const Id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9A-Z]{26}$`, description: `${prefix}_… id` });
const EpochMs = Type.Integer({ minimum: 0, description: 'ms since the epoch' });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'stable machine-readable code' }),
    detail: Type.String(),
    errors: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  },
  { $id: 'Problem', description: 'application/problem+json (RFC 9457)' },
);

export const Money = Type.Object(
  {
    amountMicros: Type.Integer({ description: 'integer micro-units of the currency (¥1 = 1000000)' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, e.g. CNY' }),
  },
  { $id: 'Money', additionalProperties: false },
);

export const JobSubmission = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    command: Type.Array(Type.String(), { minItems: 1, description: 'program and arguments (argv), run without a shell' }),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    workingDir: Type.Optional(Type.String({ description: 'absolute path on the node' })),
    gpuMilli: Type.Optional(Type.Integer({ description: 'a share of one GPU, 1–999 milli-GPU' })),
    gpus: Type.Optional(Type.Integer({ description: 'whole GPUs on one node, ≥ 1' })),
    nodes: Type.Optional(Type.Integer({ minimum: 1, description: 'a gang job on this many nodes (Slurm nodes), each with `gpus` whole GPUs and the CPU and memory asked; default 1' })),
    models: Type.Optional(Type.Array(Type.String(), { maxItems: 32, description: 'allowed GPU models, e.g. ["H100"]' })),
    minGpuMemoryMib: Type.Optional(Type.Integer()),
    cpuMilli: Type.Optional(Type.Integer({ description: 'milli-cores, default 1000' })),
    memoryMib: Type.Optional(Type.Integer({ description: 'MiB, default 2048' })),
    maxDurationMs: Type.Optional(Type.Integer({ description: 'killed when it runs this long; default 24 h' })),
    tier: Type.Optional(Type.String({ description: `one of ${JOB_TIERS.join(', ')}` })),
    maxPricePerHour: Type.Optional(
      Type.Object(
        { amountMicros: Type.Integer(), currency: Type.String() },
        { additionalProperties: false, description: 'spot bid: the most this job pays per hour for its whole shape; default: the on-demand price' },
      ),
    ),
    requeueOnPreemption: Type.Optional(Type.Boolean({ description: 'spot: go back to the queue when preempted (default true)' })),
  },
  { additionalProperties: false, $id: 'JobSubmission' },
);
export type JobSubmissionBody = Static<typeof JobSubmission>;

const JobStateSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('scheduled'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
  Type.Literal('lost'),
  Type.Literal('preempted'),
]);

const JobFields = {
  id: Id('job'),
  tenantId: Id('ten'),
  memberId: Id('mem'),
  name: Nullable(Type.String()),
  state: JobStateSchema,
  stateReason: Type.String({ description: 'why the job is in its state; for queued jobs, why it is pending' }),
  tier: Type.String(),
  gpuMilli: Nullable(Type.Integer()),
  gpus: Nullable(Type.Integer()),
  nodeCount: Type.Integer({ description: 'nodes the job spans (gang jobs); gpus, CPU and memory are per node' }),
  models: Type.Array(Type.String()),
  minGpuMemoryMib: Nullable(Type.Integer()),
  cpuMilli: Type.Integer(),
  memoryMib: Type.Integer(),
  maxDurationMs: Type.Integer(),
  command: Type.Array(Type.String()),
  env: Type.Record(Type.String(), Type.String()),
  workingDir: Nullable(Type.String()),
  nodeId: Nullable(Type.String()),
  nodeName: Nullable(Type.String()),
  executorRef: Nullable(Type.String({ description: "the executor's own id of the current run: the Slurm job id (named unidle-<jobId> in squeue and sacct)" })),
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  createdAt: EpochMs,
  scheduledAt: Nullable(EpochMs),
  startedAt: Nullable(EpochMs),
  endedAt: Nullable(EpochMs),
  cancelRequestedAt: Nullable(EpochMs),
  maxPricePerHour: Nullable(Money),
  requeueOnPreemption: Type.Boolean(),
  pricePerHour: Nullable(Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }, { description: 'price per hour of the whole shape, fixed when the job was placed (spot: follows the clearing price)' })),
  reservationId: Nullable(Type.String()),
  preemptRequestedAt: Nullable(EpochMs),
  preemptReason: Nullable(Type.String()),
  preemptions: Type.Integer({ description: 'times this job was preempted and requeued' }),
};

export const Job = Type.Object(JobFields, { $id: 'Job' });

const EnergySourceSchema = Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('none')], {
  description: 'the coarsest telemetry that measured any of the time: raw samples, one-minute rollups, or none',
});

/** A job's attributed energy (docs/energy.md): device energy split by milli share, idle by held share. */
export const EnergyUse = Type.Object(
  {
    source: EnergySourceSchema,
    energyMj: Type.Integer({ description: 'attributed device energy, mJ (dynamicMj + idleMj)' }),
    dynamicMj: Type.Integer({ description: 'share of the above-idle energy, by milli share' }),
    idleMj: Type.Integer({ description: 'share of the idle energy, by held share (includes nodeIdleMj)' }),
    nodeIdleMj: Type.Integer({ description: "share of the node's non-GPU idle power, when the operator set one" }),
    kWh: Type.Number({ description: 'energyMj in kWh (six decimals)' }),
    pueMilli: Type.Integer({ description: 'PUE × 1000 applied to cost and CO₂' }),
    cost: Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }, { description: 'energy × PUE × tariff (informational: the GPU-hour price includes energy)' }),
    tariff: Type.String({ description: "the tariff priced at: 'flat' (the center's tariff per kWh) or a time-of-use tariff's name" }),
    co2Grams: Type.Number({ description: 'energy × PUE × carbon intensity, grams (to the milligram)' }),
    carbonIntensityGPerKwh: Type.Number({ description: 'g CO₂ per kWh (default China grid 2023: 530.6)' }),
    measuredShare: Type.Number({ description: "fraction (0–1) of the job's device-time covered by telemetry" }),
  },
  { description: 'energy attributed to the job; null when energy metering is off' },
);

export const JobDetail = Type.Object(
  {
    ...JobFields,
    allocations: Type.Array(Type.Object({ nodeId: Type.String(), nodeName: Type.String(), deviceIndex: Type.Integer(), model: Type.String(), gpuMilli: Type.Integer() })),
    transitions: Type.Array(Type.Object({ from: Nullable(JobStateSchema), to: JobStateSchema, reason: Type.String(), at: EpochMs })),
    usage: Type.Object({
      gpuMilliSeconds: Type.Integer(),
      cpuMilliSeconds: Type.Integer(),
      memoryMibSeconds: Type.Integer(),
      meteredUntil: Nullable(EpochMs),
    }),
    cost: Type.Object({
      charged: Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }),
      leases: Type.Array(
        Type.Object({
          id: Type.String(),
          model: Type.String(),
          tier: Type.String(),
          gpuMilli: Type.Integer(),
          pricePerGpuHour: Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }),
          floorPerGpuHour: Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }),
          startAt: EpochMs,
          endAt: Nullable(EpochMs),
          chargedUntil: EpochMs,
          charged: Type.Object({ amountMicros: Type.Integer(), currency: Type.String() }),
        }),
      ),
    }),
    energy: Nullable(EnergyUse),
  },
  { $id: 'JobDetail' },
);

export const JobPage = Type.Object({ items: Type.Array(Job), nextCursor: Nullable(Type.String()) }, { $id: 'JobPage' });

export const JobListQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ description: 'comma-separated states, e.g. queued,running' })),
    tenantId: Type.Optional(Type.String({ description: 'operators only' })),
    nodeId: Type.Optional(Type.String()),
    createdAfter: Type.Optional(Type.Integer({ minimum: 0 })),
    createdBefore: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const LogPage = Type.Object(
  {
    entries: Type.Array(Type.Object({ id: Type.Integer(), stream: Type.String(), offset: Type.Integer(), text: Type.String() })),
    next: Type.Integer({ description: 'pass as `after` to get what comes next' }),
    state: JobStateSchema,
  },
  { $id: 'LogPage' },
);

export const Device = Type.Object(
  {
    id: Type.String(),
    index: Type.Integer(),
    uuid: Type.String(),
    name: Type.String(),
    model: Type.String(),
    memoryMib: Type.Integer(),
    allocatedMilli: Type.Integer(),
  },
  { $id: 'Device' },
);

export const Node = Type.Object(
  {
    id: Type.String(),
    centerId: Type.String(),
    name: Type.String(),
    hostname: Type.String(),
    executor: Type.String(),
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    statusReason: Nullable(Type.String()),
    cordoned: Type.Boolean(),
    draining: Type.Boolean(),
    cordonReason: Nullable(Type.String()),
    powerState: Type.Union([Type.Literal('on'), Type.Literal('parking'), Type.Literal('parked'), Type.Literal('waking')], {
      description: 'on: takes work; parking/parked/waking: powered down or on its way (docs/energy.md, node parking)',
    }),
    powerChangedAt: Nullable(EpochMs),
    parkVeto: Type.Boolean({ description: 'the operator forbids parking this node' }),
    parkVetoReason: Nullable(Type.String()),
    cpuMilli: Type.Integer(),
    memoryMib: Type.Integer(),
    allocatedCpuMilli: Type.Integer(),
    allocatedMemoryMib: Type.Integer(),
    gpus: Type.Integer(),
    allocatedGpuMilli: Type.Integer(),
    lastHeartbeatAt: Nullable(EpochMs),
    agentVersion: Nullable(Type.String()),
    registeredAt: EpochMs,
    devices: Type.Array(Device),
  },
  { $id: 'Node' },
);

export const ParkingStatus = Type.Object(
  {
    policy: Type.Union([Type.Literal('off'), Type.Literal('idle-timer'), Type.Literal('unidle')]),
    driver: Type.String(),
    idleMs: Type.Integer(),
    wakeTimeoutMs: Type.Integer(),
    nodes: Type.Object({ on: Type.Integer(), parking: Type.Integer(), parked: Type.Integer(), waking: Type.Integer() }),
    parkedGpus: Type.Integer(),
    cycleBudget: Nullable(
      Type.Object(
        { perDay: Type.Integer(), per24h: Type.Integer() },
        { description: "unidle: the most parks per node per calendar day (in its center's time zone) and in any 24 h" },
      ),
    ),
    forecastUpperGpus: Nullable(Type.Integer({ description: "upper 95 % bound of busy GPUs over the next hour, summed over pools (unidle policy, after two weeks of history)" })),
    forecastByPool: Type.Array(
      Type.Object({
        pool: Type.String({ description: 'center id / GPU model (mixed: a node of several models)' }),
        busyGpus: Type.Integer(),
        upperGpus: Type.Integer({ description: 'upper 95 % bound of busy GPUs over the next hour' }),
      }),
      { description: 'unidle: each pool keeps its own forecast rise free and awake; pools with under two weeks of history are left out' },
    ),
    lastTickAt: Nullable(EpochMs),
    lastDecision: Nullable(Type.Object({ park: Type.Array(Type.String()), wake: Type.Array(Type.String()) })),
  },
  { $id: 'ParkingStatus' },
);

export const Center = Type.Object(
  { id: Type.String(), name: Type.String(), region: Type.String(), timezone: Type.String(), createdAt: EpochMs },
  { $id: 'Center' },
);

export const Tenant = Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String(), createdAt: EpochMs }, { $id: 'Tenant' });

export const MemberRole = Type.Union([Type.Literal('operator'), Type.Literal('tenant-admin'), Type.Literal('member'), Type.Literal('agent')]);

export const Member = Type.Object(
  { id: Type.String(), tenantId: Nullable(Type.String()), name: Type.String(), email: Nullable(Type.String()), role: MemberRole, createdAt: EpochMs },
  { $id: 'Member' },
);

export const Me = Type.Object(
  {
    memberId: Type.String(),
    name: Type.String(),
    role: MemberRole,
    tenantId: Nullable(Type.String()),
    tenantName: Nullable(Type.String()),
    centerId: Nullable(Type.String()),
    keyId: Type.String(),
  },
  { $id: 'Me' },
);

const KeyFields = {
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  memberId: Type.String(),
  memberName: Type.String(),
  role: MemberRole,
  tenantId: Nullable(Type.String()),
  createdAt: EpochMs,
  lastUsedAt: Nullable(EpochMs),
  revokedAt: Nullable(EpochMs),
};
export const ApiKey = Type.Object(KeyFields, { $id: 'ApiKey' });
export const CreatedApiKey = Type.Object({ ...KeyFields, key: Type.String({ description: 'the secret; shown only now' }) }, { $id: 'CreatedApiKey' });

const UsageNumbers = {
  jobs: Type.Integer(),
  gpuMilliSeconds: Type.Integer({ description: 'milli-GPU × seconds of allocation' }),
  gpuHours: Type.Number({ description: 'for people; gpuMilliSeconds is exact' }),
  cpuMilliSeconds: Type.Integer(),
  memoryMibSeconds: Type.Integer(),
};

export const UsageReport = Type.Object(
  {
    from: Nullable(EpochMs),
    to: Nullable(EpochMs),
    groupBy: Type.Array(Type.String()),
    period: Type.String(),
    rows: Type.Array(
      Type.Object({
        tenantId: Nullable(Type.String()),
        tenantName: Nullable(Type.String()),
        model: Nullable(Type.String()),
        jobId: Nullable(Type.String()),
        period: Nullable(Type.String()),
        ...UsageNumbers,
      }),
    ),
    total: Type.Object(UsageNumbers),
  },
  { $id: 'UsageReport' },
);

export const UsageQuery = Type.Object(
  {
    tenantId: Type.Optional(Type.String()),
    jobId: Type.Optional(Type.String()),
    from: Type.Optional(Type.Integer({ minimum: 0 })),
    to: Type.Optional(Type.Integer({ minimum: 0 })),
    groupBy: Type.Optional(Type.String({ description: 'comma-separated: tenant, model, job, period' })),
    period: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('month')])),
  },
  { additionalProperties: false },
);

export const AuditEvent = Type.Object(
  {
    id: Type.Integer(),
    at: EpochMs,
    type: Type.String({ description: 'e.g. job.state, node.down, key.created' }),
    subjectKind: Type.String(),
    subjectId: Type.String(),
    tenantId: Nullable(Type.String()),
    actor: Nullable(Type.String({ description: 'member id, or system' })),
    message: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'AuditEvent' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
