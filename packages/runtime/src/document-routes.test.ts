import { Type } from '@sinclair/typebox';
import t from 'tap';
import { LoupeError, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { workerAndGateway } from './process-pair.fixture.js';

// An operation whose answer is a document (XML here), not JSON: declared with its media type.
const api = {
  name: 'page',
  summary: 'A page as XML',
  subject: 'loupe.pages.page.v1',
  mode: 'request',
  route: { method: 'GET', url: '/v1/pages/xml' },
  input: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
  output: Type.String(),
  errors: ['LOUPE_ERR_NOT_FOUND'],
  role: 'reader',
  mediaType: 'application/xml',
} as const;

const pages: ServiceDefinition = {
  name: 'pages',
  version: '1.0.0',
  description: 'pages',
  handlers: [
    defineHandler({
      ...api,
      async handler({ n }) {
        if (n === 404) throw new LoupeError('LOUPE_ERR_NOT_FOUND', 'no such page');
        return `<?xml version="1.0" encoding="UTF-8"?>\n<page n="${n}">échappés &amp; "quoted"</page>`;
      },
    }),
  ],
};

t.test('a document operation answers its string as it is, with its media type, in process and over the bus', async (t) => {
  const { worker, gateway } = await workerAndGateway(t, pages, { page: api });

  for (const [where, app] of [['in process', worker], ['through the gateway', gateway]] as const) {
    const ok = await app.inject({ method: 'GET', url: '/v1/pages/xml?n=3' });
    t.equal(ok.statusCode, 200, where);
    t.equal(ok.headers['content-type'], 'application/xml; charset=utf-8', `${where}: the declared type, UTF-8`);
    t.equal(ok.body, '<?xml version="1.0" encoding="UTF-8"?>\n<page n="3">échappés &amp; "quoted"</page>', `${where}: not JSON-encoded`);

    const missing = await app.inject({ method: 'GET', url: '/v1/pages/xml?n=404' });
    t.equal(missing.statusCode, 404, `${where}: errors keep their status`);
    t.match(missing.headers['content-type'], /^application\/json/, `${where}: and stay JSON`);
    t.equal((missing.json() as { code: string }).code, 'LOUPE_ERR_NOT_FOUND');
  }

  const doc = (await gateway.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>;
  };
  const answers = doc.paths['/v1/pages/xml']!.get.responses;
  t.same(Object.keys(answers['200']!.content), ['application/xml'], 'OpenAPI lists the document under its media type only');
  t.match(answers['200']!.content['application/xml']!.schema, { type: 'string' });
  t.ok(answers['4XX']?.content['application/json'] ?? answers['4xx']?.content['application/json'], 'errors are documented as JSON');
});
