// Explanations through HTTP with the offline pack's real models and real fixture photographs: a
// person box explained by CenterNet, and a stored classification explained end to end (SQLite
// store, classify over the bus, the explanation kept as an annotation). Nothing is mocked.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { fitHead, saveHead } from '@loupe/heads';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { startIiifImageServer } from '@loupe/testing';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const skip = existsSync(FIXTURES) ? false : `no fixtures at ${FIXTURES} (../shared is absent)`;

type Box = { x: number; y: number; w: number; h: number };
type Map = { width: number; height: number; values: number[]; image: { width: number; height: number }; score: number; peak: { x: number; y: number; value: number }; passes: number };
type Res = { statusCode: number; body: string; rawPayload: Buffer; headers: Record<string, unknown>; json(): unknown };

async function ok<T>(res: Res): Promise<T> {
  if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
  return res.json() as T;
}

const inside = (p: { x: number; y: number }, b: Box): boolean => p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h;

// Dozens of forward passes per explanation: minutes on a loaded two-core machine, past the suite's two.
t.setTimeout(600_000);

t.test('explanations through HTTP', { skip }, async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-explain-'));
  const server = await startIiifImageServer();
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['detect', 'embed', 'classify', 'ground-truth'] });
  const embedded = await createEmbedded(config);
  t.teardown(async () => {
    await embedded.close();
    await server.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  await embedded.app.start();
  const app = embedded.app;
  const imageOf = async (name: string) => {
    const file = path.join(FIXTURES, name);
    const { width, height } = await sharp(file).metadata();
    const serviceId = await server.addImage(name.replace(/\W+/g, '-'), await fs.readFile(file), { version: 3, level: 2 });
    return { image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3 as const, level: 2 as const } }, width: width!, height: height! };
  };

  await t.test('POST /v1/detect/explain: the peak of a person box lies inside the box (CenterNet, a fixture photograph)', async (t) => {
    const { image, width, height } = await imageOf('photo-astronaut-eileen-collins-nasa.png');
    const canvas = { id: 'https://ex.org/canvas/astronaut', width: width * 2, height: height * 2 };
    const task = { jobId: 'j', manifestId: 'https://ex.org/m', canvasId: canvas.id, canvasIndex: 0, canvasLabel: 'c', canvasWidth: canvas.width, canvasHeight: canvas.height, imageIndex: 0, image };
    const { resultSets } = await ok<{ resultSets: { findings: { label?: string; confidence: number; box?: Box }[] }[] }>(
      await app.inject({ method: 'POST', url: '/v1/detect', payload: { task, options: { kinds: ['objects'] } } }),
    );
    const person = resultSets[0]!.findings.filter((f) => f.label === 'person').sort((a, b) => b.confidence - a.confidence)[0];
    if (!person?.box) return t.fail('CenterNet finds the astronaut');
    // Windows of 0.4 at half overlap: 17 passes on this square photograph, enough to place the peak.
    const out = await ok<{ map: Map; overlayPng: string; model: { id: string } }>(
      await app.inject({ method: 'POST', url: '/v1/detect/explain', payload: { image, canvas, kind: 'objects', label: 'person', box: person.box, window: 0.4 } }),
    );
    t.equal(out.model.id, 'centernet-coco');
    t.ok(inside(out.map.peak, person.box), `peak (${out.map.peak.x}, ${out.map.peak.y}) in canvas coordinates inside the box ${JSON.stringify(person.box)}`);
    t.ok(out.map.score > 0.3, `the unmasked photograph scores the box (${out.map.score.toFixed(3)})`);
    const png = await sharp(Buffer.from(out.overlayPng, 'base64')).metadata();
    t.match(png, { format: 'png', width: 512, height: 512 }, 'the overlay is a PNG of the fetched image');
  });

  await t.test('GET /v1/annotations/{key}/explanation: a stored classification explained, kept, and read back without new passes', async (t) => {
    const paintings = ['painting-bruegel-harvesters.jpg', 'painting-munch-the-scream.jpg', 'painting-signac-la-calanque.jpg', 'painting-turner-shipwreck-of-the-minotaur.jpg', 'painting-van-gogh-starry-night.jpg', 'illustration-botanical-register-plate-70.jpg'];
    const photos = ['photo-astronaut-eileen-collins-nasa.png', 'photo-genthe-chinatown-children-walking.jpg', 'photo-genthe-chinatown-fishmonger.jpg', 'photo-sailing-ship-california.jpg', 'photo-whaling-ship-alfred-gibbs.jpg', 'photo-cameraman-bw.png'];
    const PAINTING = 'http://vocab.getty.edu/aat/300033618';
    const PHOTO = 'http://vocab.getty.edu/aat/300046300';
    const vectors: Float32Array[] = [];
    const labels: string[][] = [];
    let embedding = { model: '', version: '' };
    const images = new Map<string, Awaited<ReturnType<typeof imageOf>>>();
    for (const name of [...paintings, ...photos]) {
      const ref = await imageOf(name);
      images.set(name, ref);
      const out = await ok<{ vector: number[]; model: { id: string; version: string } }>(await app.inject({ method: 'POST', url: '/v1/embed', payload: { image: ref.image } }));
      vectors.push(Float32Array.from(out.vector));
      labels.push([paintings.includes(name) ? PAINTING : PHOTO]);
      embedding = out.model;
    }
    const { head } = fitHead(
      { vectors, labels, classes: [{ concept: PAINTING, label: 'paintings' }, { concept: PHOTO, label: 'photographs' }] },
      { id: 'painting-or-photo', version: '1', embedding: { model: embedding.id, version: embedding.version, dims: vectors[0]!.length }, folds: 0 },
    );
    await saveHead(path.join(config.modelsDir, 'heads'), head);

    // The astronaut classified by the stage and stored by ground-truth, as a pipeline does.
    const { image, width, height } = images.get('photo-astronaut-eileen-collins-nasa.png')!;
    const task = { jobId: 'j', manifestId: 'https://ex.org/m', canvasId: 'https://ex.org/canvas/1', canvasIndex: 0, canvasLabel: 'one', canvasWidth: width, canvasHeight: height, imageIndex: 0, image };
    const classified = await ok<{ resultSet: unknown }>(await app.inject({ method: 'POST', url: '/v1/classify/canvas', payload: { task, options: { head: head.id, k: 1 } } }));
    await ok(await app.inject({ method: 'POST', url: '/v1/results', payload: { task, results: { classify: classified } } }));
    const page = await ok<{ items: { id: string; body: unknown }[] }>(await app.inject({ method: 'GET', url: `/v1/annotations?canvas=${encodeURIComponent(task.canvasId)}&motivation=classifying` }));
    const explained = page.items[0];
    if (!explained) return t.fail('the classification is stored');
    const key = explained.id.split('/').at(-1)!;

    const runs = async (): Promise<number> => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return [...text.matchAll(/^loupe_inference_requests_total\{[^}]*model="mobilenet-v2-features"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await runs();
    const png = await app.inject({ method: 'GET', url: `/v1/annotations/${key}/explanation` });
    t.equal(png.statusCode, 200, png.statusCode === 200 ? 'the overlay' : png.body);
    t.equal(png.headers['content-type'], 'image/png');
    t.match(await sharp(png.rawPayload).metadata(), { format: 'png', width: 512, height: 512 }, 'the overlay at the fetched size');
    const made = await ok<{ map: Map; annotation: Record<string, unknown> }>(await app.inject({ method: 'GET', url: `/v1/annotations/${key}/explanation?format=json` }));
    const passes = (await runs()) - before;
    t.equal(made.map.passes, 50, 'a square image at the defaults: 7 x 7 windows and the whole');
    t.ok(passes >= made.map.passes, `the embedder ran for each masked copy (${passes} images)`);
    t.match(made.annotation, { motivation: 'commenting', 'loupe:explains': explained.id, generator: { 'loupe:model': head.id, 'loupe:version': '1' } });
    t.notOk('loupe:overlay' in made.annotation, 'the JSON answer leaves the bytes to the PNG route');

    const again = await app.inject({ method: 'GET', url: `/v1/annotations/${key}/explanation` });
    t.same([...again.rawPayload.subarray(0, 64)], [...png.rawPayload.subarray(0, 64)], 'the same overlay');
    t.equal(again.rawPayload.length, png.rawPayload.length);
    t.equal((await runs()) - before, passes, 'read back from the store: no pass made');

    const stored = await ok<Record<string, unknown>>(await app.inject({ method: 'GET', url: `/v1/annotations/${(made.annotation.id as string).split('/').at(-1)}` }));
    t.equal(stored['loupe:explains'], explained.id, 'kept as an annotation of its own, linked to the one it explains');
    t.notOk('loupe:overlay' in stored, 'the overlay bytes stay in the store: the annotation links to them');
    t.match(stored.body, { type: 'Image', format: 'image/png', id: `${explained.id}/explanation` }, 'its body is the overlay, at the route that serves it');
    t.match(stored['loupe:saliency'], { method: 'occlusion', passes: 50 }, 'the map rides beside the body, not as text');
    const listed = await ok<{ items: Record<string, unknown>[] }>(await app.inject({ method: 'GET', url: `/v1/annotations?canvas=${encodeURIComponent(task.canvasId)}` }));
    t.ok(listed.items.some((a) => a.id === made.annotation.id) && listed.items.every((a) => !('loupe:overlay' in a)), 'listings carry no overlay bytes');
    const manifestKey = Buffer.from(task.manifestId).toString('base64url');
    const hits = await ok<{ items: unknown[] }>(await app.inject({ method: 'GET', url: `/v1/iiif/search/2/${manifestKey}?q=occlusion` }));
    t.equal(hits.items.length, 0, 'the map is not searchable text');

    const text = await app.inject({ method: 'GET', url: `/v1/annotations/${(made.annotation.id as string).split('/').at(-1)}/explanation` });
    t.equal(text.statusCode, 400, 'an explanation is not explained again');

    // A re-run by a new version of the head keeps the annotation (same id: what was said, not by
    // which version) but not its explanation: the map was taken from the old head's scores.
    await saveHead(path.join(config.modelsDir, 'heads'), { ...head, version: '2' });
    const rerun = await ok<{ resultSet: unknown }>(await app.inject({ method: 'POST', url: '/v1/classify/canvas', payload: { task, options: { head: head.id, k: 1 } } }));
    await ok(await app.inject({ method: 'POST', url: '/v1/results', payload: { task, results: { classify: rerun } } }));
    const beforeRemake = await runs();
    const remade = await ok<{ map: Map; annotation: Record<string, unknown> }>(await app.inject({ method: 'GET', url: `/v1/annotations/${key}/explanation?format=json` }));
    t.match(remade.annotation, { id: made.annotation.id, 'loupe:explains': explained.id, generator: { 'loupe:version': '2' }, 'loupe:explainsModel': { id: head.id, version: '2' } }, 'made again for version 2, in place of the old one');
    t.ok((await runs()) - beforeRemake >= remade.map.passes, 'with new passes');
    // A re-run that no longer says it removes the annotation, and its explanation with it.
    const { resultSet } = rerun as { resultSet: Record<string, unknown> };
    await ok(await app.inject({ method: 'POST', url: '/v1/results', payload: { task, results: { classify: { resultSet: { ...resultSet, findings: [] } } } } }));
    const after = await ok<{ items: Record<string, unknown>[] }>(await app.inject({ method: 'GET', url: `/v1/annotations?canvas=${encodeURIComponent(task.canvasId)}` }));
    t.same(after.items.filter((a) => a.motivation === 'classifying' || 'loupe:explains' in a), [], 'no classification left, and no explanation linked to nothing');

    // The job option: the store stage explains each canvas's top classification as it keeps it.
    const second = { ...task, canvasId: 'https://ex.org/canvas/2', canvasIndex: 1 };
    const reclassified = await ok<{ resultSet: unknown }>(await app.inject({ method: 'POST', url: '/v1/classify/canvas', payload: { task: second, options: { head: head.id, k: 2 } } }));
    await ok(await app.inject({ method: 'POST', url: '/v1/results', payload: { task: second, results: { classify: reclassified }, options: { explain: { classifications: true } } } }));
    const kept = await ok<{ items: Record<string, unknown>[] }>(await app.inject({ method: 'GET', url: `/v1/annotations?canvas=${encodeURIComponent(second.canvasId)}` }));
    const classifications = kept.items.filter((a) => a.motivation === 'classifying');
    const explanations = kept.items.filter((a) => 'loupe:explains' in a);
    t.equal(classifications.length, 2, 'both concepts kept');
    t.equal(explanations.length, 1, 'one explanation: the most probable concept only');
    t.equal(explanations[0]?.['loupe:explains'], classifications[0]?.id, 'of the first (most probable) classification');
  });
});
