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
  // Errors carry their schema and value: a failed union of literals is then told as its allowed values and what came instead.
  verbose: true,
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
  /** The values the field may take, when it is an enum or a union of literals. */
  readonly allowed?: readonly unknown[];
}

/**
 * ajv's errors as one issue per field. ajv reports each branch of a failed union and then the
 * `anyOf`, which a reader sees as the same complaint five times: a union of literals (TypeBox's
 * `Type.Union` of `Type.Literal`s, an `anyOf` of `const`s) becomes one issue listing the values
 * allowed and saying what came instead, and any other union one issue naming each form it missed
 * (what a branch says about a field inside the value keeps its own issue).
 */
export function validationIssues(errors: readonly ErrorObject[] | null | undefined, part: string): ValidationIssue[] {
  const all = errors ?? [];
  const unions = all.filter((e) => e.keyword === 'anyOf');
  const unionOf = (e: ErrorObject): ErrorObject | undefined =>
    unions.filter((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/`)).sort((a, b) => b.schemaPath.length - a.schemaPath.length)[0];
  const missed = new Map<ErrorObject, string[]>();
  const issues: ValidationIssue[] = [];
  for (const e of all) {
    const union = unionOf(e);
    if (union && (literalsOf(union.schema) || e.instancePath === union.instancePath)) {
      missed.set(union, [...(missed.get(union) ?? []), e.message ?? e.keyword]);
      continue;
    }
    const issue = issueOf(e, part, missed.get(e));
    if (!issues.some((seen) => seen.path === issue.path && seen.message === issue.message)) issues.push(issue);
  }
  return issues;
}

function issueOf(e: ErrorObject, part: string, missed: readonly string[] | undefined): ValidationIssue {
  const allowed = e.keyword === 'anyOf' ? literalsOf(e.schema) : e.keyword === 'enum' ? (e.params as { allowedValues?: unknown[] }).allowedValues : undefined;
  const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: unknown }).missingProperty)}` : '';
  const extra = e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperty?: unknown }).additionalProperty)}` : '';
  const path = `${e.instancePath}${missing}${extra}`;
  if (allowed) return { in: part, path, message: `must be one of ${allowed.map(String).join(', ')}; got ${shown(e.data)}`, allowed };
  if (e.keyword === 'anyOf' && missed && missed.length > 0) return { in: part, path, message: `must match one of its forms (${[...new Set(missed)].join('; ')})` };
  return { in: part, path, message: e.message ?? e.keyword };
}

/** The branches' values when every branch of an `anyOf` is a `const`. */
function literalsOf(branches: unknown): unknown[] | undefined {
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  if (!branches.every((b) => typeof b === 'object' && b !== null && 'const' in b)) return undefined;
  return branches.map((b: { const: unknown }) => b.const);
}

/** A value as the caller sent it, cut short: it is echoed into a message. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The one shape of a validation failure, whichever transport saw it. */
export function validationError(issues: readonly ValidationIssue[]): LoupeError {
  const first = issues[0];
  const message = first ? `${first.in}${first.path || ''} ${first.message}` : 'invalid input';
  return new LoupeError('LOUPE_ERR_VALIDATION', message, { details: { errors: issues } });
}
