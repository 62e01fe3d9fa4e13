import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import { seedDemo, type SeedResult } from '../../control/demo-seed.js';
import { startServer, unidleVersion, type RunningServer } from '../../server/server.js';
import { DEFAULT_SERVER } from '../config-file.js';
import { examples, parsePositiveInt, type CliContext } from '../context.js';
import { CliError, sleep, writeLine } from '../io.js';
import { describeDatabase, serverConfig, telemetryInterval } from '../server-flags.js';
import { waitForShutdown } from '../shutdown.js';
import { checkSimulateSpec } from './agent.js';

const NODE_WAIT_MS = 30_000;

/** The banner `unidle up` prints once everything is running. */
export function upBanner(input: { url: string; database: string; seed: Pick<SeedResult, 'operatorKey' | 'demoKey' | 'agentToken'>; nodes: string[]; simulate: string; env: NodeJS.ProcessEnv }): string {
  const { url, seed } = input;
  const lines: string[] = [];
  const cli = 'npx unidle';
  lines.push('', `  Unidle ${unidleVersion()} is up.`, '');
  lines.push(`  API          ${url}`);
  lines.push(`  API docs     ${url}/docs   (OpenAPI: ${url}/openapi.json)`);
  lines.push(`  Database     ${input.database}`);
  lines.push(`  Nodes        ${input.nodes.join(', ')} (${input.simulate} simulated each, local agents)`);
  lines.push('');
  const presetAdmin = !!input.env.UNIDLE_ADMIN_KEY;
  const presetDemo = !!input.env.UNIDLE_DEMO_KEY;
  if (seed.operatorKey) lines.push(`  Operator key     ${seed.operatorKey}${presetAdmin ? '   (from UNIDLE_ADMIN_KEY)' : '   (shown once)'}`);
  if (seed.demoKey) lines.push(`  Demo tenant key  ${seed.demoKey}${presetDemo ? '   (from UNIDLE_DEMO_KEY)' : '   (shown once; tenant "demo", role tenant-admin)'}`);
  if (!seed.operatorKey || !seed.demoKey) {
    lines.push(
      `  ${!seed.operatorKey && !seed.demoKey ? 'The operator and demo keys' : !seed.operatorKey ? 'The operator key' : 'The demo tenant key'} already exist from an earlier run and are not shown again:`,
      '  only their hashes are stored. Use the key you saved, or:',
      `    - make a new one with a key you still have: ${cli} keys create --name laptop`,
      '    - or restart with keys you choose (any secret of 16+ characters): UNIDLE_ADMIN_KEY=… UNIDLE_DEMO_KEY=… npm start',
      '    - or start afresh with another --data-dir (or delete ./.unidle)',
    );
  }
  lines.push('', '  What to try next (in another shell):', '');
  if (url !== DEFAULT_SERVER) lines.push(`    export UNIDLE_SERVER=${url}`);
  lines.push(`    export UNIDLE_API_KEY=${seed.demoKey ?? '<demo tenant key>'}`);
  lines.push(`    ${cli} submit --gpu-milli 500 -- sh -c 'echo hello; sleep 2'`);
  lines.push(`    ${cli} jobs`);
  lines.push(`    ${cli} logs <job id>`);
  lines.push(`    ${cli} usage`);
  lines.push(`    ${cli} nodes --api-key ${seed.operatorKey ?? '<operator key>'}    # operators see nodes`);
  lines.push('', '  Add a node from another shell or host (agent token, valid until revoked):', '');
  lines.push(`    ${cli} agent --server ${url} --token ${seed.agentToken} --node-name demo-node-${input.nodes.length + 1} --simulate ${input.simulate}`);
  lines.push('', '  Ctrl-C stops the server and the agents.', '');
  return lines.join('\n');
}

async function waitForNodes(server: RunningServer, agents: AgentHandle[], signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + NODE_WAIT_MS;
  for (;;) {
    const nodes = await server.control.inventory.listNodes();
    const up = agents.filter((a) => nodes.some((n) => n.id === a.nodeId && n.status === 'up'));
    if (up.length === agents.length) return;
    if (Date.now() > deadline) throw new CliError(`only ${up.length} of ${agents.length} demo nodes came up within ${NODE_WAIT_MS / 1000} s; see the log above`, 1);
    if (signal.aborted) return;
    await sleep(100, signal);
  }
}

export function registerUpCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('up')
    .summary('start the demo: server, demo data and local agents')
    .description(
      'Start Unidle on this machine for a demo or development: the API server (SQLite in <data dir>/unidle.db unless DATABASE_URL is set), a demo center, a `demo` tenant, an operator key and a demo tenant key (printed once), and N local agents with simulated GPUs. Environment: UNIDLE_PORT, UNIDLE_DATA_DIR, DATABASE_URL, UNIDLE_ADMIN_KEY and UNIDLE_DEMO_KEY (use these keys instead of making new ones). Ctrl-C stops everything it started.',
    )
    .option('--port <port>', 'port to listen on (default 8080; env UNIDLE_PORT)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--data-dir <dir>', 'where data lives (default ./.unidle; env UNIDLE_DATA_DIR)')
    .option('--nodes <n>', 'how many demo nodes', '2')
    .option('--simulate <spec>', 'simulated GPUs per node', '8xH100')
    .option('--log-level <level>', 'server and agent log level (default warn, to keep the banner readable)')
    .addHelpText('after', examples(['npm start            # = unidle up', 'unidle up --port 9090 --data-dir /tmp/unidle-demo', 'UNIDLE_ADMIN_KEY=unk_… UNIDLE_DEMO_KEY=unk_… unidle up --nodes 4 --simulate 4xH100,4xL40S']))
    .action(async (flags: { port?: string; host?: string; dataDir?: string; nodes: string; simulate: string; logLevel?: string }) => {
      const count = parsePositiveInt('--nodes', flags.nodes, 64);
      const names = Array.from({ length: count }, (_, i) => `demo-node-${i + 1}`);
      for (const name of names) checkSimulateSpec(flags.simulate, name);
      const logLevel = flags.logLevel ?? io.env.UNIDLE_LOG_LEVEL ?? 'warn';
      const config = serverConfig({ port: flags.port, host: flags.host, dataDir: flags.dataDir, logLevel }, io.env);
      const logger = pino({ level: logLevel, base: undefined });
      const shutdown = waitForShutdown(io);
      const abort = new AbortController();
      void shutdown.stopped.then(() => abort.abort());
      let server: RunningServer | undefined;
      const agents: AgentHandle[] = [];
      try {
        server = await startServer(config, { logger });
        const seed = await seedDemo(server.control, { adminKey: io.env.UNIDLE_ADMIN_KEY || undefined, demoKey: io.env.UNIDLE_DEMO_KEY || undefined });
        for (const nodeName of names) {
          if (abort.signal.aborted) break;
          try {
            agents.push(
              await startAgent({
                serverUrl: server.url,
                token: seed.agentToken,
                nodeName,
                hostname: nodeName,
                stateDir: join(config.dataDir, 'agents', nodeName),
                simulate: flags.simulate,
                logger: logger.child({ node: nodeName }),
                signal: abort.signal,
                telemetryIntervalMs: telemetryInterval(io.env),
              }),
            );
          } catch (err) {
            if (abort.signal.aborted) break;
            throw err;
          }
        }
        await waitForNodes(server, agents, abort.signal);
        if (!abort.signal.aborted) writeLine(io.stdout, upBanner({ url: server.url, database: describeDatabase(config), seed, nodes: names, simulate: flags.simulate, env: io.env }));
        await shutdown.stopped;
      } finally {
        // Stop what was started, newest first: agents (and their jobs), then the server.
        for (const agent of agents.reverse()) {
          try {
            await agent.stop({ killJobs: true });
          } catch (err) {
            writeLine(io.stderr, `stopping agent ${agent.nodeId}: ${(err as Error).message}`);
          }
        }
        await server?.close();
        shutdown.dispose();
        if (server) writeLine(io.stderr, 'stopped');
      }
    });
}
