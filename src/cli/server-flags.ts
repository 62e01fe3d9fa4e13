import { join } from 'node:path';
import { ConfigError, resolveConfig, type ConfigInput, type ServerConfig } from '../server/config.js';
import { UsageError } from './io.js';

/** resolveConfig with its ConfigError turned into a UsageError (exit 2). */
export function serverConfig(flags: ConfigInput, env: NodeJS.ProcessEnv): ServerConfig {
  try {
    return resolveConfig(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Where the data lives, for people; a PostgreSQL password is never printed. */
export function describeDatabase(config: ServerConfig): string {
  if (!config.databaseUrl) return `SQLite at ${join(config.dataDir, 'unidle.db')}`;
  try {
    const u = new URL(config.databaseUrl);
    if (u.password) u.password = '***';
    return `PostgreSQL at ${u.toString()}${config.pgSchema ? ` (schema ${config.pgSchema})` : ''}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/** UNIDLE_TELEMETRY_MS: how often agents read and send device telemetry (default 10 s; 0 = off). */
export function telemetryInterval(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.UNIDLE_TELEMETRY_MS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`UNIDLE_TELEMETRY_MS must be a whole number of ms ≥ 0 (got "${raw}")`);
  return n;
}
