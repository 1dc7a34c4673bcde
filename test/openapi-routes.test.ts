// Every route the whole product mounts (embedded mode, every service) is in the OpenAPI document
// and in docs/api.md, and docs/api.md names no route that does not exist. A failure names each
// route and where it is missing, so that adding a route tells its author which line to write.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';

const API_DOC = fileURLToPath(new URL('../docs/api.md', import.meta.url));
/** Fastify's own: the HEAD twin of every GET, and the CORS preflight. */
const IMPLICIT_METHODS = new Set(['HEAD', 'OPTIONS']);
/** @fastify/swagger-ui's page and files: the browsable copy of the document, not operations of their own. */
const isSwaggerUi = (url: string): boolean => url === '/docs' || url.startsWith('/docs/');

/** `/v1/jobs/:id` and `/v1/jobs/{id}` -> `/v1/jobs/{}`: the spellings of Fastify, OpenAPI and the docs compared. */
const shape = (url: string): string => url.replace(/:[A-Za-z0-9_]+|\{[^}]*\}/g, '{}');
const key = (method: string, url: string): string => `${method} ${shape(url)}`;

/** `METHOD /path` in backticks, the query string and `[...]` options left off. */
const MENTION = /`(GET|POST|PUT|PATCH|DELETE) (\/[^`?[\s]*)/g;

/** An assertion's message: what passed, or every route that failed and what to do. */
const said = (missing: readonly string[], fine: string, wrong: string): string => (missing.length === 0 ? fine : `${wrong}: ${missing.join(', ')}`);

function mentions(text: string): string[] {
  // A path may end a sentence ("GET /v1/ocr..."): the dots are the prose's.
  return [...text.matchAll(MENTION)].map((m) => key(m[1]!, m[2]!.replace(/\.+$/, '')));
}

/** The first cell of each row of the routes table: where a route is listed. */
function listedInTable(markdown: string): Set<string> {
  const rows = markdown.split('\n').filter((line) => line.startsWith('| `'));
  return new Set(rows.flatMap((row) => mentions(row.split(' | ')[0]!)));
}

/** The product as `loupe serve` mounts it, on a data folder of its own. */
async function embeddedApp(t: Test, services?: string[]) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-openapi-routes-'));
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const embedded = await createEmbedded(loadConfig({}, { logLevel: 'silent', dataDir, ...(services && { services }) }));
  t.teardown(() => embedded.close());
  return embedded.app;
}

t.test('every route is in OpenAPI and docs/api.md, and docs/api.md names only routes that exist', async (t) => {
  const app = await embeddedApp(t);
  await app.fastify.ready();

  const mounted = new Map<string, string>();
  for (const route of app.routes) if (!IMPLICIT_METHODS.has(route.method)) mounted.set(key(route.method, route.url), `${route.method} ${route.url}`);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const documented = new Set(Object.entries(doc.paths).flatMap(([url, ops]) => Object.keys(ops).map((method) => key(method.toUpperCase(), url))));
  const markdown = await fs.readFile(API_DOC, 'utf8');
  const listed = listedInTable(markdown);

  const operations = [...mounted].filter(([, route]) => !isSwaggerUi(route.split(' ')[1]!));
  const notInOpenApi = operations.filter(([k]) => !documented.has(k)).map(([, route]) => route);
  t.same(notInOpenApi, [], said(notInOpenApi, 'every route is in OpenAPI', 'routes missing from OpenAPI (give each a schema, or mount it with mountOperation)'));
  // The UI's page is for people, so the docs list it; its files are not.
  const forPeople: [string, string][] = [...operations, [key('GET', '/docs'), 'GET /docs']];
  const notInDocs = forPeople.filter(([k]) => !listed.has(k)).map(([, route]) => route);
  t.same(notInDocs, [], said(notInDocs, 'every route is in the table of docs/api.md', 'routes missing from the table of docs/api.md (add a row, path parameters as {name})'));
  const inOpenApiOnly = [...documented].filter((k) => !mounted.has(k));
  t.same(inOpenApiOnly, [], said(inOpenApiOnly, 'every OpenAPI operation is a route', 'OpenAPI operations no route answers'));
  const unknown = [...new Set(mentions(markdown))].filter((k) => !mounted.has(k));
  t.same(unknown, [], said(unknown, 'docs/api.md names only routes that exist', 'docs/api.md names routes that do not exist'));
  t.ok(operations.length > 40, `${operations.length} routes walked`);
});

t.test('an optional input is optional in the document: no parameter with a default is required', async (t) => {
  const app = await embeddedApp(t);
  type Parameter = { name: string; in: string; required?: boolean; schema?: { default?: unknown } };
  type Operation = { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, { default?: unknown }> } }> } };
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };

  const wrong: string[] = [];
  for (const [url, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const p of op.parameters ?? []) if (p.required && p.schema?.default !== undefined) wrong.push(`${method.toUpperCase()} ${url} ${p.in} ${p.name}`);
      for (const { schema } of Object.values(op.requestBody?.content ?? {})) {
        for (const name of schema.required ?? []) if (schema.properties?.[name]?.default !== undefined) wrong.push(`${method.toUpperCase()} ${url} body ${name}`);
      }
    }
  }
  t.same(wrong, [], said(wrong, 'no input with a default is required', 'inputs with a default marked required'));
  const search = doc.paths['/v1/search']!.post!.requestBody!.content['application/json']!.schema;
  t.notOk(search.required?.includes('limit') || search.required?.includes('offset'), "/v1/search's limit and offset are optional");
});

t.test('a bad value of a union of literals answers once, with the values allowed', async (t) => {
  const app = await embeddedApp(t, ['gateway']);
  await app.start();
  const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: 'https://example.org/manifest.json', pipeline: 'foo' } });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.match(body.message, /^body\/pipeline must be one of text, objects, embed, enrich, classify(, [a-z]+)*; got "foo"$/);
  t.equal(body.details.errors.length, 1, 'one entry for the field');
  t.match(body.details.errors[0], { in: 'body', path: '/pipeline', allowed: Array });
});
