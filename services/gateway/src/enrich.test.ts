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
