import { execFile } from 'node:child_process';
import { TelemetrySourceError } from './sample.js';

/**
 * Runs a program without a shell. Injected so tests never need a GPU; the same shape as the agent's
 * discovery `ExecFn`, so one implementation serves both.
 */
export type ExecFn = (
  file: string,
  args: string[],
  options: { timeout: number },
) => Promise<{ stdout: string; stderr: string }>;

export const defaultExec: ExecFn = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeout, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });

/**
 * Runs a vendor tool and returns its stdout, turning the ways it can fail into a TelemetrySourceError
 * that says what to do: not installed (ENOENT), hung (timeout), or failed (exit status, with the
 * tool's own message, which nvidia-smi prints on stdout).
 */
export async function runTool(
  sourceName: string,
  exec: ExecFn,
  file: string,
  args: string[],
  timeoutMs: number,
  missingHint: string,
): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { timeout: timeoutMs });
    return stdout;
  } catch (err) {
    const e = (err ?? {}) as { code?: string | number; message?: string; stdout?: string; stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') {
      throw new TelemetrySourceError(sourceName, `${file} was not found on this host (${missingHint})`, { cause: err });
    }
    if (e.code === 'EACCES') {
      throw new TelemetrySourceError(sourceName, `${file} is not executable by this user`, { cause: err });
    }
    if (e.killed === true || e.code === 'ETIMEDOUT') {
      throw new TelemetrySourceError(sourceName, `${file} did not answer within ${timeoutMs} ms (driver hung?)`, { cause: err });
    }
    const said = [e.stderr, e.stdout].map((s) => (s ?? '').trim()).find((s) => s !== '');
    const status = typeof e.code === 'number' ? ` with exit status ${e.code}` : '';
    throw new TelemetrySourceError(sourceName, `${file} failed${status}: ${said ?? e.message ?? String(err)}`, { cause: err });
  }
}
