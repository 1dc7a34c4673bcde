import { Type } from '@sinclair/typebox';
import t from 'tap';
import { LoupeError, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { createMemoryBus } from '@loupe/bus';
import { createServiceApp } from './service-app.js';

// A service's API as another process sees it: its declaration without the handler.
const api = {
  name: 'greet',
  summary: 'Greets',
  subject: 'loupe.greeter.greet.v1',
  mode: 'request',
  route: { method: 'GET', url: '/v1/greet/:name' },
  input: Type.Object({ name: Type.String(), polite: Type.Optional(Type.Boolean()) }),
  output: Type.Object({ greeting: Type.String() }),
  errors: ['LOUPE_ERR_NOT_FOUND'],
  role: 'reader',
} as const;

const greeter: ServiceDefinition = {
  name: 'greeter',
  version: '1.0.0',
  description: 'greets',
  handlers: [
    defineHandler({
      ...api,
      async handler({ name, polite }) {
        if (name === 'nobody') throw new LoupeError('LOUPE_ERR_NOT_FOUND', 'nobody to greet');
        return { greeting: `${polite ? 'Good day' : 'Hello'}, ${name}` };
      },
    }),
  ],
};

t.test('a gateway process mounts the routes of services other processes run, over the bus', async (t) => {
  const bus = createMemoryBus();
  const worker = await createServiceApp([greeter], { bus, logger: false });
  const gateway = await createServiceApp([], { bus, logger: false, remote: { greeter: { greet: api } } });
  t.teardown(async () => {
    await gateway.close();
    await bus.close();
  });
  await worker.start();
  await gateway.start();

  const ok = await gateway.inject({ method: 'GET', url: '/v1/greet/Ada?polite=true' });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { greeting: 'Good day, Ada' }, 'path and query reach the remote handler, typed');

  const missing = await gateway.inject({ method: 'GET', url: '/v1/greet/nobody' });
  t.equal(missing.statusCode, 404, "the remote handler's error keeps its status");
  t.equal((missing.json() as { code: string }).code, 'LOUPE_ERR_NOT_FOUND');

  const invalid = await gateway.inject({ method: 'GET', url: '/v1/greet/Ada?polite=maybe' });
  t.equal(invalid.statusCode, 400, 'validated at the gateway with the same schema');

  const doc = (await gateway.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get?: { operationId: string } }> };
  t.equal(doc.paths['/v1/greet/{name}']?.get?.operationId, 'greeter.greet', 'listed in OpenAPI as the service itself lists it');

  await worker.close();
  const started = Date.now();
  const down = await gateway.inject({ method: 'GET', url: '/v1/greet/Ada' });
  t.equal(down.statusCode, 503);
  t.equal((down.json() as { code: string }).code, 'LOUPE_ERR_BUS_NO_RESPONDER', 'no worker: a clear error');
  // Generous bound: what matters is that it does not wait out the 30 s request timeout.
  t.ok(Date.now() - started < 5000, 'at once, not after a timeout');
});

t.test('a route of a service this process runs is not mounted twice', async (t) => {
  const bus = createMemoryBus();
  const app = await createServiceApp([greeter], { bus, logger: false, remote: { greeter: { greet: api } } });
  t.teardown(async () => {
    await app.close();
    await bus.close();
  });
  await app.start();
  t.equal((await app.inject({ method: 'GET', url: '/v1/greet/Ada' })).statusCode, 200);
});
