/**
 * Reserved quota as products, in Kueue's terms: a reservation is a tenant's guaranteed quota of one
 * model; what it does not use is held back from everyone else, except up to its lending limit, which
 * interruptible (spot) work may borrow and must give back when the owner needs it. On-demand work is
 * never preempted, so it may not borrow reserved capacity at all.
 */
export interface ReservationUse {
  id: string;
  tenantId: string;
  model: string;
  quotaMilli: number;
  lendingLimitMilli: number;
  /** Milli-GPU its tenant's reserved jobs hold now. */
  usedMilli: number;
}

export interface HeldBack {
  /** Capacity on-demand work must leave free: every unused reserved milli. */
  fromOnDemand: number;
  /** Capacity spot work must leave free: unused reserved milli beyond the lending limits. */
  fromSpot: number;
}

export function heldBack(reservations: readonly ReservationUse[], model: string): HeldBack {
  let unused = 0;
  let lendable = 0;
  for (const r of reservations) {
    if (r.model !== model) continue;
    const free = Math.max(0, r.quotaMilli - r.usedMilli);
    unused += free;
    lendable += Math.min(free, r.lendingLimitMilli);
  }
  return { fromOnDemand: unused, fromSpot: unused - lendable };
}

/**
 * The reservation a reserved job runs under: the tenant's, of an allowed model, with room for it
 * (earliest ending first, so short terms are used before they lapse). A reason when there is none.
 */
export function reservationFor(
  reservations: readonly ReservationUse[],
  tenantId: string,
  models: readonly string[],
  milli: number,
): { reservation: ReservationUse } | { reason: string } {
  const own = reservations.filter((r) => r.tenantId === tenantId && (models.length === 0 || models.includes(r.model)));
  if (own.length === 0)
    return { reason: `no active reservation${models.length > 0 ? ` of ${models.join('/')}` : ''} for this tenant; buy one (POST /v1/reservations) or submit as on-demand or spot` };
  const room = own.find((r) => r.usedMilli + milli <= r.quotaMilli);
  if (room) return { reservation: room };
  const best = own.reduce((a, b) => (b.quotaMilli - b.usedMilli > a.quotaMilli - a.usedMilli ? b : a));
  return { reason: `reservation quota full: ${best.usedMilli} of ${best.quotaMilli} milli-GPU of ${best.model} in use, this job needs ${milli}` };
}
