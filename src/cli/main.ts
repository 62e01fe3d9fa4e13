import { Command, CommanderError } from 'commander';
import { unidleVersion } from '../server/server.js';
import { ApiError, ConnectionError } from './api-client.js';
import { createContext } from './context.js';
import { CliError, UsageError, writeLine, type CliIo } from './io.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerBillingCommands } from './commands/billing.js';
import { registerJobCommands } from './commands/jobs.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLoginCommand } from './commands/login.js';
import { registerMarketCommands } from './commands/market.js';
import { registerNodeCommands } from './commands/nodes.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSimCommands } from './commands/sim.js';
import { registerTenantCommands } from './commands/tenants.js';
import { registerUpCommand } from './commands/up.js';
import { registerUsageCommands } from './commands/usage.js';

export interface MainOptions extends Partial<CliIo> {
  /** 'node' when argv is process.argv (node, script, …); 'user' when it is only the arguments. */
  from?: 'node' | 'user';
}

/** The `unidle` program, wired to an io. A fresh one per call: commander keeps parsed values on it. */
export function buildProgram(io: CliIo): { program: Command; ctx: ReturnType<typeof createContext> } {
  const ctx = createContext(io);
  const program = new Command('unidle');
  program
    .description('Unidle: schedule, meter and sell GPU capacity. Talks to a Unidle server (start one with `unidle up`).')
    .version(unidleVersion(), '-V, --version')
    .option('--server <url>', 'Unidle server URL (env UNIDLE_SERVER, then `unidle login`, default http://127.0.0.1:8080)')
    .option('--api-key <key>', 'API key (env UNIDLE_API_KEY, then `unidle login`)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Getting started:
  npm start                                  # = unidle up: server, demo data, 2 simulated nodes
  export UNIDLE_API_KEY=unk_…                # the demo tenant key it prints (or: unidle login --key …)
  unidle submit --gpu-milli 500 --model H100 -- python train.py
  unidle jobs
  unidle logs JOB_ID --follow
  unidle usage
  unidle quote --gpu-milli 500 --model H100 --tier spot --hours 2   # price, start, total, alternatives
  unidle balance

Every command takes --help. Read commands take --json for scripts. Exit codes: 0 ok, 1 failure
(server, network, auth), 2 bad input (fix the flags or values and retry).
`,
    );

  registerUpCommand(program, ctx);
  registerServeCommand(program, ctx);
  registerAgentCommand(program, ctx);
  registerLoginCommand(program, ctx);
  registerJobCommands(program, ctx);
  registerNodeCommands(program, ctx);
  registerTenantCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerUsageCommands(program, ctx);
  registerMarketCommands(program, ctx);
  registerBillingCommands(program, ctx);
  registerSimCommands(program, ctx);
  return { program, ctx };
}

/** Maps a failure to its message and exit code: 2 for input the user can fix, 1 for everything else. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // commander has already printed its message (or the help / version)
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    writeLine(io.stderr, `error: ${err.message}`);
    return 2;
  }
  if (err instanceof ApiError) {
    writeLine(io.stderr, `error: ${err.detail}`);
    const shown = new Set([err.detail]);
    for (const p of err.problems) {
      const line = `${p.field}: ${p.message}`;
      if (!err.detail.includes(line) && !shown.has(line)) writeLine(io.stderr, `  - ${line}`);
      shown.add(line);
    }
    if (err.status === 401) writeLine(io.stderr, 'check the key: `unidle login --key …`, UNIDLE_API_KEY or --api-key');
    return err.isInputError ? 2 : 1;
  }
  if (err instanceof ConnectionError) {
    writeLine(io.stderr, `error: cannot reach the Unidle server at ${err.server} (${err.reason}) — is \`unidle up\` running? (set UNIDLE_SERVER or --server)`);
    return 1;
  }
  if (err instanceof CliError) {
    writeLine(io.stderr, `error: ${err.message}`);
    return err.exitCode;
  }
  writeLine(io.stderr, `error: ${err instanceof Error ? err.message : String(err)}`);
  if (io.env.UNIDLE_DEBUG && err instanceof Error && err.stack) writeLine(io.stderr, err.stack);
  return 1;
}

/**
 * The `unidle` command. Returns the exit code. bin/unidle.js passes process.argv; tests pass only the
 * arguments with their own stdout/stderr/env.
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const io: CliIo = {
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    env: options.env ?? process.env,
    signal: options.signal,
  };
  const from = options.from ?? (argv === process.argv ? 'node' : 'user');
  const { program, ctx } = buildProgram(io);
  try {
    await program.parseAsync(argv, { from });
    return ctx.exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}
