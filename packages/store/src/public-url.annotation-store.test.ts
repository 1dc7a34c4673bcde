import t from 'tap';
import type { Annotation } from '@loupe/contracts';
import { localAnnotation, publicAnnotation } from './public-url.annotation-store.js';

const explanation = {
  id: 'https://old.example/loupe/v1/annotations/expl-abc',
  type: 'Annotation',
  motivation: 'commenting',
  body: { id: 'https://old.example/loupe/v1/annotations/abc/explanation?window=0.2', type: 'Image', format: 'image/png' },
  target: 'https://ex.org/canvas/1',
  'loupe:explains': 'https://old.example/loupe/v1/annotations/abc',
  'loupe:overlay': 'data:image/png;base64,AAAA',
} as unknown as Annotation;

t.test('an explanation is kept URL-free and served under the public URL in force, without its bytes', async (t) => {
  const kept = localAnnotation(explanation) as unknown as Record<string, unknown>;
  t.match(kept, { id: 'expl-abc', 'loupe:explains': 'abc', body: { id: 'abc/explanation?window=0.2' }, 'loupe:overlay': 'data:image/png;base64,AAAA' }, 'the store keeps keys and the bytes');
  const shown = publicAnnotation(kept as unknown as Annotation, 'https://new.example') as unknown as Record<string, unknown>;
  t.match(shown, {
    id: 'https://new.example/v1/annotations/expl-abc',
    'loupe:explains': 'https://new.example/v1/annotations/abc',
    body: { id: 'https://new.example/v1/annotations/abc/explanation?window=0.2', type: 'Image' },
  });
  t.notOk('loupe:overlay' in shown, 'the overlay leaves the store only through its own route');
});

t.test('an annotation that explains nothing keeps its body as it is', async (t) => {
  const tag = { id: 'k1', type: 'Annotation', motivation: 'tagging', body: { id: 'http://www.wikidata.org/entity/Q5', type: 'SpecificResource' }, target: 'https://ex.org/c' } as unknown as Annotation;
  t.same(publicAnnotation(tag, 'https://p.example').body, tag.body);
});
