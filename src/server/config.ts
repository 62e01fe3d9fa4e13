import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { extendCatalog, type GpuModel } from '../domain/gpu-catalog.js';
import { isUnidleError } from '../domain/errors.js';
import { DEFAULT_POLICY, policyNames } from '../scheduler/policy-registry.js';
import { LIVE_PARKING_POLICIES, type LiveParkingPolicy } from '../control/parking-service.js';

/** Everything `unidle serve`/`up` can be told, with where each value may come from. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests isolate runs this way). */
  pgSchema: string | undefined;
  policy: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  unconfirmedJobTimeoutMs: number;
  graceMs: number;
  scheduleIntervalMs: number;
  meteringIntervalMs: number;
  monitorIntervalMs: number;
  maxLogBytesPerStream: number;
  logLevel: string;
  /** The built-in accelerator catalog extended by the operator's file (UNIDLE_CATALOG), if any. */
  catalog: readonly GpuModel[] | undefined;
  /** Allocated-but-idle detection (src/control/idle-detector.ts): a sample at or below this % is idle. */
  idleThresholdPct: number;
  /** How long a job must hold its GPUs idle before it is flagged. */
  idleMinutes: number;
  /** Tell idle spot jobs to leave (with the center's spot grace); off unless asked for. */
  reclaimIdleSpot: boolean;
  /** Node parking (docs/energy.md): off | idle-timer | unidle. */
  parkingPolicy: LiveParkingPolicy;
  /** idle-timer: park after this many idle minutes; unidle: the least idle time before parking. */
  parkAfterMinutes: number;
  parkingMarginGpus: number;
  parkingMaxCyclesPerDay: number;
  parkingMaxCyclesPer24h: number;
  parkingIntervalMs: number;
  /** A woken node not up within this long is marked down. */
  wakeTimeoutMs: number;
  /** simulated | command */
  powerDriver: 'simulated' | 'command';
  /** simulated driver: how long a wake takes. */
  simulatedWakeMs: number;
  powerParkCommand: string | undefined;
  powerWakeCommand: string | undefined;
  powerStatusCommand: string | undefined;
  /** agent: node agents only; slurm: also run work on a Slurm cluster (docs/slurm.md). */
  executor: 'agent' | 'slurm';
  slurm: SlurmConfig;
}

export interface SlurmConfig {
  /** slurmrestd URL; unset: the Slurm commands (sbatch, squeue, sacct…) with SLURM_CONF. */
  restUrl: string | undefined;
  /** The JWT key file (AuthAltParameters=jwt_key=…) to mint tokens with, or a fixed token. */
  jwtKeyFile: string | undefined;
  token: string | undefined;
  user: string;
  partition: string;
  /** The center Slurm's nodes belong to (created if missing). */
  center: string;
  /** Where Slurm writes job output; must be readable by the server. */
  logDir: string;
  pollMs: number;
  lostAfterMs: number;
}

/**
 * Reads an operator's catalog file: a JSON array of models (docs/catalog.md) that add to or override
 * the built-in catalog. Every problem is reported at once, with the file and the field.
 */
export function loadCatalogFile(path: string): readonly GpuModel[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`UNIDLE_CATALOG: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let models: unknown;
  try {
    models = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`UNIDLE_CATALOG: ${path} is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(models)) throw new ConfigError(`UNIDLE_CATALOG: ${path} must hold a JSON array of models, e.g. [{"id": "B200", …}]`);
  try {
    return extendCatalog(models);
  } catch (err) {
    if (isUnidleError(err)) throw new ConfigError(`UNIDLE_CATALOG: ${path}: ${err.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    throw err;
  }
}

export class ConfigError extends Error {}

function intFrom(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be a whole number ≥ ${min} (got "${raw}")`);
  return n;
}

function boolFrom(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function percentFrom(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 100) throw new ConfigError(`${name} must be a utilization percentage from 0 to below 100, e.g. 5 (got "${raw}")`);
  return n;
}

export interface ConfigInput {
  port?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  policy?: string;
  logLevel?: string;
  executor?: string;
}

export function resolveConfig(flags: ConfigInput, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const port = intFrom(flags.port !== undefined ? '--port' : 'UNIDLE_PORT', flags.port ?? env.UNIDLE_PORT, 8080, 0);
  if (port > 65535) throw new ConfigError(`--port must be 0–65535 (got ${port})`);
  const policy = flags.policy ?? env.UNIDLE_POLICY ?? DEFAULT_POLICY;
  if (!policyNames().includes(policy)) throw new ConfigError(`unknown placement policy "${policy}"; choose one of ${policyNames().join(', ')}`);
  const databaseUrl = flags.databaseUrl ?? env.DATABASE_URL ?? undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('DATABASE_URL must be a postgres:// URL; leave it unset for the embedded SQLite');
  const parkingPolicy = (env.UNIDLE_PARKING || 'off') as LiveParkingPolicy;
  const parkingMaxCyclesPerDay = intFrom('UNIDLE_PARKING_MAX_CYCLES', env.UNIDLE_PARKING_MAX_CYCLES, 2, 1);
  if (!LIVE_PARKING_POLICIES.includes(parkingPolicy)) throw new ConfigError(`UNIDLE_PARKING must be one of ${LIVE_PARKING_POLICIES.join(', ')} (got "${env.UNIDLE_PARKING}")`);
  const powerDriver = (env.UNIDLE_POWER_DRIVER || 'simulated') as 'simulated' | 'command';
  if (powerDriver !== 'simulated' && powerDriver !== 'command') throw new ConfigError(`UNIDLE_POWER_DRIVER must be simulated or command (got "${env.UNIDLE_POWER_DRIVER}")`);
  if (powerDriver === 'command' && (!env.UNIDLE_POWER_PARK_CMD || !env.UNIDLE_POWER_WAKE_CMD)) {
    throw new ConfigError('UNIDLE_POWER_DRIVER=command needs UNIDLE_POWER_PARK_CMD and UNIDLE_POWER_WAKE_CMD (shell commands; the node is in $UNIDLE_NODE_NAME and $UNIDLE_NODE_HOSTNAME)');
  }
  const executor = (flags.executor ?? env.UNIDLE_EXECUTOR ?? 'agent') as 'agent' | 'slurm';
  if (executor !== 'agent' && executor !== 'slurm') throw new ConfigError(`${flags.executor !== undefined ? '--executor' : 'UNIDLE_EXECUTOR'} must be agent or slurm (got "${flags.executor ?? env.UNIDLE_EXECUTOR}")`);
  const restUrl = env.UNIDLE_SLURMRESTD_URL || undefined;
  if (restUrl && !/^https?:\/\//.test(restUrl)) throw new ConfigError(`UNIDLE_SLURMRESTD_URL must be an http(s):// URL such as http://127.0.0.1:16819 (got "${restUrl}")`);
  if (executor === 'slurm' && restUrl && !env.UNIDLE_SLURM_JWT_KEY_FILE && !env.SLURMRESTD_TOKEN) {
    throw new ConfigError('UNIDLE_SLURMRESTD_URL needs UNIDLE_SLURM_JWT_KEY_FILE (the jwt_key of slurm.conf) or SLURMRESTD_TOKEN (from `scontrol token`); `eval "$(scripts/slurm-dev-cluster.sh env)"` sets them for the dev cluster');
  }
  const dataDir = resolve(flags.dataDir ?? env.UNIDLE_DATA_DIR ?? '.unidle');
  return {
    host: flags.host ?? env.UNIDLE_HOST ?? '127.0.0.1',
    port,
    dataDir,
    databaseUrl: databaseUrl || undefined,
    pgSchema: env.UNIDLE_PG_SCHEMA || undefined,
    policy,
    heartbeatIntervalMs: intFrom('UNIDLE_HEARTBEAT_MS', env.UNIDLE_HEARTBEAT_MS, 1000, 50),
    heartbeatTimeoutMs: intFrom('UNIDLE_HEARTBEAT_TIMEOUT_MS', env.UNIDLE_HEARTBEAT_TIMEOUT_MS, 15_000, 100),
    unconfirmedJobTimeoutMs: intFrom('UNIDLE_UNCONFIRMED_JOB_MS', env.UNIDLE_UNCONFIRMED_JOB_MS, 60_000, 100),
    graceMs: intFrom('UNIDLE_GRACE_MS', env.UNIDLE_GRACE_MS, 10_000, 0),
    scheduleIntervalMs: intFrom('UNIDLE_SCHEDULE_MS', env.UNIDLE_SCHEDULE_MS, 1000, 10),
    meteringIntervalMs: intFrom('UNIDLE_METERING_MS', env.UNIDLE_METERING_MS, 10_000, 10),
    monitorIntervalMs: intFrom('UNIDLE_MONITOR_MS', env.UNIDLE_MONITOR_MS, 1000, 10),
    maxLogBytesPerStream: intFrom('UNIDLE_MAX_LOG_BYTES', env.UNIDLE_MAX_LOG_BYTES, 64 * 1024 * 1024, 1024),
    logLevel: flags.logLevel ?? env.UNIDLE_LOG_LEVEL ?? 'info',
    catalog: env.UNIDLE_CATALOG ? loadCatalogFile(env.UNIDLE_CATALOG) : undefined,
    idleThresholdPct: percentFrom('UNIDLE_IDLE_THRESHOLD_PCT', env.UNIDLE_IDLE_THRESHOLD_PCT, 5),
    idleMinutes: intFrom('UNIDLE_IDLE_MINUTES', env.UNIDLE_IDLE_MINUTES, 30, 1),
    reclaimIdleSpot: boolFrom('UNIDLE_RECLAIM_IDLE_SPOT', env.UNIDLE_RECLAIM_IDLE_SPOT, false),
    parkingPolicy,
    parkAfterMinutes: intFrom('UNIDLE_PARK_AFTER_MINUTES', env.UNIDLE_PARK_AFTER_MINUTES, 30, 1),
    parkingMarginGpus: intFrom('UNIDLE_PARKING_MARGIN_GPUS', env.UNIDLE_PARKING_MARGIN_GPUS, 8, 0),
    parkingMaxCyclesPerDay,
    parkingMaxCyclesPer24h: intFrom('UNIDLE_PARKING_MAX_CYCLES_24H', env.UNIDLE_PARKING_MAX_CYCLES_24H, parkingMaxCyclesPerDay + 1, parkingMaxCyclesPerDay),
    parkingIntervalMs: intFrom('UNIDLE_PARKING_INTERVAL_MS', env.UNIDLE_PARKING_INTERVAL_MS, 30_000, 10),
    wakeTimeoutMs: intFrom('UNIDLE_WAKE_TIMEOUT_SECONDS', env.UNIDLE_WAKE_TIMEOUT_SECONDS, 600, 1) * 1000,
    powerDriver,
    simulatedWakeMs: intFrom('UNIDLE_SIMULATED_WAKE_SECONDS', env.UNIDLE_SIMULATED_WAKE_SECONDS, 60, 0) * 1000,
    powerParkCommand: env.UNIDLE_POWER_PARK_CMD || undefined,
    powerWakeCommand: env.UNIDLE_POWER_WAKE_CMD || undefined,
    powerStatusCommand: env.UNIDLE_POWER_STATUS_CMD || undefined,
    executor,
    slurm: {
      restUrl,
      jwtKeyFile: env.UNIDLE_SLURM_JWT_KEY_FILE || undefined,
      token: env.SLURMRESTD_TOKEN || undefined,
      user: env.UNIDLE_SLURM_USER || env.USER || 'root',
      partition: env.UNIDLE_SLURM_PARTITION || 'batch',
      center: env.UNIDLE_SLURM_CENTER || 'slurm-center',
      logDir: resolve(env.UNIDLE_SLURM_LOG_DIR || join(dataDir, 'slurm-output')),
      pollMs: intFrom('UNIDLE_SLURM_POLL_MS', env.UNIDLE_SLURM_POLL_MS, 2000, 100),
      lostAfterMs: intFrom('UNIDLE_SLURM_LOST_AFTER_SECONDS', env.UNIDLE_SLURM_LOST_AFTER_SECONDS, 120, 1) * 1000,
    },
  };
}
