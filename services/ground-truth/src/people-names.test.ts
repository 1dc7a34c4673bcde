// People's names as `identifying` annotations, over a real SQLite store file and its full-text
// index: written, renamed (a revision), withdrawn (rejected), and found by Content Search and by
// the words half of hybrid search. test/people-names.test.ts drives the same through real faces.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { manifestKey, type PeopleNamesInput } from '@loupe/contracts';
import { openSqliteAnnotationStore, openSqliteContentSearch, withPublicUrl } from '@loupe/store';
import { contentSearchHandlers } from './content-search.js';
import { nameAnnotationKey, peopleNamesHandler } from './people-names.js';
import { textRankingHandler } from './text-ranking.js';

const PUBLIC = 'http://loupe.test';
const MANIFEST = 'https://iiif.example.org/album/manifest';
const canvas = (n: number) => `https://iiif.example.org/album/canvas/${n}`;
const face = (n: number) => ({ id: `${canvas(n)}#0#xywh=10,20,30,40`, manifestId: MANIFEST, canvasId: canvas(n), xywh: 'xywh=10,20,30,40' });
const CURATOR = { id: 'key-1', name: 'Ada Curator', via: 'key' as const };
const dir = mkdtempSync(join(tmpdir(), 'loupe-people-names-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function setup(t: Test) {
  const path = join(dir, `store-${files++}.db`);
  const raw = openSqliteAnnotationStore({ path });
  const search = openSqliteContentSearch({ path });
  t.teardown(async () => {
    await search.close();
    await raw.close();
  });
  const store = withPublicUrl(raw, PUBLIC);
  for (const n of [1, 2, 3]) await store.putCanvas({ canvasId: canvas(n), manifestId: MANIFEST, width: 100, height: 100, image: { id: `${canvas(n)}.jpg` } });
  const names = peopleNamesHandler(store, PUBLIC);
  const sync = (people: PeopleNamesInput['people'], curator: PeopleNamesInput['curator'] = CURATOR) => names.handler({ curator, people }, {} as never);
  const searchHandlers = contentSearchHandlers({ store, search, publicUrl: PUBLIC });
  const search2 = async (q: string): Promise<any> => searchHandlers.find((h) => h.name === 'iiif.search2')!.handler({ key: manifestKey(MANIFEST), q } as never, {} as never);
  const ranking = textRankingHandler(store, search);
  const words = (q: string) => ranking.handler({ q, limit: 10 }, {} as never);
  return { store, sync, search2, words };
}

const idOf = (n: number) => `${PUBLIC}/v1/annotations/${nameAnnotationKey(face(n).id)}`;

t.test('naming writes one identifying annotation per face, by the curator, and search finds it', async (t) => {
  const { store, sync, search2, words } = await setup(t);
  const uri = 'https://www.wikidata.org/wiki/Q7259';
  t.same(await sync([{ person: 'p-1', label: 'Ada Lovelace', uri, faces: [face(1), face(2)] }]), { written: 2, revised: 0, withdrawn: 0, unchanged: 0 });
  const one = await store.get(idOf(1));
  t.match(one, {
    motivation: 'identifying',
    body: { type: 'SpecificResource', source: uri, label: 'Ada Lovelace', purpose: 'identifying' },
    target: { source: canvas(1), selector: { value: 'xywh=10,20,30,40' } },
    'loupe:reviewState': 'accepted',
  });
  t.equal((await store.history(idOf(1)))[0]!.reviewer, 'Ada Curator', 'the authenticated curator is the reviewer');

  t.same(await sync([{ person: 'p-1', label: 'Ada Lovelace', uri, faces: [face(1), face(2)] }]), { written: 0, revised: 0, withdrawn: 0, unchanged: 2 }, 'idempotent');

  const found = await search2('lovelace');
  t.same(found.items.map((a: { id: string }) => a.id).sort(), [idOf(1), idOf(2)].sort(), 'IIIF Content Search 2.0 finds the name');
  t.same((await words('Ada Lovelace')).text.map((e) => e.canvasId).sort(), [canvas(1), canvas(2)], 'the words ranking of POST /v1/search finds the canvases');
  t.same((await words(uri)).concept.map((e) => e.canvasId).sort(), [canvas(1), canvas(2)], 'and so does the authority URI');
});

t.test('a rename is a revision; a face of an unnamed person is withdrawn, and named again later', async (t) => {
  const { store, sync, search2 } = await setup(t);
  await sync([{ person: 'p-1', label: 'Ada', faces: [face(1), face(3)] }]);
  t.match(await store.get(idOf(1)), { body: { type: 'TextualBody', value: 'Ada', purpose: 'identifying' } }, 'a name without a URI is words');

  const other = { id: 'anonymous', via: 'anonymous' as const };
  t.same(await sync([{ person: 'p-1', label: 'Ada Lovelace', faces: [face(1)] }, { person: 'p-2', faces: [face(3)] }], other), { written: 0, revised: 1, withdrawn: 1, unchanged: 0 });
  const history = await store.history(idOf(1));
  t.same(history.map((r) => [r.state, r.reviewer]), [['accepted', 'Ada Curator'], ['corrected', 'anonymous']]);
  t.match(history[0]!.annotation.body, { value: 'Ada' }, 'the history keeps the old name');
  t.match(await store.get(idOf(3)), { 'loupe:reviewState': 'rejected' });
  t.same((await search2('ada')).items.map((a: { id: string }) => a.id), [idOf(1)], 'a withdrawn name is not found');

  t.same(await sync([{ person: 'p-2', label: 'Byron', faces: [face(3)] }]), { written: 0, revised: 1, withdrawn: 0, unchanged: 0 });
  t.match(await store.get(idOf(3)), { 'loupe:reviewState': 'corrected', body: { value: 'Byron' } });
  t.same(await sync([{ person: 'p-3', faces: [face(2)] }]), { written: 0, revised: 0, withdrawn: 0, unchanged: 1 }, 'an unnamed face never named: nothing to withdraw');
});
