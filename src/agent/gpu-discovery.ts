import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { findGpuModel, knownModelIds, modelIdFromSmiName } from '../domain/gpu-catalog.js';
import type { DeviceReport } from './protocol.js';

const MIB = 1024 * 1024;
const NVIDIA_SMI_TIMEOUT_MS = 10_000;
/** A simulated node bigger than this is almost certainly a typo (`80xH100` for `8xH100`). */
const MAX_SIMULATED_DEVICES = 64;

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits'];

/** Runs a program without a shell; injected so tests never need a real nvidia-smi. */
export type ExecFn = (
  file: string,
  args: string[],
  options: { timeout: number },
) => Promise<{ stdout: string; stderr: string }>;

export const defaultExec: ExecFn = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`.
 * Strict on purpose: registering a node with a wrong inventory is worse than failing loudly at start.
 */
export function parseNvidiaSmiInventory(csv: string): DeviceReport[] {
  const devices: DeviceReport[] = [];
  const seen = new Set<number>();
  const lines = csv.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') return;
    const fail = (what: string): never => {
      throw new Error(`nvidia-smi output line ${lineNo}: ${what} (line: ${JSON.stringify(line)})`);
    };
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== 4) fail(`expected 4 comma-separated fields (index, uuid, name, memory.total), got ${fields.length}`);
    const [indexText, uuid, name, memText] = fields as [string, string, string, string];
    if (!/^\d+$/.test(indexText)) fail(`index ${JSON.stringify(indexText)} is not a non-negative integer`);
    const index = Number(indexText);
    if (seen.has(index)) fail(`duplicate device index ${index}`);
    if (uuid === '') fail('empty uuid');
    if (name === '') fail('empty name');
    if (!/^\d+$/.test(memText)) fail(`memory.total ${JSON.stringify(memText)} is not an integer number of MiB`);
    const memoryMib = Number(memText);
    if (!Number.isSafeInteger(memoryMib) || memoryMib <= 0) fail(`memory.total ${memText} is out of range`);
    seen.add(index);
    devices.push({ index, uuid, name, model: modelIdFromSmiName(name), memoryMib });
  });
  return devices.sort((a, b) => a.index - b.index);
}

/** Real UUID layout (8-4-4-4-12 hex) so code that parses UUIDs keeps working, marked `sim` for people. */
export function simulatedUuid(nodeName: string, index: number): string {
  const h = createHash('sha256').update(`${nodeName}\0${index}`).digest('hex');
  return `GPU-sim-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Parses `8xH100`, `4xA100-80GB`, `2xH100,2xL40S` into a fake inventory for running without GPUs. */
export function parseSimulateSpec(spec: string, nodeName = 'sim'): DeviceReport[] {
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`--simulate ${JSON.stringify(spec)}: expected e.g. 8xH100 or 2xH100,2xL40S`);
  const devices: DeviceReport[] = [];
  for (const part of parts) {
    const m = /^(\d+)\s*[xX*]\s*(\S+)$/.exec(part);
    if (!m) {
      throw new Error(`--simulate: ${JSON.stringify(part)} is not COUNTxMODEL (e.g. 8xH100); known models: ${knownModelIds().join(', ')}`);
    }
    const count = Number(m[1]);
    const model = findGpuModel(m[2]!);
    if (!model) {
      throw new Error(`--simulate: unknown GPU model ${JSON.stringify(m[2])}; known models: ${knownModelIds().join(', ')}`);
    }
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`--simulate: device count in ${JSON.stringify(part)} must be at least 1`);
    if (devices.length + count > MAX_SIMULATED_DEVICES) {
      throw new Error(`--simulate: at most ${MAX_SIMULATED_DEVICES} devices per node, ${JSON.stringify(spec)} asks for more`);
    }
    for (let i = 0; i < count; i++) {
      const index = devices.length;
      devices.push({
        index,
        uuid: simulatedUuid(nodeName, index),
        name: model.displayName,
        model: model.id,
        memoryMib: model.memoryMib,
      });
    }
  }
  return devices;
}

export interface DiscoverOptions {
  simulate?: string;
  nodeName: string;
  exec?: ExecFn;
}

export async function discoverDevices(options: DiscoverOptions): Promise<DeviceReport[]> {
  if (options.simulate !== undefined) return parseSimulateSpec(options.simulate, options.nodeName);
  const exec = options.exec ?? defaultExec;
  let stdout: string;
  try {
    ({ stdout } = await exec('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') {
      throw new Error('nvidia-smi was not found on this host; to run the agent without GPUs pass --simulate 8xH100 (or another COUNTxMODEL list)');
    }
    if (e.killed) throw new Error(`nvidia-smi did not answer within ${NVIDIA_SMI_TIMEOUT_MS / 1000} s (driver hung?)`);
    const detail = (e.stderr ?? '').trim() || e.message;
    throw new Error(`nvidia-smi failed: ${detail}`);
  }
  return parseNvidiaSmiInventory(stdout);
}

export interface HostResources {
  cpuMilli: number;
  memoryMib: number;
}

/**
 * A simulated node stands for a GPU server, not for the laptop it runs on: it announces the CPU and
 * memory of a typical 8-GPU server share per GPU (DGX H100: 112 cores, 2 TiB for 8 GPUs → 14 cores
 * and 256 GiB per GPU), so the demo's CPU defaults do not make 16 GPUs hold only 2 jobs.
 */
export function simulatedHostResources(gpus: number): HostResources {
  const perGpu = { cpuMilli: 14_000, memoryMib: 256 * 1024 };
  const real = hostResources();
  return { cpuMilli: Math.max(real.cpuMilli, perGpu.cpuMilli * gpus), memoryMib: Math.max(real.memoryMib, perGpu.memoryMib * gpus) };
}

export function hostResources(): HostResources {
  return { cpuMilli: os.availableParallelism() * 1000, memoryMib: Math.floor(os.totalmem() / MIB) };
}
