/**
 * The arrival sequence of one openb run (shared/notes/openb-policies.md §2): the pod list in a seeded
 * random order, then tuned so the total GPU demand is `inflate` times the cluster's capacity. The
 * details (where copies go, which list they are drawn from, the stop rule) are the published
 * simulator's, so that results compare with the paper's.
 */
import { UnidleError } from '../../domain/errors.js';
import { shuffleInPlace, type Random } from '../../domain/random.js';
import type { OpenbPod } from './trace-reader.js';

export interface ArrivalOptions {
  /** Cluster GPU capacity in milli-GPU (1000 per GPU). */
  capacityMilli: number;
  /** Target total demand as a multiple of capacity (the paper uses 1.3). */
  inflate: number;
  /** Consumed in this order: the shuffle, then one draw per inflation draw or deflation removal. */
  rng: Random;
}

/**
 * Returns the pods in arrival order. The input is not modified. Entries are the input's own pod
 * objects, and an appended copy is the same object again: pods are values, and callers can cache
 * per-pod work by object identity.
 */
export function buildArrivals(pods: readonly OpenbPod[], options: ArrivalOptions): OpenbPod[] {
  const { capacityMilli, inflate, rng } = options;
  if (!(Number.isFinite(capacityMilli) && capacityMilli > 0)) throw new RangeError(`capacityMilli must be a positive number, got ${capacityMilli}`);
  if (!(Number.isFinite(inflate) && inflate > 0)) throw new RangeError(`inflate must be a positive number, got ${inflate}`);

  // Name order first so the result depends on the seed and the set of pods, not on the file's row
  // order. Byte order (`<` on UTF-16 code units, which equals byte order for the ASCII names of
  // openb), not localeCompare, whose collation varies with ICU version and locale.
  const sorted = [...pods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sequence = sorted.slice();
  shuffleInPlace(sequence, rng);

  // Floating point, as in the simulator: 1.3 * 6,212,000 is not an integer.
  const target = inflate * capacityMilli;
  let demand = sorted.reduce((sum, p) => sum + totalMilli(p), 0);

  if (demand < target) {
    // Pods with no GPU demand always pass the stop rule, so without any GPU pod the loop would never end.
    if (!sorted.some((p) => p.milliPerGpu > 0)) {
      throw new UnidleError('validation_failed', `cannot inflate a pod list with no GPU demand to ${inflate} x capacity`);
    }
    for (;;) {
      // Drawn from the name-sorted original list, not the shuffled one (same distribution, but it
      // decides which pod a given seed draws).
      const drawn = sorted[rng.int(sorted.length)]!;
      // The stop rule tests the per-GPU amount m, not the pod's total g*m: a multi-GPU draw can
      // overshoot the target by up to (g-1)*m. The first draw that fails ends inflation; it is
      // discarded, with no second try.
      if (demand + drawn.milliPerGpu > target) break;
      // Appended after all shuffled originals, not mixed in among them.
      sequence.push(drawn);
      demand += totalMilli(drawn);
    }
  } else if (demand > target) {
    // Uniform index into the current (shuffled, shrinking) sequence, until the demand fits.
    while (demand > target) {
      const [removed] = sequence.splice(rng.int(sequence.length), 1);
      demand -= totalMilli(removed!);
    }
  }
  return sequence;
}

/** `M = g * m`: the pod's total GPU demand in milli-GPU (0 for CPU-only pods). */
function totalMilli(pod: OpenbPod): number {
  return pod.gpuCount * pod.milliPerGpu;
}
