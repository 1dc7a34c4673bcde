import t from 'tap';
import type { Finding, ResultSet } from '@loupe/contracts';
import { captionLanguage, composeCaption, snippet } from './caption.composer.js';

const CANVAS = 'https://iiif.example.org/horses/canvas/1';
const set = (stage: string, model: ResultSet['model'], findings: Finding[]): ResultSet => ({
  manifestId: 'https://iiif.example.org/horses/manifest',
  canvasId: CANVAS,
  imageIndex: 0,
  stage,
  model,
  generated: '2026-12-01T10:00:00.000Z',
  findings,
});
const box = (x: number) => ({ x, y: 100, w: 80, h: 200 });
// Shaped as detect and classify emit them (detect.service.ts, classify.service.ts).
const tag = (label: string, wikidata: string | undefined, confidence: number, x: number): Finding => ({
  motivation: 'tagging',
  label,
  ...(wikidata && { concept: `http://www.wikidata.org/entity/${wikidata}` }),
  confidence,
  box: box(x),
});
const objects = set('detect.objects', { id: 'centernet-coco', version: '1', name: 'CenterNet COCO', runtime: 'onnxruntime' }, [
  tag('horse', 'Q726', 0.91, 400),
  tag('person', 'Q5', 0.88, 10),
  tag('person', 'Q5', 0.62, 200),
]);
const faces = set('detect.faces', { id: 'blazeface-back', version: '1', runtime: 'onnxruntime' }, [tag('face', undefined, 0.8, 30)]);
const line = (text: string, confidence: number, granularity: 'line' | 'word' = 'line'): Finding => ({ motivation: 'supplementing', text, granularity, confidence, box: box(0), language: 'en' });
const text = set('detect.text', { id: 'ppocr-v4', version: '4.0' }, [
  line('Rider and groom at the Epsom Derby, photographed for the Illustrated London News', 0.95),
  line('Rider', 0.95, 'word'),
  line('Plate XIV', 0.9),
]);
const classified = set('classify', { id: 'technique', version: '3', name: 'technique', embedding: { id: 'mobilenet-v2-features', version: '1' } }, [
  { motivation: 'classifying', concept: 'https://vocab.example.org/photograph', label: 'photograph', confidence: 0.83, margin: 0.3, entropy: 0.4 },
  { motivation: 'classifying', concept: 'https://vocab.example.org/drawing', label: 'drawing', confidence: 0.12, margin: 0.3, entropy: 0.4 },
]);

t.test('a caption from detect and classify result sets, every phrase naming the findings it says', async (t) => {
  const composed = await composeCaption([objects, faces, text, classified], 'en');
  t.ok(composed);
  const { caption, confidence } = composed!;
  t.equal(caption.text, 'Photograph: two people and a horse. A face is visible. Text: “Rider and groom at the Epsom Derby…”; “Plate XIV”.');
  t.equal(caption.language, 'en');
  t.same(
    caption.phrases.map((p) => [p.text, p.from.map((s) => `${s.stage}#${s.finding}`)]),
    [
      ['Photograph', ['classify#0']],
      ['two people', ['detect.objects#1', 'detect.objects#2']],
      ['a horse', ['detect.objects#0']],
      ['A face', ['detect.faces#0']],
      ['“Rider and groom at the Epsom Derby…”', ['detect.text#0']],
      ['“Plate XIV”', ['detect.text#2']],
    ],
    'words are left out (their line says them) and the less likely concept is not named',
  );
  // Each source resolves to a finding of its result set that says what the phrase says.
  const sets = new Map([objects, faces, text, classified].map((s) => [s.stage, s]));
  for (const p of caption.phrases) {
    for (const s of p.from) {
      const finding = sets.get(s.stage)?.findings[s.finding];
      t.equal(sets.get(s.stage)?.model.id, s.model);
      const said = finding?.label ?? finding?.text ?? '';
      t.ok(p.text.toLowerCase().includes(said.slice(0, 20).toLowerCase()) || (said === 'person' && p.text.includes('people')), `${p.text} <- ${said}`);
    }
  }
  t.equal(caption.derivedFrom.length, 7, 'each finding once');
  t.equal(confidence, 0.62, 'as sure as its least sure finding');
});

t.test('French, with the vocabulary’s French label for the concept', async (t) => {
  const labels: Record<string, string> = { 'https://vocab.example.org/photograph': 'photographie' };
  const composed = await composeCaption([objects, classified], 'fr', async (uri, language) => (language === 'fr' ? labels[uri] : undefined));
  t.equal(composed?.caption.text, 'Photographie\u00a0: deux personnes et un cheval.');
  const fallback = await composeCaption([classified], 'fr', async () => undefined);
  t.equal(fallback?.caption.text, 'Photograph.', 'without a French label, the classifier’s own');
});

t.test('nothing found: no caption at all', async (t) => {
  t.equal(await composeCaption([set('detect.objects', objects.model, []), set('detect.text', text.model, [])], 'en'), undefined);
  t.equal(await composeCaption([], 'fr'), undefined);
});

t.test('at most five kinds of object, the most numerous first; at most three lines', async (t) => {
  const many = ['cat', 'dog', 'dog', 'bird', 'cow', 'cow', 'cow', 'sheep', 'zebra'].map((l, i) => tag(l, undefined, 0.5 + i / 100, i * 10));
  const lines = ['one', 'two', 'three', 'four'].map((s) => line(s, 0.9));
  const composed = await composeCaption([set('detect.objects', objects.model, many), set('detect.text', text.model, lines)], 'en');
  t.equal(composed?.caption.text, 'Three cows, two dogs, a zebra, a sheep and a bird. Text: “one”; “two”; “three”.');
});

t.test('snippets are cut at a word near the limit', async (t) => {
  t.equal(snippet('  Plate   XIV  '), 'Plate XIV');
  t.equal(snippet('Catalogue of Manuscripts, Shelf 14, Item 203.', 30), 'Catalogue of Manuscripts…');
  t.equal(snippet('Donaudampfschifffahrtsgesellschaftskapitän', 10), 'Donaudampf…', 'a word longer than the limit is cut inside');
});

t.test('the language: asked for, else the manifest’s, else English', async (t) => {
  t.equal(captionLanguage('fr'), 'fr');
  t.equal(captionLanguage('fr-CA'), 'fr');
  t.equal(captionLanguage(undefined, ['lat', 'fra']), 'fr', 'the first of the manifest’s languages that has templates');
  t.equal(captionLanguage(undefined, ['deu']), 'en');
  t.equal(captionLanguage(undefined), 'en');
  t.throws(() => captionLanguage('de'), { code: 'LOUPE_ERR_VALIDATION' }, 'a language asked for and not had is refused, not swapped');
});
