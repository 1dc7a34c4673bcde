// A text stage's OCR page end to end over HTTP: the ground-truth service in one process (the real
// SQLite store), its routes mounted by a gateway process over the bus, as in a distributed
// deployment. Stored with its result set, listed, served as ALTO and hOCR with their media types,
// merged across a canvas's images, chosen by model, replaced by a re-run, documented in OpenAPI.
import t from 'tap';
import { SERVICE_APIS, type OcrPage, type ResultSet } from '@loupe/contracts';
import { createMemoryBus } from '@loupe/bus';
import { createServiceApp } from '@loupe/runtime';
import { openSqliteAnnotationStore } from '@loupe/store';
import { createGroundTruthService } from '../services/ground-truth/src/index.js';
// The structural ALTO check written from alto-4-4.xsd, and a hand-made heritage page, shared with the writers' tests.
import { altoProblems, descendants, heritagePage, parseXml } from '../packages/datasets/src/ocr/ocr-page.test-support.js';

const PUBLIC = 'http://loupe.test';
const bus = createMemoryBus();
const annotationStore = openSqliteAnnotationStore({ path: ':memory:' });
const groundTruth = await createServiceApp([createGroundTruthService({ store: annotationStore, publicUrl: PUBLIC })], { bus, logger: false });
const gateway = await createServiceApp([], { bus, logger: false, remote: SERVICE_APIS });
t.teardown(async () => {
  await gateway.close();
  await groundTruth.close();
  await annotationStore.close();
  await bus.close();
});
await groundTruth.start();
await gateway.start();
const MANIFEST = 'https://iiif.example.org/journal/manifest';
const canvas = (n: number): string => `https://iiif.example.org/journal/canvas/${n}`;
/** Reads go through the gateway, as viewers' requests do. */
const get = (url: string) => gateway.inject({ method: 'GET', url });
const qs = (params: Record<string, string>): string => new URLSearchParams(params).toString();

/** What the pipeline sends the store stage: one model's reading of one image of canvas 1. */
async function store(opts: { model: string; imageIndex?: number; generated: string; ocr?: OcrPage }): Promise<void> {
  const resultSet: ResultSet = {
    manifestId: MANIFEST,
    canvasId: canvas(1),
    imageIndex: opts.imageIndex ?? 0,
    stage: 'detect',
    model: { id: opts.model, version: '5.5.0' },
    generated: opts.generated,
    findings: [],
    ...(opts.ocr && { ocr: opts.ocr }),
  };
  const task = {
    jobId: 'job-1',
    manifestId: MANIFEST,
    canvasId: canvas(1),
    canvasIndex: 0,
    canvasLabel: 'p. 1',
    canvasWidth: 1200,
    canvasHeight: 1600,
    imageIndex: opts.imageIndex ?? 0,
    image: { id: 'https://images.example.org/journal/1.jpg', width: 1200, height: 1600 },
  };
  // A work queue's own route, in the process that consumes it.
  const res = await groundTruth.inject({ method: 'POST', url: '/v1/results', payload: { task, results: { detect: { resultSet } } } });
  if (res.statusCode !== 200) throw new Error(`store: ${res.statusCode} ${res.body}`);
}

/** A page of one line, as a second engine or a second image of the canvas would read it. */
const oneLine = (text: string, y: number): OcrPage => ({
  width: 1200,
  height: 1600,
  engine: { id: 'ppocr-v4', version: '4' },
  languages: [],
  blocks: [{ role: 'body', box: { x: 100, y, w: 600, h: 40 }, lines: [{ text, box: { x: 100, y, w: 600, h: 40 }, confidence: 0.8, words: [{ text, box: { x: 100, y, w: 600, h: 40 }, confidence: 0.8 }] }] }],
});
const words = (alto: string): string[] => descendants(parseXml(alto)).filter((e) => e.name === 'String').map((e) => e.attrs['CONTENT']!);

await t.test('ALTO and hOCR of a stored page, with their media types', async (t) => {
  await store({ model: 'tesseract-lstm', generated: '2026-03-01T10:00:00Z', ocr: heritagePage() });

  const list = await get(`/v1/ocr?${qs({ manifest: MANIFEST })}`);
  t.equal(list.statusCode, 200);
  const enc = encodeURIComponent(canvas(1));
  t.same(list.json(), {
    items: [
      {
        canvas: canvas(1),
        manifest: MANIFEST,
        imageIndex: 0,
        stage: 'detect',
        model: { id: 'tesseract-lstm', version: '5.5.0' },
        generated: '2026-03-01T10:00:00Z',
        alto: `${PUBLIC}/v1/ocr/alto?canvas=${enc}&model=tesseract-lstm`,
        hocr: `${PUBLIC}/v1/ocr/hocr?canvas=${enc}&model=tesseract-lstm`,
      },
    ],
  });

  const alto = await get(`/v1/ocr/alto?${qs({ canvas: canvas(1) })}`);
  t.equal(alto.statusCode, 200);
  t.equal(alto.headers['content-type'], 'application/xml; charset=utf-8');
  t.strictSame(altoProblems(alto.body), [], 'passes the structural checks written from alto-4-4.xsd');
  t.match(words(alto.body), ['JOURNAL', 'DES', 'SÇAVANS', 'échappés', 'à', 'la', 'perspicacité'], 'the words, accents and all');
  const description = descendants(parseXml(alto.body));
  t.equal(description.find((e) => e.name === 'fileIdentifier')?.text, canvas(1));
  t.equal(description.find((e) => e.name === 'fileName')?.text, 'https://images.example.org/journal/1.jpg', 'the image is at the canvas size: its pixels are the coordinates');
  t.equal(description.find((e) => e.name === 'processingDateTime')?.text, '2026-03-01T10:00:00.000Z', 'when the model read it');

  const hocr = await get(`/v1/ocr/hocr?${qs({ canvas: canvas(1), model: 'tesseract-lstm' })}`);
  t.equal(hocr.statusCode, 200);
  t.equal(hocr.headers['content-type'], 'text/vnd.hocr+html; charset=utf-8');
  const hocrWords = descendants(parseXml(hocr.body)).filter((e) => e.attrs['class'] === 'ocrx_word').map((e) => e.text);
  t.match(hocrWords, ['JOURNAL', 'DES', 'SÇAVANS', 'échappés'], 'well-formed XHTML with the words');
});

await t.test("a canvas's images make one page; the newest model is served unless one is named", async (t) => {
  await store({ model: 'tesseract-lstm', imageIndex: 1, generated: '2026-03-01T10:00:00Z', ocr: oneLine('Supplément', 1500) });
  const merged = words((await get(`/v1/ocr/alto?${qs({ canvas: canvas(1) })}`)).body);
  t.equal(merged.at(-1), 'Supplément', "image 1's blocks come after image 0's");
  t.equal(merged[0], 'JOURNAL');

  await store({ model: 'ppocr-v4', generated: '2026-03-02T10:00:00Z', ocr: oneLine('echappes a la', 200) });
  t.same(words((await get(`/v1/ocr/alto?${qs({ canvas: canvas(1) })}`)).body), ['echappes a la'], 'the later reading by default');
  t.equal(words((await get(`/v1/ocr/alto?${qs({ canvas: canvas(1), model: 'tesseract-lstm' })}`)).body)[0], 'JOURNAL', 'model chooses');

  await store({ model: 'ppocr-v4', generated: '2026-03-03T10:00:00Z', ocr: oneLine('échappés à la', 200) });
  t.same(words((await get(`/v1/ocr/alto?${qs({ canvas: canvas(1), model: 'ppocr-v4' })}`)).body), ['échappés à la'], 'a re-run replaces its page');
  await store({ model: 'ppocr-v4', generated: '2026-03-04T10:00:00Z' });
  t.equal(words((await get(`/v1/ocr/alto?${qs({ canvas: canvas(1) })}`)).body)[0], 'JOURNAL', 'a re-run without a page leaves none: the other model is served');
  t.same(
    ((await get(`/v1/ocr?${qs({ canvas: canvas(1) })}`)).json() as { items: { model: { id: string }; imageIndex: number }[] }).items.map((i) => [i.model.id, i.imageIndex]),
    [['tesseract-lstm', 0], ['tesseract-lstm', 1]],
  );
});

await t.test('no page: NOT_FOUND that says why; no filter: VALIDATION', async (t) => {
  const none = await get(`/v1/ocr/alto?${qs({ canvas: canvas(2) })}`);
  t.equal(none.statusCode, 404);
  t.match(none.json(), { code: 'LOUPE_ERR_NOT_FOUND', message: /no text pipeline has read it/ });
  const other = await get(`/v1/ocr/hocr?${qs({ canvas: canvas(1), model: 'ppocr-v4' })}`);
  t.equal(other.statusCode, 404);
  t.match(other.json(), { code: 'LOUPE_ERR_NOT_FOUND', message: /read by tesseract-lstm/ });
  t.equal((await get('/v1/ocr')).statusCode, 400);
});

await t.test('OpenAPI documents the documents under their media types', async (t) => {
  const doc = (await get('/openapi.json')).json() as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, unknown> }> } }> };
  t.same(Object.keys(doc.paths['/v1/ocr/alto']!.get.responses['200']!.content), ['application/xml']);
  t.same(Object.keys(doc.paths['/v1/ocr/hocr']!.get.responses['200']!.content), ['text/vnd.hocr+html']);
  t.same(Object.keys(doc.paths['/v1/ocr']!.get.responses['200']!.content), ['application/json']);
});
