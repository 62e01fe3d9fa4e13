import { writeLine, type CliIo } from './io.js';

/**
 * Resolves on the first SIGINT/SIGTERM (or when io.signal aborts, which is how tests stop a command).
 * After that, a second Ctrl-C exits at once, for when a graceful stop hangs. Call `dispose` when done.
 */
export function waitForShutdown(io: CliIo): { stopped: Promise<string>; dispose(): void } {
  let resolveStop!: (why: string) => void;
  const stopped = new Promise<string>((r) => (resolveStop = r));
  let first = true;
  const onSignal = (sig: NodeJS.Signals) => {
    if (first) {
      first = false;
      writeLine(io.stderr, `\n${sig}: stopping… (press Ctrl-C again to quit at once)`);
      resolveStop(sig);
      return;
    }
    writeLine(io.stderr, `${sig} again: quitting now`);
    process.exit(130);
  };
  const onAbort = () => {
    first = false;
    resolveStop('abort');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (io.signal?.aborted) onAbort();
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    stopped,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      io.signal?.removeEventListener('abort', onAbort);
    },
  };
}
