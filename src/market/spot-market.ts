/**
 * The spot market for one model: interruptible capacity goes to the highest bids that fit, at one
 * clearing price. With idle capacity to spare every bid is served at the spot floor (cost floor ×
 * a factor); as idle capacity runs out the price rises to the highest bid that could not be served,
 * and a running job whose bid falls below it is preempted (with notice) to make room.
 */
export interface SpotBid {
  id: string;
  /** Milli-GPU the job needs, all or nothing. */
  milli: number;
  /** The most the tenant pays per GPU-hour, micro-units. */
  maxPriceMicros: number;
  /** Earlier bids win ties (submission time, or any stable order). */
  order: number;
}

export interface SpotClearing {
  priceMicros: number;
  winners: string[];
  losers: string[];
}

export function clearSpotMarket(args: { capacityMilli: number; floorMicros: number; bids: readonly SpotBid[] }): SpotClearing {
  const sorted = [...args.bids].sort((a, b) => b.maxPriceMicros - a.maxPriceMicros || a.order - b.order);
  let left = args.capacityMilli;
  const winners: SpotBid[] = [];
  const losers: SpotBid[] = [];
  for (const bid of sorted) {
    if (bid.maxPriceMicros >= args.floorMicros && bid.milli <= left) {
      winners.push(bid);
      left -= bid.milli;
    } else {
      losers.push(bid);
    }
  }
  // Uniform price: the highest bid left unserved sets it (demand meets supply there), never below
  // the floor and never above what every winner agreed to pay (a big bid can lose on size alone).
  const highestLoser = losers.reduce((max, b) => Math.max(max, b.maxPriceMicros), 0);
  const lowestWinner = winners.reduce((min, b) => Math.min(min, b.maxPriceMicros), Number.MAX_SAFE_INTEGER);
  const priceMicros = Math.max(args.floorMicros, Math.min(highestLoser, lowestWinner));
  return { priceMicros, winners: winners.map((b) => b.id), losers: losers.map((b) => b.id) };
}
