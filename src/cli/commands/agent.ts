import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { consoleLogger, startAgent } from '../../agent/agent.js';
import { parseSimulateSpec } from '../../agent/gpu-discovery.js';
import { installCatalog } from '../../domain/gpu-catalog.js';
import { ConfigError, loadCatalogFile } from '../../server/config.js';
import { examples, type CliContext } from '../context.js';
import { UsageError, writeLine } from '../io.js';
import { waitForShutdown } from '../shutdown.js';
import { telemetryInterval } from '../server-flags.js';

/** `--simulate` checked before anything starts, so a typo is an exit-2 message. */
export function checkSimulateSpec(spec: string | undefined, nodeName: string): void {
  if (spec === undefined) return;
  try {
    parseSimulateSpec(spec, nodeName);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function registerAgentCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('agent')
    .summary('run the node agent on a GPU host')
    .description(
      'Run the node agent (logs on stderr; UNIDLE_LOG_LEVEL=debug for more): it registers this host and its GPUs with the server, heartbeats, and runs jobs as child processes with CUDA_VISIBLE_DEVICES set. GPUs are found with nvidia-smi; on a host without nvidia-smi pass --simulate 8xH100 (or COUNTxMODEL[,COUNTxMODEL…]) to run with simulated GPUs. Ctrl-C stops the agent but leaves running jobs running; the agent adopts them again when it comes back.',
    )
    .option('--token <token>', 'agent token (env UNIDLE_AGENT_TOKEN); `unidle up` makes one for its local agents')
    .option('--node-name <name>', 'the node\'s name (default: the hostname)')
    .option('--simulate <spec>', 'simulated GPUs instead of nvidia-smi, e.g. 8xH100 or 2xH100,2xL40S')
    .option('--state-dir <dir>', 'where the agent keeps what it runs (default <UNIDLE_DATA_DIR or ./.unidle>/agent/<node>)')
    .addHelpText(
      'after',
      examples([
        'unidle agent --server http://10.0.0.5:8080 --token unk_…',
        'UNIDLE_AGENT_TOKEN=unk_… unidle agent --server http://10.0.0.5:8080 --node-name gpu-07',
        'unidle agent --server http://127.0.0.1:8080 --token unk_… --simulate 8xH100   # no nvidia-smi here',
      ]),
    )
    .action(async (flags: { token?: string; nodeName?: string; simulate?: string; stateDir?: string }, cmd: Command) => {
      const token = flags.token || io.env.UNIDLE_AGENT_TOKEN;
      if (!token) throw new UsageError('give the agent token: --token T or UNIDLE_AGENT_TOKEN (an operator gets one from `unidle up` or `unidle keys create --member <agent member>`)');
      const nodeName = flags.nodeName || hostname();
      // The operator's own models (UNIDLE_CATALOG), so this host names its devices as the server does.
      if (io.env.UNIDLE_CATALOG) {
        try {
          installCatalog(loadCatalogFile(io.env.UNIDLE_CATALOG));
        } catch (err) {
          if (err instanceof ConfigError) throw new UsageError(err.message);
          throw err;
        }
      }
      checkSimulateSpec(flags.simulate, nodeName);
      const { server } = await ctx.connection(cmd);
      const stateDir = resolve(flags.stateDir ?? join(io.env.UNIDLE_DATA_DIR || '.unidle', 'agent', nodeName));
      const shutdown = waitForShutdown(io);
      // Ctrl-C while the agent still waits for the server to accept it ends the wait.
      const abort = new AbortController();
      void shutdown.stopped.then(() => abort.abort());
      try {
        let agent;
        try {
          agent = await startAgent({ serverUrl: server, token, nodeName, stateDir, simulate: flags.simulate, logger: consoleLogger(), signal: abort.signal, telemetryIntervalMs: telemetryInterval(io.env) });
        } catch (err) {
          if (abort.signal.aborted) return writeLine(io.stderr, 'stopped before the server accepted the agent');
          throw err;
        }
        writeLine(io.stderr, `agent for node ${nodeName} (${agent.nodeId}) connected to ${server}${flags.simulate ? ` with simulated ${flags.simulate}` : ''}; state in ${stateDir}`);
        await shutdown.stopped;
        await agent.stop({ killJobs: false });
        writeLine(io.stderr, 'agent stopped; running jobs keep running and are adopted when the agent starts again');
      } finally {
        shutdown.dispose();
      }
    });
}
