import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { SlurmExecutor } from '../executors/slurm/slurm-executor.js';
import { SlurmRestClient } from '../executors/slurm/slurmrestd-client.js';
import { SlurmCliClient } from '../executors/slurm/slurm-cli-client.js';
import pino from 'pino';
import { buildApp, type App } from '../api/app.js';
import { ControlPlane, type ControlPlaneOptions } from '../control/control-plane.js';
import { commandPowerDriver } from '../control/power/command-power-driver.js';
import { simulatedNodePowerDriver } from '../control/power/node-power-driver.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { installCatalog } from '../domain/gpu-catalog.js';
import { createPolicy } from '../scheduler/policy-registry.js';
import { migrate, openStore, type StoreHandle } from '../store/database.js';
import type { ServerConfig } from './config.js';

export interface RunningServer {
  app: App;
  control: ControlPlane;
  store: StoreHandle;
  /** http://host:port the server listens on (port resolved when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

export function unidleVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

/** The control plane's knobs as the configuration sets them (tests and benchmarks start from here too). */
export function controlOptions(config: ServerConfig): ControlPlaneOptions {
  return {
    policy: createPolicy(config.policy),
    agent: { heartbeatIntervalMs: config.heartbeatIntervalMs, graceMs: config.graceMs, maxLogChunkBytes: 1024 * 1024, maxLogBytesPerStream: config.maxLogBytesPerStream },
    monitor: { heartbeatTimeoutMs: config.heartbeatTimeoutMs, unconfirmedJobTimeoutMs: config.unconfirmedJobTimeoutMs },
    scheduleIntervalMs: config.scheduleIntervalMs,
    meteringIntervalMs: config.meteringIntervalMs,
    monitorIntervalMs: config.monitorIntervalMs,
    idle: { thresholdPct: config.idleThresholdPct, idleForMs: config.idleMinutes * 60_000, reclaimSpot: config.reclaimIdleSpot },
    parking: {
      policy: config.parkingPolicy,
      idleMs: config.parkAfterMinutes * 60_000,
      wakeTimeoutMs: config.wakeTimeoutMs,
      marginGpus: config.parkingMarginGpus,
      maxCyclesPerDay: config.parkingMaxCyclesPerDay,
      maxCyclesPer24h: config.parkingMaxCyclesPer24h,
      driver:
        config.powerDriver === 'command'
          ? commandPowerDriver({ parkCommand: config.powerParkCommand!, wakeCommand: config.powerWakeCommand!, ...(config.powerStatusCommand ? { statusCommand: config.powerStatusCommand } : {}) })
          : simulatedNodePowerDriver({ wakeMs: config.simulatedWakeMs }),
    },
    parkingIntervalMs: config.parkingIntervalMs,
  };
}

/** The Slurm executor of the configuration: slurmrestd when a URL is set, else the Slurm commands. */
async function slurmExecutor(control: ControlPlane, config: ServerConfig, logger: pino.Logger): Promise<SlurmExecutor> {
  const s = config.slurm;
  const api = s.restUrl
    ? new SlurmRestClient({ baseUrl: s.restUrl, user: s.user, ...(s.jwtKeyFile ? { jwtKeyFile: s.jwtKeyFile } : { token: s.token! }), requeueVia: new SlurmCliClient() })
    : new SlurmCliClient();
  const existing = (await control.inventory.listCenters()).find((c) => c.name === s.center || c.id === s.center);
  const centerId = existing?.id ?? (await control.inventory.createCenter('system', { name: s.center, region: 'local', timezone: 'Asia/Shanghai' })).id;
  await mkdir(s.logDir, { recursive: true });
  logger.info({ api: api.kind, url: s.restUrl, center: s.center, partition: s.partition }, 'running work on Slurm');
  return new SlurmExecutor(control.store.db, control.clock, api, control.inventory, control.agents, { centerId, partition: s.partition, logDir: s.logDir, workDir: s.logDir, lostAfterMs: s.lostAfterMs }, logger);
}

/** The composition root of the control plane: store + core + API, wired and listening. */
export async function startServer(config: ServerConfig, options: { clock?: Clock; logger?: pino.Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: undefined });
  if (config.catalog) installCatalog(config.catalog);
  const store = openStore({ databaseUrl: config.databaseUrl, sqlitePath: join(config.dataDir, 'unidle.db'), pgSchema: config.pgSchema });
  try {
    await migrate(store, config.pgSchema);
  } catch (err) {
    await store.close();
    throw err;
  }
  const control = new ControlPlane(store, options.clock ?? systemClock, controlOptions(config), logger);
  const app = await buildApp({ control, version: unidleVersion(), errorLog: logger });
  if (config.executor === 'slurm') control.useExecutor(await slurmExecutor(control, config, logger), config.slurm.pollMs);
  await control.start();
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await control.stop();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${config.port} on ${config.host} is in use; pick another with --port or UNIDLE_PORT`);
    throw err;
  }
  let closed = false;
  return {
    app,
    control,
    store,
    url: address.replace('[::1]', 'localhost'),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await control.stop();
      await store.close();
    },
  };
}
