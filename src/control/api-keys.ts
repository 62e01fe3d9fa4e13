import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `unk_<prefix>_<secret>`: the prefix finds the row, the whole key's sha256 is
 * compared in constant time. Only the hash is stored; a key is shown once, when it is made.
 */
export interface MintedKey {
  key: string;
  prefix: string;
  hash: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function mintKey(): MintedKey {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const key = `unk_${prefix}_${secret}`;
  return { key, prefix, hash: hashKey(key) };
}

/** Accepts an operator-supplied key (UNIDLE_ADMIN_KEY…) if it has the right form, so it can be stored. */
export function parseKey(key: string): { prefix: string } | undefined {
  const m = /^unk_([0-9a-f]{12})_([A-Za-z0-9_-]{16,})$/.exec(key);
  return m ? { prefix: m[1]! } : undefined;
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function keyFormatHelp(): string {
  return 'keys look like unk_<12 hex>_<at least 16 base64url characters>; make one with `unidle keys create` or leave the variable unset';
}
