import type { Annotation } from '@loupe/contracts';
import t from 'tap';
import { annotationsToImages, fromAnnotationPage, imageToAnnotations, labelOfAnnotation, toAnnotationPage } from './annotation-page.js';
import type { LabelledImage } from './model.js';

const BASE = 'https://loupe.example/v1/annotations/';
const C1 = 'https://iiif.example/canvas/1';
const C2 = 'https://iiif.example/canvas/2';

const IMAGES: LabelledImage[] = [
  {
    id: C1,
    labels: [
      { concept: 'http://data.europeana.eu/concept/3', label: 'Portrait' }, // whole image, both
      { concept: 'http://www.wikidata.org/entity/Q146' }, // whole image, concept only
      { label: 'cat', box: { x: 10, y: 20, w: 30, h: 40 }, score: 0.91 },
      { concept: 'http://www.wikidata.org/entity/Q5', label: 'person', box: { x: 0, y: 0, w: 5, h: 5 }, difficult: true },
      { text: 'Anno Domini 1623', box: { x: 100, y: 5, w: 300, h: 22 } },
      { text: 'Anno Domini 1623', box: { x: 100, y: 5, w: 300, h: 22 } }, // the same line twice
    ],
  },
  { id: C2, labels: [{ label: 'boat', box: { x: 1, y: 2, w: 3, h: 4 } }] },
];

const withoutIds = (images: readonly LabelledImage[]) => images.map((im) => ({ ...im, labels: im.labels.map(({ annotationId: _, ...l }) => l) }));

t.test('LabelledImage[] -> AnnotationPage -> JSON -> LabelledImage[] keeps every label', async (t) => {
  const page = toAnnotationPage(IMAGES, { id: 'https://loupe.example/pages/1', idBase: BASE, source: 'import:test' });
  t.equal(page.items.length, 7);
  const { images, problems } = fromAnnotationPage(JSON.parse(JSON.stringify(page)));
  t.same(problems, []);
  t.strictSame(withoutIds(images), IMAGES);
  t.same(images.flatMap((im) => im.labels.map((l) => l.annotationId)), page.items.map((a) => a.id), 'each label knows its annotation');
  // Read back labels carry their ids, so a second export is the same page.
  t.strictSame(toAnnotationPage(images, { id: 'https://loupe.example/pages/1', idBase: BASE, source: 'import:test' }), page, 'page -> images -> page is the identity');
});

t.test('imageToAnnotations follows the stored conventions', async (t) => {
  const [portrait, q146, cat, person, line, again] = imageToAnnotations(IMAGES[0]!, { idBase: BASE, source: 'import:test', created: '2025-01-02T03:04:05Z' });
  t.has(portrait, {
    type: 'Annotation',
    motivation: 'classifying',
    body: [
      { type: 'TextualBody', value: 'Portrait', purpose: 'classifying' },
      { type: 'SpecificResource', source: 'http://data.europeana.eu/concept/3', purpose: 'classifying' },
    ],
    target: C1,
    created: '2025-01-02T03:04:05Z',
  });
  t.same(Object.keys(portrait!), ['id', 'type', 'motivation', 'body', 'target', 'created'], 'no confidence or review fields made up');
  t.same(q146!.body, { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q146', purpose: 'classifying' }, 'one body is not wrapped in an array');
  t.has(cat, {
    motivation: 'tagging',
    body: { type: 'TextualBody', value: 'cat', purpose: 'tagging' },
    target: { type: 'SpecificResource', source: C1, selector: { type: 'FragmentSelector', conformsTo: 'http://www.w3.org/TR/media-frags/', value: 'xywh=10,20,30,40' } },
    'loupe:confidence': 0.91,
  });
  t.same((person as Record<string, unknown>)['loupe:difficult'], true);
  t.same(person!.body, [
    { type: 'TextualBody', value: 'person', purpose: 'tagging' },
    { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q5', purpose: 'identifying' },
  ]);
  t.same([line!.motivation, line!.body], ['supplementing', { type: 'TextualBody', value: 'Anno Domini 1623', format: 'text/plain' }]);
  for (const a of [portrait, q146, cat, person, line, again]) t.match(a!.id, /^https:\/\/loupe\.example\/v1\/annotations\/[A-Za-z0-9_-]{22}$/);
  t.not(line!.id, again!.id, 'identical labels get their own ids');
  const ids = (source: string) => imageToAnnotations(IMAGES[0]!, { idBase: BASE, source }).map((a) => a.id);
  t.same(ids('import:test'), ids('import:test'), 'ids are deterministic');
  t.same(ids('import:test'), [portrait, q146, cat, person, line, again].map((a) => a!.id), 'created is not part of the id');
  t.not(ids('import:test')[0], ids('import:other')[0], 'the source is part of the id');
  t.same(imageToAnnotations({ id: C1, labels: [{ score: 0.5 }] }, { idBase: BASE, source: 's' }), [], 'a label saying nothing is left out');
});

t.test('labelOfAnnotation reads annotations as the ground-truth service writes them', async (t) => {
  // The shape of services/ground-truth's toAnnotations for a detection with label and concept.
  const stored: Annotation = {
    id: `${BASE}abc`,
    type: 'Annotation',
    motivation: 'tagging',
    body: [
      { type: 'TextualBody', value: 'person', language: 'en', purpose: 'tagging' },
      { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q5', purpose: 'identifying' },
    ],
    target: { type: 'SpecificResource', source: C1, selector: { type: 'FragmentSelector', conformsTo: 'http://www.w3.org/TR/media-frags/', value: 'xywh=1,2,3,4' } },
    generator: { id: 'https://loupe.example/v1/models/yolo/1', type: 'Software', name: 'yolo 1 (onnx)', 'loupe:model': 'yolo', 'loupe:version': '1' },
    'loupe:confidence': 0.8,
    'loupe:reviewState': 'accepted',
  };
  t.same(labelOfAnnotation(stored), {
    canvasId: C1,
    label: { concept: 'http://www.wikidata.org/entity/Q5', label: 'person', box: { x: 1, y: 2, w: 3, h: 4 }, score: 0.8, annotationId: `${BASE}abc` },
  });
  const ocr: Annotation = { id: 'o', type: 'Annotation', motivation: 'supplementing', body: { type: 'TextualBody', value: 'Hic', format: 'text/plain', language: 'la' }, target: `${C1}#xywh=5,6,7,8` };
  t.same(labelOfAnnotation(ocr), { canvasId: C1, label: { box: { x: 5, y: 6, w: 7, h: 8 }, text: 'Hic', annotationId: 'o' } }, 'a canvas#xywh= target');
  const caption: Annotation = { id: 'd', type: 'Annotation', motivation: 'describing', body: { type: 'TextualBody', value: 'A man', purpose: 'describing' }, target: C1 };
  t.equal(labelOfAnnotation(caption), undefined, 'a caption is not a label');
  const comment: Annotation = { id: 'c', type: 'Annotation', motivation: 'commenting', body: { type: 'TextualBody', value: 'nice' }, target: C1 };
  t.equal(labelOfAnnotation(comment), undefined, 'a comment is not a label');
});

t.test('labelOfAnnotation accepts the other shapes of targets and bodies', async (t) => {
  const of = (target: unknown, body: unknown = { type: 'TextualBody', value: 'x', purpose: 'tagging' }, motivation = 'tagging') =>
    labelOfAnnotation({ id: 'i', type: 'Annotation', motivation, body, target } as Annotation);
  t.same(of(`${C1}#xywh=pixel:1,2,3,4`)?.label.box, { x: 1, y: 2, w: 3, h: 4 }, 'pixel: unit');
  t.same(of(`${C1}#t=10`), { canvasId: C1, label: { label: 'x', annotationId: 'i' } }, 'a fragment without xywh targets the whole canvas');
  t.equal(of(`${C1}#xywh=percent:1,2,3,4`), undefined, 'percent boxes need the size: not read');
  t.equal(of(`${C1}#xywh=1,2,3`), undefined, 'three numbers');
  t.equal(of({ type: 'SpecificResource', source: C1, selector: { type: 'SvgSelector', value: '<svg/>' } }), undefined, 'an SVG region');
  t.same(
    of({ type: 'SpecificResource', source: { id: C2, type: 'Canvas', partOf: [{ id: 'https://iiif.example/m.json', type: 'Manifest' }] }, selector: [{ type: 'FragmentSelector', value: 'xywh=1,1,2,2' }] }),
    { canvasId: C2, manifest: 'https://iiif.example/m.json', label: { label: 'x', box: { x: 1, y: 1, w: 2, h: 2 }, annotationId: 'i' } },
    'a IIIF canvas object with partOf, a selector list',
  );
  t.same(of({ id: C2, type: 'Canvas' })?.canvasId, C2, 'a canvas object');
  t.same(of(C1, { type: 'TextualBody', value: 'tag' })?.label.label, 'tag', 'a purpose-less TextualBody on a tagging annotation is a label');
  t.same(of(C1, { type: 'SpecificResource', source: { id: 'http://x/c' } })?.label.concept, 'http://x/c', 'a concept as an object');
  t.same(of(C1, [{ type: 'TextualBody', value: 'line', purpose: 'transcribing' }], 'commenting')?.label.text, 'line', 'a transcribing purpose');
});

t.test('annotationsToImages groups by canvas and adds the canvases it is given', async (t) => {
  const page = toAnnotationPage(IMAGES, { id: 'p', idBase: BASE, source: 's' });
  const reversed = [...page.items].reverse();
  const images = annotationsToImages(reversed, new Map([
    [C1, { manifest: 'https://iiif.example/m.json', url: 'https://iiif.example/1.jpg', width: 640, height: 480 }],
    ['https://iiif.example/canvas/empty', { width: 10, height: 10 }],
  ]));
  t.same(images.map((im) => [im.id, im.labels.length]), [[C2, 1], [C1, 6], ['https://iiif.example/canvas/empty', 0]], 'first appearance, then the unannotated canvases');
  t.same(images[1]!.labels.map((l) => l.label ?? l.text ?? l.concept), ['Anno Domini 1623', 'Anno Domini 1623', 'person', 'cat', 'http://www.wikidata.org/entity/Q146', 'Portrait'], 'annotation order within a canvas');
  t.same([images[1]!.manifest, images[1]!.url, images[1]!.width, images[1]!.height], ['https://iiif.example/m.json', 'https://iiif.example/1.jpg', 640, 480]);
});

t.test('fromAnnotationPage validates the page and reports odd items', async (t) => {
  const refused = (doc: unknown, message: RegExp, what: string) => t.throws(() => fromAnnotationPage(doc), { code: 'LOUPE_ERR_VALIDATION', message }, what);
  refused('page', /not a JSON object/, 'a string');
  refused({ type: 'AnnotationCollection', items: [] }, /type is "AnnotationCollection"/, 'another type');
  refused({ type: 'AnnotationPage' }, /items is not an array/, 'no items');
  const good = { id: 'g', type: 'Annotation', motivation: 'tagging', body: { type: 'TextualBody', value: 'cat', purpose: 'tagging' }, target: `${C1}#xywh=1,2,3,4` };
  const { images, problems } = fromAnnotationPage({
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://example.org/page/1',
    type: 'AnnotationPage',
    items: [
      good,
      'not an annotation',
      { ...good, id: 'n', target: undefined },
      { ...good, id: 's', target: { type: 'SpecificResource', source: C1, selector: { type: 'SvgSelector', value: '<svg/>' } } },
      { ...good, id: 'b', body: { type: 'TextualBody', value: 'hm', purpose: 'commenting' } },
      { ...good, id: undefined },
    ],
  });
  t.same(images, [{ id: C1, labels: [{ label: 'cat', box: { x: 1, y: 2, w: 3, h: 4 }, annotationId: 'g' }] }]);
  t.same(problems, [
    { index: 1, message: 'items[1]: is not an Annotation' },
    { index: 2, id: 'n', message: 'items[2]: has no target' },
    { index: 3, id: 's', message: 'items[3]: has no target canvas this can read (a canvas id, or a FragmentSelector xywh in pixels)' },
    { index: 4, id: 'b', message: 'items[4]: has no concept, label or text body' },
    { index: 5, message: 'items[5]: has no id' },
  ]);
});
