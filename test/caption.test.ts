// The composed caption as a pipeline stage: detect's and classify's result sets (shaped as those
// stages emit them) go through the caption stage's work queue on the bus, then the store stage, in
// two processes' worth of services (caption; ground-truth with its real SQLite store). The French
// label of the concept comes from a vocabulary imported into the store, asked for over the bus.
import t from 'tap';
import { SERVICE_APIS, SUBJECTS, type Annotation, type AnnotationPage, type CanvasTask, type JobEvent, type ResultSet, type StageEnvelope } from '@loupe/contracts';
import { createClient, createMemoryBus, decode, encode } from '@loupe/bus';
import { openRegistry } from '@loupe/inference';
import { createServiceApp } from '@loupe/runtime';
import { openSqliteAnnotationStore } from '@loupe/store';
import { createGroundTruthService } from '../services/ground-truth/src/index.js';
import { conceptLabelsOver, createCaptionService } from '../services/caption/src/index.js';

const PUBLIC = 'http://loupe.test';
const bus = createMemoryBus();
const annotationStore = openSqliteAnnotationStore({ path: ':memory:' });
const groundTruth = await createServiceApp([createGroundTruthService({ store: annotationStore, publicUrl: PUBLIC })], { bus, logger: false });
const caption = await createServiceApp(
  [createCaptionService({ models: openRegistry({ modelsDir: t.testdir() }), conceptLabel: conceptLabelsOver(createClient(bus)) })],
  { bus, logger: false },
);
t.teardown(async () => {
  await caption.close();
  await groundTruth.close();
  await annotationStore.close();
  await bus.close();
});
await groundTruth.start();
await caption.start();

// Nobody else runs the gateway here: the test listens for the task's end (or a stage's failure) itself.
const ended = new Map<string, (failure?: string) => void>();
await bus.consume(SUBJECTS.jobEvents, { durable: 'caption-test' }, async (msg) => {
  const event = decode<JobEvent>(msg.data);
  if (event.type === 'task-done') ended.get(event.key)?.();
  if (event.type === 'stage-failed') ended.get(event.key)?.(`${event.stage} failed: ${event.code} ${event.message}`);
  msg.ack();
});

const SKOS = 'http://www.w3.org/2004/02/skos/core#';
const PHOTO = 'https://vocab.example.org/technique/photograph';
const vocabulary = [
  { '@id': 'https://vocab.example.org/technique', '@type': [`${SKOS}ConceptScheme`] },
  { '@id': PHOTO, '@type': [`${SKOS}Concept`], [`${SKOS}prefLabel`]: [{ '@value': 'photograph', '@language': 'en' }, { '@value': 'photographie', '@language': 'fr' }] },
];
const imported = await groundTruth.inject({ method: 'POST', url: '/v1/vocabularies', payload: { format: 'skos-jsonld', content: JSON.stringify(vocabulary), id: 'techniques' } });
t.equal(imported.statusCode, 200, imported.body);

const MANIFEST = 'https://iiif.example.org/derby/manifest';
const task = (n: number, jobId = 'job-1'): CanvasTask => ({
  jobId,
  manifestId: MANIFEST,
  canvasId: `https://iiif.example.org/derby/canvas/${n}`,
  canvasIndex: n,
  canvasLabel: `Plate ${n}`,
  canvasWidth: 1200,
  canvasHeight: 900,
  imageIndex: 0,
  image: { id: `https://images.example.org/derby/${n}.jpg`, width: 1200, height: 900 },
  languages: ['fra'],
});
const set = (n: number, stage: string, model: ResultSet['model'], findings: ResultSet['findings']): ResultSet => ({
  manifestId: MANIFEST,
  canvasId: task(n).canvasId,
  imageIndex: 0,
  stage,
  model,
  generated: '2026-12-01T10:00:00.000Z',
  findings,
});
const person = (x: number, confidence: number) => ({ motivation: 'tagging', label: 'person', concept: 'http://www.wikidata.org/entity/Q5', confidence, box: { x, y: 100, w: 120, h: 400 } });

/** What detect (objects, faces, text) and classify hand on for canvas n. */
function earlier(n: number, found: boolean): StageEnvelope['results'] {
  const model = { id: 'centernet-coco', version: '1', name: 'CenterNet COCO', runtime: 'onnxruntime' };
  return {
    detect: {
      resultSets: [
        set(n, 'detect.objects', model, found ? [person(100, 0.9), person(400, 0.7), { motivation: 'tagging', label: 'horse', concept: 'http://www.wikidata.org/entity/Q726', confidence: 0.95, box: { x: 600, y: 200, w: 500, h: 500 } }] : []),
        set(n, 'detect.faces', { id: 'blazeface-back', version: '1', runtime: 'onnxruntime' }, found ? [{ motivation: 'tagging', label: 'face', confidence: 0.8, box: { x: 130, y: 110, w: 40, h: 40 } }] : []),
        set(n, 'detect.text', { id: 'ppocr-v4', version: '4.0' }, found ? [{ motivation: 'supplementing', text: 'Le Derby d’Epsom, 1821', granularity: 'line', confidence: 0.93, box: { x: 100, y: 820, w: 600, h: 40 } }] : []),
      ],
    },
    ...(found && {
      classify: {
        resultSet: set(n, 'classify', { id: 'technique', version: '1', name: 'technique', embedding: { id: 'mobilenet-v2-features', version: '1' } }, [
          { motivation: 'classifying', concept: PHOTO, label: 'photograph', confidence: 0.8, margin: 0.2, entropy: 0.3 },
        ]),
      },
    }),
  };
}

/** Sends canvas n through caption then store, as a job's routing slip does, and waits for its end. */
async function run(n: number, found: boolean, jobId = 'job-1'): Promise<void> {
  const key = `${task(n).canvasId}#0`;
  const finished = new Promise<string | undefined>((resolve) => ended.set(key, resolve));
  const route = [
    { stage: 'caption', subject: SERVICE_APIS.caption.canvas.subject },
    { stage: 'store', subject: SERVICE_APIS['ground-truth'].store.subject },
  ];
  const envelope = { jobId, key, task: task(n, jobId), route, results: earlier(n, found) };
  await bus.publish(route[0]!.subject, encode(envelope), { msgId: `${jobId}/${key}/caption` });
  const failure = await finished;
  if (failure) throw new Error(failure);
}

const annotations = async (query: Record<string, string>): Promise<Annotation[]> => {
  const res = await groundTruth.inject({ method: 'GET', url: `/v1/annotations?${new URLSearchParams(query)}` });
  if (res.statusCode !== 200) throw new Error(`GET /v1/annotations: ${res.statusCode} ${res.body}`);
  return (res.json() as AnnotationPage).items;
};

await t.test('one describing annotation in the manifest’s language, composed from the stored annotations', async (t) => {
  await run(1, true);
  const [described, ...more] = await annotations({ canvas: task(1).canvasId, motivation: 'describing' });
  t.equal(more.length, 0, 'one caption per canvas image');
  t.match(described, {
    motivation: 'describing',
    target: task(1).canvasId,
    body: { type: 'TextualBody', value: 'Photographie\u00a0: deux personnes et un cheval. Un visage est visible. Texte\u00a0: «\u00a0Le Derby d’Epsom, 1821\u00a0».', format: 'text/plain', language: 'fr' },
    generator: { id: `${PUBLIC}/v1/models/loupe-composed-caption/1.0.0`, 'loupe:model': 'loupe-composed-caption', 'loupe:version': '1.0.0', name: /composed from annotations/ },
    'loupe:confidence': 0.7,
  });
  // The annotations the caption was made from are in the store beside it: two people and a horse, a face, a line, a concept.
  const sources = await annotations({ canvas: task(1).canvasId });
  t.same(sources.map((a) => a.motivation).sort(), ['classifying', 'describing', 'supplementing', 'tagging', 'tagging', 'tagging', 'tagging']);
});

await t.test('the caption links the annotations it was made from', async (t) => {
  const [described] = await annotations({ canvas: task(1).canvasId, motivation: 'describing' });
  const ids = (described as Record<string, unknown>)['loupe:derivedFrom'] as string[] | undefined;
  const others = (await annotations({ canvas: task(1).canvasId })).filter((a) => a.motivation !== 'describing').map((a) => a.id);
  t.same([...(ids ?? [])].sort(), others.sort(), 'each source is the id of a stored annotation, and every one is named');
});

await t.test('a canvas where nothing was found gets no caption, and loses the one an earlier run made', async (t) => {
  await run(2, true);
  t.equal((await annotations({ canvas: task(2).canvasId, motivation: 'describing' })).length, 1);
  await run(2, false, 'job-2');
  t.same(await annotations({ canvas: task(2).canvasId, motivation: 'describing' }), []);
});
