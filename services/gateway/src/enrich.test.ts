import t from 'tap';
import type { Annotation } from '@loupe/contracts';
import { enrichManifest } from './enrich.js';

const PUBLIC = 'https://loupe.example';
const canvas = (n: number): string => `https://iiif.example.org/book/canvas/${n}`;
const catalogue = { id: 'https://library.example.org/record/1.xml', type: 'Dataset', format: 'application/marcxml+xml' };
const v3 = {
  '@context': 'http://iiif.io/api/presentation/3/context.json',
  id: 'https://iiif.example.org/book/manifest',
  type: 'Manifest',
  items: [
    { id: canvas(1), type: 'Canvas', seeAlso: [catalogue] },
    { id: canvas(2), type: 'Canvas' },
    { id: canvas(3), type: 'Canvas' },
  ],
};
const line: Annotation = { id: `${PUBLIC}/v1/annotations/a1`, type: 'Annotation', motivation: 'supplementing', body: { type: 'TextualBody', value: 'échappés' }, target: canvas(1) };

t.test('a canvas Loupe read text on links its ALTO and hOCR with their profiles; its own seeAlso stays', async (t) => {
  const enriched = enrichManifest(v3, new Map([[canvas(1), [line]]]), PUBLIC, new Set([canvas(1), canvas(2)]));
  const [first, second, third] = enriched.items as Record<string, unknown>[];
  const q = (n: number): string => `canvas=${encodeURIComponent(canvas(n))}`;
  t.same(first!.seeAlso, [
    catalogue,
    { id: `${PUBLIC}/v1/ocr/alto?${q(1)}`, type: 'Dataset', format: 'application/xml', profile: 'http://www.loc.gov/standards/alto/v4/alto.xsd', label: { en: ['ALTO XML (OCR)'] } },
    { id: `${PUBLIC}/v1/ocr/hocr?${q(1)}`, type: 'Dataset', format: 'text/vnd.hocr+html', profile: 'http://kba.github.io/hocr-spec/1.2/', label: { en: ['hOCR (OCR)'] } },
  ]);
  t.equal((first!.annotations as unknown[]).length, 1, 'the annotations are embedded as before');
  t.same((second!.seeAlso as { format: string }[]).map((s) => s.format), ['application/xml', 'text/vnd.hocr+html'], 'a page with text and no annotation still links its documents');
  t.notOk('annotations' in second!);
  t.same(third, v3.items[2], 'a canvas without text is left as it was');
  t.same(enrichManifest(v3, new Map(), PUBLIC).items, v3.items, 'no OCR pages: no links');
});

const generator = (model: string, version: string, name: string) => ({ id: `${PUBLIC}/v1/models/${model}/${version}`, type: 'Software' as const, name, 'loupe:model': model, 'loupe:version': version });
const box = (n: number, model: string, version: string, state: Annotation['loupe:reviewState'], tag = 'horse'): Annotation => ({
  id: `${PUBLIC}/v1/annotations/${model}-${version}-${state}-${n}`,
  type: 'Annotation',
  motivation: 'tagging',
  body: { type: 'TextualBody', value: tag, purpose: 'tagging' },
  target: `${canvas(1)}#xywh=${n},0,10,10`,
  generator: generator(model, version, `${model === 'centernet' ? 'CenterNet COCO' : 'BlazeFace'} ${version} (onnxruntime)`),
  'loupe:reviewState': state,
});

t.test('one embedded page per layer: model, version and review state apart, rejected ones left out', async (t) => {
  const annotations = [
    box(1, 'centernet', '1', 'unreviewed'),
    box(2, 'centernet', '1', 'unreviewed'),
    box(3, 'centernet', '2', 'unreviewed'),
    box(4, 'centernet', '1', 'corrected'),
    box(5, 'centernet', '1', 'rejected'),
    box(6, 'blazeface', '1', 'accepted', 'face'),
  ];
  const enriched = enrichManifest(v3, new Map([[canvas(1), annotations]]), PUBLIC);
  const pages = (enriched.items as Record<string, any>[])[0]!.annotations as Record<string, any>[];
  t.same(
    pages.map((p) => [p.label.en[0], p.items.length]),
    [
      ['Objects — CenterNet COCO 1 (onnxruntime), unreviewed', 2],
      ['Objects — CenterNet COCO 2 (onnxruntime), unreviewed', 1],
      ['Objects — CenterNet COCO 1 (onnxruntime), corrected by a person', 1],
      ['Faces — BlazeFace 1 (onnxruntime), accepted by a person', 1],
    ],
  );
  t.notOk(pages.some((p) => p.items.some((a: Annotation) => a['loupe:reviewState'] === 'rejected')), 'no rejected annotation is shown');
  const manifestKey = Buffer.from(v3.id).toString('base64url');
  const collection = `${PUBLIC}/v1/annotations/layers/${manifestKey}/centernet/1/unreviewed`;
  t.same(pages[0]!.partOf, [{ id: collection, type: 'AnnotationCollection', label: pages[0]!.label }], 'each page is partOf its layer');
  t.equal(pages[0]!.id, `${collection}/page?canvas=${encodeURIComponent(canvas(1))}`);
  t.notOk('service' in enriched, 'no text: no search service');
});

t.test('a manifest with text advertises Content Search 2.0 and 1.0 with their autocomplete', async (t) => {
  const enriched = enrichManifest({ ...v3, service: [{ id: 'https://iiif.example.org/auth', type: 'AuthProbeService2' }] }, new Map([[canvas(1), [line]]]), PUBLIC);
  const key = Buffer.from(v3.id).toString('base64url');
  t.same(enriched.service, [
    { id: 'https://iiif.example.org/auth', type: 'AuthProbeService2' },
    { id: `${PUBLIC}/v1/iiif/search/2/${key}`, type: 'SearchService2', service: [{ id: `${PUBLIC}/v1/iiif/autocomplete/2/${key}`, type: 'AutoCompleteService2' }] },
    {
      '@context': 'http://iiif.io/api/search/1/context.json',
      '@id': `${PUBLIC}/v1/iiif/search/1/${key}`,
      '@type': 'SearchService1',
      profile: 'http://iiif.io/api/search/1/search',
      service: [{ '@id': `${PUBLIC}/v1/iiif/autocomplete/1/${key}`, '@type': 'AutoCompleteService1', profile: 'http://iiif.io/api/search/1/autocomplete' }],
    },
  ]);
  t.ok((enriched['@context'] as string[]).includes('http://iiif.io/api/search/2/context.json'), 'the Content Search 2 context is listed');
  t.equal((enriched['@context'] as string[]).at(-1), 'http://iiif.io/api/presentation/3/context.json', 'IIIF last');
  const ocrOnly = enrichManifest(v3, new Map(), PUBLIC, new Set([canvas(2)]));
  t.equal((ocrOnly.service as unknown[]).length, 2, 'OCR pages alone make a manifest searchable');
});
