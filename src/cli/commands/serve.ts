import { Command } from 'commander';
import { seedDemo } from '../../control/demo-seed.js';
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
      'Run the Unidle API server and control plane (no agents, no demo data; see `unidle up` for that). Environment: UNIDLE_PORT, UNIDLE_HOST, UNIDLE_DATA_DIR, DATABASE_URL (postgres://…; unset = embedded SQLite), UNIDLE_POLICY, UNIDLE_LOG_LEVEL, UNIDLE_EXECUTOR (agent | slurm) with UNIDLE_SLURMRESTD_URL, UNIDLE_SLURM_JWT_KEY_FILE, UNIDLE_SLURM_PARTITION, UNIDLE_SLURM_LOG_DIR, SLURM_CONF; node parking: UNIDLE_PARKING, UNIDLE_POWER_DRIVER. Ctrl-C stops it gracefully.',
    )
    .option('--port <port>', 'port to listen on (default 8080; 0 = any free port)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--data-dir <dir>', 'where SQLite and other state live (default ./.unidle)')
    .option('--policy <name>', 'placement policy')
    .option('--executor <name>', 'agent (node agents only, default) or slurm (also run work on the Slurm cluster of SLURM_CONF / UNIDLE_SLURMRESTD_URL; docs/slurm.md)')
    .option('--log-level <level>', 'trace, debug, info, warn, error (default info)')
    .addHelpText('after', examples(['unidle serve', 'unidle serve --host 0.0.0.0 --port 9090', 'eval "$(scripts/slurm-dev-cluster.sh env)" && unidle serve --executor slurm', 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/unidle unidle serve']))
    .action(async (flags: { port?: string; host?: string; dataDir?: string; policy?: string; logLevel?: string; executor?: string }) => {
      const config = serverConfig({ port: flags.port, host: flags.host, dataDir: flags.dataDir, policy: flags.policy, logLevel: flags.logLevel, executor: flags.executor }, io.env);
      const shutdown = waitForShutdown(io);
      try {
        const server = await startServer(config);
        writeLine(io.stderr, `Unidle ${unidleVersion()} listening on ${server.url} (API docs: ${server.url}/docs)`);
        writeLine(io.stderr, `database: ${describeDatabase(config)}; placement policy: ${config.policy}`);
        if (config.executor === 'slurm') {
          // A Slurm center has no `unidle up` to hand out keys: the first start creates them, once.
          const seed = await seedDemo(server.control, { centerName: config.slurm.center, adminKey: io.env.UNIDLE_ADMIN_KEY, demoKey: io.env.UNIDLE_DEMO_KEY });
          writeLine(io.stderr, `executor: Slurm via ${config.slurm.restUrl ? `slurmrestd at ${config.slurm.restUrl}` : 'the Slurm commands'} (partition ${config.slurm.partition}, center ${config.slurm.center}); output in ${config.slurm.logDir}`);
          if (seed.operatorKey) writeLine(io.stderr, `operator key (shown once): ${seed.operatorKey}`);
          if (seed.demoKey) writeLine(io.stderr, `demo tenant key (shown once): ${seed.demoKey}   e.g. UNIDLE_API_KEY=… unidle submit --gpus 2 -- nvidia-smi -L`);
        }
        await shutdown.stopped;
        await server.close();
        writeLine(io.stderr, 'stopped');
      } finally {
        shutdown.dispose();
      }
    });
}
