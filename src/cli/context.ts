import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { resolveConnection, type Connection } from './config-file.js';
import { UsageError, type CliIo } from './io.js';

/** What every command gets: its io, the resolved connection and a client, and a place to put its exit code. */
export interface CliContext {
  io: CliIo;
  /** Exit code a command chose without failing (e.g. `submit --wait` returns the job's). */
  exitCode: number;
  connection(cmd: Command): Promise<Connection>;
  /** A client with an API key; a UsageError (exit 2) when there is none. */
  client(cmd: Command): Promise<ApiClient>;
}

export interface GlobalFlags {
  server?: string;
  apiKey?: string;
}

export function createContext(io: CliIo): CliContext {
  const ctx: CliContext = {
    io,
    exitCode: 0,
    async connection(cmd) {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const conn = await resolveConnection({ server: flags.server, apiKey: flags.apiKey }, io.env);
      let url: URL | undefined;
      try {
        url = new URL(conn.server);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        throw new UsageError(`the server URL "${conn.server}" is not an http(s) URL; set --server or UNIDLE_SERVER to e.g. http://127.0.0.1:8080`);
      return conn;
    },
    async client(cmd) {
      const conn = await ctx.connection(cmd);
      if (!conn.apiKey)
        throw new UsageError('no API key: run `unidle login --key KEY`, set UNIDLE_API_KEY, or pass --api-key (`unidle up` prints one)');
      return new ApiClient({ server: conn.server, apiKey: conn.apiKey });
    },
  };
  return ctx;
}

/** Adds `--json` to a command. */
export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print the raw JSON response (for scripts)');
}

/** A positive whole number from a flag, or a UsageError naming the flag. */
export function parsePositiveInt(flag: string, raw: string, max?: number): number {
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number ≥ 1 (got "${raw}")`);
  if (max !== undefined && n > max) throw new UsageError(`${flag} must be at most ${max} (got ${n})`);
  return n;
}

/** A tenant given by name or id → its id (the list and usage endpoints filter by id). */
export async function resolveTenantId(client: ApiClient, tenant: string | undefined): Promise<string | undefined> {
  if (!tenant) return undefined;
  if (/^ten_[0-9A-Z]{26}$/.test(tenant)) return tenant;
  return (await client.getTenant(tenant)).id;
}

export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** `--json` given to this command or to its group (`unidle nodes --json show X` and `unidle nodes show X --json`). */
export function wantsJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<{ json?: boolean }>().json === true;
}
