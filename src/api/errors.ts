import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isUnidleError, UnidleError, type FieldProblem } from '../domain/errors.js';

/**
 * The one place errors become responses: application/problem+json with a stable `code`, a `detail`
 * that says what to fix and, for input errors, the fields at fault.
 */
const TITLES: Record<string, string> = {
  validation_failed: 'The request has invalid fields',
  malformed_json: 'The request body is not valid JSON',
  payload_too_large: 'The request body is too large',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  conflict: 'Conflict',
  idempotency_conflict: 'Idempotency key reused',
  invalid_state: 'Not possible in the current state',
  unschedulable: 'No node could ever run this',
  unsupported_media_type: 'Unsupported content type',
  rate_limited: 'Too many requests',
  unavailable: 'Temporarily unavailable',
  internal: 'Internal error',
};

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldOf(instancePath: string, params: Record<string, unknown>, context: string | undefined): string {
  const path = instancePath
    .split('/')
    .filter(Boolean)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
    .join('')
    .replace(/^\./, '');
  const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  const full = extra ? (path ? `${path}.${extra}` : extra) : path;
  return full || (context ?? 'body');
}

function describeAjv(e: AjvError): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field; remove it (see /docs)';
    case 'type':
      return `must be ${e.params.type === 'integer' ? 'a whole number' : `of type ${String(e.params.type)}`}`;
    default:
      return e.message ?? 'is invalid';
  }
}

export function toUnidleError(err: FastifyError | Error): UnidleError {
  if (isUnidleError(err)) return err;
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe.validation) {
    const problems: FieldProblem[] = fe.validation.map((v) => ({ field: fieldOf(v.instancePath, v.params, fe.validationContext), message: describeAjv(v) }));
    return new UnidleError('validation_failed', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new UnidleError('malformed_json', `${fe.message}; send a JSON object with Content-Type: application/json`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new UnidleError('payload_too_large', `${fe.message}; ship large inputs as files in the job's working directory`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnidleError('unsupported_media_type', `${fe.message}; send application/json`);
    case 'FST_ERR_NOT_FOUND':
      return new UnidleError('not_found', fe.message);
  }
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return new UnidleError('malformed_json', `${err.message}; send a JSON object with Content-Type: application/json`);
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new UnidleError(fe.statusCode === 404 ? 'not_found' : 'validation_failed', fe.message);
  }
  return new UnidleError('internal', 'something went wrong on the server; it has been logged');
}

export function sendProblem(reply: FastifyReply, error: UnidleError, request: FastifyRequest): FastifyReply {
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send({
      type: `https://unidle.dev/problems/${error.code}`,
      title: TITLES[error.code] ?? 'Error',
      status: error.status,
      code: error.code,
      detail: error.message,
      errors: error.problems,
      instance: request.url,
    });
}
