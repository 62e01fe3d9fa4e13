import type { Random } from '../../domain/random.js';
import { randomDevices } from '../device-selectors.js';
import { DEFAULT_FILTERS } from '../filters.js';
import type { PlacementPolicy } from '../policy.js';

/** A uniformly random feasible node and, for a share, a random device it fits on: the floor to beat. */
export function randomPolicy(rng: Random): PlacementPolicy {
  return {
    name: 'random',
    description: 'a uniformly random node that fits, and a random device on it',
    filters: DEFAULT_FILTERS,
    scorers: [],
    selector: randomDevices(rng),
  };
}
