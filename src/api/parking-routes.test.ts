import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { createHarness, registration, simulatedDevices, type Harness } from '../test-support/control-harness.js';
import { testDialects } from '../test-support/databases.js';
import { ScriptedAgent } from '../test-support/market-fixtures.js';

const dialects = await testDialects();

describe.each(dialects)('node parking over HTTP on %s', (dialect) => {
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

  const call = (method: 'GET' | 'POST', url: string, key = h.seed.operatorKey!, body?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });

  it('parks and wakes nodes, shows power state and vetoes, and refuses a busy node with a 409 that says why', async () => {
    const { nodeId } = await h.control.agents.register(h.agent, registration('node-a', simulatedDevices(2)));
    const nodeB = (await h.control.agents.register(h.agent, registration('node-b', simulatedDevices(2)))).nodeId;
    // Both nodes report their power once.
    for (const id of [nodeId, nodeB]) {
      const samples = [0, 1].map((deviceIndex) => ({ deviceIndex, at: h.clock.now(), utilizationPct: 0, memoryUsedMib: 0, powerMilliwatts: 69_900, energyMillijoules: null, temperatureC: 30, smClockMhz: 345, pstate: 'P8' }));
      await h.control.telemetry.ingest(h.agent, { nodeId: id, samples });
    }
    const powerLines = async () => ((await call('GET', '/metrics')).body.match(/^DCGM_FI_DEV_POWER_USAGE\{.*node="(node-[ab])".*$/gm) ?? []).map((l) => l.match(/node="(node-[ab])"/)![1]);
    expect((await powerLines()).sort()).toEqual(['node-a', 'node-a', 'node-b', 'node-b']);
    await h.control.jobs.submit(h.demo, { command: ['x'], gpus: 1, models: ['H100'] });
    await h.control.scheduling.run();
    await new ScriptedAgent(h, nodeId).beat();
    const busy = (await h.control.inventory.getNode('node-a')).devices.some((d) => d.allocatedMilli > 0) ? 'node-a' : 'node-b';
    const idle = busy === 'node-a' ? 'node-b' : 'node-a';

    const refused = await call('POST', `/v1/nodes/${busy}/park`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toMatch(/holds work; only an empty node can be parked/);
    expect((await call('POST', `/v1/nodes/${idle}/park`, h.seed.demoKey!)).statusCode).toBe(403);

    const parked = await call('POST', `/v1/nodes/${idle}/park`);
    expect(parked.statusCode).toBe(200);
    expect(parked.json()).toMatchObject({ name: idle, powerState: 'parked', parkVeto: false });
    const status = await call('GET', '/v1/parking');
    expect(status.json()).toMatchObject({ policy: 'off', driver: 'simulated', nodes: { on: 1, parked: 1, parking: 0, waking: 0 }, parkedGpus: 2, cycleBudget: null });
    const metrics = await call('GET', '/metrics');
    expect(metrics.body).toMatch(/unidle_gpus_parked\{model="H100"\} 2/);
    expect(metrics.body).toMatch(/unidle_nodes\{status="up",power_state="parked"\} 1/);
    // The parked node's last power reading is no longer exported as what it draws.
    expect(await powerLines()).toEqual([busy, busy]);

    expect((await call('POST', `/v1/nodes/${idle}/wake`)).json()).toMatchObject({ powerState: 'waking' });
    const veto = await call('POST', `/v1/nodes/${busy}/forbid-park`, undefined, { reason: 'inference SLO' });
    expect(veto.json()).toMatchObject({ parkVeto: true, parkVetoReason: 'inference SLO' });
    expect((await call('POST', `/v1/nodes/${busy}/allow-park`, undefined, {})).json()).toMatchObject({ parkVeto: false, parkVetoReason: null });
  });
});
