import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSlurmJwt, mintSlurmJwt } from './jwt.js';

describe('Slurm JWT', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');

  it('mints an HS256 token with iat, exp and sun, signed with the raw key bytes', () => {
    const token = mintSlurmJwt(key, 'root', 600, 1_795_000_000_500);
    const [header, payload, sig] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeSlurmJwt(token)).toEqual({ iat: 1_795_000_000, exp: 1_795_000_600, sun: 'root' });
    expect(sig).toBe(createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'));
  });

  it('is deterministic for the same clock', () => {
    expect(mintSlurmJwt(key, 'alice', 60, 1000)).toBe(mintSlurmJwt(key, 'alice', 60, 1000));
    expect(mintSlurmJwt(key, 'alice', 60, 1000)).not.toBe(mintSlurmJwt(Buffer.from('other'), 'alice', 60, 1000));
  });
});
