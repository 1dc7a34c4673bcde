import { join } from 'node:path';
import t from 'tap';
import { saveHead } from './artefact.js';
import { headHome, listHeadsWithPack, PACK_HEADS_DIR } from './pack.js';
import type { LinearHead } from './head.js';

const head = (id: string, version: string): LinearHead => ({
  id,
  version,
  kind: 'softmax',
  source: 'trained',
  embedding: { model: 'm', version: '1', dims: 2 },
  classes: [{ concept: 'https://example.org/a' }, { concept: 'https://example.org/b' }],
  weights: new Float32Array([1, 0, 0, 1]),
  bias: new Float32Array([0, 0]),
  temperature: 1,
  thresholds: [0.5, 0.5],
  targetPrecision: 0.9,
  created: '2025-01-01T00:00:00.000Z',
});

t.test('the pack answers for the ids the user has no head of, and never hides a user head', async (t) => {
  const root = t.testdir({ user: {}, pack: {} });
  const user = join(root, 'user');
  const pack = join(root, 'pack');
  await saveHead(pack, head('watermark', '1'));
  await saveHead(pack, head('shared', '1'));
  await saveHead(user, head('shared', '1'));
  await saveHead(user, head('mine', '1'));
  t.equal(await headHome(user, 'watermark', pack), pack, 'a shipped head is found on a fresh install');
  t.equal(await headHome(user, 'shared', pack), user, "the user's head of the same id wins");
  t.equal(await headHome(user, 'nobody', pack), user, "an unknown id is looked for (and reported missing) in the user's folder");
  t.same(
    (await listHeadsWithPack(user, pack)).map((h) => [h.id, h.dir === pack ? 'pack' : 'user']),
    [
      ['mine', 'user'],
      ['shared', 'user'],
      ['watermark', 'pack'],
    ],
  );
});

t.test('the pack ships the watermark head', async (t) => {
  t.equal(await headHome(t.testdir(), 'watermark'), PACK_HEADS_DIR);
});
