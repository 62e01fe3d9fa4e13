import { randomBytes } from 'node:crypto';

/**
 * Time-ordered ids (ULID layout: 48-bit ms timestamp + 80 random bits, Crockford base32) behind a
 * short type prefix, e.g. `job_01J9Z…`. Sorting ids sorts by creation time, which is what cursor
 * pagination relies on; the prefix makes a pasted id self-describing in logs and errors.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix = 'ctr' | 'node' | 'dev' | 'ten' | 'mem' | 'key' | 'job' | 'alloc' | 'use' | 'evt' | 'lease' | 'rsv' | 'ltx';

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function randomDigits(): number[] {
  const bytes = randomBytes(16);
  const digits: number[] = [];
  for (let i = 0; i < 16; i++) digits.push(bytes[i]! % 32);
  return digits;
}

/** Monotonic within one process: ids minted in the same millisecond still sort in minting order. */
function nextRandom(ms: number): number[] {
  if (ms === lastTime) {
    const digits = [...lastRandom];
    for (let i = digits.length - 1; i >= 0; i--) {
      if (digits[i]! < 31) {
        digits[i] = digits[i]! + 1;
        break;
      }
      digits[i] = 0;
    }
    lastRandom = digits;
    return digits;
  }
  lastTime = ms;
  lastRandom = randomDigits();
  return lastRandom;
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const random = nextRandom(nowMs)
    .map((d) => ALPHABET[d])
    .join('');
  return `${prefix}_${encodeTime(nowMs)}${random}`;
}

const ID_PATTERN = /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/;

export function looksLikeId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
