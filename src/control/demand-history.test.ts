import { describe, expect, it } from 'vitest';
import { busyGpuSeries } from './demand-history.js';

const H = 3_600_000;

describe('busyGpuSeries', () => {
  it('spreads each allocation over the steps it overlaps, open ones up to now', () => {
    const series = busyGpuSeries(
      [
        { gpuMilli: 1000, createdAt: 0, releasedAt: 2 * H }, // one GPU for steps 0 and 1
        { gpuMilli: 500, createdAt: H / 2, releasedAt: H }, // half a GPU for half of step 0
        { gpuMilli: 2000, createdAt: 2.5 * H, releasedAt: null }, // two GPUs from mid step 2 to now (3.5 H)
        { gpuMilli: 1000, createdAt: -5 * H, releasedAt: -H }, // before the window
      ],
      0,
      H,
      4,
      3.5 * H,
    );
    expect(series).toEqual([1.25, 1, 1, 1]);
  });

  it('rejects a bad step', () => {
    expect(() => busyGpuSeries([], 0, 0, 4, 0)).toThrow(/stepMs/);
  });
});
