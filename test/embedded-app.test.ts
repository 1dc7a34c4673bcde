// Every service mounted in one process, driven through HTTP (inject) and the bus.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SUBJECTS, type LoupeError } from '@loupe/contracts';
import { encode } from '@loupe/bus';
import { createEmbedded, loadConfig, SERVICE_NAMES } from '@loupe/cli';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-app-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const config = loadConfig({ LOUPE_PUBLIC_URL: 'https://loupe.example.test', LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir });
const embedded = await createEmbedded(config);
t.teardown(() => embedded.close());
const { app } = embedded;

t.test('before the models are loaded the process is alive but not ready', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
});

t.test('once started, every service is ready and says which execution provider it uses', async (t) => {
  await app.start();
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  const body = res.json() as { services: Record<string, { state: string; details?: { text?: { provider?: string } } }> };
  t.same(Object.keys(body.services).sort(), [...SERVICE_NAMES].sort(), 'all eight services are mounted');
  t.equal(body.services.detect?.details?.text?.provider, 'cpu');
  const inference = (body as unknown as { process: { inference: { requested: string; provider: string; models: { id: string; state: string }[] } } }).process.inference;
  t.equal(inference.provider, 'cpu', 'the execution provider in use');
  t.ok(inference.models.some((m) => m.id === 'ppocr-v4-det' && m.state === 'ready'), 'and the models it has loaded');
});

t.test('OpenAPI lists every route from the handlers\' schemas', async (t) => {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
  t.match(doc.openapi, /^3\./);
  for (const [url, method] of [
    ['/v1/jobs', 'post'],
    ['/v1/jobs/{id}', 'get'],
    ['/v1/jobs/{id}/manifest', 'get'],
    ['/v1/annotations', 'get'],
    ['/v1/harvest', 'post'],
    ['/v1/preprocess', 'post'],
    ['/v1/detect/text', 'post'],
    ['/v1/classify', 'post'],
    ['/v1/embed', 'post'],
    ['/v1/caption', 'post'],
  ] as const) {
    t.ok(doc.paths[url]?.[method], `${method.toUpperCase()} ${url} is documented`);
  }
  t.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true, '/docs serves the browsable API');
});

t.test('classify, embed and caption answer "model not installed" rather than pretend', async (t) => {
  for (const [url, subject] of [
    ['/v1/classify', SUBJECTS.classifyImage],
    ['/v1/embed', SUBJECTS.embedImage],
    ['/v1/caption', SUBJECTS.captionImage],
  ] as const) {
    const image = { id: 'https://example.org/iiif/a/full/max/0/default.jpg' };
    // classify: zero-shot over a vocabulary needs CLIP's text tower (LOUPE_TEXT_MODEL, not pulled here).
    const input = url === '/v1/classify' ? { vocabulary: 'techniques', image } : { model: 'clip-vit-b32', image };
    const res = await app.inject({ method: 'POST', url, payload: input });
    t.equal(res.statusCode, 503, `${url} over HTTP`);
    const body = res.json() as { code: string; message: string };
    t.equal(body.code, 'LOUPE_ERR_MODEL_NOT_INSTALLED');
    t.match(body.message, /clip-vit-b32/, 'the message names the model');
    await t.rejects(embedded.bus.request(subject, encode(input)), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' } as Partial<LoupeError>, `${subject} over the bus`);
  }
});

t.test('errors have one shape and a stable code', async (t) => {
  const missing = await app.inject({ method: 'GET', url: '/v1/jobs/no-such-job' });
  t.equal(missing.statusCode, 404);
  t.match(missing.json(), { code: 'LOUPE_ERR_JOB_NOT_FOUND', status: 404, retryable: false });
  const invalid = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: '' } });
  t.equal(invalid.statusCode, 400);
  t.equal((invalid.json() as { code: string }).code, 'LOUPE_ERR_VALIDATION');
});

t.test('the loupe: JSON-LD context is served under the public URL', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/ns/loupe/v1.jsonld' });
  t.equal(res.statusCode, 200);
  const ctx = (res.json() as { '@context': Record<string, unknown> })['@context'];
  t.equal(ctx.loupe, 'https://loupe.example.test/ns/loupe#');
  t.ok(ctx['loupe:confidence']);
});

t.test('a bad environment lists every invalid variable at once', async (t) => {
  let caught: LoupeError | undefined;
  try {
    loadConfig({ LOUPE_PORT: 'eighty', LOUPE_BUS: 'kafka', LOUPE_SERVICES: 'detect,ocr', LOUPE_PUBLIC_URL: 'ftp://x' });
  } catch (err) {
    caught = err as LoupeError;
  }
  t.equal(caught?.code, 'LOUPE_ERR_CONFIG_INVALID');
  const problems = (caught?.details?.problems ?? []) as string[];
  t.equal(problems.length, 4, 'one line per invalid variable');
  for (const name of ['LOUPE_PORT', 'LOUPE_BUS', 'LOUPE_SERVICES', 'LOUPE_PUBLIC_URL']) t.match(caught?.message, name);
  t.match(caught?.message, /ocr/, 'naming the unknown service');
});

t.test('disk budgets are sizes: bytes, or units of 1024', async (t) => {
  const sizes = (value: string) => loadConfig({ LOUPE_CACHE_MAX_BYTES: value, LOUPE_DERIVED_MAX_BYTES: value }).fetch;
  t.match(loadConfig({}).fetch, { cacheMaxBytes: 10 * 2 ** 30, derivedMaxBytes: 10 * 2 ** 30, documentFreshMs: 300_000 }, 'the defaults');
  for (const [value, bytes] of [['20G', 20 * 2 ** 30], ['20GiB', 20 * 2 ** 30], ['20gb', 20 * 2 ** 30], ['500M', 500 * 2 ** 20], ['1T', 2 ** 40], ['2097152', 2 ** 21]] as const) {
    t.match(sizes(value), { cacheMaxBytes: bytes, derivedMaxBytes: bytes }, value);
  }
  for (const bad of ['ten gigabytes', '1.5G', '-1G', '100K']) {
    t.throws(() => sizes(bad), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /LOUPE_CACHE_MAX_BYTES=.*expected a size of at least 1048576 bytes, such as 20G or 500M/ }, bad);
  }
});

t.test('dead letters are reachable over HTTP with the in-memory bus', async (t) => {
  const list = await app.inject({ method: 'GET', url: '/v1/dead-letters' });
  t.equal(list.statusCode, 200);
  t.same(list.json(), { items: [] });
  const missing = await app.inject({ method: 'DELETE', url: '/v1/dead-letters/42' });
  t.equal(missing.statusCode, 404);
  t.equal((missing.json() as { code: string }).code, 'LOUPE_ERR_NOT_FOUND');
  t.equal((await app.inject({ method: 'POST', url: '/v1/dead-letters/42/retry' })).statusCode, 404);
});
