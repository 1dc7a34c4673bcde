// People's names reach annotations and search, end to end: real BlazeFace and FaceRes on fixture
// portraits served by a real IIIF Image API server; detect, embed and store stages over HTTP; a
// person named, merged and split through the people routes; then IIIF Content Search and
// POST /v1/search over real HTTP find the name, and the annotations say who named whom.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { SERVICE_APIS, searchServiceUrls } from '@loupe/contracts';
import { startIiifImageServer } from '@loupe/testing';
import { addFaceCanvases, astronautAndOthers, localCaller } from './support/face-canvases.js';
import { freePort } from './support/loupe-process.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const wired = (SERVICE_APIS['ground-truth'] as Record<string, unknown>)['peopleNames'] !== undefined;

if (!existsSync(path.join(FIXTURES, 'photo-astronaut-eileen-collins-nasa.png'))) {
  t.comment(`no fixtures at ${FIXTURES} (../shared is absent): the people test needs the portraits`);
  t.pass('skipped');
} else if (!wired) {
  t.plan(0, 'skip: ground-truth.peopleNames is not in SERVICE_APIS yet (people-names.api.ts is not wired)');
} else {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-people-names-'));
  const images = await startIiifImageServer();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const MANIFEST = `${images.url}/people/manifest`;
  const embedded = await createEmbedded(
    loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_PUBLIC_URL: base }, { logLevel: 'silent', dataDir, services: ['gateway', 'detect', 'embed', 'ground-truth'] }),
  );
  t.teardown(async () => {
    await embedded.close();
    await images.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  await embedded.app.start({ port, host: '127.0.0.1' });

  const call = localCaller(base, embedded.app.localAuthorization);

  const pictures = await astronautAndOthers(FIXTURES, { hopper: 'thumb-photo-grace-hopper-128.jpg' });
  const canvasOf = await addFaceCanvases(images, MANIFEST, pictures, call, { store: true });

  const scope = `manifest=${encodeURIComponent(MANIFEST)}`;
  const people = async () => (await call<{ items: { id: string; size: number; label?: string; representative: { canvasId: string } }[] }>('GET', `/v1/people?${scope}`)).items;
  const namesOn = async (canvas: string) => {
    const page = await call<{ items: any[] }>('GET', `/v1/annotations?canvas=${encodeURIComponent(canvas)}&motivation=identifying`);
    return page.items;
  };
  const urls = searchServiceUrls(base, MANIFEST);

  t.test('a named person: one identifying annotation per face, found by Content Search and POST /v1/search', async (t) => {
    const astronaut = (await people()).find((p) => p.representative.canvasId.includes('astronaut'))!;
    t.equal(astronaut.size, 2);
    const uri = 'https://www.wikidata.org/wiki/Q233591';
    await call('POST', `/v1/people/${astronaut.id}/name?${scope}`, { label: 'Eileen Collins', uri });
    for (const name of ['astronaut', 'astronaut-mirrored']) {
      const found = await namesOn(canvasOf(name));
      t.equal(found.length, 1, `${name}: one name annotation`);
      t.match(found[0], { body: { type: 'SpecificResource', source: uri, label: 'Eileen Collins', purpose: 'identifying' }, target: { source: canvasOf(name), selector: { value: /^xywh=/ } } });
    }
    const hits = await call('GET', `${urls.search2}?q=collins`);
    t.same(hits.items.map((a: { target: { source: string } }) => a.target.source).sort(), [canvasOf('astronaut'), canvasOf('astronaut-mirrored')], 'Content Search 2.0 finds the name');
    const words = await call<{ hits: { canvasId: string; matched?: { text?: unknown } }[] }>('POST', '/v1/search', { q: 'Eileen Collins' });
    t.same(words.hits.map((h) => h.canvasId).sort(), [canvasOf('astronaut'), canvasOf('astronaut-mirrored')], 'POST /v1/search finds the canvases');
    t.ok(words.hits.every((h) => h.matched?.text), 'by the words of the name');
  });

  t.test('renamed, merged and split: a revision each, and a face split off loses the name', async (t) => {
    const named = (await people()).find((p) => p.label === 'Eileen Collins')!;
    const hopper = (await people()).find((p) => p.representative.canvasId.includes('hopper'))!;
    await call('POST', `/v1/people/${named.id}/name?${scope}`, { label: 'Eileen M. Collins' });
    const merged = await call<{ id: string; faces: { id: string; canvasId: string }[] }>('POST', `/v1/people/merge?${scope}`, { ids: [named.id, hopper.id] });
    t.match((await namesOn(canvasOf('hopper')))[0], { body: { type: 'TextualBody', value: 'Eileen M. Collins' } }, 'merged in: named');
    const hopperFace = merged.faces.find((f) => f.canvasId.includes('hopper'))!;
    await call('POST', `/v1/people/${merged.id}/split?${scope}`, { faces: [hopperFace.id] });
    const [withdrawn] = await namesOn(canvasOf('hopper'));
    t.equal(withdrawn['loupe:reviewState'], 'rejected', 'split off into an unnamed person: the name is withdrawn');
    const key = (id: string) => id.slice(id.lastIndexOf('/') + 1);
    const [kept] = await namesOn(canvasOf('astronaut'));
    const history = (await call<{ items: { state: string; reviewer: string; annotation: any }[] }>('GET', `/v1/annotations/${key(kept.id)}/history`)).items;
    t.same(history.map((r) => r.state), ['accepted', 'corrected'], 'the rename is a revision');
    t.equal(history[0]!.annotation.body.label, 'Eileen Collins', 'the old name is kept in the history');
    t.ok(history.every((r) => typeof r.reviewer === 'string' && r.reviewer !== ''), 'by the curator who acted');
    t.same((await call('GET', `${urls.search2}?q=collins`)).items.length, 2, 'a withdrawn name is not found');
    t.match(await call('POST', '/v1/people/sync', {}), { people: 2, written: 0, revised: 0, withdrawn: 0 }, 'a full re-sync finds nothing to change');
  });
}
