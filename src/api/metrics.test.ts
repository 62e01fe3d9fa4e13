import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { renderPrometheus } from './prometheus-text.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';

const dialects = await testDialects();

describe('Prometheus text', () => {
  it('escapes label values and help, and writes one family after another', () => {
    const text = renderPrometheus([{ name: 'x_total', help: 'a\\b\nc', type: 'counter', samples: [{ labels: { host: 'a"b\\c\nd', gpu: 0 }, value: 1.5 }] }]);
    expect(text).toBe('# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{host="a\\"b\\\\c\\nd",gpu="0"} 1.5\n');
  });
});

describe.each(dialects)('/metrics on %s', (dialect) => {
  let h: Harness;
  let app: App;
  beforeEach(async () => {
    h = await createHarness(dialect);
    app = await buildApp({ control: h.control, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await h.dispose();
  });

  it('serves DCGM-named GPU gauges and business metrics to operators only', async () => {
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2, 'H200', 143_771)));
    const now = h.clock.now();
    await h.control.telemetry.ingest(h.agent, {
      nodeId,
      samples: [0, 1].map((i) => ({ deviceIndex: i, at: now, utilizationPct: i * 100, memoryUsedMib: 512, powerMilliwatts: i === 0 ? 80_300 : 690_120, energyMillijoules: 1_000_000, temperatureC: 35, smClockMhz: 1980, pstate: 'P0' })),
    });
    await h.control.jobs.submit(h.demo, { command: ['x'], gpus: 1 });
    await h.control.jobs.submit(h.demo, { command: ['x'], gpus: 8 }).catch(() => undefined);
    await h.control.scheduling.run();
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${h.seed.operatorKey}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = res.body;
    expect(body).toContain('# TYPE DCGM_FI_DEV_POWER_USAGE gauge');
    expect(body).toMatch(/DCGM_FI_DEV_POWER_USAGE\{gpu="1",UUID="GPU-test-H200-1",modelName="H200",Hostname="node-a",node="node-a"\} 690\.12/);
    expect(body).toMatch(/DCGM_FI_DEV_GPU_UTIL\{gpu="0".*\} 0/);
    expect(body).toMatch(/unidle_gpu_allocated_milli\{gpu="0".*\} 1000/);
    expect(body).toMatch(/unidle_gpus_idle\{model="H200"\} 1/);
    expect(body).toContain('# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter');
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${h.seed.demoKey}` } })).statusCode).toBe(403);
  });
});
