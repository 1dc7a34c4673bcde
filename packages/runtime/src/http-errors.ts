import { ERRORS, LoupeError, isErrorCode, toLoupeError } from '@loupe/contracts';
import { validationError, validationIssues } from './validation.js';
import type { ErrorObject } from 'ajv';

/** The body of every error answer, documented once in OpenAPI as the `LoupeError` component. */
export const ERROR_BODY_SCHEMA = {
  $id: 'LoupeError',
  type: 'object',
  required: ['code', 'message', 'status', 'retryable'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERRORS), description: 'Stable error code; see docs/errors.md' },
    message: { type: 'string' },
    status: { type: 'integer' },
    retryable: { type: 'boolean', description: 'Whether the same request may succeed later' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

interface FastifyLikeError {
  code?: unknown;
  message?: unknown;
  statusCode?: unknown;
  validation?: ErrorObject[];
  validationContext?: string;
}

/**
 * The one mapping from anything thrown while answering HTTP to a LoupeError (and so to a status):
 * LoupeErrors keep their code; Fastify's schema failures become LOUPE_ERR_VALIDATION with every
 * issue listed; Fastify's other client errors (unparsable JSON, wrong content type, body too
 * large) are validation errors too; everything else is an opaque LOUPE_ERR_INTERNAL.
 */
export function toHttpError(err: unknown): LoupeError {
  if (err instanceof LoupeError) return err;
  if (!err || typeof err !== 'object') return toLoupeError(err);
  const e = err as FastifyLikeError;
  if (isErrorCode(e.code)) return toLoupeError(err);
  if (Array.isArray(e.validation)) return validationError(validationIssues(e.validation, e.validationContext ?? 'body'));
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new LoupeError('LOUPE_ERR_VALIDATION', typeof e.message === 'string' ? e.message : undefined, {
      cause: err,
      details: { reason: typeof e.code === 'string' ? e.code : 'bad request' },
    });
  }
  return toLoupeError(err);
}
