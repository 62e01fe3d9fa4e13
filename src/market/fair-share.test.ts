import { describe, expect, it } from 'vitest';
import { fairShareOrder, weightedDominantShare, type TenantUsage } from './fair-share.js';

const capacity = { gpuMilli: 8000, cpuMilli: 128_000, memoryMib: 1_048_576, windowMs: 3_600_000 };
const usage = (tenantId: string, gpus: number, cores: number, weight = 1): TenantUsage => ({
  tenantId,
  gpuMilliMs: gpus * 1000 * capacity.windowMs,
  cpuMilliMs: cores * 1000 * capacity.windowMs,
  memoryMibMs: 0,
  weight,
});

describe('weighted dominant-resource fair share', () => {
  it('takes the largest share across resources, divided by the weight', () => {
    // 2 of 8 GPUs = 0.25; 64 of 128 cores = 0.5 → dominant 0.5
    expect(weightedDominantShare(usage('a', 2, 64), capacity)).toBeCloseTo(0.5);
    expect(weightedDominantShare(usage('a', 2, 64, 2), capacity)).toBeCloseTo(0.25);
  });

  it('serves the tenant that used least of its dominant resource first, weights counted, ties in queue order', () => {
    const order = fairShareOrder([usage('gpu-heavy', 6, 8), usage('cpu-heavy', 1, 96), usage('light', 1, 8), usage('paid-double', 6, 8, 2), usage('light-too', 1, 8)], capacity);
    expect(order).toEqual(['light', 'light-too', 'paid-double', 'gpu-heavy', 'cpu-heavy']);
  });

  it('refuses a weight that is not positive', () => {
    expect(() => weightedDominantShare(usage('x', 1, 1, 0), capacity)).toThrow(/weight of tenant x must be positive/);
  });
});
