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

/**
 * The row prefix of a key. Minted keys carry theirs; an operator may also bring their own secret
 * (UNIDLE_ADMIN_KEY=…) of any form, whose prefix is then derived from its hash. Too short or
 * whitespace-bearing secrets are refused: they would be guessable or break the Authorization header.
 */
export function parseKey(key: string): { prefix: string } | undefined {
  const minted = /^unk_([0-9a-f]{12})_([A-Za-z0-9_-]{16,})$/.exec(key);
  if (minted) return { prefix: minted[1]! };
  if (key.length < 16 || key.length > 512 || /[\s\x00-\x1f]/.test(key)) return undefined;
  return { prefix: `h${hashKey(key).slice(0, 11)}` };
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function keyFormatHelp(): string {
  return 'a key is 16–512 characters without spaces (minted keys look like unk_<12 hex>_<secret>); make one with `unidle keys create` or leave the variable unset';
}
