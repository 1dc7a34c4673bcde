import type { StaticPage } from '@loupe/contracts';

type Json = Record<string, unknown>;
/** An operation's `security` requirement, as OpenAPI writes it. */
type Security = readonly Record<string, readonly string[]>[];

const COMPONENT = '#/components/schemas/';
/** Keywords whose value is data, not a schema: never walked. */
const DATA_KEYWORDS = new Set(['default', 'const', 'enum', 'example', 'examples']);
/** ajv fills no default beneath these (its `useDefaults` ignores them), so a field there stays required. */
const UNION_KEYWORDS = new Set(['anyOf', 'oneOf', 'not']);

/**
 * A contract writes `limit: Type.Integer({ default: 20 })` without `Type.Optional` so that the
 * handler's type says the field is always there, which it is once the validator filled the default;
 * a caller may leave it out all the same. The document says what the caller sees: every input
 * field with a default is optional, in the query string, the body and the components those reach.
 * Returns a new document: the components are the contracts' own schema objects, which the
 * validators use, so nothing is changed in place.
 */
export function withDefaultsOptional(doc: Json): Json {
  const components = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, unknown>;
  const reached: string[] = [];
  const relax = (schema: unknown, inUnion: boolean): unknown => {
    if (Array.isArray(schema)) return schema.map((item) => relax(item, inUnion));
    if (!schema || typeof schema !== 'object') return schema;
    const node = schema as Json;
    if (!inUnion && typeof node.$ref === 'string' && node.$ref.startsWith(COMPONENT)) {
      const name = node.$ref.slice(COMPONENT.length);
      if (!reached.includes(name)) reached.push(name);
    }
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) out[key] = DATA_KEYWORDS.has(key) ? value : relax(value, inUnion || UNION_KEYWORDS.has(key));
    const properties = node.properties as Record<string, Json> | undefined;
    if (!inUnion && properties && Array.isArray(node.required)) {
      const required = (node.required as string[]).filter((name) => properties[name]?.default === undefined);
      if (required.length > 0) out.required = required;
      else delete out.required;
    }
    return out;
  };

  const paths: Json = {};
  for (const [url, operations] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    paths[url] = Object.fromEntries(
      Object.entries(operations).map(([method, operation]) => {
        const op = operation as Json;
        if (!op || typeof op !== 'object' || Array.isArray(op)) return [method, op];
        const parameters = (op.parameters as Json[] | undefined)?.map((p) => {
          if (p.in === 'path' || (p.schema as Json | undefined)?.default === undefined) return relax(p, false);
          const { required: _required, ...optional } = p;
          return relax(optional, false);
        });
        return [method, { ...op, ...(parameters && { parameters }), ...(op.requestBody !== undefined && { requestBody: relax(op.requestBody, false) }) }];
      }),
    );
  }
  const schemas = { ...components };
  // A component reached from an input may reach others: each is relaxed once.
  for (let i = 0; i < reached.length; i++) {
    const name = reached[i]!;
    if (components[name] !== undefined) schemas[name] = relax(components[name], false);
  }
  return { ...doc, paths, ...(doc.components !== undefined && { components: { ...(doc.components as Json), schemas } }) };
}

/** The tag of the routes every process answers, whichever services it runs. */
export const PROCESS_TAG = { name: 'process', description: 'What every Loupe process answers: liveness, readiness and this document' };

const SERVICE_READINESS = {
  type: 'object',
  required: ['state', 'version'],
  properties: {
    state: { type: 'string', enum: ['starting', 'ready', 'failed', 'stopping', 'stopped'] },
    version: { type: 'string' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, description: 'Why start() failed' },
    details: { type: 'object', additionalProperties: true, description: "The service's own details: models loaded, stores opened" },
  },
  additionalProperties: true,
};

const READINESS = {
  type: 'object',
  required: ['status', 'services'],
  properties: {
    status: { type: 'string', enum: ['starting', 'ready', 'failed', 'stopping'] },
    services: { type: 'object', additionalProperties: SERVICE_READINESS, description: 'Each service by name' },
    process: { type: 'object', additionalProperties: true, description: 'What the services share: the execution provider and the models loaded' },
  },
  additionalProperties: true,
};

/** Route schemas of /healthz, /readyz, /metrics and /openapi.json: documented like the operations, with no role. */
export function processRouteSchemas(security: Security | undefined) {
  const common = { tags: [PROCESS_TAG.name], ...(security && { security }) };
  return {
    health: {
      ...common,
      operationId: 'process.health',
      summary: 'Liveness: the process answers',
      description: 'Liveness: 200 while the process runs, even before its models are loaded. Public, never rate-limited.',
      response: { 200: { description: 'Alive', type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } },
    },
    readiness: {
      ...common,
      operationId: 'process.readiness',
      summary: "Readiness: every service started, with each one's state and the execution provider",
      description:
        'Readiness: 200 once every service of the process has started (models loaded, stores open), 503 while one is starting, has failed or the process is stopping. Public, never rate-limited.',
      response: { 200: { ...READINESS, description: 'Every service is ready' }, 503: { ...READINESS, description: 'A service is starting or failed, or the process is stopping' } },
    },
    metrics: {
      ...common,
      operationId: 'process.metrics',
      summary: "Prometheus metrics of this process: stages, queues, models, Node.js",
      description:
        "This process's metrics in the Prometheus text format (docs/deploy.md, Metrics): stage latency, outcomes, errors by code and in-flight messages, the backlog of the work queues it consumes, inference runs, time and batch size per model, and the standard `process_` and `nodejs_` metrics. Public like the probes, never rate-limited: keep it inside the cluster (the NetworkPolicy).",
      response: { 200: { description: 'The metrics', content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } } } },
    },
    openapi: {
      ...common,
      operationId: 'process.openapi',
      summary: 'This OpenAPI 3.1 document (a browsable copy is at /docs)',
      description: 'The OpenAPI 3.1 document, generated from the route schemas. Public.',
      response: { 200: { description: 'The document', type: 'object', additionalProperties: true } },
    },
  };
}

const PAGE_KINDS: readonly (readonly [RegExp, string])[] = [
  [/^text\/html\b/, 'A page of the web interface'],
  [/javascript\b/, 'The script of a page'],
  [/^text\/css\b/, 'The style sheet of a page'],
];

/** A static page's route schema: what it is by its media type, its ETag revalidation, no credentials. */
export function pageRouteSchema(serviceName: string, page: StaticPage, security: Security | undefined) {
  const mediaType = page.contentType.split(';')[0]!.trim();
  const kind = PAGE_KINDS.find(([pattern]) => pattern.test(mediaType))?.[1] ?? 'A static document';
  return {
    tags: [serviceName],
    ...(security && { security }),
    operationId: `${serviceName}.page${page.url.replace(/[^A-Za-z0-9]+/g, '-')}`,
    summary: `${kind} (${mediaType})`,
    description: `${kind}, served as \`${mediaType}\` with an ETag: a request with a current \`If-None-Match\` answers 304. Public: it runs before any credentials are given, and its API calls ask for them.`,
    response: {
      200: { description: kind, content: { [mediaType]: { schema: { type: 'string' } } } },
      304: { description: 'Not modified: the ETag in If-None-Match is current', type: 'null' },
    },
  };
}
