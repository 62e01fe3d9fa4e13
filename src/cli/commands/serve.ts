import { Command } from 'commander';
import { startServer, unidleVersion } from '../../server/server.js';
import { examples, type CliContext } from '../context.js';
import { writeLine } from '../io.js';
import { describeDatabase, serverConfig } from '../server-flags.js';
import { waitForShutdown } from '../shutdown.js';

export function registerServeCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('serve')
    .summary('run the API server and control plane')
    .description(
      'Run the Unidle API server and control plane (no agents, no demo data; see `unidle up` for that). Environment: UNIDLE_PORT, UNIDLE_HOST, UNIDLE_DATA_DIR, DATABASE_URL (postgres://…; unset = embedded SQLite), UNIDLE_POLICY, UNIDLE_LOG_LEVEL. Ctrl-C stops it gracefully.',
    )
    .option('--port <port>', 'port to listen on (default 8080; 0 = any free port)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--data-dir <dir>', 'where SQLite and other state live (default ./.unidle)')
    .option('--policy <name>', 'placement policy')
    .option('--log-level <level>', 'trace, debug, info, warn, error (default info)')
    .addHelpText('after', examples(['unidle serve', 'unidle serve --host 0.0.0.0 --port 9090', 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/unidle unidle serve']))
    .action(async (flags: { port?: string; host?: string; dataDir?: string; policy?: string; logLevel?: string }) => {
      const config = serverConfig({ port: flags.port, host: flags.host, dataDir: flags.dataDir, policy: flags.policy, logLevel: flags.logLevel }, io.env);
      const shutdown = waitForShutdown(io);
      try {
        const server = await startServer(config);
        writeLine(io.stderr, `Unidle ${unidleVersion()} listening on ${server.url} (API docs: ${server.url}/docs)`);
        writeLine(io.stderr, `database: ${describeDatabase(config)}; placement policy: ${config.policy}`);
        await shutdown.stopped;
        await server.close();
        writeLine(io.stderr, 'stopped');
      } finally {
        shutdown.dispose();
      }
    });
}
