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
  /** Market settings (docs/pricing.md): one currency per center, PUE ×1000, tariff per kWh. */
  currency: string;
  pue_milli: number;
  tariff_micros_per_kwh: number;
  tax_rate_permille: number;
  pricing_policy: string;
  /** JSON options of the pricing policy. */
  pricing_params: string;
  /** Spot floor = cost floor × this / 1000. */
  spot_floor_permille: number;
  /** Reserved price = list × (1000 − this) / 1000. */
  reserved_discount_permille: number;
  spot_grace_ms: number;
  fair_share_window_ms: number;
  /** Warn a prepaid tenant when its balance covers less than this much of its current burn. */
  balance_warning_ms: number;
  /** After spot work is stopped for an exhausted balance, on-demand work is stopped this much later. */
  on_demand_stop_after_ms: number;
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
  /** on | parking | parked | waking (src/control/parking-service.ts). */
  power_state: string;
  /** When power_state last changed; null: never parked. */
  power_changed_at: number | null;
  /** 1: the operator forbids parking this node. */
  park_veto: number;
  park_veto_reason: string | null;
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
  payment_mode: 'prepaid' | 'postpaid';
  /** Hard limit on charges per calendar month (UTC); null: none. */
  budget_limit_micros: number | null;
  fair_share_weight_milli: number;
  balance_warned_at: number | null;
  balance_exhausted_at: number | null;
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
  /**
   * Where the job's meter starts (set when it starts running) and its final reading (set when it
   * ends). While it runs, its leases' `charged_until` cursors are the meter.
   */
  metered_until: number | null;
  updated_at: number;
  /** Spot bid: the most the tenant pays per GPU-hour. */
  max_price_micros: number | null;
  /** 1: a preempted job goes back to the queue; 0: it ends as `preempted`. */
  requeue_on_preempt: number;
  /** Price per GPU-hour decided when the job was placed; its lease starts at it. */
  price_micros: number | null;
  reservation_id: string | null;
  /** Set when the job was told to leave (notice given); it is signalled by its agent. */
  preempt_requested_at: number | null;
  preempt_deadline_at: number | null;
  preempt_kind: string | null;
  preempt_reason: string | null;
  preemptions: number;
  /**
   * Allocated-but-idle detection (src/control/idle-detector.ts): start of the current idle episode
   * (null: not idle) and when it was flagged. Optional so rows written without them (a new job) need
   * not name them; reads get null (or undefined from a row built in code).
   */
  idle_since: number | null;
  idle_flagged_at: number | null;
  /** The external engine's id for the current run (a Slurm job id); null for agent work and before submission. */
  executor_ref: string | null;
  /** Nodes a gang job spans (1: one node); gpus, CPU and memory are per node. */
  node_count: number;
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
  lease_id: string | null;
  price_micros: number;
  charge_micros: number;
  currency: string;
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

export interface PriceBookTable {
  center_id: string;
  model: string;
  list_micros: number;
  purchase_price_micros: number;
  depreciation_months: number;
  overhead_micros_per_gpu_hour: number;
  expected_utilization_permille: number;
  updated_at: number;
}

export interface SpotPricesTable {
  center_id: string;
  model: string;
  price_micros: number;
  supply_milli: number;
  demand_milli: number;
  at: number;
}

export interface ReservationsTable {
  id: string;
  tenant_id: string;
  center_id: string;
  model: string;
  gpu_milli: number;
  lending_limit_milli: number;
  start_at: number;
  end_at: number;
  /** Discounted price per GPU-hour. */
  price_micros: number;
  total_micros: number;
  /** Prepaid money already recognised as revenue (it grows with time over the term). */
  recognized_micros: number;
  currency: string;
  status: 'active' | 'cancelled';
  idempotency_key: string | null;
  created_at: number;
}

export interface LeasesTable {
  id: string;
  job_id: string;
  tenant_id: string;
  center_id: string;
  node_id: string;
  model: string;
  tier: string;
  gpu_milli: number;
  price_micros: number;
  floor_micros: number;
  currency: string;
  reservation_id: string | null;
  start_at: number;
  end_at: number | null;
  /** Charged from start_at up to here; equals end_at once the lease is closed and billed. */
  charged_until: number;
  charged_micros: number;
  created_at: number;
}

export interface LedgerTransactionsTable {
  id: string;
  at: number;
  kind: string;
  memo: string;
  tenant_id: string | null;
  ref: string | null;
  created_at: number;
}

export interface LedgerPostingsTable {
  id: Generated<number>;
  transaction_id: string;
  account: string;
  tenant_id: string | null;
  amount_micros: number;
  currency: string;
  at: number;
}

/** Market settings a new center starts with (docs/pricing.md explains each). */
export const CENTER_MARKET_DEFAULTS = {
  currency: 'CNY',
  pue_milli: 1300,
  tariff_micros_per_kwh: 650_000,
  tax_rate_permille: 0,
  pricing_policy: 'fixed',
  pricing_params: '{}',
  spot_floor_permille: 650,
  reserved_discount_permille: 300,
  spot_grace_ms: 30_000,
  fair_share_window_ms: 7 * 24 * 3_600_000,
  balance_warning_ms: 3_600_000,
  on_demand_stop_after_ms: 300_000,
} as const satisfies Partial<CentersTable>;

export const TENANT_BILLING_DEFAULTS = {
  payment_mode: 'postpaid',
  budget_limit_micros: null,
  fair_share_weight_milli: 1000,
  balance_warned_at: null,
  balance_exhausted_at: null,
} as const satisfies Partial<TenantsTable>;

export interface GpuSamplesTable {
  device_id: string;
  at: number;
  node_id: string;
  utilization_pct: number | null;
  memory_used_mib: number | null;
  power_mw: number | null;
  /** The device's cumulative energy counter, when the source has one (DCGM, nvidia-smi `total_energy_consumption`). */
  energy_mj: number | null;
  temperature_c: number | null;
  sm_clock_mhz: number | null;
  pstate: string | null;
}

export interface GpuRollupTable {
  device_id: string;
  bucket_at: number;
  node_id: string;
  samples: number;
  utilization_sum: number;
  utilization_n: number;
  power_sum_mw: number;
  power_n: number;
  power_max_mw: number | null;
  memory_used_max_mib: number | null;
  temperature_max_c: number | null;
  energy_first_mj: number | null;
  energy_last_mj: number | null;
}

export interface TelemetryRollupsTable {
  level: '1m' | '1h' | 'retention';
  done_until: number;
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
  price_book: PriceBookTable;
  spot_prices: SpotPricesTable;
  reservations: ReservationsTable;
  leases: LeasesTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_postings: LedgerPostingsTable;
  gpu_samples: GpuSamplesTable;
  gpu_samples_1m: GpuRollupTable;
  gpu_samples_1h: GpuRollupTable;
  telemetry_rollups: TelemetryRollupsTable;
}
