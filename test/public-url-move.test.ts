// Ids that survive a move: `loupe run` stores a manifest's annotations under one public URL, and a
// server started later on the same data directory under another URL shows them with ids under its
// own URL, answers those ids, reviews them, and dereferences their generators. Real HTTP against
// the local IIIF Image API server and the server's own port; nothing is mocked.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Annotation } from '@loupe/contracts';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const RUN_URL = 'http://localhost:8080';
const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-public-url-'));
t.teardown(async () => {
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const page = await renderTextPage({ lines: ['Loupe keeps its ids', 'wherever it is served'], font: 'serif', sizePt: 18, width: 700, format: 'png' });
const serviceId = await server.addImage('move', page.image, { version: 3, level: 2 });
const manifest = `${server.url}/m/move.json`;
const canvasId = `${manifest}/canvas/1`;
server.addDocument(
  '/m/move.json',
  manifestV3({ id: manifest, label: 'Moved', canvases: [{ id: canvasId, label: 'page', width: page.width, height: page.height, image: { width: page.width, height: page.height, serviceId, version: 3, level: 2 } }] }),
);

type Json = Record<string, any>;

/** A port nobody listens on now: the public URL must be known before the server starts. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
const configFor = (publicUrl: string) => loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_PUBLIC_URL: publicUrl }, { logLevel: 'silent', dataDir });

t.test('a store made by loupe run under one URL is served and reviewed under another', async (t) => {
  const report = await runPipeline(configFor(RUN_URL), { source: manifest, outDir: path.join(dataDir, 'out') });
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  const written = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8')) as Json;
  const made = written.items[0].annotations[0].items as Annotation[];
  t.ok(made.length > 0 && made.every((a) => a.id.startsWith(`${RUN_URL}/v1/annotations/`)), 'the run wrote its files under its own URL');

  // Another process on the same data directory, served under another URL (its own port).
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const served = await createEmbedded(configFor(base));
  t.teardown(() => served.close());
  await served.app.start({ port, host: '127.0.0.1' });

  const call = async (method: 'GET' | 'POST', target: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const res = await fetch(target.startsWith('http') ? target : `${base}${target}`, {
      method,
      ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };

  const listed = await call('GET', `/v1/annotations?canvas=${encodeURIComponent(canvasId)}`);
  t.equal(listed.status, 200);
  const items = listed.json.items as Annotation[];
  t.equal(items.length, made.length, 'every annotation the run stored');
  t.ok(items.every((a) => a.id.startsWith(`${base}/v1/annotations/`)), `ids under the serving URL: ${items[0]?.id}`);
  t.same(items.map((a) => a.id.slice(base.length)), made.map((a) => a.id.slice(RUN_URL.length)), 'the same keys');

  const first = items[0]!;
  const got = await call('GET', first.id);
  t.equal(got.status, 200, 'the id dereferences');
  t.equal(got.json.id, first.id);
  const reviewed = await call('POST', `${first.id}/review`, { state: 'accepted', reviewer: 'curator' });
  t.equal(reviewed.status, 200, JSON.stringify(reviewed.json));
  t.equal(reviewed.json['loupe:reviewState'], 'accepted');
  t.equal(reviewed.json.id, first.id);
  const history = await call('GET', `${first.id}/history`);
  t.same((history.json.items as { annotation: Annotation }[]).map((r) => r.annotation.id), [first.id, first.id]);

  const generator = first.generator!;
  t.ok(generator.id.startsWith(`${base}/v1/models/`), generator.id);
  const card = await call('GET', generator.id);
  t.equal(card.status, 200, `the generator dereferences: ${JSON.stringify(card.json)}`);
  t.match(card.json, { id: generator.id, type: 'Software', 'loupe:model': generator['loupe:model'], version: generator['loupe:version'] });
  t.ok(typeof card.json.name === 'string' && typeof card.json.license === 'string', 'with what its card says');
  t.ok((card.json['@context'] as string[]).includes(`${base}/ns/loupe/v1.jsonld`));
  t.equal((await call('GET', `/v1/models/${encodeURIComponent(generator['loupe:model'])}/0.0.0-never`)).status, 404, 'a version the registry does not hold');
  t.equal((await call('GET', '/v1/models/no-such-model/1')).status, 404, 'a model the registry does not know');
  const context = await call('GET', '/ns/loupe/v1.jsonld');
  t.equal(context.status, 200, 'the loupe: context dereferences');
  t.equal(context.json['@context'].loupe, `${base}/ns/loupe#`);

  // The same manifest run again by the server: one copy of each annotation, the review kept, and
  // the enriched manifest's ids under the serving URL.
  const job = await call('POST', '/v1/jobs', { manifest, pipeline: 'text' });
  t.equal(job.status, 200, JSON.stringify(job.json));
  let state = job.json.state as string;
  while (state !== 'done' && state !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = (await call('GET', `/v1/jobs/${job.json.id}`)).json.state;
  }
  t.equal(state, 'done');
  const enriched = await call('GET', `/v1/jobs/${job.json.id}/manifest`);
  t.equal(enriched.status, 200);
  // One page per layer (model, version, review state): the accepted line is in a layer of its own.
  const layers = enriched.json.items[0].annotations as { id: string; items: Annotation[] }[];
  t.ok(layers.length >= 2, 'the reviewed and the unreviewed layer');
  t.ok(layers.every((page) => page.id.startsWith(`${base}/v1/annotations/layers/`)), 'layer pages under the new URL');
  const shown = layers.flatMap((page) => page.items);
  t.same(shown.map((a) => a.id).sort(), items.map((a) => a.id).sort(), 'no copy under another URL');
  t.ok(shown.every((a) => a.generator!.id.startsWith(`${base}/v1/models/`)));
  t.equal(shown.find((a) => a.id === first.id)?.['loupe:reviewState'], 'accepted', 'the review survived the re-run');
  t.ok((enriched.json['@context'] as string[]).includes(`${base}/ns/loupe/v1.jsonld`));
});
