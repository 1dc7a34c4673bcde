import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { LoupeError } from '@loupe/contracts';

/**
 * One validator for both transports, so an input the HTTP route accepts is exactly an input the
 * bus endpoint accepts. Unlike Fastify's default ajv, extra properties are rejected rather than
 * silently removed (a misspelt option should be an error, not a no-op). Only the URL parts
 * (path and query string, always text) are coerced to the declared types.
 */
const ajvOptions = {
  allErrors: false,
  useDefaults: true,
  removeAdditional: false,
  // Annotation keywords for OpenAPI (x-*, example) must not fail start-up.
  strict: false,
} as const;

// ajv-formats is CommonJS with `exports.default`; depending on the loader the default import is the plugin or its module.
const formatsPlugin = ((addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats) as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ ...ajvOptions, coerceTypes: coerce ? 'array' : false });
  formatsPlugin(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);

export type InputPart = 'body' | 'querystring' | 'params' | 'headers' | 'message';

export function compileValidator(schema: object, part: InputPart): ValidateFunction {
  return (part === 'querystring' || part === 'params' ? coercingAjv : strictAjv).compile(schema);
}

export interface ValidationIssue {
  /** Where the value came from: body, querystring, params, or message (the bus). */
  readonly in: string;
  /** JSON pointer into that part. */
  readonly path: string;
  readonly message: string;
}

export function validationIssues(errors: readonly ErrorObject[] | null | undefined, part: string): ValidationIssue[] {
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: unknown }).missingProperty)}` : '';
    const extra = e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperty?: unknown }).additionalProperty)}` : '';
    return { in: part, path: `${e.instancePath}${missing}${extra}`, message: e.message ?? e.keyword };
  });
}

/** The one shape of a validation failure, whichever transport saw it. */
export function validationError(issues: readonly ValidationIssue[]): LoupeError {
  const first = issues[0];
  const message = first ? `${first.in}${first.path || ''} ${first.message}` : 'invalid input';
  return new LoupeError('LOUPE_ERR_VALIDATION', message, { details: { errors: issues } });
}
