import t from 'tap';
import { openProcessModels } from './process-models.js';

const models = openProcessModels({ modelsDir: t.testdir(), executionProvider: 'cpu' });
t.teardown(() => models.close());

t.test('an embedder two services ask for is loaded once', async (t) => {
  const [a, b] = await Promise.all([models.imageEmbedder('mobilenet-v2-features'), models.imageEmbedder('mobilenet-v2-features')]);
  t.equal(a, b);
  t.equal(await models.imageEmbedder('mobilenet-v2-features'), a);
  t.same(Object.keys(models.engine.metrics()), ['mobilenet-v2-features']);
});

t.test('a failed load is not kept: the next ask tries again', async (t) => {
  const first = models.textEmbedder('blazeface-back');
  await t.rejects(first, { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /text-embedding model "blazeface-back" is not installed/ });
  const again = models.textEmbedder('blazeface-back');
  t.not(again, first);
  await t.rejects(again, { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' });
});
