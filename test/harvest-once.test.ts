// Harvest once: a job keeps each manifest as it harvested it, and its enriched manifest is made
// from that, never from the source. Counted on a real IIIF server: after the harvest no request
// reaches it, and once it is gone the enriched manifests still answer, the same.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { collectionV3, manifestV2, manifestV3, startIiifImageServer } from '@loupe/testing';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-harvest-once-'));
const server = await startIiifImageServer();
const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['gateway', 'iiif-fetcher', 'ground-truth'] });
const embedded = await createEmbedded(config);
let serverClosed = false;
t.teardown(async () => {
  await embedded.close();
  if (!serverClosed) await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
await embedded.app.start();
const { app } = embedded;

const image = { serviceId: `${server.url}/iiif/page`, version: 3 as const, level: 2 as const, width: 800, height: 1000 };
const canvases = (n: number) => Array.from({ length: n }, (_, i) => ({ label: `p. ${i + 1}`, width: 800, height: 1000, image }));
const printed = `${server.url}/m/printed.json`;
server.addDocument('/m/printed.json', manifestV3({ id: printed, label: 'Printed', canvases: canvases(3) }));
const letter = `${server.url}/m/letter-v2.json`;
server.addDocument('/m/letter-v2.json', manifestV2({ id: letter, label: 'Letter', canvases: canvases(2) }));
const collection = `${server.url}/c/all.json`;
server.addDocument('/c/all.json', collectionV3({ id: collection, items: [{ id: printed }, { id: letter }] }));

interface Enriched {
  '@context': string[];
  id: string;
  type: string;
  items: { id: string; type: string }[];
}

async function jobRunning(id: string): Promise<{ state: string; manifests: string[] }> {
  // Nothing here takes the canvas work, so a harvested job stays running.
  for (let i = 0; i < 400; i++) {
    const job = (await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json() as { state: string; manifests: string[] };
    if (job.state !== 'queued' && job.state !== 'harvesting') return job;
    await sleep(25);
  }
  throw new Error(`job ${id} was never harvested`);
}

const enriched = async (t: Test, id: string, manifest: string) => {
  const res = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/manifest?manifest=${encodeURIComponent(manifest)}` });
  t.equal(res.statusCode, 200, `GET the enriched ${path.basename(manifest)}: ${res.body.slice(0, 200)}`);
  return res.json() as Enriched;
};

t.test('the enriched manifest is made from the harvest: no request to the source, and none needed', async (t) => {
  const created = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: collection } });
  t.equal(created.statusCode, 200);
  const { id } = created.json() as { id: string };
  const job = await jobRunning(id);
  t.equal(job.state, 'running');
  t.same(job.manifests, [printed, letter], 'both manifests harvested');
  t.ok(server.requests.includes('/m/letter-v2.json'), 'the harvest read the source');

  server.reset();
  // A gateway elsewhere (or one whose fetch cache was emptied) has no copy of the documents.
  await fs.rm(path.join(dataDir, 'cache'), { recursive: true, force: true });
  const first = { printed: await enriched(t, id, printed), letter: await enriched(t, id, letter) };
  const second = { printed: await enriched(t, id, printed), letter: await enriched(t, id, letter) };
  t.same(server.requests, [], 'reading the enriched manifests twice made no request to the IIIF server');
  t.same(second, first, 'and both reads answer the same');

  t.match(first.printed, { id: printed, type: 'Manifest' });
  t.equal(first.printed.items.length, 3);
  t.match(first.letter, { id: letter, type: 'Manifest' }, 'the 2.x manifest comes as Presentation 3');
  t.equal(first.letter.items.length, 2);
  t.ok(first.letter.items.every((c) => c.type === 'Canvas'));
  t.equal(first.letter['@context'].at(-1), 'http://iiif.io/api/presentation/3/context.json');

  await server.close();
  serverClosed = true;
  t.same({ printed: await enriched(t, id, printed), letter: await enriched(t, id, letter) }, first, 'with the source gone, the enriched manifests still answer, the same');
});
