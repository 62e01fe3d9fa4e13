/**
 * Seeded pseudo-random numbers for simulations and experiments, where a run must be repeatable from
 * its seed alone (the same seed gives the same stream on every machine and Node version). Not for
 * anything secret: use node:crypto for tokens and keys.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna), 128-bit state, 32-bit outputs, period 2^128 - 1. It
 * needs only 32-bit integer operations, which JavaScript does exactly with Math.imul and `>>> 0`, so
 * no BigInt and no floating-point rounding enters the stream.
 */
export interface Random {
  /** Uniform in [0, 1), with 53 random bits (every double k / 2^53 equally likely). */
  float(): number;
  /** Uniform over 0..n-1 without modulo bias; `n` must be an integer from 1 to 2^32. */
  int(n: number): number;
}

const TWO_POW_32 = 4_294_967_296;
const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

/**
 * A generator whose stream is fixed by `seed` (any safe integer, negative included). Distinct safe
 * integers give distinct initial states.
 */
export function createRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  // Seeds are up to 53 bits but splitmix32 counts in 32: seed the four words from the low half and
  // fold the high half into words 1..3 through bijective mixers (xoshiro128**'s first outputs depend
  // on word 1 only, so seeds differing only above bit 32 must differ there too). Then
  // (low, high) -> state is injective: word 0 alone identifies `low` (splitmix32's output is a
  // bijection of its counter), after which word 3 identifies `high`. Each mixer maps 0 to 0, so seeds
  // below 2^32 -- every seed anyone types -- are plain splitmix32 seeding.
  const low = seed >>> 0; // ToUint32 is `seed mod 2^32` on the exact integer, negatives included
  const high = Math.floor(seed / TWO_POW_32) >>> 0; // exact: dividing by a power of two
  const next = splitmix32(low);
  const s0 = next();
  const s1 = (next() ^ fmix32(Math.imul(high, 0x9e3779b9))) >>> 0;
  const s2 = (next() ^ fmix32(Math.imul(high, 0x85ebca6b))) >>> 0;
  const s3 = (next() ^ fmix32(high)) >>> 0;
  // Never the forbidden all-zero state: s0 is 0 only for low = 0x61c88647, and for that low no
  // `high` of a safe integer (all 2^22 of them were checked) zeroes s1, s2 and s3 together.
  return createRandomFromState([s0, s1, s2, s3]);
}

/**
 * A generator started from an explicit xoshiro128** state (four uint32 words, not all zero). For
 * checking the generator against the reference implementation's test vectors, and for resuming a
 * stream whose state was saved; everything else should use `createRandom`.
 */
export function createRandomFromState(state: readonly [number, number, number, number]): Random {
  let [s0, s1, s2, s3] = state.map((w) => {
    if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) throw new RangeError(`state words must be uint32, got ${w}`);
    return w;
  }) as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) throw new RangeError('xoshiro128** state must not be all zero');

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  return {
    float(): number {
      // Two draws so the result has a double's full 53-bit resolution; one 32-bit draw would leave
      // most doubles in [0, 1) unreachable and make float() < p coarse for small p.
      const high27 = nextUint32() >>> 5;
      const low26 = nextUint32() >>> 6;
      return (high27 * TWO_POW_26 + low26) / TWO_POW_53;
    },
    int(n: number): number {
      // The limit 2^32 is what one draw can cover without bias; array indices never need more.
      if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
        throw new RangeError(`int(n) needs an integer n from 1 to 2^32, got ${n}`);
      }
      // Reject the top `2^32 mod n` values so every residue has the same number of preimages.
      // Fewer than half of all draws are ever rejected, so the loop ends fast.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
  };
}

/** Fisher–Yates: every permutation equally likely. Consumes `rng.int(i + 1)` for i = n-1 down to 1. */
export function shuffleInPlace<T>(items: { length: number; [index: number]: T }, rng: Random): void {
  for (let i = items.length - 1; i >= 1; i--) {
    const j = rng.int(i + 1);
    const held = items[i] as T;
    items[i] = items[j] as T;
    items[j] = held;
  }
}

/** A uniformly random permutation of 0..n-1 (the identity shuffled as by `shuffleInPlace`). */
export function randomPermutation(n: number, rng: Random): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`permutation size must be an integer from 0 to 2^31-1, got ${n}`);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  shuffleInPlace(perm, rng);
  return perm;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** MurmurHash3's 32-bit finaliser: a bijection on uint32 with good avalanche, and fmix32(0) = 0. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** splitmix32: a Weyl sequence (step 0x9e3779b9, the golden ratio) through fmix32. Only for seeding. */
function splitmix32(state: number): () => number {
  let counter = state >>> 0;
  return () => {
    counter = (counter + 0x9e3779b9) >>> 0;
    return fmix32(counter);
  };
}
