import t from 'tap';
import { openRegistry } from '@loupe/inference';
import type { CanvasTask, HandlerDeclaration, ResultSet } from '@loupe/contracts';
import { COMPOSED_CAPTION_MODEL, createCaptionService } from './caption.service.js';

const registry = openRegistry({ modelsDir: t.testdir() });
const service = createCaptionService({ models: registry, now: () => new Date('2026-12-01T10:00:00.000Z') });
/** The handlers as the runtime binds them: these do not use the context (no fetch, no model). */
const call = (name: string, input: unknown) => (service.handlers.find((h) => h.name === name) as HandlerDeclaration).handler(input as never, {} as never);

const task: CanvasTask = {
  jobId: 'job-1',
  manifestId: 'https://iiif.example.org/horses/manifest',
  canvasId: 'https://iiif.example.org/horses/canvas/1',
  canvasIndex: 0,
  canvasLabel: 'Plate XIV',
  canvasWidth: 1200,
  canvasHeight: 900,
  imageIndex: 0,
  image: { id: 'https://images.example.org/horses/1.jpg', width: 1200, height: 900 },
  languages: ['fra'],
};
const objects: ResultSet = {
  manifestId: task.manifestId,
  canvasId: task.canvasId,
  imageIndex: 0,
  stage: 'detect.objects',
  model: { id: 'centernet-coco', version: '1', runtime: 'onnxruntime' },
  generated: '2026-12-01T09:59:00.000Z',
  findings: [{ motivation: 'tagging', label: 'horse', concept: 'http://www.wikidata.org/entity/Q726', confidence: 0.9, box: { x: 10, y: 20, w: 300, h: 200 } }],
};

t.test('the stage: one describing finding in the manifest’s language, with its sources', async (t) => {
  const out = (await call('canvas', { task, results: { detect: { resultSets: [objects] } }, options: {} })) as Record<string, any>;
  t.same(out.resultSet.model, COMPOSED_CAPTION_MODEL);
  t.equal(out.resultSet.stage, 'caption');
  t.equal(out.resultSet.generated, '2026-12-01T10:00:00.000Z');
  t.same(out.resultSet.findings, [{ motivation: 'describing', text: 'Un cheval.', language: 'fr', confidence: 0.9 }]);
  t.same(out.caption.derivedFrom, [{ stage: 'detect.objects', model: 'centernet-coco', finding: 0 }]);
  const english = (await call('canvas', { task, results: { detect: { resultSets: [objects] } }, options: { language: 'en' } })) as Record<string, any>;
  t.equal(english.resultSet.findings[0].text, 'A horse.', 'the job’s language over the manifest’s');
});

t.test('the stage on a canvas where nothing was found: no caption, and an empty result set replaces an old one', async (t) => {
  const out = (await call('canvas', { task, results: { detect: { resultSets: [{ ...objects, findings: [] }] } }, options: {} })) as Record<string, any>;
  t.same(out.resultSet.findings, []);
  t.notOk('caption' in out);
});

t.test('the stage refuses a malformed earlier result and a language it has no templates for', async (t) => {
  await t.rejects(call('canvas', { task, results: { detect: { resultSets: [{ stage: 'detect.objects' }] } }, options: {} }), { code: 'LOUPE_ERR_VALIDATION' });
  await t.rejects(call('canvas', { task, results: {}, options: { language: 'de' } }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('POST /v1/caption: a model captioner until pulled; the composed one points at /v1/caption/compose', async (t) => {
  await t.rejects(call('image', { model: 'vit-gpt2-captioning', image: task.image }), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' });
  await t.rejects(call('image', { model: COMPOSED_CAPTION_MODEL.id, image: task.image }), { code: 'LOUPE_ERR_VALIDATION', message: /\/v1\/caption\/compose/ });
  const composed = (await call('compose', { resultSets: [objects], language: 'en' })) as Record<string, any>;
  t.equal(composed.caption.text, 'A horse.');
  t.same(await call('compose', { resultSets: [] }), { model: COMPOSED_CAPTION_MODEL, caption: null });
});

t.test('the stage’s model options are checked as the job schema checks them', async (t) => {
  const stage = (options: Record<string, unknown>) => call('canvas', { task, results: {}, options });
  await t.rejects(stage({ model: 'vit-gpt2-captioning' }), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /loupe models pull vit-gpt2-captioning/ });
  await t.rejects(stage({ model: 'vit-gpt2-captioning', beams: 9 }), { code: 'LOUPE_ERR_VALIDATION', message: /beams must be an integer from 1 to 8/ });
  await t.rejects(stage({ model: '' }), { code: 'LOUPE_ERR_VALIDATION', message: /options.model/ });
  await t.rejects(stage({ beams: 2 }), { code: 'LOUPE_ERR_VALIDATION', message: /go with options.model/ });
});
