import { parsePrometheusText, type PrometheusSample } from './prometheus-text.js';
import { decimalToScaledInt, TelemetryFormatError, TelemetrySourceError, type DeviceSample, type TelemetrySource } from './sample.js';

const SOURCE = 'dcgm-exporter';
const DEFAULT_TIMEOUT_MS = 5_000;

type SampleField = 'powerMilliwatts' | 'utilizationPct' | 'memoryUsedMib' | 'energyMillijoules' | 'temperatureC' | 'smClockMhz';

export interface DcgmMetricRule {
  field: SampleField;
  /** Decimal digits to shift: W → mW is 3; the others are already in the sample's unit. */
  scale: number;
  max?: number;
  /** DCGM's "blank" sentinels (no data) are huge values; at or above this the field is null. */
  blankAtOrAbove: number;
}

/** DCGM_INT32_BLANK (0x7ffffff0): the smallest of DCGM's integer "no value" sentinels. */
const INT_BLANK = 0x7ffffff0;
/** DCGM_FP64_BLANK (2^47): DCGM's float "no value" sentinel. */
const FP64_BLANK = 140_737_488_355_328;
/** DCGM_INT64_BLANK (0x7ffffffffffffff0) as a double; the energy counter is an int64 field. */
const INT64_BLANK = 9_223_372_036_854_775_000;

/**
 * The dcgm-exporter metrics read into a DeviceSample (names and units as in the exporter's default
 * counters: power W, utilisation %, framebuffer MiB, energy mJ since the driver was loaded, °C, MHz).
 * Every other metric on the page is ignored.
 */
export const DCGM_METRICS: Readonly<Record<string, DcgmMetricRule>> = {
  DCGM_FI_DEV_POWER_USAGE: { field: 'powerMilliwatts', scale: 3, blankAtOrAbove: FP64_BLANK },
  DCGM_FI_DEV_GPU_UTIL: { field: 'utilizationPct', scale: 0, max: 100, blankAtOrAbove: INT_BLANK },
  DCGM_FI_DEV_FB_USED: { field: 'memoryUsedMib', scale: 0, blankAtOrAbove: INT_BLANK },
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: { field: 'energyMillijoules', scale: 0, blankAtOrAbove: INT64_BLANK },
  DCGM_FI_DEV_GPU_TEMP: { field: 'temperatureC', scale: 0, blankAtOrAbove: INT_BLANK },
  DCGM_FI_DEV_SM_CLOCK: { field: 'smClockMhz', scale: 0, blankAtOrAbove: INT_BLANK },
};

export interface DcgmScrape {
  /**
   * The node the exporter runs on, from the `Hostname` label (dcgm-exporter before #655) or
   * `hostname` (after); null when the exporter was started without it.
   */
  hostname: string | null;
  /** One sample per physical GPU, sorted by index. */
  samples: DeviceSample[];
}

interface DeviceAcc {
  deviceIndex: number;
  uuid: string | null;
  /** Values from whole-device series (no MIG instance labels). First one wins. */
  whole: Partial<Record<SampleField, number | null>>;
  /** Values from MIG instance series (GPU_I_ID set), per field, in page order. */
  instances: Partial<Record<SampleField, Array<number | null>>>;
}

/**
 * Reads a DCGM exporter /metrics page into one sample per GPU, stamped `at`.
 *
 * - Series are grouped by the `gpu` label (the device index); the UUID comes from `UUID` (or `uuid`
 *   with --use-old-namespace). Other labels (pci_bus_id, modelName, Kubernetes pod labels, driver
 *   version, …) are open-ended and ignored.
 * - Power is a float in W, converted to integer mW from its decimal text (`80.264000` → 80264);
 *   the energy counter is already mJ.
 * - `NaN`, ±Inf and DCGM's blank sentinels become null.
 * - The same GPU metric repeated (dcgm-exporter in Kubernetes mode writes one series per pod sharing
 *   a GPU) keeps the first value. With MIG, series carrying `GPU_I_ID` describe instances: when a GPU
 *   has no whole-device series for a metric, framebuffer use is summed over its instances, the
 *   device-wide readings (power, energy, temperature, clock) are taken from the first instance, and
 *   utilisation is null (DCGM_FI_DEV_GPU_UTIL is not measured per MIG instance).
 * - A page mixing several hostnames, a GPU series without a numeric `gpu` label, two UUIDs for one
 *   index, or a negative or out-of-range value is a TelemetryFormatError naming the line and metric.
 */
export function parseDcgmMetrics(text: string, at: number): DcgmScrape {
  const page = parsePrometheusText(text, SOURCE);
  const devices = new Map<number, DeviceAcc>();
  let hostname: { value: string; line: number } | null = null;

  for (const s of page.samples) {
    const rule = DCGM_METRICS[s.name];
    if (rule === undefined) continue;
    const fail = (problem: string, field: string = s.name): never => {
      throw new TelemetryFormatError(SOURCE, problem, { line: s.line, field });
    };

    const host = labelOf(s, 'Hostname', 'hostname');
    if (host !== null) {
      if (hostname === null) hostname = { value: host, line: s.line };
      else if (hostname.value !== host) {
        fail(`the page mixes hosts ${JSON.stringify(hostname.value)} (line ${hostname.line}) and ${JSON.stringify(host)}; scrape each node's exporter on its own`, 'Hostname');
      }
    }

    const gpuText = s.labels.gpu;
    if (gpuText === undefined) fail(`${s.name} has no gpu label`, 'gpu');
    if (!/^\d+$/.test(gpuText!)) fail(`gpu label ${JSON.stringify(gpuText)} is not a device index`, 'gpu');
    const deviceIndex = Number(gpuText);
    const uuid = labelOf(s, 'UUID', 'uuid');
    let acc = devices.get(deviceIndex);
    if (acc === undefined) {
      acc = { deviceIndex, uuid, whole: {}, instances: {} };
      devices.set(deviceIndex, acc);
    } else if (uuid !== null) {
      if (acc.uuid === null) acc.uuid = uuid;
      else if (acc.uuid !== uuid) fail(`gpu ${deviceIndex} has two UUIDs, ${acc.uuid} and ${uuid}`, 'UUID');
    }

    const value = readValue(s, rule, fail);
    const instance = s.labels.GPU_I_ID;
    if (instance !== undefined && instance !== '') {
      (acc.instances[rule.field] ??= []).push(value);
    } else if (!(rule.field in acc.whole)) {
      acc.whole[rule.field] = value;
    }
  }

  const samples = [...devices.values()]
    .sort((a, b) => a.deviceIndex - b.deviceIndex)
    .map((d): DeviceSample => ({
      at,
      deviceIndex: d.deviceIndex,
      uuid: d.uuid,
      utilizationPct: pick(d, 'utilizationPct'),
      memoryUsedMib: pick(d, 'memoryUsedMib'),
      powerMilliwatts: pick(d, 'powerMilliwatts'),
      energyMillijoules: pick(d, 'energyMillijoules'),
      temperatureC: pick(d, 'temperatureC'),
      smClockMhz: pick(d, 'smClockMhz'),
      pstate: null,
    }));
  return { hostname: hostname?.value ?? null, samples };
}

function labelOf(s: PrometheusSample, ...names: string[]): string | null {
  for (const n of names) {
    const v = s.labels[n];
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

function readValue(s: PrometheusSample, rule: DcgmMetricRule, fail: (problem: string) => never): number | null {
  if (!Number.isFinite(s.value) || s.value >= rule.blankAtOrAbove) return null;
  if (s.value < 0) fail(`${s.valueText} is negative`);
  const scaled = decimalToScaledInt(s.valueText, rule.scale);
  if (scaled === undefined) return fail(`${s.valueText} is out of range`);
  if (rule.max !== undefined && scaled > rule.max) fail(`${s.valueText} is above ${rule.max}`);
  return scaled;
}

function pick(d: DeviceAcc, field: SampleField): number | null {
  if (field in d.whole) return d.whole[field] ?? null;
  const inst = d.instances[field];
  if (inst === undefined || inst.length === 0) return null;
  if (field === 'utilizationPct') return null;
  if (field === 'memoryUsedMib') return inst.some((v) => v === null) ? null : inst.reduce<number>((a, v) => a + v!, 0);
  return inst[0] ?? null;
}

/** The slice of `fetch` the source uses, so tests can inject a fake; the global fetch fits. */
export type FetchFn = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; statusText: string; text(): Promise<string> }>;

export interface DcgmExporterSourceOptions {
  /** The exporter's metrics URL, e.g. `http://127.0.0.1:9400/metrics` (its default port). */
  url: string;
  fetch?: FetchFn;
  /** Per scrape; default 5 s. */
  timeoutMs?: number;
}

/** Scrapes a DCGM exporter. Note the exporter itself refreshes every 30 s by default (--collect-interval). */
export class DcgmExporterSource implements TelemetrySource {
  readonly name = SOURCE;
  private readonly url: string;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  /** The hostname the last scrape reported (null before the first or when the exporter has none). */
  lastHostname: string | null = null;

  constructor(options: DcgmExporterSourceOptions) {
    this.url = options.url;
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive integer, got ${options.timeoutMs}`);
  }

  async scrape(now: number): Promise<DcgmScrape> {
    let body: string;
    try {
      const res = await this.fetchFn(this.url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
      });
      if (!res.ok) throw new TelemetrySourceError(SOURCE, `DCGM exporter at ${this.url} answered HTTP ${res.status} ${res.statusText}`.trim());
      body = await res.text();
    } catch (err) {
      if (err instanceof TelemetrySourceError) throw err;
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new TelemetrySourceError(SOURCE, `DCGM exporter at ${this.url} did not answer within ${this.timeoutMs} ms`, { cause: err });
      }
      const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
      throw new TelemetrySourceError(SOURCE, `DCGM exporter at ${this.url} is unreachable (${why}); is dcgm-exporter running?`, { cause: err });
    }
    const scrape = parseDcgmMetrics(body, now);
    this.lastHostname = scrape.hostname;
    return scrape;
  }

  async sample(now: number): Promise<DeviceSample[]> {
    return (await this.scrape(now)).samples;
  }
}
