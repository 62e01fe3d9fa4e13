/**
 * Coded errors. Every failure a user can cause carries a stable `code` (for scripts), an HTTP status
 * (for the API), and, where a field is to blame, the field and what to do about it. The API maps these
 * to application/problem+json in one place; the CLI maps validation errors to exit code 2.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'idempotency_conflict'
  | 'invalid_state'
  | 'unschedulable'
  | 'payment_required'
  | 'budget_exceeded'
  | 'capacity_sold_out'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 422,
  malformed_json: 400,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  invalid_state: 409,
  unschedulable: 422,
  payment_required: 402,
  budget_exceeded: 402,
  capacity_sold_out: 409,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export interface FieldProblem {
  /** JSON pointer-ish dotted path of the offending input, e.g. `shape.gpuMilli`. */
  field: string;
  message: string;
}

export class UnidleError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly problems: FieldProblem[];

  constructor(code: ErrorCode, message: string, problems: FieldProblem[] = []) {
    super(message);
    this.name = 'UnidleError';
    this.code = code;
    this.status = STATUS[code];
    this.problems = problems;
  }
}

export function invalid(field: string, message: string): UnidleError {
  return new UnidleError('validation_failed', `${field}: ${message}`, [{ field, message }]);
}

export function invalidMany(problems: FieldProblem[]): UnidleError {
  const detail = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  return new UnidleError('validation_failed', detail, problems);
}

export function notFound(what: string, id: string): UnidleError {
  return new UnidleError('not_found', `${what} ${id} does not exist or is not visible to you`);
}

export function forbidden(message: string): UnidleError {
  return new UnidleError('forbidden', message);
}

export function conflict(message: string): UnidleError {
  return new UnidleError('conflict', message);
}

export function invalidState(message: string): UnidleError {
  return new UnidleError('invalid_state', message);
}

export function isUnidleError(err: unknown): err is UnidleError {
  return err instanceof UnidleError;
}
