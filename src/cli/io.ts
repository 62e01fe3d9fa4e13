import type { Writable } from 'node:stream';

/**
 * Where a command reads and writes. `main` gets these from the process; tests pass their own so a
 * command runs in-process with captured output and a controlled environment.
 */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Aborted when the user asks to stop (SIGINT/SIGTERM); long-running commands watch it. */
  signal?: AbortSignal;
}

/** Bad flags or values: exit code 2 and nothing sent to the server. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a chosen exit code and a message already fit for people. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

export function printJson(io: CliIo, value: unknown): void {
  writeLine(io.stdout, JSON.stringify(value, null, 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
