import t from 'tap';
import { createMemoryBus } from '@loupe/bus';
import { createServiceApp } from '@loupe/runtime';
import { listenEarly } from './early-health.server.js';

t.test('the port answers health while the app loads, then the app answers on it', async (t) => {
  const early = await listenEarly({ port: 0, host: '127.0.0.1' });
  t.teardown(() => early.close());
  const get = async (url: string) => {
    const res = await fetch(`${early.url}${url}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  t.same(await get('/healthz'), { status: 200, body: { status: 'ok' } }, 'alive from the start');
  t.match(await get('/readyz'), { status: 503, body: { status: 'starting' } }, 'not ready');
  t.match(await get('/v1/jobs'), { status: 503, body: { code: 'LOUPE_ERR_NOT_READY' } }, 'the API says it is starting, in its own error shape');
  const scrape = async () => {
    const res = await fetch(`${early.url}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  t.match(await scrape(), { status: 200, type: /^text\/plain; version=0\.0\.4/, text: /^loupe_starting 1$/m }, 'a scrape finds it up and starting');

  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const app = await createServiceApp([], { bus, logger: false });
  t.teardown(() => app.close());
  await app.fastify.ready();
  early.handOff(app.fastify);
  await app.start();
  t.match(await get('/readyz'), { status: 200, body: { status: 'ready', services: {} } }, 'the app answers on the same port');
  t.match(await get('/v1/nothing'), { status: 404, body: { code: 'LOUPE_ERR_NOT_FOUND' } });
  const full = await scrape();
  t.match(full, { status: 200, text: /^loupe_dead_letters 0$/m }, "then the app's own metrics");
  t.notMatch(full.text, /loupe_starting/);
});
