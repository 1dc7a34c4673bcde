// The words half of hybrid search over a real SQLite store file and its full-text index: which
// canvases the words find, in what order, and why.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Annotation, OcrLine, TextRankingInput, TextRankingOutput } from '@loupe/contracts';
import { openSqliteAnnotationStore, openSqliteContentSearch, type ResultSetKey } from '@loupe/store';
import { textRankingHandler } from './text-ranking.js';

const BOOK = 'https://iiif.example.org/book/manifest';
const PHOTOS = 'https://iiif.example.org/photos/manifest';
const SHIP = 'https://vocab.example.org/ship';
const canvas = (m: string, n: number): string => `${m.replace('/manifest', '')}/canvas/${n}`;
const dir = mkdtempSync(join(tmpdir(), 'loupe-text-ranking-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const T = '2026-01-01T00:00:00Z';

const line = (text: string, y: number): OcrLine => ({ text, box: { x: 10, y, w: 400, h: 30 }, confidence: 0.9, words: [] });
const key = (manifestId: string, n: number, stage: string, modelId: string): ResultSetKey => ({ manifestId, canvasId: canvas(manifestId, n), imageIndex: 0, stage, modelId });

/** A classification as the classify stage writes it: the label as a tag, the concept beside it. */
function classified(k: ResultSetKey, label: string, uri: string, confidence: number): Annotation {
  return {
    id: `${k.canvasId}/${label}`,
    type: 'Annotation',
    motivation: 'classifying',
    body: [
      { type: 'TextualBody', value: label, purpose: 'tagging' },
      { type: 'SpecificResource', source: uri, purpose: 'classifying' },
    ],
    target: k.canvasId,
    generated: T,
    'loupe:confidence': confidence,
  } as Annotation;
}

async function setup(t: Test) {
  const path = join(dir, `store-${files++}.db`);
  const store = openSqliteAnnotationStore({ path });
  const search = openSqliteContentSearch({ path });
  t.teardown(async () => {
    await search.close();
    await store.close();
  });
  for (const [m, n] of [[BOOK, 1], [BOOK, 2], [PHOTOS, 1], [PHOTOS, 2], [PHOTOS, 3]] as const) {
    await store.putCanvas({ canvasId: canvas(m, n), manifestId: m, width: 100, height: 100, image: { id: `${canvas(m, n)}.jpg` } });
  }
  // The book: a logbook page that names the ship twice, a page that does once.
  const page = (lines: string[]) => ({ width: 500, height: 500, engine: { id: 'tesseract', version: '5' }, languages: ['eng'], blocks: [{ box: { x: 0, y: 0, w: 500, h: 500 }, role: 'body', lines: lines.map((l, i) => line(l, i * 40)) }] });
  await store.replaceOcrPage(key(BOOK, 1, 'text', 'tesseract'), '5', page(['Log of the ship Alfred Gibbs', 'the ship lay at anchor']), T);
  await store.replaceResultSet(key(BOOK, 1, 'text', 'tesseract'), '5', []);
  await store.replaceOcrPage(key(BOOK, 2, 'text', 'tesseract'), '5', page(['Wind north east', 'a ship in sight']), T);
  await store.replaceResultSet(key(BOOK, 2, 'text', 'tesseract'), '5', []);
  // The photos: two classified as ships (one more surely), one as a coin; a person rejected one.
  await store.replaceResultSet(key(PHOTOS, 1, 'classify', 'head'), '1', [classified(key(PHOTOS, 1, 'classify', 'head'), 'ship', SHIP, 0.6)]);
  await store.replaceResultSet(key(PHOTOS, 2, 'classify', 'head'), '1', [classified(key(PHOTOS, 2, 'classify', 'head'), 'ship', SHIP, 0.9)]);
  await store.replaceResultSet(key(PHOTOS, 3, 'classify', 'head'), '1', [classified(key(PHOTOS, 3, 'classify', 'head'), 'ship', SHIP, 0.95)]);
  const [rejected] = await store.query({ canvasId: canvas(PHOTOS, 3) });
  await store.review(rejected!.id, { state: 'rejected', reviewer: 'curator' });
  const handler = textRankingHandler(store, search);
  const rank = (input: Partial<TextRankingInput> & { q: string }): Promise<TextRankingOutput> => handler.handler({ limit: 100, ...input }, {} as never);
  return { rank };
}

t.test('full text: tags and labels before OCR lines, then canvases with more hits; rejected annotations left out', async (t) => {
  const { rank } = await setup(t);
  const { text } = await rank({ q: 'Ship' });
  t.same(new Set(text.slice(0, 2).map((e) => e.canvasId)), new Set([canvas(PHOTOS, 1), canvas(PHOTOS, 2)]), 'the tagged photos first');
  t.match(text[0], { manifestId: PHOTOS, imageIndex: 0, snippet: 'ship', motivation: 'classifying' });
  t.match(text.slice(2), [
    { canvasId: canvas(BOOK, 1), manifestId: BOOK, hits: 2, snippet: 'Log of the ship Alfred Gibbs', motivation: 'supplementing' },
    { canvasId: canvas(BOOK, 2), hits: 1, snippet: 'a ship in sight' },
  ]);
  t.notOk(text.some((e) => e.canvasId === canvas(PHOTOS, 3)), 'the rejected classification is not a hit');
  t.same((await rank({ q: 'ship anchor' })).text.map((e) => e.canvasId), [canvas(BOOK, 1)], 'every word in one line');
  t.same((await rank({ q: 'ship', manifests: [BOOK] })).text.map((e) => e.canvasId), [canvas(BOOK, 1), canvas(BOOK, 2)], 'only the manifests asked');
  t.same((await rank({ q: 'ship', limit: 1 })).text.length, 1);
});

t.test('concepts: by label or URI, the most confident first, with the label and the URI', async (t) => {
  const { rank } = await setup(t);
  const byLabel = await rank({ q: 'Ship' });
  t.same(byLabel.concept, [
    { canvasId: canvas(PHOTOS, 2), manifestId: PHOTOS, imageIndex: 0, label: 'ship', uri: SHIP, confidence: 0.9 },
    { canvasId: canvas(PHOTOS, 1), manifestId: PHOTOS, imageIndex: 0, label: 'ship', uri: SHIP, confidence: 0.6 },
  ]);
  const byUri = await rank({ q: SHIP });
  t.same(byUri.concept.map((e) => e.canvasId), [canvas(PHOTOS, 2), canvas(PHOTOS, 1)]);
  t.same(byUri.text, [], 'a URI is no words to find in text');
  t.same((await rank({ q: 'ship', manifests: [BOOK] })).concept, []);
  t.same(await rank({ q: 'whale' }), { text: [], concept: [] });
});
