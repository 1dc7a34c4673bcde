import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { createMemoryBus, type Bus } from '@loupe/bus';
import { LoupeError, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { createClient } from './bus-client.js';
import { defineService } from './define-service.js';
import { createServiceApp, type LoupeApp, type ServiceAppOptions } from './service-app.js';
import { installSignalHandlers } from './signals.js';

const Item = Type.Object({ id: Type.String(), name: Type.String(), size: Type.Integer(), verbose: Type.Boolean() });

function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** A demo service: a GET route with a path parameter, a POST route, and a slow one the test controls. */
function demoService(hooks: { start?: () => Promise<void>; slow?: Promise<void> } = {}): ServiceDefinition {
  const getItem = defineHandler({
    name: 'get',
    summary: 'Get an item',
    subject: 'loupe.demo.get.v1',
    mode: 'request',
    route: { method: 'GET', url: '/v1/items/:id' },
    input: Type.Object({ id: Type.String({ minLength: 2 }), verbose: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    output: Item,
    errors: ['LOUPE_ERR_NOT_FOUND'],
    role: 'reader',
    handler: async ({ id, verbose }, ctx) => {
      if (id === 'missing') throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no item ${id}`, { details: { id } });
      if (id === 'boom') throw new Error('connection string postgres://admin:hunter2@db');
      if (id === 'trace') return { id, name: ctx.headers.traceparent ?? 'none', size: ctx.attempt, verbose: false };
      return { id, name: `item ${id}`, size: 3, verbose: verbose ?? false };
    },
  });
  const createItem = defineHandler({
    name: 'create',
    summary: 'Create an item',
    subject: 'loupe.demo.create.v1',
    mode: 'request',
    route: { method: 'POST', url: '/v1/items' },
    input: Type.Object({ name: Type.String(), size: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    output: Item,
    errors: [],
    role: 'operator',
    handler: async ({ name, size }) => {
      await hooks.slow;
      return { id: 'new', name, size, verbose: false };
    },
  });
  return defineService({
    name: 'demo',
    version: '1.2.3',
    description: 'A demo service',
    handlers: [getItem, createItem],
    ...(hooks.start ? { start: hooks.start } : {}),
    readiness: () => ({ model: 'demo-model' }),
  });
}

async function open(t: Test, services: ServiceDefinition[], opts: Partial<ServiceAppOptions> = {}): Promise<{ app: LoupeApp; bus: Bus }> {
  const bus = createMemoryBus();
  const app = await createServiceApp(services, { bus, logger: false, ...opts });
  t.teardown(async () => {
    await app.close();
    await bus.close();
  });
  return { app, bus };
}

t.test('invalid input answers 400 LOUPE_ERR_VALIDATION listing what is wrong', async (t) => {
  const { app } = await open(t, [demoService()]);
  await app.start();

  const body = await app.inject({ method: 'POST', url: '/v1/items', payload: { name: 7, size: 1 } });
  t.equal(body.statusCode, 400);
  t.match(body.json(), {
    code: 'LOUPE_ERR_VALIDATION',
    status: 400,
    retryable: false,
    message: String,
    details: { errors: [{ in: 'body', path: '/name', message: String }] },
  });

  const extra = await app.inject({ method: 'POST', url: '/v1/items', payload: { name: 'a', size: 1, colour: 'red' } });
  t.equal(extra.statusCode, 400, 'an unknown property is rejected, not silently dropped');
  t.match(extra.json(), { details: { errors: [{ path: '/colour' }] } });

  const param = await app.inject({ method: 'GET', url: '/v1/items/x' });
  t.equal(param.statusCode, 400);
  t.match(param.json(), { code: 'LOUPE_ERR_VALIDATION', details: { errors: [{ in: 'params', path: '/id' }] } });

  const notJson = await app.inject({ method: 'POST', url: '/v1/items', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
  t.equal(notJson.statusCode, 400);
  t.match(notJson.json(), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('a GET route merges path parameters and the query string into one input', async (t) => {
  const { app } = await open(t, [demoService()]);
  await app.start();
  const res = await app.inject({ method: 'GET', url: '/v1/items/ab?verbose=true' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { id: 'ab', name: 'item ab', size: 3, verbose: true });
});

t.test('a LoupeError answers its status and code; an unknown error is an opaque 500', async (t) => {
  const lines: string[] = [];
  const { app } = await open(t, [demoService()], { logger: { level: 'error', stream: { write: (line: string) => lines.push(line) } } });
  await app.start();

  const missing = await app.inject({ method: 'GET', url: '/v1/items/missing' });
  t.equal(missing.statusCode, 404);
  t.same(missing.json(), { code: 'LOUPE_ERR_NOT_FOUND', message: 'no item missing', status: 404, retryable: false, details: { id: 'missing' } });

  const boom = await app.inject({ method: 'GET', url: '/v1/items/boom' });
  t.equal(boom.statusCode, 500);
  t.same(boom.json(), { code: 'LOUPE_ERR_INTERNAL', message: 'Internal error', status: 500, retryable: false });
  t.notMatch(boom.body, /hunter2/, 'the answer does not leak the real error');
  t.match(lines.join(''), /hunter2/, 'the log has the real error');

  const nowhere = await app.inject({ method: 'GET', url: '/v2/nothing' });
  t.equal(nowhere.statusCode, 404);
  t.match(nowhere.json(), { code: 'LOUPE_ERR_NOT_FOUND' });
});

t.test('OpenAPI documents every route from its schema', async (t) => {
  const { app } = await open(t, [demoService()], { publicUrl: 'https://loupe.example.org' });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.openapi, '3.1.0');
  t.match(doc.info, { title: 'Loupe', version: '1.2.3' });
  t.same(doc.servers, [{ url: 'https://loupe.example.org' }]);

  const get = doc.paths['/v1/items/{id}'].get;
  t.match(get, { operationId: 'demo.get', tags: ['demo'], summary: 'Get an item' });
  t.match(get.description, /LOUPE_ERR_NOT_FOUND/, 'declared errors are listed');
  t.ok(
    get.parameters.some((p: { in: string; name: string; required: boolean }) => p.in === 'path' && p.name === 'id' && p.required),
    'the path parameter is documented',
  );
  t.ok(get.parameters.some((p: { in: string; name: string }) => p.in === 'query' && p.name === 'verbose'), 'the query parameter is documented');
  t.match(get.responses['200'].content['application/json'].schema, { properties: { id: { type: 'string' } } });
  t.ok(get.responses['4XX'] ?? get.responses['4xx'], 'error answers are documented');

  const post = doc.paths['/v1/items'].post;
  t.match(post, { operationId: 'demo.create' });
  t.match(post.requestBody.content['application/json'].schema, { properties: { name: { type: 'string' }, size: { type: 'integer' } } });

  for (const processRoute of ['/healthz', '/readyz', '/openapi.json']) {
    t.match(doc.paths[processRoute].get, { tags: ['process'], responses: { 200: { description: String } } }, `${processRoute} is documented`);
  }
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  t.ok(ui.statusCode < 400, 'the documentation UI is served');
});

t.test('/readyz answers 503 until every start() resolved, then 200; /healthz always 200', async (t) => {
  const loaded = gate();
  const { app } = await open(t, [demoService({ start: () => loaded.wait })]);
  const started = app.start();

  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const before = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(before.statusCode, 503);
  t.match(before.json(), { status: 'starting', services: { demo: { state: 'starting', version: '1.2.3', details: { model: 'demo-model' } } } });
  const early = await app.inject({ method: 'GET', url: '/v1/items/ab' });
  t.equal(early.statusCode, 503);
  t.match(early.json(), { code: 'LOUPE_ERR_NOT_READY', retryable: true });

  loaded.open();
  await started;
  const after = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(after.statusCode, 200);
  t.match(after.json(), { status: 'ready', services: { demo: { state: 'ready' } } });
});

t.test('a service whose start() fails shows in /readyz without stopping the others', async (t) => {
  const broken: ServiceDefinition = {
    name: 'broken',
    version: '0.0.1',
    description: 'fails to load its model',
    handlers: [],
    start: async () => {
      throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', 'model effnet-b0 is not installed');
    },
  };
  const { app } = await open(t, [demoService(), broken]);
  await app.start();
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.match(res.json(), {
    status: 'failed',
    services: { demo: { state: 'ready' }, broken: { state: 'failed', error: { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: 'model effnet-b0 is not installed' } } },
  });
  t.equal((await app.inject({ method: 'GET', url: '/v1/items/ab' })).statusCode, 200, 'the healthy service still answers');
});

t.test('the same handler answers over the bus through createClient', async (t) => {
  const { app, bus } = await open(t, [demoService()]);
  await app.start();
  const client = createClient(bus);
  const [getItem] = demoService().handlers;
  if (!getItem) throw new Error('demo service lost its handler');

  t.same(await client.request(getItem, { id: 'ab' }), { id: 'ab', name: 'item ab', size: 3, verbose: false });
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  t.match(await client.request(getItem, { id: 'trace' }, { headers: { traceparent } }), { name: traceparent, size: 1 }, 'headers and attempt reach the handler');

  const missing = await client.request(getItem, { id: 'missing' }).catch((err: unknown) => err);
  t.ok(missing instanceof LoupeError, 'errors arrive as LoupeErrors');
  t.match(missing, { code: 'LOUPE_ERR_NOT_FOUND', status: 404, details: { id: 'missing' } });
  await t.rejects(client.request(getItem, { id: 7 } as never), {
    code: 'LOUPE_ERR_VALIDATION',
    details: { errors: [{ in: 'message', path: '/id' }] },
  });
  await t.rejects(client.request(getItem, { id: 'boom' }), { code: 'LOUPE_ERR_INTERNAL', message: 'Internal error' });
});

t.test('a queue handler is left to other workers when queueBindings is false', async (t) => {
  let indexed = 0;
  const indexItem = defineHandler({
    name: 'index',
    summary: 'Index an item',
    subject: 'loupe.demo.index.v1',
    mode: 'queue',
    route: { method: 'POST', url: '/v1/index' },
    input: Type.Object({ id: Type.String() }),
    output: Type.Object({ indexed: Type.Integer() }),
    errors: [],
    role: 'operator',
    handler: async () => ({ indexed: ++indexed }),
  });
  const service = defineService({ name: 'indexer', version: '1.0.0', description: 'indexes', handlers: [indexItem] });
  const { app, bus } = await open(t, [service], { queueBindings: false });
  await app.start();
  t.equal(app.readiness().status, 'ready');
  const res = await app.inject({ method: 'POST', url: '/v1/index', payload: { id: 'a' } });
  t.same(res.json(), { indexed: 1 }, 'the route calls the handler in process');
  t.same(await createClient(bus).enqueue(indexItem, { id: 'a' }, { msgId: 'a' }), { duplicate: false });
  t.match(await bus.stats(indexItem.subject), { pending: 1, consumers: 0 }, 'the work waits for a worker');
});

t.test('close waits for the request in flight, then refuses new ones', async (t) => {
  const slow = gate();
  const { app } = await open(t, [demoService({ slow: slow.wait })]);
  await app.start();
  const order: string[] = [];
  const inFlight = app.inject({ method: 'POST', url: '/v1/items', payload: { name: 'a', size: 1 } }).then((res) => {
    order.push(`answered ${res.statusCode}`);
    return res;
  });
  await sleep(20);
  const closing = app.close().then(() => order.push('closed'));
  await sleep(20);
  t.same(order, [], 'close waits');
  const refused = await app.inject({ method: 'GET', url: '/v1/items/ab' });
  t.equal(refused.statusCode, 503);
  t.match(refused.json(), { code: 'LOUPE_ERR_SHUTTING_DOWN', retryable: true });
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process is still alive');
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503, 'traffic is steered away');
  t.match(ready.json(), { status: 'stopping' });
  slow.open();
  await closing;
  t.same(order, ['answered 200', 'closed']);
  t.same((await inFlight).json(), { id: 'new', name: 'a', size: 1, verbose: false });
});

t.test('start-up fails on ambiguous declarations, naming each', async (t) => {
  const one = demoService();
  const twin: ServiceDefinition = { ...demoService(), name: 'twin' };
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  await t.rejects(createServiceApp([one, twin], { bus, logger: false }), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
    message: /twin\.get and demo\.get both handle loupe\.demo\.get\.v1[\s\S]*both answer GET \/v1\/items\/:id/,
  });
});

t.test('a static page that clashes with a route, or is not an absolute path, is refused at start-up', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const pages: ServiceDefinition = {
    ...demoService(),
    name: 'pages',
    handlers: [],
    pages: [
      { url: '/v1/items/:id', contentType: 'text/html', body: '<p>clash</p>' },
      { url: 'review', contentType: 'text/html', body: '<p>relative</p>' },
    ],
  };
  await t.rejects(createServiceApp([demoService(), pages], { bus, logger: false }), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
    message: /page \/v1\/items\/:id of pages and demo\.get both answer GET \/v1\/items\/:id[\s\S]*page review of pages is not an absolute path/,
  });
});

t.test('a signal closes the app and exits 0', async (t) => {
  const { app } = await open(t, [demoService()]);
  await app.start();
  const exited = new Promise<number>((resolve) => {
    const uninstall = installSignalHandlers(app, { info: () => {}, error: () => {} }, { signals: ['SIGWINCH'], exit: resolve });
    t.teardown(uninstall);
  });
  process.emit('SIGWINCH');
  t.equal(await exited, 0);
  t.equal(app.readiness().status, 'stopping');
  await t.rejects(app.inject({ method: 'GET', url: '/healthz' }), 'the server is closed');
});
