/**
 * Readers for the openb trace (Alibaba cluster-trace-gpu-v2023, as used by the FGD paper's simulator):
 * node lists and pod lists. Each row becomes one record with the meaning fixed by
 * shared/notes/openb-policies.md §1, which follows the authors' CSV-to-YAML conversion
 * (`pod_csv_to_yaml.py`): that conversion, not the raw columns, is what their simulator saw.
 *
 * The files are plain comma-separated text with a header line; columns are found by name, so extra
 * columns (QoS, phase, timestamps) and a different column order are fine. Everything a row could get
 * wrong is reported as a TraceFormatError naming the file, the line and the column, because a silently
 * skipped or misread row would shift every result of the experiment.
 */
import { readFileSync } from 'node:fs';
import { readCsvTable as readTable, TraceFormatError } from '../csv-table.js';

export { TraceFormatError };

export interface OpenbNode {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  gpus: number;
  /** GPU model, the same for every GPU of the node; '' when the node has no GPU. */
  model: string;
}

export interface OpenbPod {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  /** `g`: number of GPUs asked for (0 for a CPU-only pod). */
  gpuCount: number;
  /**
   * `m`: milli-GPU asked for on each of the `gpuCount` GPUs, normalised as the authors' conversion
   * does: 0 for a CPU-only pod; `gpu_milli` if 0 < gpu_milli <= 1000; 1000 if above; 0 if <= 0 (no
   * GPU demand at all); 1000 if the file has no gpu_milli column.
   */
  milliPerGpu: number;
  /** Allowed GPU models (`gpu_spec` split on '|', empty parts dropped, order and repeats kept); [] = any. */
  models: string[];
}

/** The most GPUs one node has or one pod asks for that we accept; openb has 8, anything above 64 is a typo. */
const MAX_GPUS = 64;

const NODE_COLUMNS = ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'] as const;
/** gpu_milli and gpu_spec may be absent (multigpu lists have no gpu_spec); the conversion has a rule for both. */
const POD_COLUMNS = ['name', 'cpu_milli', 'memory_mib', 'num_gpu'] as const;

export function readOpenbNodeList(path: string): OpenbNode[] {
  return parseOpenbNodeList(readFileSync(path, 'utf8'), path);
}

export function readOpenbPodList(path: string): OpenbPod[] {
  return parseOpenbPodList(readFileSync(path, 'utf8'), path);
}

export function parseOpenbNodeList(text: string, source: string): OpenbNode[] {
  const table = readTable(text, source, NODE_COLUMNS);
  const firstLineOfName = new Map<string, number>();
  const nodes: OpenbNode[] = [];
  for (const row of table.rows) {
    const name = row.name('sn');
    const earlier = firstLineOfName.get(name);
    // Node names key the placement state and the tie-breaking rank; two nodes with one name would
    // merge or shadow each other.
    if (earlier !== undefined) throw row.error('sn', `duplicate node name "${name}" (first on line ${earlier})`);
    firstLineOfName.set(name, row.line);
    const gpus = row.wholeNumber('gpu', MAX_GPUS);
    const model = row.text('model');
    // Every GPU of a node has the node's model; pods constrained to models could never be matched
    // against a GPU node without one.
    if (gpus > 0 && model === '') throw row.error('model', `a node with ${gpus} GPU(s) needs a model, got an empty cell`);
    nodes.push({
      name,
      cpuMilli: row.wholeNumber('cpu_milli'),
      memoryMib: row.wholeNumber('memory_mib'),
      gpus,
      model: gpus > 0 ? model : '',
    });
  }
  return nodes;
}

export function parseOpenbPodList(text: string, source: string): OpenbPod[] {
  const table = readTable(text, source, POD_COLUMNS);
  const hasGpuMilli = table.has('gpu_milli');
  const hasGpuSpec = table.has('gpu_spec');
  const pods: OpenbPod[] = [];
  for (const row of table.rows) {
    const name = row.name('name');
    const cpuMilli = row.wholeNumber('cpu_milli');
    const memoryMib = row.wholeNumber('memory_mib');
    const gpuCount = row.wholeNumber('num_gpu', MAX_GPUS);
    // Checked on CPU-only rows too although ignored there: a non-number is a damaged row either way.
    const rawMilli = hasGpuMilli ? row.integer('gpu_milli') : null;
    let milliPerGpu = 0;
    let models: string[] = [];
    if (gpuCount > 0) {
      milliPerGpu = rawMilli === null ? 1000 : rawMilli > 1000 ? 1000 : rawMilli > 0 ? rawMilli : 0;
      // A fraction of several GPUs has no placement rule (feasibility counts floor(f_i / m) per GPU,
      // but the simulator's accounting assumes whole GPUs); openb has no such row, so refuse it
      // rather than invent semantics.
      if (gpuCount >= 2 && milliPerGpu > 0 && milliPerGpu < 1000) {
        throw row.error('gpu_milli', `a pod asking for ${gpuCount} GPUs must ask for whole GPUs (1000 milli each), got ${milliPerGpu}`);
      }
      if (hasGpuSpec) models = row.text('gpu_spec').split('|').filter((part) => part.length > 0);
    }
    pods.push({ name, cpuMilli, memoryMib, gpuCount, milliPerGpu, models });
  }
  return pods;
}
