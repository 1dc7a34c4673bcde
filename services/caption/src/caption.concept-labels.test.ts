import t from 'tap';
import { LoupeError, SERVICE_APIS } from '@loupe/contracts';
import { conceptLabelsOver, type CaptionClient } from './caption.concept-labels.js';

const PHOTO = 'https://vocab.example.org/photograph';
const MAP = 'https://vocab.example.org/map';

/**
 * A store's vocabularies answering as the ground-truth service does over the bus; what is under
 * test is when caption reads them, so the store here counts its reads and may be down.
 */
function store() {
  const state = { reads: 0, down: false, concepts: [{ uri: PHOTO, prefLabel: { en: 'photograph', fr: 'photographie' } }] };
  const client: CaptionClient = {
    async request(decl) {
      if (state.down) throw new LoupeError('LOUPE_ERR_BUS_NO_RESPONDER', 'no ground-truth service answered');
      if (decl.subject === SERVICE_APIS['ground-truth'].vocabularies.subject) {
        state.reads++;
        return { items: [{ id: 'techniques', concepts: state.concepts.length }] } as never;
      }
      return { id: 'techniques', concepts: state.concepts } as never;
    },
  };
  return { state, client };
}

t.test('labels by language, read once; a missing concept is looked for again only after refreshMs', async (t) => {
  const { state, client } = store();
  let now = 0;
  const label = conceptLabelsOver(client, { clock: { now: () => now }, refreshMs: 60_000 });
  t.equal(await label(PHOTO, 'fr'), 'photographie');
  t.equal(await label(PHOTO, 'en'), 'photograph');
  t.equal(await label(MAP, 'fr'), undefined);
  t.equal(state.reads, 1, 'a concept no vocabulary holds does not send every canvas to the store');
  state.concepts = [...state.concepts, { uri: MAP, prefLabel: { en: 'map', fr: 'carte' } }];
  now = 60_000;
  t.equal(await label(MAP, 'fr'), 'carte', 'a vocabulary imported since is read');
  t.equal(state.reads, 2);
});

t.test('a store that is down leaves the caption to the classifier’s label', async (t) => {
  const { state, client } = store();
  state.down = true;
  const label = conceptLabelsOver(client, { clock: { now: () => 0 } });
  t.equal(await label(PHOTO, 'fr'), undefined);
});
