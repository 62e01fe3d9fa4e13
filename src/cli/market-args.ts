import { JOB_TIERS } from '../domain/job.js';
import type { QuoteRequest, ReservationInput } from './api-client.js';
import { UsageError } from './io.js';
import { collect, parseBid } from './money-args.js';
import { parseTimeFlag } from './submit-args.js';

/**
 * Flags of the selling and billing commands → API bodies. Pure, like submit-args: text becomes typed
 * values (money as integer micro-units, parsed exactly, never through a float) and what cannot be sent
 * is a UsageError (exit 2). The server checks the rest (known models, currency of the center, limits).
 */

const WHOLE = /^\s*\d+\s*$/;
const DECIMAL = /^\s*(\d+\.?\d*|\.\d+)\s*$/;

/** `--hours`: a positive number of hours; decimals allowed (0.5 = 30 minutes). */
export function parseHours(raw: string): number {
  const hours = Number(raw);
  if (!DECIMAL.test(raw) || !Number.isFinite(hours) || hours <= 0) throw new UsageError(`--hours must be a positive number of hours, e.g. 2 or 0.5 (got "${raw}")`);
  return hours;
}

/** A whole number ≥ `min` from a flag, or a UsageError naming the flag. */
export function parseWhole(flag: string, raw: string, min: number, hint = ''): number {
  const n = Number(raw);
  if (!WHOLE.test(raw) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}${hint ? ` ${hint}` : ''} (got "${raw}")`);
  return n;
}

/** A percentage such as `60` or `62.5` → per mille (600, 625); 0 < p ≤ 100, at most one decimal. */
export function parsePercentToPermille(flag: string, raw: string): number {
  const m = /^\s*(\d+)(?:\.(\d))?\s*$/.exec(raw);
  const permille = m ? Number(m[1]) * 10 + Number(m[2] ?? '0') : NaN;
  if (!m || !Number.isSafeInteger(permille) || permille < 1 || permille > 1000) throw new UsageError(`${flag} must be a percentage from 0.1 to 100, e.g. 60 (got "${raw}")`);
  return permille;
}

/** `--model` given once or more, each maybe a comma list → the distinct models in order. */
export function parseModels(raw: string[] | undefined): string[] {
  const models = (raw ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  if ((raw ?? []).length > 0 && models.length === 0) throw new UsageError('--model needs a GPU model, e.g. --model H100');
  return [...new Set(models)];
}

function throwAll(problems: string[]): void {
  if (problems.length > 0) throw new UsageError(problems.length === 1 ? problems[0]! : `fix these and try again:\n  - ${problems.join('\n  - ')}`);
}

/** The GPU shape flags shared by quote and submit: exactly one of --gpu-milli (1–999) or --gpus. */
function shape(problems: string[], flags: { gpuMilli?: string; gpus?: string }): { gpuMilli?: number; gpus?: number } {
  const out: { gpuMilli?: number; gpus?: number } = {};
  if (flags.gpuMilli !== undefined && flags.gpus !== undefined) problems.push('give either --gpu-milli (a share of one GPU) or --gpus (whole GPUs), not both');
  if (flags.gpuMilli !== undefined) {
    const n = Number(flags.gpuMilli);
    if (!WHOLE.test(flags.gpuMilli) || n < 1 || n > 999) problems.push(`--gpu-milli must be a whole number from 1 to 999 (1000 = one GPU; got "${flags.gpuMilli}"); for whole GPUs use --gpus N`);
    else out.gpuMilli = n;
  }
  if (flags.gpus !== undefined) {
    const n = Number(flags.gpus);
    if (!WHOLE.test(flags.gpus) || !Number.isSafeInteger(n) || n < 1) problems.push(`--gpus must be a whole number of GPUs ≥ 1 (got "${flags.gpus}"); for a share of one GPU use --gpu-milli 1–999`);
    else out.gpus = n;
  }
  if (flags.gpuMilli === undefined && flags.gpus === undefined) problems.push('say how much GPU: --gpu-milli 500 (half a GPU) or --gpus 1 (whole GPUs)');
  return out;
}

/** The flags of `unidle quote` as commander hands them over. */
export interface QuoteFlags {
  gpuMilli?: string;
  gpus?: string;
  model?: string[];
  tier?: string;
  hours?: string;
  maxPrice?: string;
  currency?: string;
}

/** Flags → the POST /v1/quotes body; every problem at once as a UsageError. */
export function buildQuoteRequest(flags: QuoteFlags): QuoteRequest {
  const problems: string[] = [];
  const gpu = shape(problems, flags);
  const models = collect(problems, () => parseModels(flags.model)) ?? [];
  if (flags.tier !== undefined && !(JOB_TIERS as readonly string[]).includes(flags.tier)) problems.push(`--tier must be one of ${JOB_TIERS.join(', ')} (got "${flags.tier}")`);
  let hours: number | undefined;
  if (flags.hours === undefined) problems.push('say how long the work runs: --hours 2 (decimals allowed, 0.5 = 30 minutes)');
  else hours = collect(problems, () => parseHours(flags.hours!));
  const bid = parseBid(problems, flags);
  throwAll(problems);
  const body: QuoteRequest = { ...gpu, hours: hours! };
  if (models.length === 1) body.model = models[0];
  else if (models.length > 1) body.models = models;
  if (flags.tier !== undefined) body.tier = flags.tier;
  if (bid) body.maxPricePerHour = bid;
  return body;
}

/** The flags of `unidle reserve`. */
export interface ReserveFlags {
  model?: string;
  gpus?: string;
  gpuMilli?: string;
  hours?: string;
  lendingLimitMilli?: string;
  start?: string;
  idempotencyKey?: string;
}

/** Flags → the POST /v1/reservations body and the idempotency key the user gave (if any). */
export function buildReservationRequest(flags: ReserveFlags): { body: ReservationInput; idempotencyKey?: string } {
  const problems: string[] = [];
  if (flags.model === undefined || flags.model.trim() === '') problems.push('say which GPU model to reserve: --model H100');
  else if (flags.model.includes(',')) problems.push('a reservation is for one model: give --model once, e.g. --model H100');
  if (flags.gpus !== undefined && flags.gpuMilli !== undefined) problems.push('give either --gpus (whole GPUs) or --gpu-milli (milli-GPU of quota), not both');
  if (flags.gpus === undefined && flags.gpuMilli === undefined) problems.push('say how much to reserve: --gpus 2 (whole GPUs) or --gpu-milli 500 (milli-GPU of quota)');
  const gpus = flags.gpus !== undefined ? collect(problems, () => parseWhole('--gpus', flags.gpus!, 1)) : undefined;
  const gpuMilli = flags.gpuMilli !== undefined ? collect(problems, () => parseWhole('--gpu-milli', flags.gpuMilli!, 1, '(1000 = one GPU)')) : undefined;
  let hours: number | undefined;
  if (flags.hours === undefined) problems.push('say how long the term is: --hours 720 (30 days)');
  else hours = collect(problems, () => parseHours(flags.hours!));
  const lending = flags.lendingLimitMilli !== undefined ? collect(problems, () => parseWhole('--lending-limit-milli', flags.lendingLimitMilli!, 0, '(milli-GPU others may borrow as spot)')) : undefined;
  const startAt = flags.start !== undefined ? collect(problems, () => parseTimeFlag('--start', flags.start!)) : undefined;
  if (flags.idempotencyKey !== undefined && (flags.idempotencyKey === '' || flags.idempotencyKey.length > 255)) problems.push('--idempotency-key must be 1–255 characters');
  throwAll(problems);
  const body: ReservationInput = { model: flags.model!.trim(), hours: hours! };
  if (gpus !== undefined) body.gpus = gpus;
  if (gpuMilli !== undefined) body.gpuMilli = gpuMilli;
  if (lending !== undefined) body.lendingLimitMilli = lending;
  if (startAt !== undefined) body.startAt = startAt;
  return { body, idempotencyKey: flags.idempotencyKey };
}

/** `YYYY-MM` for invoices. */
export function parsePeriod(raw: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(raw.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new UsageError(`the period is a month written YYYY-MM, e.g. 2026-03 (got "${raw}")`);
  return raw.trim();
}

/** 333 per mille → `33.3%`. */
export function permilleText(permille: number): string {
  return `${(permille / 10).toFixed(1)}%`;
}
