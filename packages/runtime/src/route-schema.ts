import { LoupeError, type ApiDeclaration } from '@loupe/contracts';

type JsonObjectSchema = {
  type?: unknown;
  properties?: Record<string, unknown>;
  required?: readonly string[];
  [key: string]: unknown;
};

/** `/v1/jobs/:id/pages/:page` -> ['id', 'page'] */
export function pathParamNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
}

export interface RouteInputSchemas {
  /** Path parameters, present when the URL has some. */
  readonly params: object | undefined;
  /** The rest of the input: the query string for GET/DELETE, the body for POST/PUT (undefined when nothing is left). */
  readonly rest: object | undefined;
  readonly paramNames: readonly string[];
}

function withoutId(schema: JsonObjectSchema): JsonObjectSchema {
  // Two schemas derived from one must not share its $id: ajv refuses a second schema with the same id.
  const { $id: _id, ...rest } = schema;
  return rest;
}

/**
 * How a handler's single input maps onto HTTP: path parameters are taken out of the input schema
 * and validated as `params`; what remains is the query string (GET, DELETE) or the body (POST,
 * PUT). The handler then receives one object: `{ ...query or body, ...params }` (the path wins).
 * A route with path parameters therefore needs an object input that declares each of them.
 */
export function routeInputSchemas(serviceName: string, decl: ApiDeclaration): RouteInputSchemas {
  const route = decl.route;
  if (!route) throw new Error(`${serviceName}.${decl.name} has no route`);
  const paramNames = pathParamNames(route.url);
  const input = decl.input as unknown as JsonObjectSchema;
  if (paramNames.length === 0) return { params: undefined, rest: input, paramNames };

  const properties = input.properties;
  const undeclared = paramNames.filter((p) => !properties || !Object.hasOwn(properties, p));
  if (input.type !== 'object' || !properties || undeclared.length > 0) {
    throw new LoupeError(
      'LOUPE_ERR_CONFIG_INVALID',
      `${serviceName}.${decl.name}: the route ${route.url} has path parameters (${paramNames.join(', ')}) that its input schema must declare as properties of an object` +
        (undeclared.length > 0 ? `; missing: ${undeclared.join(', ')}` : ''),
    );
  }
  const params = {
    type: 'object',
    properties: Object.fromEntries(paramNames.map((p) => [p, properties[p]])),
    required: paramNames,
    additionalProperties: false,
  };
  const restProperties = Object.fromEntries(Object.entries(properties).filter(([name]) => !paramNames.includes(name)));
  const restRequired = (input.required ?? []).filter((name) => !paramNames.includes(name));
  // A query string is always an object, so it keeps a schema (and rejects unknown keys if the input does);
  // a body with nothing left to carry is not required at all.
  const inBody = route.method === 'POST' || route.method === 'PUT';
  if (inBody && Object.keys(restProperties).length === 0) return { params, rest: undefined, paramNames };
  const rest: JsonObjectSchema = { ...withoutId(input), properties: restProperties };
  if (restRequired.length > 0) rest.required = restRequired;
  else delete rest.required;
  return { params, rest, paramNames };
}
