// The ground-truth service's handlers called as the runtime calls them (a plain input, an unused
// context) over a real in-memory SQLite store: the parts that read many annotations at once (the
// dataset view, datasets built from a filter, the review queue, evaluation). The HTTP API end to
// end is test/ground-truth-curation.test.ts.
import t, { type Test } from 'tap';
import type { Annotation, EvaluationReport, Finding, Principal, StageInput } from '@loupe/contracts';
import { openSqliteAnnotationStore, type AnnotationStore } from '@loupe/store';
import { createGroundTruthService } from './ground-truth.service.js';

const PUBLIC = 'http://loupe.test';
const M1 = 'https://iiif.example.org/m1/manifest';
const M2 = 'https://iiif.example.org/m2/manifest';
const canvas = (m: string, n: number): string => `${m.replace('/manifest', '')}/canvas/${n}`;
const CONCEPT = (name: string): string => `https://vocab.example.org/concept/${name}`;
const PAINTING = CONCEPT('painting');
const MAP = CONCEPT('map');
const PHOTOGRAPH = CONCEPT('photograph');

function setup(t: Test) {
  const store = openSqliteAnnotationStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const service = createGroundTruthService({ store, publicUrl: PUBLIC });
  const call = async <T = Record<string, unknown>>(name: string, input: unknown, principal?: Principal): Promise<T> => {
    const handler = service.handlers.find((h) => h.name === name);
    if (!handler) throw new Error(`no handler named ${name}`);
    return (await handler.handler(input as never, (principal ? { principal } : {}) as never)) as T;
  };
  /** What the pipeline sends the ground-truth stage: one model's findings on one canvas. */
  const results = (manifest: string, n: number, model: string, stage: string, findings: Finding[]): Promise<unknown> => {
    const canvasId = canvas(manifest, n);
    const input: StageInput = {
      task: {
        jobId: 'job-1',
        manifestId: manifest,
        canvasId,
        canvasIndex: n - 1,
        canvasLabel: `p. ${n}`,
        canvasWidth: 1000,
        canvasHeight: 800,
        imageIndex: 0,
        image: { id: `https://images.example.org/${n}.jpg` },
      },
      results: {
        [stage]: { resultSet: { manifestId: manifest, canvasId, imageIndex: 0, stage, model: { id: model, version: '1' }, generated: '2026-01-01T00:00:00Z', findings } },
      },
      options: {},
    } as StageInput;
    return call('store', input);
  };
  return { store, call, results };
}

const classified = (concept: string, label: string, confidence: number, margin?: number): Finding => ({
  motivation: 'classifying',
  concept,
  label,
  confidence,
  ...(margin !== undefined && { margin }),
});

/** Ground truth as an import writes it: accepted at revision 0, members of the dataset. */
async function importTruth(store: AnnotationStore, dataset: string, items: { canvas: string; concept?: string; label?: string; text?: string }[]): Promise<void> {
  await store.createDataset({ name: dataset });
  const annotations = items.map((item, i): { manifestId: string; canvasId: string; annotation: Annotation } => {
    const bodies: Exclude<Annotation['body'], unknown[]>[] = [];
    if (item.text !== undefined) bodies.push({ type: 'TextualBody', value: item.text, format: 'text/plain' });
    if (item.label !== undefined) bodies.push({ type: 'TextualBody', value: item.label, purpose: 'classifying' });
    if (item.concept !== undefined) bodies.push({ type: 'SpecificResource', source: item.concept, purpose: 'classifying' });
    return {
      manifestId: M1,
      canvasId: item.canvas,
      annotation: {
        id: `${PUBLIC}/v1/annotations/${dataset}-${i}`,
        type: 'Annotation',
        motivation: item.text !== undefined ? 'supplementing' : 'classifying',
        body: bodies.length === 1 ? bodies[0]! : bodies,
        target: item.canvas,
      },
    };
  });
  await store.putGroundTruth(annotations, { source: `import:${dataset}`, reviewer: 'importer' });
  await store.addDatasetMembers(
    dataset,
    annotations.map((a) => a.annotation.id),
  );
}

t.test('the dataset view counts every annotation and each concept, past one page of the store', async (t) => {
  const { store, call, results } = setup(t);
  // More than the 5000 a page holds, so that counting goes on to a second page.
  const many = Array.from({ length: 5003 }, (_, i) => ({ canvas: canvas(M2, i), ...(i % 2 === 0 ? { concept: PAINTING, label: 'painting' } : { concept: MAP, label: 'map' }) }));
  await importTruth(store, 'big', [...many, { canvas: canvas(M2, 0), label: 'untagged' }, { canvas: canvas(M2, 1), text: 'a caption, not a class' }]);
  // The model's output on a source manifest belongs to the dataset too.
  await store.addDatasetSources('big', [M1]);
  await results(M1, 1, 'cls', 'classify', [classified(PHOTOGRAPH, 'photograph', 0.9)]);

  const view = await call<{ name: string; annotations: number; members: number; concepts: { concept: string; label?: string; count: number }[] }>('dataset.get', { name: 'big' });
  t.equal(view.name, 'big');
  t.equal(view.members, 5005);
  t.equal(view.annotations, 5006, 'members and the source manifest, text included');
  t.same(view.concepts, [
    { concept: MAP, label: 'map', count: 2501 },
    { concept: PAINTING, label: 'painting', count: 2502 },
    { concept: PHOTOGRAPH, label: 'photograph', count: 1 },
    { concept: 'untagged', label: 'untagged', count: 1 },
  ], 'by concept URI, or by label where there is none; a transcription is no class');
  await t.rejects(call('dataset.get', { name: 'missing' }), { code: 'LOUPE_ERR_NOT_FOUND', message: /No dataset named "missing"/ });
});

t.test('a dataset created from a filter gets every matching annotation as a member', async (t) => {
  const { call, results } = setup(t);
  for (const [n, confidence] of [[1, 0.9], [2, 0.4], [3, 0.7]] as const) await results(M1, n, 'cls', 'classify', [classified(MAP, 'map', confidence)]);
  await results(M1, 4, 'other', 'classify', [classified(MAP, 'map', 0.99)]);
  const created = await call<{ name: string; members: number; sources: string[] }>('dataset.create', { name: 'sure-maps', filter: { model: 'cls', minConfidence: 0.5 } });
  t.same([created.name, created.members, created.sources], ['sure-maps', 2, []]);
  const view = await call<{ annotations: number }>('dataset.get', { name: 'sure-maps' });
  t.equal(view.annotations, 2);
});

t.test('the review queue: unreviewed canvases of a head, most uncertain first, with what the head said', async (t) => {
  const { call, results } = setup(t);
  // The classify stage stores each canvas's uncertainty as `margin`: 1 - (p1 - p2).
  await results(M1, 1, 'head', 'classify', [classified(PAINTING, 'painting', 0.6, 0.8), classified(MAP, 'map', 0.4, 0.8)]);
  await results(M1, 2, 'head', 'classify', [classified(MAP, 'map', 0.95, 0.1)]);
  await results(M2, 3, 'head', 'classify', [classified(PHOTOGRAPH, 'photograph', 0.5, 0.5)]);
  type Queue = { model: string; items: { canvas: string; manifest: string; uncertainty: number; predictions: { concept: string; label?: string; confidence: number }[] }[] };
  const queue = await call<Queue>('review-queue', { model: 'head', strategy: 'margin', limit: 10 });
  t.same(
    queue.items.map((i) => [i.canvas, i.manifest, i.uncertainty]),
    [
      [canvas(M1, 1), M1, 0.8],
      [canvas(M2, 3), M2, 0.5],
      [canvas(M1, 2), M1, 0.1],
    ],
    'ordered by the stored uncertainty; the manifest from the canvas record',
  );
  t.same(queue.items[0]!.predictions, [
    { concept: PAINTING, label: 'painting', confidence: 0.6 },
    { concept: MAP, label: 'map', confidence: 0.4 },
  ], 'each concept with its label, most confident first');
  t.same((await call<Queue>('review-queue', { model: 'head', strategy: 'margin', limit: 10, manifest: M2 })).items.map((i) => i.canvas), [canvas(M2, 3)]);

  const [first] = (await call<{ items: Annotation[] }>('annotations', { canvas: canvas(M1, 1), limit: 1, offset: 0 })).items;
  await call('annotation.review', { key: first!.id.split('/').pop(), state: 'accepted', reviewer: 'curator' });
  const after = await call<Queue>('review-queue', { model: 'head', strategy: 'margin', limit: 10 });
  t.same(after.items.map((i) => i.canvas), [canvas(M2, 3), canvas(M1, 2)], 'a reviewed canvas leaves the queue');
  await t.rejects(call('review-queue', { model: 'nobody', strategy: 'margin', limit: 10 }), { code: 'LOUPE_ERR_NOT_FOUND' });
});

t.test("evaluation reads the model's original output on the dataset's canvases", async (t) => {
  const { store, call, results } = setup(t);
  await importTruth(store, 'truth', [
    { canvas: canvas(M1, 1), concept: PAINTING, label: 'painting' },
    { canvas: canvas(M1, 2), concept: MAP, label: 'map' },
  ]);
  await results(M1, 1, 'cls', 'classify', [classified(PAINTING, 'painting', 0.9)]);
  await results(M1, 2, 'cls', 'classify', [classified(PAINTING, 'painting', 0.8)]);
  // Outside the dataset: never read as a prediction on its canvases.
  await results(M1, 3, 'cls', 'classify', [classified(MAP, 'map', 0.7)]);
  // A curator corrects the wrong prediction afterwards: it is still judged as the model said it.
  const [wrong] = (await call<{ items: Annotation[] }>('annotations', { canvas: canvas(M1, 2), model: 'cls', limit: 10, offset: 0 })).items;
  await call('annotation.review', { key: wrong!.id.split('/').pop(), state: 'corrected', reviewer: 'curator', correction: { concept: MAP, label: 'map' } });

  const report = await call<EvaluationReport & { labels: { images: number; classes: { concept: string; tp: number; fp: number; fn: number }[] } }>('evaluation', {
    model: 'cls',
    dataset: 'truth',
    iou: 0.5,
    threshold: 0,
  });
  t.equal(report.canvases, 2);
  t.equal(report.labels.images, 2);
  const byConcept = Object.fromEntries(report.labels.classes.map((c) => [c.concept, [c.tp, c.fp, c.fn]]));
  t.same(byConcept, { [MAP]: [0, 0, 1], [PAINTING]: [1, 1, 0] });
  await t.rejects(call('evaluation', { model: 'cls', dataset: 'none', iou: 0.5, threshold: 0 }), { code: 'LOUPE_ERR_NOT_FOUND', message: /No dataset named "none"/ });
  await t.rejects(call('evaluation', { model: 'nobody', dataset: 'truth', iou: 0.5, threshold: 0 }), { code: 'LOUPE_ERR_NOT_FOUND', message: /nobody/ });
});

t.test('a revision records the authenticated principal, not the reviewer the body claims', async (t) => {
  const { call, results } = setup(t);
  await results(M1, 1, 'cls', 'classify', [classified(PAINTING, 'painting', 0.9), classified(MAP, 'map', 0.2)]);
  const [first, second] = (await call<{ items: Annotation[] }>('annotations', { canvas: canvas(M1, 1), limit: 10, offset: 0 })).items;
  const key = (a: Annotation | undefined) => a!.id.split('/').pop();
  const lastReviewer = async (a: Annotation | undefined) => (await call<{ items: { reviewer: string | null }[] }>('annotation.history', { key: key(a) })).items.at(-1)!.reviewer;

  const curator: Principal = { id: '3fa2c1d4e5f6', name: 'Ada', roles: ['curator'], via: 'key' };
  await call('annotation.review', { key: key(first), state: 'accepted', reviewer: 'someone-else' }, curator);
  t.equal(await lastReviewer(first), 'Ada', "an API key's name, whatever the body says");
  const token: Principal = { id: 'u-123', roles: ['curator'], via: 'oidc' };
  await call('annotations.review', { filter: { concept: MAP }, state: 'rejected', reviewer: 'someone-else' }, token);
  t.equal(await lastReviewer(second), 'u-123', "a bulk review records a token's subject when it has no name");

  await call('annotation.review', { key: key(first), state: 'rejected', reviewer: 'Grace' }, { id: 'anonymous', roles: ['admin'], via: 'anonymous' });
  t.equal(await lastReviewer(first), 'Grace', 'without authentication the body names the reviewer');
  await t.rejects(call('annotation.review', { key: key(first), state: 'accepted' }), { code: 'LOUPE_ERR_VALIDATION' }, 'and nobody at all is refused');
});
