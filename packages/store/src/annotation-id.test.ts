import t from 'tap';
import { annotationId } from './annotation-id.js';

const key = { manifestId: 'https://example.org/m', canvasId: 'https://example.org/c/1', imageIndex: 0, stage: 'classify', modelId: 'clip' };
const content = { motivation: 'tagging', target: 'https://example.org/c/1', bodyText: '{"value":"cat"}' };

t.test('the same finding always gets the same short, URL-safe id', async (t) => {
  const id = annotationId(key, content, 0);
  t.equal(id, annotationId({ ...key }, { ...content }, 0));
  t.match(id, /^[A-Za-z0-9_-]{22}$/);
});

t.test('anything that tells two findings apart changes the id', async (t) => {
  const ids = new Set([
    annotationId(key, content, 0),
    annotationId(key, content, 1),
    annotationId({ ...key, imageIndex: 1 }, content, 0),
    annotationId({ ...key, modelId: 'siglip' }, content, 0),
    annotationId({ ...key, stage: 'detect' }, content, 0),
    annotationId(key, { ...content, motivation: 'classifying' }, 0),
    annotationId(key, { ...content, target: 'https://example.org/c/1#xywh=0,0,1,1' }, 0),
    annotationId(key, { ...content, bodyText: '{"value":"dog"}' }, 0),
    // Fields are kept apart, so moving text from one to the next cannot collide.
    annotationId({ ...key, manifestId: 'https://example.org/', canvasId: 'mhttps://example.org/c/1' }, content, 0),
  ]);
  t.equal(ids.size, 9);
});
