/**
 * Telemetry samples: what one accelerator reports at one moment, whatever tool read it (nvidia-smi,
 * a DCGM exporter scrape, npu-smi, or the simulator). Units follow DESIGN.md §3: every quantity is an
 * integer in its smallest unit (power mW, energy mJ, memory MiB, time ms since the epoch). A field a
 * source cannot report (`[N/A]`, a MIG-enabled GPU's utilisation, a tool without an energy counter)
 * is null, never 0: 0 W and "unknown" must stay apart for energy attribution.
 */
export interface DeviceSample {
  /** When the sample was taken, ms since the epoch (the time the caller passed to the parser/source). */
  at: number;
  /** The device's index on its node, as the vendor tool numbers it (nvidia-smi `index`, DCGM `gpu`). */
  deviceIndex: number;
  /** `GPU-…` for NVIDIA; null where the tool shows none (npu-smi info). */
  uuid: string | null;
  /** Busy-time percentage, integer 0–100. */
  utilizationPct: number | null;
  /** Device memory in use, MiB. */
  memoryUsedMib: number | null;
  /** Board power draw, mW. */
  powerMilliwatts: number | null;
  /** Cumulative energy counter, mJ, where the source has one (DCGM: since the driver was loaded). */
  energyMillijoules: number | null;
  temperatureC: number | null;
  smClockMhz: number | null;
  /** `P0` … `P12` (NVIDIA); null elsewhere. */
  pstate: string | null;
}

/** Anything that can read the devices of one node. `now` is the timestamp to stamp the samples with. */
export interface TelemetrySource {
  readonly name: string;
  sample(now: number): Promise<DeviceSample[]>;
}

export interface TelemetryFormatErrorDetails {
  /** 1-based line of the tool's output that was wrong; absent when the problem is not on one line. */
  line?: number;
  /** The column, metric or label at fault (`power.draw`, `DCGM_FI_DEV_POWER_USAGE`, `HBM-Usage(MB)`). */
  field?: string;
  /** The offending line, quoted in the message (shortened if long). */
  text?: string;
}

/**
 * The output of a telemetry tool did not have the expected shape. The agent logs it and keeps running
 * (one bad scrape must not stop telemetry); the message says which tool, line and field.
 */
export class TelemetryFormatError extends Error {
  readonly source: string;
  readonly line: number | null;
  readonly field: string | null;

  constructor(source: string, problem: string, details: TelemetryFormatErrorDetails = {}) {
    const where = [details.line !== undefined ? `line ${details.line}` : null, details.field !== undefined ? `field ${details.field}` : null]
      .filter((p) => p !== null)
      .join(', ');
    const quoted = details.text !== undefined ? ` (line: ${JSON.stringify(shorten(details.text))})` : '';
    super(`${source} output${where === '' ? '' : ` ${where}`}: ${problem}${quoted}`);
    this.name = 'TelemetryFormatError';
    this.source = source;
    this.line = details.line ?? null;
    this.field = details.field ?? null;
  }
}

/**
 * A source could not be read at all: the tool is missing, timed out, exited with an error, or the
 * exporter did not answer. Distinct from TelemetryFormatError (the tool answered with garbage).
 */
export class TelemetrySourceError extends Error {
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelemetrySourceError';
    this.source = source;
  }
}

function shorten(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * A decimal string (`80.23`, `-1.5`, `.5`, `1.2e+02`) scaled by 10^`scaleDigits` to an integer, exactly:
 * the digits are shifted, never multiplied in floating point, so `80.23` W is 80230 mW and not
 * 80229.99… Digits beyond the scale are rounded half away from zero. Undefined when the text is not
 * a plain decimal number or the result is not a safe integer.
 */
export function decimalToScaledInt(text: string, scaleDigits: number): number | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/.exec(text.trim());
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart === '' && fracPart === '') return undefined;
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, '') || '0';
  // value = digits × 10^(exponent − fracPart.length); scaled = value × 10^scaleDigits
  const shift = Number(m[4] ?? '0') - fracPart.length + scaleDigits;
  let magnitude = BigInt(digits);
  if (shift >= 0) {
    if (shift > 30) return magnitude === 0n ? 0 : undefined;
    magnitude *= 10n ** BigInt(shift);
  } else {
    if (-shift > digits.length + 1) {
      magnitude = 0n;
    } else {
      const divisor = 10n ** BigInt(-shift);
      const quotient = magnitude / divisor;
      const remainder = magnitude % divisor;
      magnitude = remainder * 2n >= divisor ? quotient + 1n : quotient;
    }
  }
  const result = sign * magnitude;
  if (result > BigInt(Number.MAX_SAFE_INTEGER) || result < -BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return result === 0n ? 0 : Number(result);
}
