/** Telemetry sources behind one interface (see sample.ts), and their pure parsers. */
export { decimalToScaledInt, TelemetryFormatError, TelemetrySourceError, type DeviceSample, type TelemetrySource } from './sample.js';
export { defaultExec, type ExecFn } from './exec.js';
export { NVIDIA_SMI_TELEMETRY_ARGS, NVIDIA_SMI_TELEMETRY_FIELDS, NvidiaSmiSource, parseNvidiaSmiQuery, type NvidiaSmiSourceOptions } from './nvidia-smi.js';
export { DCGM_METRICS, DcgmExporterSource, parseDcgmMetrics, type DcgmExporterSourceOptions, type DcgmScrape, type FetchFn } from './dcgm.js';
export { NpuSmiSource, parseNpuSmiInfo, parseNpuSmiInfoDetailed, type NpuSmiChip, type NpuSmiSourceOptions } from './npu-smi.js';
export { SimulatedTelemetrySource, type AllocatedMilliFn, type SimulatedDevice, type SimulatedSourceOptions } from './simulated.js';
export { parsePrometheusText, type PrometheusPage, type PrometheusSample } from './prometheus-text.js';
