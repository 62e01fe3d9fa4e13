import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `unidle login` remembers. */
export interface SavedLogin {
  server?: string;
  apiKey?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** `$XDG_CONFIG_HOME/unidle/config.json`, else `~/.config/unidle/config.json`. */
export function configPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'unidle', 'config.json');
}

export async function loadLogin(env: NodeJS.ProcessEnv): Promise<SavedLogin> {
  try {
    const parsed = JSON.parse(await readFile(configPath(env), 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object') return {};
    const { server, apiKey } = parsed as Record<string, unknown>;
    return { server: typeof server === 'string' ? server : undefined, apiKey: typeof apiKey === 'string' ? apiKey : undefined };
  } catch {
    return {};
  }
}

/** Saves the login readable by its owner only (the key is a secret). */
export async function saveLogin(env: NodeJS.ProcessEnv, login: SavedLogin): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // writeFile's mode only applies when the file is new
  return path;
}

export interface Connection {
  server: string;
  apiKey: string | undefined;
}

/** Flag, then environment, then the saved login, then the default. */
export async function resolveConnection(flags: { server?: string; apiKey?: string }, env: NodeJS.ProcessEnv): Promise<Connection> {
  const saved = await loadLogin(env);
  return {
    server: flags.server || env.UNIDLE_SERVER || saved.server || DEFAULT_SERVER,
    apiKey: flags.apiKey || env.UNIDLE_API_KEY || saved.apiKey || undefined,
  };
}
