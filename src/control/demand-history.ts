/**
 * The live center's GPU demand as a regular series, for the parking forecast: mean busy GPUs per
 * step, built from allocation intervals. Pure; the caller queries the allocations.
 */
export interface AllocationInterval {
  gpuMilli: number;
  createdAt: number;
  /** null: still held. */
  releasedAt: number | null;
}

/**
 * Mean allocated GPUs in each step [fromMs + i·stepMs, fromMs + (i+1)·stepMs) for i < steps, with
 * open intervals running to `nowMs`. Exact: each interval adds its milli-GPU-milliseconds to the
 * steps it overlaps.
 */
export function busyGpuSeries(allocations: readonly AllocationInterval[], fromMs: number, stepMs: number, steps: number, nowMs: number): number[] {
  if (!(stepMs > 0) || !Number.isInteger(steps) || steps < 0) throw new RangeError(`stepMs must be > 0 and steps a whole number (got ${stepMs}, ${steps})`);
  const milliMs = new Float64Array(steps);
  const end = fromMs + stepMs * steps;
  for (const a of allocations) {
    const s = Math.max(a.createdAt, fromMs);
    const e = Math.min(a.releasedAt ?? nowMs, end);
    if (e <= s) continue;
    let i = Math.floor((s - fromMs) / stepMs);
    let t = s;
    while (t < e && i < steps) {
      const stepEnd = fromMs + (i + 1) * stepMs;
      const upto = Math.min(stepEnd, e);
      milliMs[i]! += a.gpuMilli * (upto - t);
      t = upto;
      i++;
    }
  }
  return Array.from(milliMs, (v) => v / 1000 / stepMs);
}
