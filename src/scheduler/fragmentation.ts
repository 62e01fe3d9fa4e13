import type { NodeView } from './snapshot.js';
import type { TypicalShape } from './typical-workload.js';

/**
 * Expected GPU fragmentation of a node (FGD, Weng et al., USENIX ATC'23), in milli-GPU: for each
 * typical shape, the free GPU capacity that shape could not use, weighted by the shape's share of the
 * workload. Capacity a shape cannot use is all of it when the shape cannot run on the node at all
 * (no CPU left, wrong model, not enough devices fit, or it needs no GPU), otherwise only the devices
 * too small for it. Memory plays no part, as in the paper.
 *
 * `frees` and `models` describe the node's devices (possibly after a tentative placement) so the
 * caller can evaluate "what if" states without copying nodes.
 */
export function expectedFragmentation(cpuFree: number, frees: ArrayLike<number>, models: readonly string[], workload: readonly TypicalShape[]): number {
  const n = frees.length;
  let free = 0;
  for (let i = 0; i < n; i++) free += frees[i]!;
  let total = 0;
  for (const shape of workload) {
    if (shape.milliPerGpu === 0 || cpuFree < shape.cpuMilli || n === 0) {
      total += shape.weight * free;
      continue;
    }
    let fitting = 0;
    let fragment = 0;
    const anyModel = shape.models.length === 0;
    for (let i = 0; i < n; i++) {
      const f = frees[i]!;
      if (!anyModel && !shape.models.includes(models[i]!)) fragment += f;
      else if (f >= shape.milliPerGpu) fitting++;
      else fragment += f;
    }
    total += shape.weight * (fitting >= shape.gpuCount ? fragment : free);
  }
  return total;
}

/** The node's devices as parallel arrays of free milli and model, for `expectedFragmentation`. */
export function deviceArrays(node: NodeView): { frees: number[]; models: string[] } {
  return { frees: node.devices.map((d) => d.freeMilli), models: node.devices.map((d) => d.model) };
}

