// `loupe harvest iiif`: a collection's manifests become sources of a dataset in the ground-truth
// store; a manifest that cannot be read is reported and skipped.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '@loupe/cli';
import { openSqliteAnnotationStore } from '@loupe/store';
import { collectionV3, manifestV3, startIiifImageServer } from '@loupe/testing';
import { harvestIiifToDataset } from '../packages/cli/src/commands/harvest.js';
import { runLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-harvest-iiif-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));

const server = await startIiifImageServer();
t.teardown(() => server.close());

const manifestUrl = (n: number) => `${server.url}/m/${n}/manifest.json`;
for (const n of [1, 2]) {
  server.addDocument(
    `/m/${n}/manifest.json`,
    manifestV3({
      id: manifestUrl(n),
      label: `Book ${n}`,
      // Images that do not exist: registering sources must not fetch them.
      canvases: [{ label: 'p. 1', width: 1000, height: 1400, image: { url: `${server.url}/nowhere/${n}.jpg`, width: 1000, height: 1400 } }],
    }),
  );
}
// Manifest 3 is listed but never served: a 404.
const collectionUrl = server.addDocument('/c/collection.json', collectionV3({ id: `${server.url}/c/collection.json`, label: 'Books', items: [1, 2, 3].map((n) => ({ id: manifestUrl(n) })) }));

async function harvestInto(dataDir: string, source: string, dataset: string, description?: string) {
  const config = loadConfig({ LOUPE_DATA_DIR: dataDir, LOUPE_FETCH_RETRIES: '0', LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent' });
  const lines: string[] = [];
  const code = await harvestIiifToDataset(config, source, { dataset, ...(description && { description }) }, (l) => lines.push(l));
  return { code, lines };
}

async function datasetIn(dataDir: string, name: string) {
  const store = openSqliteAnnotationStore({ path: path.join(dataDir, 'loupe.db') });
  try {
    return await store.getDataset(name);
  } finally {
    await store.close();
  }
}

t.test('registers every readable manifest of a collection as a dataset source, once', async (t) => {
  const dataDir = path.join(tmp, 'data-1');
  server.reset();
  const first = await harvestInto(dataDir, collectionUrl, 'books', 'Books from the test collection');
  t.equal(first.code, 0);
  t.match(first.lines.at(-1), 'registered 2 manifests as sources of dataset books (0 already there, 1 failed)');
  t.ok(
    first.lines.some((l) => l.startsWith('skipped') && l.includes(manifestUrl(3)) && l.includes('404')),
    `the broken manifest is named: ${first.lines.join(' | ')}`,
  );
  t.notOk(
    server.requests.some((r) => r.startsWith('/nowhere/')),
    'no image was fetched',
  );

  const dataset = await datasetIn(dataDir, 'books');
  t.match(dataset, { name: 'books', description: 'Books from the test collection' });
  t.same([...dataset!.sources].sort(), [manifestUrl(1), manifestUrl(2)]);

  const again = await harvestInto(dataDir, collectionUrl, 'books');
  t.equal(again.code, 0);
  t.match(again.lines.at(-1), 'registered 0 manifests as sources of dataset books (2 already there, 1 failed)');
  t.same([...(await datasetIn(dataDir, 'books'))!.sources].sort(), [manifestUrl(1), manifestUrl(2)]);
  t.equal((await datasetIn(dataDir, 'books'))!.description, 'Books from the test collection', 'an existing dataset keeps its description');
});

t.test('one manifest can be registered directly, into an existing dataset', async (t) => {
  const dataDir = path.join(tmp, 'data-2');
  await harvestInto(dataDir, manifestUrl(1), 'mixed');
  const more = await harvestInto(dataDir, manifestUrl(2), 'mixed');
  t.equal(more.code, 0);
  t.match(more.lines.at(-1), 'registered 1 manifests as sources of dataset mixed (0 already there, 0 failed)');
  t.same([...(await datasetIn(dataDir, 'mixed'))!.sources].sort(), [manifestUrl(1), manifestUrl(2)]);
});

t.test('nothing registered is exit code 1', async (t) => {
  const dataDir = path.join(tmp, 'data-3');
  const gone = await harvestInto(dataDir, manifestUrl(3), 'empty');
  t.equal(gone.code, 1);
  t.match(gone.lines.at(-1), 'registered 0 manifests as sources of dataset empty (0 already there, 1 failed)');
  t.equal(await datasetIn(dataDir, 'empty'), undefined, 'no empty dataset is created');
  await t.rejects(harvestInto(dataDir, collectionUrl, '  '), { code: 'LOUPE_ERR_VALIDATION', message: /--dataset/ });
});

// Through the `loupe` command (needs the harvest command wired in main.ts).
t.test('loupe harvest iiif <collection> --dataset NAME', async (t) => {
  const dataDir = path.join(tmp, 'data-cli');
  const ran = await runLoupe(['harvest', 'iiif', collectionUrl, '--dataset', 'books'], { cwd: tmp, env: { LOUPE_DATA_DIR: dataDir, LOUPE_FETCH_RETRIES: '0' } });
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout + ran.stderr, 'registered 2 manifests as sources of dataset books (0 already there, 1 failed)');
  t.same([...(await datasetIn(dataDir, 'books'))!.sources].sort(), [manifestUrl(1), manifestUrl(2)]);
});
