/**
 * Prices for GPU shares from the bin-packing LP of the share sizes seen so far (Gilmore–Gomory):
 * minimise the GPUs used, Σ_p x_p, with Σ_p a_ps x_p ≥ n_s for every size s over packing patterns p
 * (multisets of sizes that fit one GPU). Its dual gives each size a price y_s (the fraction of a GPU
 * it is worth, Σ_s a_ps y_s ≤ 1 for every pattern) and so each free amount r a value K(r): the most
 * price a GPU with r free can still collect. Placing a share of size s on a device with f free then
 * loses K(f) − y_s − K(f − s) ≥ 0 of a GPU; an optimal packing loses nothing, so the loss is what a
 * move costs against the best packing of the workload seen — scarcity of fillers included, since a
 * filler's price is what it is worth where it is scarce.
 */
/** Distinct share sizes the LP prices at most (openb lists have about 20). */
export const MAX_PRICED_SIZES = 64;

export class SharePricing {
  private readonly counts = new Map<number, number>();
  /** y_s per share size (milli), from the last solve. */
  prices = new Map<number, number>();
  /** K(r) for r = 0..capacity, in GPUs. */
  value: Float64Array = new Float64Array(1001);

  constructor(private readonly capacity = 1000) {
    // Before anything is learned a share's price is its size: loss = 0 everywhere.
    for (let r = 0; r <= capacity; r++) this.value[r] = r / capacity;
  }

  observe(milli: number): void {
    this.counts.set(milli, (this.counts.get(milli) ?? 0) + 1);
  }

  /** Loss of placing `milli` on a device with `free`, in milli-GPU. */
  loss(milli: number, free: number): number {
    const y = this.prices.get(milli) ?? milli / this.capacity;
    return Math.max(0, (this.value[free]! - y - this.value[free - milli]!) * this.capacity);
  }

  solve(minCount = 1): void {
    // The LP grows with the number of distinct sizes; live workloads could ask for any of 999. The
    // most common sizes carry the packing; the rest keep the default price (their size).
    const sizes = [...this.counts.entries()]
      .filter(([s, c]) => c >= minCount && s > 0 && s < this.capacity)
      .sort((a, b) => b[1] - a[1] || b[0] - a[0])
      .slice(0, MAX_PRICED_SIZES)
      .map(([s]) => s)
      .sort((a, b) => b - a);
    if (sizes.length === 0) return;
    const n = sizes.map((s) => this.counts.get(s)!);
    const patterns: number[][] = sizes.map((s, i) => sizes.map((_, j) => (j === i ? Math.floor(this.capacity / s) : 0)));
    let y = new Array<number>(sizes.length).fill(0);
    for (let iter = 0; iter < 500; iter++) {
      y = maximise(n, patterns);
      const { value, pattern } = knapsack(sizes, y, this.capacity);
      if (value <= 1 + 1e-9) break;
      patterns.push(pattern);
    }
    this.prices = new Map(sizes.map((s, i) => [s, y[i]!]));
    // K(r): unbounded knapsack over the priced sizes; unpriced sizes are worth their size.
    const value = new Float64Array(this.capacity + 1);
    for (let r = 1; r <= this.capacity; r++) {
      let best = value[r - 1]!;
      for (let i = 0; i < sizes.length; i++) if (sizes[i]! <= r) best = Math.max(best, value[r - sizes[i]!]! + y[i]!);
      value[r] = best;
    }
    this.value = value;
  }
}

/** Unbounded knapsack: the pattern maximising Σ y_i a_i with Σ s_i a_i ≤ capacity. */
function knapsack(sizes: number[], y: number[], capacity: number): { value: number; pattern: number[] } {
  const best = new Float64Array(capacity + 1);
  const choice = new Int32Array(capacity + 1).fill(-1);
  for (let r = 1; r <= capacity; r++) {
    best[r] = best[r - 1]!;
    choice[r] = -1;
    for (let i = 0; i < sizes.length; i++) {
      const s = sizes[i]!;
      if (s <= r && best[r - s]! + y[i]! > best[r]! + 1e-12) {
        best[r] = best[r - s]! + y[i]!;
        choice[r] = i;
      }
    }
  }
  const pattern = new Array<number>(sizes.length).fill(0);
  let r = capacity;
  while (r > 0) {
    const i = choice[r]!;
    if (i < 0) r--;
    else {
      pattern[i] = pattern[i]! + 1;
      r -= sizes[i]!;
    }
  }
  return { value: best[capacity]!, pattern };
}

/** max c·y subject to A y ≤ 1, y ≥ 0 (rows of A = patterns), by a dense tableau simplex with Bland's rule. */
function maximise(c: number[], rows: number[][]): number[] {
  const m = rows.length;
  const k = c.length;
  const width = k + m + 1;
  const t: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const row = new Float64Array(width);
    for (let j = 0; j < k; j++) row[j] = rows[i]![j]!;
    row[k + i] = 1;
    row[width - 1] = 1;
    t.push(row);
  }
  const obj = new Float64Array(width);
  for (let j = 0; j < k; j++) obj[j] = -c[j]!;
  const basis = Array.from({ length: m }, (_, i) => k + i);
  for (let iter = 0; iter < 10000; iter++) {
    let enter = -1;
    for (let j = 0; j < width - 1; j++) if (obj[j]! < -1e-9) { enter = j; break; }
    if (enter < 0) break;
    let leave = -1;
    let ratio = Infinity;
    for (let i = 0; i < m; i++) {
      const a = t[i]![enter]!;
      if (a > 1e-12) {
        const r = t[i]![width - 1]! / a;
        if (r < ratio - 1e-12 || (Math.abs(r - ratio) <= 1e-12 && basis[i]! < basis[leave]!)) {
          ratio = r;
          leave = i;
        }
      }
    }
    if (leave < 0) break; // unbounded: cannot happen, every size sits in a singleton pattern
    const pivot = t[leave]!;
    const p = pivot[enter]!;
    for (let j = 0; j < width; j++) pivot[j] = pivot[j]! / p;
    for (let i = 0; i < m; i++) {
      if (i === leave) continue;
      const row = t[i]!;
      const f = row[enter]!;
      if (f !== 0) for (let j = 0; j < width; j++) row[j] = row[j]! - f * pivot[j]!;
    }
    const f = obj[enter]!;
    for (let j = 0; j < width; j++) obj[j] = obj[j]! - f * pivot[j]!;
    basis[leave] = enter;
  }
  const y = new Array<number>(k).fill(0);
  for (let i = 0; i < m; i++) if (basis[i]! < k) y[basis[i]!] = t[i]![width - 1]!;
  return y;
}
