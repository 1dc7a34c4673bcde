// Hybrid search over real HTTP: POST /v1/search with words, with an image, with both, answered by
// the embed service's search asking the ground-truth service over the bus (test/support/hybrid-search-rig.ts).
import sharp from 'sharp';
import t from 'tap';
import type { OcrPage } from '@loupe/contracts';
import { startHybridRig } from './support/hybrid-search-rig.js';

const M = 'https://iiif.example.org/flags/manifest';
const FLAG = 'https://vocab.example.org/flag';
const CC0 = 'https://creativecommons.org/publicdomain/zero/1.0/';
const canvas = (name: string) => `https://iiif.example.org/flags/canvas/${name}`;

const svg = (body: string) => sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">${body}</svg>`)).png().toBuffer();
const stripes = (shift: number) => svg(`<rect width="400" height="300" fill="#e8d9b0"/>${Array.from({ length: 6 }, (_, i) => `<rect x="${i * 70 + shift}" width="30" height="300" fill="#243b6b"/>`).join('')}`);
const blobs = (hue: number) => svg(`<rect width="400" height="300" fill="#2d5a27"/>${Array.from({ length: 20 }, (_, i) => `<ellipse cx="${(i * 137) % 400}" cy="${(i * 71) % 300}" rx="${15 + (i % 4) * 6}" ry="12" fill="hsl(${hue + i * 20},60%,55%)"/>`).join('')}`);
const page: OcrPage = {
  width: 400,
  height: 300,
  engine: { id: 'tesseract', version: '5' },
  languages: ['eng'],
  blocks: [{ box: { x: 0, y: 0, w: 400, h: 300 }, role: 'body', lines: [{ text: 'The flag was raised at noon', box: { x: 10, y: 10, w: 380, h: 30 }, confidence: 0.9, words: [] }] }],
};

const rig = await startHybridRig();
t.teardown(() => rig.close());
await rig.add({ manifestId: M, canvasId: canvas('stripes-tagged'), image: await stripes(0), tags: [['flag', FLAG, 0.8]], rights: CC0 });
await rig.add({ manifestId: M, canvasId: canvas('stripes-plain'), image: await stripes(20) });
await rig.add({ manifestId: M, canvasId: canvas('blobs-a'), image: await blobs(0) });
await rig.add({ manifestId: M, canvasId: canvas('blobs-b'), image: await blobs(40) });
await rig.add({ manifestId: M, canvasId: canvas('page'), image: await svg('<rect width="400" height="300" fill="white"/><text x="10" y="30" font-size="24">The flag was raised at noon</text>'), ocr: page });
const names = (hits: { canvasId: string }[]) => hits.map((h) => h.canvasId.split('/').at(-1));

t.test('words alone: the full-text and concept rankings fused, each hit saying why', async (t) => {
  const { status, body } = await rig.search({ q: 'Flag', limit: 10 });
  t.equal(status, 200, JSON.stringify(body));
  t.match(body, { query: 'words', model: { id: 'mobilenet-v2-features' }, fusion: { method: 'rrf', k: 60, weights: { text: 1, concept: 1, visual: 1 } } });
  t.same(names(body.hits), ['stripes-tagged', 'page'], 'the tag (text and concept) before the OCR line');
  t.same(body.hits[0]!.matched, { text: { rank: 1, snippet: 'flag', motivation: 'classifying' }, concept: { rank: 1, label: 'flag', uri: FLAG } });
  t.equal(body.hits[0]!.score, Math.round((2 / 61) * 1e6) / 1e6);
  t.match(body.hits[0], { manifestId: M, imageIndex: 0, thumbnail: `${canvas('stripes-tagged')}/thumb.jpg`, rights: CC0 });
  t.same(body.hits[1]!.matched, { text: { rank: 2, snippet: 'The flag was raised at noon', motivation: 'supplementing' } });
  t.same(names((await rig.search({ q: FLAG })).body.hits), ['stripes-tagged'], 'a concept URI');
});

t.test('an image alone: the visual search as before, without fusion', async (t) => {
  const { body } = await rig.search({ canvas: { id: canvas('stripes-plain') }, limit: 2 });
  t.equal(body.query, 'canvas');
  t.equal(body.fusion, undefined);
  t.same(names(body.hits), ['stripes-tagged', names(body.hits)[1]]);
  t.equal(body.hits[0]!.matched, undefined);
  t.ok(body.hits[0]!.score > 0.5 && body.hits[0]!.score <= 1, 'a cosine');
});

t.test('words and an image: one ranking, the canvas both find first', async (t) => {
  const { body } = await rig.search({ q: 'flag', canvas: { id: canvas('blobs-a') }, limit: 5 });
  t.equal(body.query, 'hybrid');
  const first = body.hits[0]!;
  t.equal(first.canvasId, canvas('stripes-tagged'), `by words first: ${JSON.stringify(body.hits)}`);
  t.ok(body.hits.some((h) => h.canvasId === canvas('blobs-b') && h.matched?.visual?.rank === 1 && h.matched.text === undefined), 'the look-alike by its picture alone');
  t.notOk(body.hits.some((h) => h.canvasId === canvas('blobs-a')), 'the query canvas is left out');
  const visual = (await rig.search({ q: 'flag', canvas: { id: canvas('blobs-a') }, weights: { text: 0, concept: 0 }, limit: 1 })).body;
  t.same(names(visual.hits), ['blobs-b'], 'weights 0: the visual ranking alone');
});

t.test('filters apply to what the words found; paging; bad words', async (t) => {
  t.same(names((await rig.search({ q: 'flag', filter: { rights: CC0 } })).body.hits), ['stripes-tagged'], 'the page has no rights in its payload');
  t.same((await rig.search({ q: 'flag', filter: { manifest: 'https://elsewhere.example/manifest' } })).body.hits, []);
  const second = (await rig.search({ q: 'flag', limit: 1, offset: 1 })).body;
  t.same(names(second.hits), ['page']);
  const bad = await rig.search({ q: '!?' });
  t.equal(bad.status, 200, 'a query of no words finds nothing');
  t.same(bad.body.hits, []);
});
