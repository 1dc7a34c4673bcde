// `skip` end to end, in one embedded process over real HTTP to the local IIIF Image API server
// with real OCR: an enrich job with its embed (and picture) parts off runs no embed stage and
// still reads the page; a text job with orientation off finds the lines in detect.text instead.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { JobView } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-skip-'));
const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 20, width: 1000, format: 'jpeg' });
const serviceId = await server.addImage('page', page.image, { version: 3, level: 2 });
const manifest = `${server.url}/m/page.json`;
server.addDocument('/m/page.json', manifestV3({ id: manifest, label: 'Page', canvases: [{ label: 'page', width: page.width, height: page.height, image: { serviceId, version: 3, level: 2, width: page.width, height: page.height } }] }));

const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir }));
await embedded.app.start();
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function call<T>(method: 'GET' | 'POST', url: string, payload?: object): Promise<{ status: number; body: T }> {
  const res = await embedded.app.inject({ method, url, headers: { authorization: embedded.app.localAuthorization }, ...(payload && { payload }) });
  return { status: res.statusCode, body: res.json() as T };
}

async function finished(id: string): Promise<JobView> {
  // The job runs in this process: polling its view on the event loop is enough, no clock needed.
  for (;;) {
    const job = (await call<JobView>('GET', `/v1/jobs/${id}`)).body;
    if (job.state === 'done' || job.state === 'failed') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function annotations(canvas: string): Promise<unknown[]> {
  return (await call<{ items: unknown[] }>('GET', `/v1/annotations?canvas=${encodeURIComponent(canvas)}`)).body.items ?? [];
}

t.test('enrich with skip embed runs no embed stage', async (t) => {
  const created = await call<JobView>('POST', '/v1/jobs', { manifest, pipeline: 'enrich', skip: ['embed', 'objects', 'faces'] });
  t.equal(created.status, 200, JSON.stringify(created.body));
  const job = await finished(created.body.id);
  t.equal(job.state, 'done', JSON.stringify(job.failures));
  t.same(Object.keys(job.stages).sort(), ['caption', 'detect', 'preprocess', 'store'], 'no embed stage');
  const enriched = (await call<{ items: { id: string }[] }>('GET', `/v1/jobs/${job.id}/manifest`)).body;
  t.ok((await annotations(enriched.items[0]!.id)).length > 0, 'the text was still read');
});

t.test('text with skip orientation still finds and reads the lines', async (t) => {
  const created = await call<JobView>('POST', '/v1/jobs', { manifest, pipeline: 'text', skip: ['orientation'] });
  const job = await finished(created.body.id);
  t.equal(job.state, 'done', JSON.stringify(job.failures));
  t.same(job.tasks, { total: 1, done: 1, failed: 0 });
  const enriched = (await call<{ items: { id: string }[] }>('GET', `/v1/jobs/${job.id}/manifest`)).body;
  const items = await annotations(enriched.items[0]!.id);
  t.ok(items.length >= SAMPLE_TEXTS.catalogueNote.length - 1, `the page's lines read: ${items.length}`);
});

t.test('an unknown part is refused at POST with the parts the pipeline has', async (t) => {
  const refused = await call<{ code: string; message: string }>('POST', '/v1/jobs', { manifest, pipeline: 'objects', skip: ['text'] });
  t.equal(refused.status, 400);
  t.match(refused.body, { code: 'LOUPE_ERR_VALIDATION', message: 'pipeline objects has no text to skip: its parts are objects, faces' });
});
