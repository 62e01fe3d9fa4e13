import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DcgmExporterSource, parseDcgmMetrics, type FetchFn } from './dcgm.js';
import { TelemetryFormatError, TelemetrySourceError } from './sample.js';

/**
 * test/fixtures/telemetry/dcgm-h200.prom is constructed, not recorded (no dcgm-exporter ran on the lent
 * H200): label names and order as in shared/notes §1.2 (dcgm-exporter's render template), metric set
 * and types as in its default counters (§1.1), and values from the real H200 recordings in
 * test/fixtures/nvidia-smi/h200 (GPU 0 idle at about 80 W with the recorded UUID, PCI bus id and
 * driver; GPU 1 a second H200, values from the busy recording, UUID made up).
 */
const PAGE = readFileSync(new URL('../../../test/fixtures/telemetry/dcgm-h200.prom', import.meta.url), 'utf8');
const UUID0 = 'GPU-54196981-1456-6759-7bdc-2a765535945b';
const UUID1 = 'GPU-3f0a7c12-88d4-4b9e-a1c6-5e2d9b7f4a80';

const IDLE = {
  at: 1_000,
  deviceIndex: 0,
  uuid: UUID0,
  utilizationPct: 0,
  memoryUsedMib: 0,
  powerMilliwatts: 80_264,
  energyMillijoules: 20_813_761_234,
  temperatureC: 40,
  smClockMhz: 345,
  pstate: null,
};
const BUSY = {
  at: 1_000,
  deviceIndex: 1,
  uuid: UUID1,
  utilizationPct: 99,
  memoryUsedMib: 1011,
  powerMilliwatts: 691_042,
  energyMillijoules: 129_600_004_321,
  temperatureC: 63,
  smClockMhz: 1500,
  pstate: null,
};

const LABELS0 = `gpu="0",UUID="${UUID0}",pci_bus_id="00000000:00:06.0",device="nvidia0",modelName="NVIDIA H200"`;

describe('parseDcgmMetrics', () => {
  it('reads the H200 page exactly, one sample per GPU, with the hostname', () => {
    expect(parseDcgmMetrics(PAGE, 1_000)).toEqual({ hostname: 'h200-node-01', samples: [IDLE, BUSY] });
  });

  it('accepts the newer lowercase hostname label, and no hostname at all', () => {
    const renamed = PAGE.replaceAll('Hostname="h200-node-01"', 'hostname="h200-node-01"');
    expect(renamed).not.toContain('Hostname=');
    expect(parseDcgmMetrics(renamed, 1_000)).toEqual({ hostname: 'h200-node-01', samples: [IDLE, BUSY] });
    const without = PAGE.replaceAll(',Hostname="h200-node-01"', '');
    expect(parseDcgmMetrics(without, 1_000)).toEqual({ hostname: null, samples: [IDLE, BUSY] });
  });

  it('accepts --use-old-namespace uuid labels, reordered labels, timestamps and comments', () => {
    const page = [
      '# dcgm-exporter, old namespace',
      `DCGM_FI_DEV_POWER_USAGE{uuid="${UUID0}",Hostname="n1",gpu="0"} 80.23 1764361973000`,
      `DCGM_FI_DEV_GPU_UTIL{Hostname="n1",uuid="${UUID0}",gpu="0",} 0 1764361973000`,
    ].join('\n');
    expect(parseDcgmMetrics(page, 5)).toEqual({
      hostname: 'n1',
      samples: [{ at: 5, deviceIndex: 0, uuid: UUID0, utilizationPct: 0, memoryUsedMib: null, powerMilliwatts: 80_230, energyMillijoules: null, temperatureC: null, smClockMhz: null, pstate: null }],
    });
  });

  it('keeps escaped label values intact and uses them verbatim', () => {
    const page = [
      `DCGM_FI_DEV_POWER_USAGE{${LABELS0},Hostname="rack \\"A\\"\\\\node-1",err_msg="line1\\nline2, with {braces}"} 80.5`,
      `DCGM_FI_DEV_GPU_UTIL{${LABELS0},Hostname="rack \\"A\\"\\\\node-1"} 3`,
    ].join('\n');
    const scrape = parseDcgmMetrics(page, 0);
    expect(scrape.hostname).toBe('rack "A"\\node-1');
    expect(scrape.samples[0]).toMatchObject({ powerMilliwatts: 80_500, utilizationPct: 3 });
  });

  it('turns NaN, infinities and DCGM blank values into null', () => {
    const page = [
      `DCGM_FI_DEV_POWER_USAGE{${LABELS0}} NaN`,
      `DCGM_FI_DEV_GPU_UTIL{${LABELS0}} +Inf`,
      `DCGM_FI_DEV_FB_USED{${LABELS0}} 2147483632`,
      `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{${LABELS0}} 9223372036854775792`,
      `DCGM_FI_DEV_GPU_TEMP{${LABELS0}} 41`,
    ].join('\n');
    expect(parseDcgmMetrics(page, 0).samples[0]).toMatchObject({ powerMilliwatts: null, utilizationPct: null, memoryUsedMib: null, energyMillijoules: null, temperatureC: 41 });
    expect(parseDcgmMetrics(`DCGM_FI_DEV_POWER_USAGE{${LABELS0}} 140737488355328.000000`, 0).samples[0]!.powerMilliwatts).toBeNull();
  });

  it('converts watts exactly and keeps the first of repeated series (Kubernetes per-pod duplicates)', () => {
    const page = [
      `DCGM_FI_DEV_POWER_USAGE{${LABELS0},pod="a",namespace="x",container="c"} 80.230000`,
      `DCGM_FI_DEV_POWER_USAGE{${LABELS0},pod="b",namespace="x",container="c"} 80.230000`,
      `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{${LABELS0}} 1.5e+10`,
    ].join('\n');
    expect(parseDcgmMetrics(page, 0).samples).toEqual([expect.objectContaining({ powerMilliwatts: 80_230, energyMillijoules: 15_000_000_000 })]);
  });

  it('builds whole-GPU samples from MIG instance series', () => {
    const mig = (gi: string, profile: string) => `gpu="0",UUID="${UUID0}",device="nvidia0",modelName="NVIDIA H200",GPU_I_PROFILE="${profile}",GPU_I_ID="${gi}",Hostname="n1"`;
    const page = [
      `DCGM_FI_DEV_POWER_USAGE{${mig('1', '3g.71gb')}} 295.120000`,
      `DCGM_FI_DEV_POWER_USAGE{${mig('2', '2g.35gb')}} 295.120000`,
      `DCGM_FI_DEV_FB_USED{${mig('1', '3g.71gb')}} 40000`,
      `DCGM_FI_DEV_FB_USED{${mig('2', '2g.35gb')}} 1200`,
      `DCGM_FI_DEV_GPU_UTIL{${mig('1', '3g.71gb')}} 0`,
      `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{${mig('1', '3g.71gb')}} 123456`,
    ].join('\n');
    expect(parseDcgmMetrics(page, 0).samples).toEqual([
      { at: 0, deviceIndex: 0, uuid: UUID0, utilizationPct: null, memoryUsedMib: 41_200, powerMilliwatts: 295_120, energyMillijoules: 123_456, temperatureC: null, smClockMhz: null, pstate: null },
    ]);
  });

  it('ignores other metrics and returns nothing for a page without GPU metrics', () => {
    expect(parseDcgmMetrics('# HELP up x\n# TYPE up gauge\nup 1\n', 0)).toEqual({ hostname: null, samples: [] });
    expect(parseDcgmMetrics('', 0)).toEqual({ hostname: null, samples: [] });
  });

  it('rejects malformed pages naming the line and the metric or label', () => {
    const lines = PAGE.split('\n');
    const broken = (n: number, replacement: string) => () => parseDcgmMetrics([...lines.slice(0, n - 1), replacement, ...lines.slice(n)].join('\n'), 0);
    const p = lines.findIndex((l) => l.startsWith('DCGM_FI_DEV_POWER_USAGE{gpu="0"'));
    const power = lines[p]!;
    const n = p + 1;
    expect(n).toBe(19); // the fixture's GPU 0 power line
    expect(broken(n, power.replace('80.264000', 'eighty'))).toThrow(/^dcgm-exporter output line 19, field DCGM_FI_DEV_POWER_USAGE: "eighty" is not a number/);
    expect(broken(n, power.replace('80.264000', '-3'))).toThrow(/line 19, field DCGM_FI_DEV_POWER_USAGE: -3 is negative/);
    expect(broken(n, power.replace('Hostname="h200-node-01"', 'Hostname="other"'))).toThrow(/line 19, field Hostname: the page mixes hosts "h200-node-01" \(line 3\) and "other"/);
    expect(broken(n, power.replace(/gpu="0",/, ''))).toThrow(/line 19, field gpu: DCGM_FI_DEV_POWER_USAGE has no gpu label/);
    expect(broken(n, power.replace('gpu="0"', 'gpu="zero"'))).toThrow(/line 19, field gpu: gpu label "zero"/);
    expect(broken(n, power.replace(UUID0, 'GPU-other'))).toThrow(/line 19, field UUID: gpu 0 has two UUIDs/);
    expect(broken(n, power.replace('} 80', ' 80'))).toThrow(/line 19/);
    const util = lines.findIndex((l) => l.startsWith('DCGM_FI_DEV_GPU_UTIL{gpu="1"'));
    expect(broken(util + 1, lines[util]!.replace('} 99', '} 250'))).toThrow(new RegExp(`line ${util + 1}, field DCGM_FI_DEV_GPU_UTIL: 250 is above 100`));
  });
});

describe('DcgmExporterSource', () => {
  const okFetch = (body: string, calls: Array<[string, AbortSignal, Record<string, string>]> = []): FetchFn => async (url, init) => {
    calls.push([url, init.signal, init.headers]);
    return { ok: true, status: 200, statusText: 'OK', text: async () => body };
  };

  it('scrapes the URL through the injected fetch and remembers the hostname', async () => {
    const calls: Array<[string, AbortSignal, Record<string, string>]> = [];
    const source = new DcgmExporterSource({ url: 'http://127.0.0.1:9400/metrics', fetch: okFetch(PAGE, calls) });
    expect(source.name).toBe('dcgm-exporter');
    expect(source.lastHostname).toBeNull();
    expect(await source.sample(1_000)).toEqual([IDLE, BUSY]);
    expect(source.lastHostname).toBe('h200-node-01');
    expect(calls[0]![0]).toBe('http://127.0.0.1:9400/metrics');
    expect(calls[0]![1]).toBeInstanceOf(AbortSignal);
    expect(calls[0]![2].accept).toMatch(/^text\/plain/);
    expect((await source.scrape(2_000)).samples[0]!.at).toBe(2_000);
  });

  it('reports HTTP errors, timeouts and refused connections as TelemetrySourceError', async () => {
    const url = 'http://node:9400/metrics';
    const status: FetchFn = async () => ({ ok: false, status: 503, statusText: 'Service Unavailable', text: async () => '' });
    await expect(new DcgmExporterSource({ url, fetch: status }).sample(0)).rejects.toThrow(/answered HTTP 503 Service Unavailable/);
    const refused: FetchFn = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    await expect(new DcgmExporterSource({ url, fetch: refused }).sample(0)).rejects.toThrow(/is unreachable \(ECONNREFUSED\); is dcgm-exporter running\?/);
    const hangs: FetchFn = (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(init.signal.reason));
      });
    const slow = new DcgmExporterSource({ url, fetch: hangs, timeoutMs: 20 }).sample(0);
    await expect(slow).rejects.toBeInstanceOf(TelemetrySourceError);
    await expect(new DcgmExporterSource({ url, fetch: hangs, timeoutMs: 20 }).sample(0)).rejects.toThrow(/did not answer within 20 ms/);
    await expect(new DcgmExporterSource({ url, fetch: okFetch('DCGM_FI_DEV_GPU_UTIL{gpu="0"} x') }).sample(0)).rejects.toBeInstanceOf(TelemetryFormatError);
  });
});
