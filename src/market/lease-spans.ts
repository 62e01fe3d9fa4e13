import { chargeBetween } from './money.js';

/**
 * A lease is a span of one job's allocation at one price. A job's leases follow each other without
 * gaps or overlaps from its start: the first opens when it starts running, a spot lease is closed and
 * a new one opened when the clearing price moves, and the last closes when the job ends.
 */
export interface LeaseCursor {
  id: string;
  startAt: number;
  /** null while open. */
  endAt: number | null;
  /** Charged from startAt up to here. */
  chargedUntil: number;
  /** Price per GPU-hour, micro-units. */
  priceMicros: number;
  gpuMilli: number;
}

export interface ChargedSpan {
  leaseId: string;
  from: number;
  to: number;
  gpuMilli: number;
  priceMicros: number;
  /** Charge for [from, to): the lease's cumulative charge at `to` minus at `from`, so passes never drift. */
  amountMicros: number;
}

/**
 * Splits the job's metering window [from, until) at its lease boundaries and prices each piece.
 * Time no lease covers is not charged (a job is only billed while a lease says at what price), and a
 * lease already charged past `from` is charged only from where it stopped: a replayed pass adds nothing.
 */
export function chargeSpans(leases: readonly LeaseCursor[], from: number, until: number): ChargedSpan[] {
  const spans: ChargedSpan[] = [];
  if (until <= from) return spans;
  for (const lease of [...leases].sort((a, b) => a.startAt - b.startAt)) {
    const start = Math.max(from, lease.startAt, lease.chargedUntil);
    const end = Math.min(until, lease.endAt ?? until);
    if (end <= start) continue;
    // Charge from the lease's cursor so the cumulative charge stays exact even if `from` was behind it.
    spans.push({
      leaseId: lease.id,
      from: start,
      to: end,
      gpuMilli: lease.gpuMilli,
      priceMicros: lease.priceMicros,
      amountMicros: chargeBetween(lease.priceMicros, lease.gpuMilli, start - lease.startAt, end - lease.startAt),
    });
  }
  return spans;
}
