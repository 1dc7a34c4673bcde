import { Type } from '@sinclair/typebox';
import t from 'tap';
import { defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { isBinaryMediaType } from './binary-response.js';
import { workerAndGateway } from './process-pair.fixture.js';

// A PNG's signature and a few bytes that are not UTF-8: any mangling through a string shows.
const PICTURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xc3, 0x28, 0x80]);

const Bytes = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary' });
const api = {
  name: 'picture',
  summary: 'A picture, or what it shows as JSON',
  subject: 'loupe.painter.picture.v1',
  mode: 'request',
  route: { method: 'GET', url: '/v1/pictures/:id' },
  input: Type.Object({ id: Type.String(), format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('json')])) }),
  output: Type.Union([Bytes, Type.Object({ id: Type.String(), bytes: Type.Integer() })]),
  errors: [],
  role: 'reader',
  mediaType: 'image/png',
} as const;

const painter: ServiceDefinition = {
  name: 'painter',
  version: '1.0.0',
  description: 'paints',
  handlers: [defineHandler({ ...api, handler: async ({ id, format }) => (format === 'json' ? { id, bytes: PICTURE.length } : new Uint8Array(PICTURE)) })],
};

t.test('which media types are bytes', async (t) => {
  for (const type of ['image/png', 'image/jpeg', 'application/octet-stream', 'application/pdf']) t.ok(isBinaryMediaType(type), type);
  for (const type of ['application/xml', 'text/vnd.hocr+html', 'text/csv; charset=utf-8', 'application/ld+json', 'application/alto+xml']) t.notOk(isBinaryMediaType(type), type);
  t.notOk(isBinaryMediaType(undefined));
});

t.test('a binary route answers bytes with its type, or its JSON alternative, in process and through a remote route', async (t) => {
  const { worker, gateway } = await workerAndGateway(t, painter, { picture: api });

  for (const [where, app] of [['in process', worker], ['through the gateway (over the bus)', gateway]] as const) {
    const png = await app.inject({ method: 'GET', url: '/v1/pictures/a' });
    t.equal(png.statusCode, 200, where);
    t.equal(png.headers['content-type'], 'image/png', `${where}: the declared type, no charset`);
    t.same([...png.rawPayload], [...PICTURE], `${where}: the bytes as the handler made them`);

    const json = await app.inject({ method: 'GET', url: '/v1/pictures/a?format=json' });
    t.match(json.headers['content-type'], /^application\/json/, `${where}: an object is JSON`);
    t.same(json.json(), { id: 'a', bytes: PICTURE.length });
  }

  const doc = (await worker.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> } }>;
  };
  const content = doc.paths['/v1/pictures/{id}']!.get.responses['200']!.content;
  t.same(content['image/png']!.schema, { type: 'string', format: 'binary' }, 'the bytes documented as binary under their media type');
  t.match(content['application/json']!.schema, { type: 'object', properties: { id: { type: 'string' }, bytes: { type: 'integer' } } }, 'the JSON alternative under application/json');
});

t.test('a bus caller gets the bytes as base64 JSON', async (t) => {
  const { bus } = await workerAndGateway(t, painter, { picture: api });
  const reply = await bus.request(api.subject, new TextEncoder().encode(JSON.stringify({ id: 'a' })));
  t.equal(JSON.parse(new TextDecoder().decode(reply.data)), PICTURE.toString('base64'));
});
