import type { Generated } from 'kysely';

/**
 * Table shapes as Kysely sees them. One schema serves SQLite and PostgreSQL, so it uses the common
 * ground: text ids, bigint integers (parsed to JS numbers on PostgreSQL; every value fits in 2^53),
 * 0/1 integers for flags and JSON documents stored as text.
 */
export interface CentersTable {
  id: string;
  name: string;
  region: string;
  timezone: string;
  created_at: number;
}

export interface NodesTable {
  id: string;
  center_id: string;
  name: string;
  hostname: string;
  executor: string;
  status: 'up' | 'down';
  status_reason: string | null;
  cordoned: number;
  draining: number;
  cordon_reason: string | null;
  power_state: string;
  cpu_milli: number;
  memory_mib: number;
  allocated_cpu_milli: number;
  allocated_memory_mib: number;
  agent_version: string | null;
  last_heartbeat_at: number | null;
  registered_at: number;
  updated_at: number;
}

export interface DevicesTable {
  id: string;
  node_id: string;
  idx: number;
  uuid: string;
  name: string;
  model: string;
  memory_mib: number;
  allocated_milli: number;
}

export interface TenantsTable {
  id: string;
  name: string;
  display_name: string;
  created_at: number;
}

export type MemberRole = 'operator' | 'tenant-admin' | 'member' | 'agent';

export interface MembersTable {
  id: string;
  tenant_id: string | null;
  center_id: string | null;
  name: string;
  email: string | null;
  role: MemberRole;
  created_at: number;
  disabled_at: number | null;
}

export interface ApiKeysTable {
  id: string;
  member_id: string;
  name: string;
  /** The public part of the key, shown in listings; unique. */
  prefix: string;
  /** sha256 of the whole key, hex. Keys are 256-bit random, so a fast hash is enough. */
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface JobsTable {
  id: string;
  tenant_id: string;
  member_id: string;
  name: string | null;
  state: string;
  state_reason: string;
  tier: string;
  gpu_milli: number | null;
  gpus: number | null;
  models: string;
  min_gpu_memory_mib: number | null;
  cpu_milli: number;
  memory_mib: number;
  max_duration_ms: number;
  command: string;
  env: string;
  working_dir: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  node_id: string | null;
  exit_code: number | null;
  signal: string | null;
  created_at: number;
  scheduled_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  cancel_requested_at: number | null;
  /** Latest time the agent confirmed the job was running; metering never goes past it. */
  confirmed_until: number | null;
  /** Server time of the last heartbeat that listed the job (liveness; immune to agent clock skew). */
  last_seen_at: number | null;
  /** Usage has been written up to here. */
  metered_until: number | null;
  updated_at: number;
}

export interface AllocationsTable {
  id: string;
  job_id: string;
  node_id: string;
  device_id: string;
  device_index: number;
  model: string;
  gpu_milli: number;
  created_at: number;
  released_at: number | null;
}

export interface UsageTable {
  id: string;
  job_id: string;
  tenant_id: string;
  center_id: string;
  node_id: string;
  gpu_model: string;
  tier: string;
  start_at: number;
  end_at: number;
  gpu_milli: number;
  cpu_milli: number;
  memory_mib: number;
  /** milli-GPU × ms; divide by 1000 for milli-GPU-seconds. */
  gpu_milli_ms: number;
  cpu_milli_ms: number;
  memory_mib_ms: number;
  created_at: number;
}

export interface JobLogsTable {
  id: Generated<number>;
  job_id: string;
  stream: string;
  offset: number;
  length: number;
  data: Uint8Array;
  created_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  subject_kind: string;
  subject_id: string;
  tenant_id: string | null;
  actor: string | null;
  message: string;
  data: string;
}

export interface Database {
  centers: CentersTable;
  nodes: NodesTable;
  devices: DevicesTable;
  tenants: TenantsTable;
  members: MembersTable;
  api_keys: ApiKeysTable;
  jobs: JobsTable;
  allocations: AllocationsTable;
  usage: UsageTable;
  job_logs: JobLogsTable;
  events: EventsTable;
}
