// The curation loop end to end through the ground-truth service's HTTP API (Fastify, the real
// SQLite store): results come in as the pipeline writes them, curators accept, reject and correct
// (revisions, history, bulk review), a vocabulary is imported, a dataset is built from a
// manifest, exported in every format and imported back, split reproducibly, and models are
// evaluated against the accepted ground truth with numbers worked out by hand below. Then the
// same through the CLI (`loupe eval`, `loupe datasets`, `loupe vocab`).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Annotation, Finding, ResultSet } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { fromAnnotationPage, fromCoco, fromEuropeanaCsv, fromVoc } from '@loupe/datasets';
import { runLoupe } from './support/loupe-process.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-curation-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const PUBLIC = 'http://loupe.test';
const env = { LOUPE_DATA_DIR: dataDir, LOUPE_PUBLIC_URL: PUBLIC, LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' };
const embedded = await createEmbedded({ ...loadConfig(env), services: ['ground-truth'] });
await embedded.app.start();
t.teardown(() => embedded.close());

async function call<T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: T }> {
  const res = await embedded.app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as T };
}
async function ok<T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<T> {
  const { status, body } = await call<T>(method, url, payload);
  if (status >= 400) throw new Error(`${method} ${url}: ${status} ${JSON.stringify(body)}`);
  return body;
}
const qs = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
const keyOf = (a: Annotation): string => a.id.split('/').pop()!;

const BASE = 'http://data.europeana.eu/concept/base/';
const PAINTING = `${BASE}47`;
const PHOTOGRAPH = `${BASE}48`;
const MAP = `${BASE}43`;
const PERSON = 'http://www.wikidata.org/entity/Q5';
const M1 = 'https://iiif.example.org/m1/manifest';
const M2 = 'https://iiif.example.org/m2/manifest';
const canvas = (m: string, n: number) => `${m.replace('/manifest', '')}/canvas/${n}`;

/** What the pipeline sends the ground-truth stage for one canvas image. */
function stageInput(manifest: string, n: number, sets: Record<string, { model: string; stage: string; findings: Finding[] }>) {
  const canvasId = canvas(manifest, n);
  const resultSets: Record<string, { resultSet: ResultSet }> = {};
  for (const [name, s] of Object.entries(sets)) {
    resultSets[name] = {
      resultSet: { manifestId: manifest, canvasId, imageIndex: 0, stage: s.stage, model: { id: s.model, version: '1' }, generated: '2026-11-23T10:00:00Z', findings: s.findings },
    };
  }
  return {
    task: {
      jobId: 'job-1',
      manifestId: manifest,
      canvasId,
      canvasIndex: n - 1,
      canvasLabel: `p. ${n}`,
      canvasWidth: 1000,
      canvasHeight: 800,
      imageIndex: 0,
      image: { id: `https://images.example.org/iiif/${n}/full/max/0/default.jpg`, service: { id: `https://images.example.org/iiif/${n}`, version: 3, level: 2 } },
    },
    results: resultSets,
  };
}
const label = (concept: string, name: string, confidence: number): Finding => ({ motivation: 'classifying', concept, label: name, confidence });
const person = (x: number, y: number, w: number, h: number, confidence: number): Finding => ({ motivation: 'tagging', box: { x, y, w, h }, concept: PERSON, label: 'person', confidence });
const line = (text: string, y: number): Finding => ({ motivation: 'supplementing', box: { x: 50, y, w: 400, h: 30 }, text, confidence: 0.9 });

// Model `cls` says one label per canvas; `det` finds people on canvas 1; `ocr` reads two lines there.
const said = {
  1: { cls: label(PAINTING, 'painting', 0.9) },
  2: { cls: label(PAINTING, 'painting', 0.6) },
  3: { cls: label(MAP, 'map', 0.8) },
  4: { cls: label(PHOTOGRAPH, 'photograph', 0.7) },
};
for (const [n, { cls }] of Object.entries(said)) {
  const sets: Record<string, { model: string; stage: string; findings: Finding[] }> = { classify: { model: 'cls', stage: 'classify', findings: [cls] } };
  if (n === '1') {
    sets.objects = { model: 'det', stage: 'detect', findings: [person(10, 10, 100, 200, 0.9), person(500, 300, 60, 60, 0.7), person(300, 50, 80, 160, 0.4)] };
    sets.text = { model: 'ocr', stage: 'text', findings: [line('Hello world', 10), line('Secand line', 50)] };
  }
  const stored = await ok('POST', '/v1/results', stageInput(M1, Number(n), sets));
  // No assertion at the top level: tap would end the root test before the subtests below.
  if (stored.sets !== Object.keys(sets).length) throw new Error(`canvas ${n}: ${JSON.stringify(stored)}`);
}
// A second manifest, outside the dataset, for bulk review.
for (const [n, c] of [[1, 0.2], [2, 0.4], [3, 0.6], [4, 0.95]] as const) {
  await ok('POST', '/v1/results', stageInput(M2, n, { classify: { model: 'cls2', stage: 'classify', findings: [label(MAP, 'map', c)] } }));
}

const annotationsOn = async (c: string, extra: Record<string, string | number> = {}) =>
  (await ok<{ items: Annotation[] }>('GET', `/v1/annotations?${qs({ canvas: c, ...extra })}`)).items;
const only = async (c: string, model: string) => {
  const items = await annotationsOn(c, { model });
  return items;
};

await t.test('canvases are recorded from the pipeline with IIIF image requests', async (t) => {
  const { items } = await ok<{ items: { canvas: { canvasId: string; width: number; label: string }; annotations: number; image: string; thumbnail: string }[] }>(
    'GET',
    `/v1/canvases?${qs({ manifest: M1 })}`,
  );
  t.equal(items.length, 4);
  t.equal(items[0]!.canvas.canvasId, canvas(M1, 1));
  t.equal(items[0]!.annotations, 6, 'canvas 1: a label, three boxes, two lines');
  t.equal(items[0]!.canvas.width, 1000);
  t.equal(items[0]!.image, 'https://images.example.org/iiif/1/full/!1200,1200/0/default.jpg');
  t.equal(items[0]!.thumbnail, 'https://images.example.org/iiif/1/full/!200,200/0/default.jpg');
  const filtered = await ok<{ items: unknown[] }>('GET', `/v1/canvases?${qs({ model: 'cls', concept: PAINTING })}`);
  t.equal(filtered.items.length, 2, 'filters pick the canvases: two said painting');
});

await t.test('accept, reject and correct write revisions; nothing is overwritten', async (t) => {
  const reviewer = 'curator@library.example';
  const [c1] = await only(canvas(M1, 1), 'cls');
  const accepted = await ok<Annotation>('POST', `/v1/annotations/${keyOf(c1!)}/review`, { state: 'accepted', reviewer });
  t.equal(accepted['loupe:reviewState'], 'accepted');
  t.equal((accepted as { 'loupe:revision'?: number })['loupe:revision'], 1);

  const [c2] = await only(canvas(M1, 2), 'cls');
  const corrected = await ok<Annotation>('POST', `/v1/annotations/${keyOf(c2!)}/review`, {
    state: 'corrected',
    reviewer,
    note: 'a photograph of a painting',
    correction: { concept: PHOTOGRAPH, label: 'photograph' },
  });
  t.equal(corrected['loupe:reviewState'], 'corrected');
  t.match(corrected.body, [{ type: 'TextualBody', value: 'photograph' }, { type: 'SpecificResource', source: PHOTOGRAPH }]);
  const history = await ok<{ items: { revision: number; state: string; reviewer: string | null; note?: string; annotation: Annotation }[] }>(
    'GET',
    `/v1/annotations/${keyOf(c2!)}/history`,
  );
  t.same(history.items.map((r) => [r.revision, r.state, r.reviewer]), [[0, 'unreviewed', null], [1, 'corrected', reviewer]]);
  t.match(history.items[0]!.annotation.body, [{ value: 'painting' }, { source: PAINTING }], 'revision 0 is what the model said');
  t.equal(history.items[1]!.note, 'a photograph of a painting');
  t.equal((await ok<Annotation>('GET', `/v1/annotations/${keyOf(c2!)}`)).id, c2!.id, 'annotation ids dereference');

  for (const n of [3, 4]) {
    const [a] = await only(canvas(M1, n), 'cls');
    await ok('POST', `/v1/annotations/${keyOf(a!)}/review`, { state: 'accepted', reviewer });
  }
  const boxes = (await only(canvas(M1, 1), 'det')).sort((a, b) => (b['loupe:confidence'] ?? 0) - (a['loupe:confidence'] ?? 0));
  await ok('POST', `/v1/annotations/${keyOf(boxes[0]!)}/review`, { state: 'accepted', reviewer });
  await ok('POST', `/v1/annotations/${keyOf(boxes[1]!)}/review`, { state: 'corrected', reviewer, correction: { box: { x: 540, y: 300, w: 60, h: 60 } } });
  await ok('POST', `/v1/annotations/${keyOf(boxes[2]!)}/review`, { state: 'rejected', reviewer });
  const lines = (await only(canvas(M1, 1), 'ocr')).sort((a, b) => JSON.stringify(a.target).localeCompare(JSON.stringify(b.target)));
  for (const l of lines) {
    const text = (l.body as { value: string }).value;
    await ok('POST', `/v1/annotations/${keyOf(l)}/review`, text === 'Secand line' ? { state: 'corrected', reviewer, correction: { text: 'Second line' } } : { state: 'accepted', reviewer });
  }

  const refused = await call('POST', `/v1/annotations/${keyOf(c1!)}/review`, { state: 'accepted', reviewer, correction: { label: 'x' } });
  t.equal(refused.status, 400, 'a correction with another state is refused');
  t.equal((refused.body as { code: string }).code, 'LOUPE_ERR_VALIDATION');
  t.equal((await call('POST', '/v1/annotations/nothing-here/review', { state: 'accepted', reviewer })).status, 404);

  // The model runs again and says the same: the correction stands.
  await ok('POST', '/v1/results', stageInput(M1, 2, { classify: { model: 'cls', stage: 'classify', findings: [label(PAINTING, 'painting', 0.6)] } }));
  const [again] = await only(canvas(M1, 2), 'cls');
  t.equal(again!['loupe:reviewState'], 'corrected', 'a re-run does not overwrite a correction');
  t.match(again!.body, [{ value: 'photograph' }, { source: PHOTOGRAPH }]);
});

await t.test('bulk review by model, concept and confidence range', async (t) => {
  const body = { filter: { model: 'cls2', concept: MAP, minConfidence: 0.5 }, state: 'accepted', reviewer: 'bulk@library.example' };
  t.same(await ok('POST', '/v1/annotations/review', body), { updated: 2 }, '0.6 and 0.95');
  t.same(await ok('POST', '/v1/annotations/review', body), { updated: 0 }, 'already accepted: nothing to do');
  t.same(await ok('POST', '/v1/annotations/review', { ...body, filter: { model: 'cls2', reviewState: 'unreviewed' }, state: 'rejected' }), { updated: 2 });
  const states = (await ok<{ items: Annotation[] }>('GET', `/v1/annotations?${qs({ model: 'cls2' })}`)).items.map((a) => a['loupe:reviewState']);
  t.same(states, ['rejected', 'rejected', 'accepted', 'accepted']);
  t.equal((await call('POST', '/v1/annotations/review', { filter: {}, state: 'accepted', reviewer: 'x' })).status, 400, 'a filter is required');
  t.equal((await call('POST', '/v1/annotations/review', { ...body, state: 'corrected' })).status, 400, 'no corrections in bulk');
});

await t.test('vocabularies: the Europeana pilot formats and SKOS JSON-LD', async (t) => {
  const json = JSON.stringify({ painting: PAINTING, photograph: PHOTOGRAPH, 'map ': MAP });
  t.same(await ok('POST', '/v1/vocabularies', { format: 'europeana-json', content: json, id: 'pilot' }), { id: 'pilot', concepts: 3 });
  const csv = `concept,getty_aat,dbpedia,wikidata,ef_entity_collection\r\npainting,http://vocab.getty.edu/aat/300033618,"http://dbpedia.org/resource/Painting\n",http://www.wikidata.org/entity/Q11629,${PAINTING}\r\nmap ,http://vocab.getty.edu/aat/300028094,,http://www.wikidata.org/entity/Q4006,${MAP}\r\n`;
  t.same(await ok('POST', '/v1/vocabularies', { format: 'concept-csv', content: csv, id: 'pilot-uris' }), { id: 'pilot-uris', concepts: 2 });
  const skos = {
    '@context': { skos: 'http://www.w3.org/2004/02/skos/core#', prefLabel: { '@id': 'skos:prefLabel', '@container': '@language' } },
    '@graph': [
      { '@id': 'https://vocab.example.org/scheme', '@type': 'skos:ConceptScheme', 'skos:prefLabel': { '@value': 'Techniques', '@language': 'en' } },
      { '@id': 'https://vocab.example.org/engraving', '@type': 'skos:Concept', prefLabel: { en: 'engraving', fr: 'gravure' }, 'skos:inScheme': { '@id': 'https://vocab.example.org/scheme' } },
    ],
  };
  const imported = await ok<{ id: string; concepts: number }>('POST', '/v1/vocabularies', { format: 'skos-jsonld', content: JSON.stringify(skos) });
  t.equal(imported.concepts, 1);
  const list = await ok<{ items: { id: string; concepts: number }[] }>('GET', '/v1/vocabularies');
  t.equal(list.items.length, 3);
  const pilot = await ok<{ concepts: { uri: string; prefLabel: Record<string, string> }[] }>('GET', '/v1/vocabularies/pilot');
  t.same(pilot.concepts.map((c) => c.prefLabel.en).sort(), ['map', 'painting', 'photograph'], 'trailing spaces trimmed');
  const uris = await ok<{ concepts: { uri: string; exactMatch?: string[] }[] }>('GET', '/v1/vocabularies/pilot-uris');
  t.ok(uris.concepts.find((c) => c.uri === PAINTING)?.exactMatch?.includes('http://dbpedia.org/resource/Painting'), 'an embedded newline is trimmed');
  const bad = await call('POST', '/v1/vocabularies', { format: 'skos-jsonld', content: JSON.stringify({ '@context': 'https://example.org/remote-context.jsonld', '@id': 'x' }) });
  t.equal(bad.status, 400, 'a remote JSON-LD context is refused (no network)');
});

await t.test('datasets: sources, counts, splits', async (t) => {
  const created = await ok<{ name: string; sources: string[] }>('POST', '/v1/datasets', { name: 'gt1', description: 'm1 reviewed', sources: [M1] });
  t.same(created.sources, [M1]);
  const view = await ok<{ annotations: number; concepts: { concept: string; count: number }[] }>('GET', '/v1/datasets/gt1');
  t.equal(view.annotations, 9, 'four labels, three boxes, two lines, and nothing from M2');
  t.equal(view.concepts.find((c) => c.concept === PERSON)?.count, 3);
  t.equal((await call('POST', '/v1/datasets', { name: 'bad name!' })).status, 400);
  t.equal((await call('GET', '/v1/datasets/none')).status, 404);

  const a = await ok<{ items: { canvas: string; split: string; fold: number }[] }>('GET', `/v1/datasets/gt1/splits?${qs({ seed: 's1', folds: 2 })}`);
  const b = await ok<{ items: { canvas: string; split: string; fold: number }[] }>('GET', `/v1/datasets/gt1/splits?${qs({ seed: 's1', folds: 2 })}`);
  t.same(a, b, 'the same seed gives the same splits and folds');
  t.equal(a.items.length, 4, 'four canvases with ground truth');
  t.ok(a.items.every((i) => ['train', 'validation', 'test'].includes(i.split) && (i.fold === 0 || i.fold === 1)));
});

await t.test('evaluation against the accepted ground truth (worked by hand)', async (t) => {
  // Labels. Truth: c1 painting, c2 photograph (corrected), c3 map, c4 photograph.
  // Model cls said: painting, painting, map, photograph. painting: TP 1, FP 1 -> P 0.5, R 1;
  // photograph: TP 1, FN 1 -> P 1, R 0.5; map: P 1, R 1. Top-1 accuracy 3/4.
  const labels = await ok<{ canvases: number; labels: { accuracy: number; classes: { concept: string; precision: number; recall: number; f1: number }[]; confusion: { labels: string[]; matrix: number[][] } } }>(
    'GET',
    `/v1/evaluations?${qs({ model: 'cls', dataset: 'gt1' })}`,
  );
  const byConcept = Object.fromEntries(labels.labels.classes.map((c) => [c.concept, c]));
  t.match(byConcept[PAINTING], { precision: 0.5, recall: 1 });
  t.match(byConcept[PHOTOGRAPH], { precision: 1, recall: 0.5 });
  t.match(byConcept[MAP], { precision: 1, recall: 1, f1: 1 });
  t.equal(labels.labels.accuracy, 0.75);
  const { labels: names, matrix } = labels.labels.confusion;
  t.equal(matrix[names.indexOf(PHOTOGRAPH)]![names.indexOf(PAINTING)], 1, 'the photograph taken for a painting');

  // Boxes. Truth: the accepted box and the corrected one (moved: IoU 0.2 with what the model
  // said). Ranked predictions: 0.9 TP, 0.7 FP, 0.4 FP (rejected) over 2 truths: recall 0.5 at
  // precision 1, never more: AP 0.5.
  const boxes = await ok<{ boxes: { map: number; classes: { concept: string; ap: number }[] } }>('GET', `/v1/evaluations?${qs({ model: 'det', dataset: 'gt1' })}`);
  t.equal(boxes.boxes.classes.find((c) => c.concept === PERSON)?.ap, 0.5);
  t.equal(boxes.boxes.map, 0.5);

  // Text: "Hello world / Secand line" against "Hello world / Second line": one character in 23
  // (lines joined), one word in four.
  const text = await ok<{ text: { cer: number; wer: number } }>('GET', `/v1/evaluations?${qs({ model: 'ocr', dataset: 'gt1' })}`);
  t.equal(text.text.wer, 0.25);
  t.ok(Math.abs(text.text.cer - 1 / 23) < 1e-9, `CER ${text.text.cer}`);

  t.equal((await call('GET', `/v1/evaluations?${qs({ model: 'nobody', dataset: 'gt1' })}`)).status, 404, 'an unknown model');
  t.equal((await call('GET', `/v1/evaluations?${qs({ model: 'cls', dataset: 'nothing' })}`)).status, 404, 'an unknown dataset');
});

/** Labels per canvas, for comparing what two exports say. */
const summary = (images: readonly { id: string; labels: readonly { concept?: string; label?: string; box?: unknown; text?: string }[] }[]) =>
  Object.fromEntries(
    images.map((i) => [i.id, i.labels.map((l) => JSON.stringify([l.concept ?? null, l.label ?? null, l.box ?? null, l.text ?? null])).sort()]),
  );

await t.test('export, import into a new dataset, export again: the same ground truth (every format)', async (t) => {
  type Files = { files: { name: string; content: string }[]; images: number };
  const parse = {
    coco: (f: Files) => fromCoco(JSON.parse(f.files[0]!.content)),
    voc: (f: Files) => f.files.map((x) => fromVoc(x.content)),
    'europeana-csv': (f: Files) => fromEuropeanaCsv(f.files[0]!.content).images,
    'annotation-page': (f: Files) => fromAnnotationPage(JSON.parse(f.files[0]!.content)).images,
  };
  const coco = JSON.parse((await ok<Files>('GET', `/v1/datasets/gt1/export?${qs({ format: 'coco' })}`)).files[0]!.content) as { annotations: { bbox: number[] }[] };
  t.same(coco.annotations.map((a) => a.bbox).sort(), [[10, 10, 100, 200], [540, 300, 60, 60]], 'COCO has the accepted and the corrected box, not the rejected one');
  const csv = (await ok<Files>('GET', `/v1/datasets/gt1/export?${qs({ format: 'europeana-csv' })}`)).files[0]!.content;
  t.match(csv.split('\r\n')[0], 'category,skos_concept,URI,URL,ID');
  t.match(csv, /photograph,http:\/\/data\.europeana\.eu\/concept\/base\/48,/, 'categories named from the imported vocabulary');
  for (const format of ['coco', 'voc', 'europeana-csv', 'annotation-page'] as const) {
    const first = await ok<Files>('GET', `/v1/datasets/gt1/export?${qs({ format })}`);
    t.ok(first.images > 0, `${format}: ${first.images} images`);
    const content = format === 'voc' ? first.files.map((f) => f.content) : first.files[0]!.content;
    const imported = await ok<{ images: number; inserted: number; kept: number }>('POST', `/v1/datasets/copy-${format}/import`, { format, content });
    t.equal(imported.images, first.images, `${format}: every image imported`);
    const again = await ok<{ inserted: number; kept: number }>('POST', `/v1/datasets/copy-${format}/import`, { format, content });
    t.same([again.inserted, again.kept], [0, imported.inserted + imported.kept], `${format}: importing twice changes nothing`);
    const second = await ok<Files>('GET', `/v1/datasets/copy-${format}/export?${qs({ format })}`);
    t.same(summary(parse[format](second)), summary(parse[format](first)), `${format}: the round trip keeps every label`);
  }
  const split = await ok<Files>('GET', `/v1/datasets/gt1/export?${qs({ format: 'coco', split: 'train', seed: 's1' })}`);
  t.ok(split.images <= 4);
});

await t.test('the CLI: loupe eval, datasets and vocab', async (t) => {
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-curation-cli-'));
  t.teardown(() => fs.rm(cwd, { recursive: true, force: true }));
  const ran = await runLoupe(['eval', '--model', 'cls', '--dataset', 'gt1', '--out', 'eval.json'], { env, cwd });
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /photograph/);
  t.match(ran.stdout, /0\.50/);
  const report = JSON.parse(await fs.readFile(path.join(cwd, 'eval.json'), 'utf8')) as { labels: { accuracy: number } };
  t.equal(report.labels.accuracy, 0.75, 'the JSON report is the API answer');

  const exported = await runLoupe(['datasets', 'export', 'gt1', '--format', 'voc', '--out', 'voc'], { env, cwd });
  t.equal(exported.code, 0, exported.stderr);
  const xmls = await fs.readdir(path.join(cwd, 'voc', 'gt1', 'Annotations'));
  t.equal(xmls.length, 1, 'one VOC file: boxes are on canvas 1 only');
  const files = xmls.map((x) => path.join('voc', 'gt1', 'Annotations', x));
  const imported = await runLoupe(['datasets', 'import', 'from-voc', '--format', 'voc', ...files], { env, cwd });
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stderr, /imported 1 images into from-voc/);
  const listed = await runLoupe(['datasets', 'list'], { env, cwd });
  t.match(listed.stdout, /from-voc/);
  const bad = await runLoupe(['datasets', 'export', 'gt1', '--format', 'pdf'], { env, cwd });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--format must be one of coco, voc, europeana-csv, annotation-page/);
  const vocab = await runLoupe(['vocab', 'list'], { env, cwd });
  t.match(vocab.stdout, /pilot\t3 concepts/);
});

await t.test('LOUPE_STORE=mongodb: the configuration is checked, and an unreachable server is a store error', async (t) => {
  t.throws(() => loadConfig({ ...env, LOUPE_STORE: 'mongodb' }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /LOUPE_MONGODB_URL: required/ });
  t.throws(() => loadConfig({ ...env, LOUPE_STORE: 'mongodb', LOUPE_MONGODB_URL: 'http://mongo:27017' }), { code: 'LOUPE_ERR_CONFIG_INVALID' });
  t.throws(() => loadConfig({ ...env, LOUPE_STORE: 'sql' }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /LOUPE_STORE/ });
  // A port nobody listens on: the real driver, a refused connection, a clear error (no password in it).
  const ran = await runLoupe(['datasets', 'list'], {
    env: { ...env, LOUPE_STORE: 'mongodb', LOUPE_MONGODB_URL: 'mongodb://loupe:s3cret@127.0.0.1:9/loupe?serverSelectionTimeoutMS=500' },
  });
  t.equal(ran.code, 1);
  t.match(ran.stderr, /LOUPE_ERR_STORE/);
  t.notMatch(ran.stderr, /s3cret/, 'the password is never printed');
});
