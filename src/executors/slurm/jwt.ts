/**
 * Slurm JWT tokens (auth/jwt), minted locally instead of shelling out to `scontrol token`.
 * Slurm 22.05 accepts HS256 tokens with claims `{iat, exp, sun}` (sun = Slurm user name) signed with the
 * key named by `AuthAltParameters=jwt_key=…` (raw bytes of the file, not text).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface SlurmJwtClaims {
  iat: number;
  exp: number;
  sun: string;
}

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs the claims with the key (HS256). Pure: the clock is the caller's. */
export function signSlurmJwt(key: Buffer, claims: SlurmJwtClaims): string {
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  const signature = createHmac('sha256', key).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** A token for `user`, valid from `nowMs` for `lifespanSec` seconds. */
export function mintSlurmJwt(key: Buffer, user: string, lifespanSec: number, nowMs: number = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  return signSlurmJwt(key, { iat, exp: iat + lifespanSec, sun: user });
}

/** Reads the key file (Slurm uses its raw bytes) and mints a token. */
export function mintSlurmJwtFromKeyFile(keyFile: string, user: string, lifespanSec: number, nowMs?: number): string {
  return mintSlurmJwt(readFileSync(keyFile), user, lifespanSec, nowMs);
}

/** Decodes (does not verify) a token's claims; for diagnostics and tests. */
export function decodeSlurmJwt(token: string): SlurmJwtClaims {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SlurmJwtClaims;
}
