import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { createMemoryBus } from '@loupe/bus';
import { defineHandler } from '@loupe/contracts';
import { defineService } from './define-service.js';
import { createServiceApp } from './service-app.js';

const Region = Type.Object({ x: Type.Integer(), y: Type.Integer({ default: 0 }) }, { $id: 'Region' });
const FindInput = Type.Object(
  {
    query: Type.String(),
    limit: Type.Integer({ minimum: 1, default: 20 }),
    region: Type.Optional(Region),
    page: Type.Optional(Type.Object({ size: Type.Integer({ default: 10 }), from: Type.Integer() })),
    // ajv fills no default beneath a union: there the field stays required.
    either: Type.Optional(Type.Union([Type.Object({ a: Type.Integer({ default: 1 }) }), Type.String()])),
  },
  { $id: 'FindInput', additionalProperties: false },
);
const ListInput = Type.Object({ offset: Type.Integer({ minimum: 0, default: 0 }), model: Type.String() }, { additionalProperties: false });
const Echo = Type.Object({ limit: Type.Integer(), region: Type.Optional(Region) }, { additionalProperties: true });

const service = defineService({
  name: 'demo',
  version: '1.0.0',
  description: 'A demo service',
  handlers: [
    defineHandler({
      name: 'find',
      summary: 'Find',
      subject: 'loupe.demo.find.v1',
      mode: 'request',
      route: { method: 'POST', url: '/v1/find' },
      input: FindInput,
      output: Echo,
      errors: [],
      role: 'reader',
      handler: async (input) => input,
    }),
    defineHandler({
      name: 'list',
      summary: 'List',
      subject: 'loupe.demo.list.v1',
      mode: 'request',
      route: { method: 'GET', url: '/v1/list' },
      input: ListInput,
      output: Type.Object({ offset: Type.Integer() }),
      errors: [],
      role: 'reader',
      handler: async ({ offset }) => ({ offset }),
    }),
  ],
  pages: [{ url: '/page', contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>page</title>' }],
});

async function open(t: Test) {
  const bus = createMemoryBus();
  const app = await createServiceApp([service], { bus, logger: false });
  t.teardown(async () => {
    await app.close();
    await bus.close();
  });
  await app.start();
  return app;
}

t.test('a field with a default is optional in the document, wherever an input reaches it', async (t) => {
  const app = await open(t);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();

  const list = doc.paths['/v1/list'].get.parameters as { name: string; required?: boolean }[];
  t.notOk(list.find((p) => p.name === 'offset')?.required, 'a query parameter with a default');
  t.equal(list.find((p) => p.name === 'model')?.required, true, 'one without stays required');

  const body = doc.paths['/v1/find'].post.requestBody.content['application/json'].schema;
  t.same(body.required, ['query'], 'a body property with a default');
  t.same(body.properties.page.required, ['from'], 'a nested one');
  t.same(body.properties.either.anyOf[0].required, ['a'], 'not beneath a union, where nothing fills it');
  t.same(doc.components.schemas.Region.required, ['x'], 'a component the input reaches');

  t.same(FindInput.required, ['query', 'limit'], "the contract's own schema is left as it was");
  const found = await app.inject({ method: 'POST', url: '/v1/find', payload: { query: 'q', region: { x: 1 } } });
  t.same(found.json(), { query: 'q', limit: 20, region: { x: 1, y: 0 } }, 'and the validator still fills the defaults');
});

t.test('static pages are documented and still revalidate', async (t) => {
  const app = await open(t);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.match(doc.paths['/page'].get, {
    tags: ['demo'],
    summary: 'A page of the web interface (text/html)',
    responses: { 200: { content: { 'text/html': { schema: { type: 'string' } } } }, 304: { description: String } },
  });
  const page = await app.inject({ method: 'GET', url: '/page' });
  t.equal(page.statusCode, 200);
  t.equal(page.body, '<!doctype html><title>page</title>');
  t.match(page.headers['content-type'], /^text\/html/);
  const again = await app.inject({ method: 'GET', url: '/page', headers: { 'if-none-match': page.headers.etag as string } });
  t.equal(again.statusCode, 304);

  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.match(ready.json(), { status: 'ready', services: { demo: { state: 'ready', version: '1.0.0' } } }, '/readyz answers as documented');
});
