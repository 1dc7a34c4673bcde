// Issue 14, SSRF, end to end: `loupe serve`'s configuration denies loopback and private addresses
// by default. A manifest, an image to embed or search by, a Europeana harvest or a model pull
// aimed at one is refused with one plain message, and the server behind it never sees a connection.
import fs from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { LoupeError, type JobView } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { type CountingServer, startCountingServer } from '@loupe/testing';
import { harvestEuropeana } from '../packages/cli/src/commands/harvest.js';
import { runLoupe } from './support/loupe-process.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-egress-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));

/** A counting server on loopback, closed when the test ends. */
async function countingServer(t: Test, handler: RequestListener): Promise<CountingServer> {
  const server = await startCountingServer(handler);
  t.teardown(() => server.close());
  return server;
}

const manifestJson = (id: string) => JSON.stringify({ '@context': 'http://iiif.io/api/presentation/3/context.json', id, type: 'Manifest', label: { en: ['x'] }, items: [] });

/** What must never reach a caller: the range, the low-level error, anything the server said. */
const LEAKS = /loopback|private|link-local|ECONNREFUSED|ENOTFOUND/i;

t.test('loupe serve, default settings: jobs, embeds and searches aimed at loopback are refused without a connection', async (t) => {
  const internal = await countingServer(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(manifestJson(`http://127.0.0.1${req.url}`)));
  const config = loadConfig({}, { logLevel: 'silent', dataDir: path.join(dataDir, 'serve'), services: ['gateway', 'iiif-fetcher', 'embed'] });
  t.equal(config.egress.denyPrivate, true, 'servers deny private addresses unless told otherwise');
  const embedded = await createEmbedded(config);
  t.teardown(() => embedded.close());
  const { app } = embedded;
  await app.start();

  const manifest = `${internal.base}/m/manifest.json`;
  let job = (await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest } })).json() as JobView;
  while (job.state !== 'failed' && job.state !== 'done') {
    await sleep(20);
    job = (await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json() as JobView;
  }
  t.equal(job.state, 'failed');
  t.match(job.failures[0], { code: 'LOUPE_ERR_FETCH_EGRESS_REFUSED', message: `${manifest}: refused by egress policy` });
  t.notMatch(JSON.stringify(job.failures), LEAKS, 'the failure names no range and no low-level error');

  for (const spelling of ['localhost', '0x7f.1', '2130706433', '[::ffff:127.0.0.1]']) {
    const source = `http://${spelling}:${internal.port}/m/manifest.json`;
    const res = await app.inject({ method: 'POST', url: '/v1/harvest', payload: { source } });
    t.match(res.body, /LOUPE_ERR_FETCH_EGRESS_REFUSED/, `${spelling}: refused`);
    t.match(res.body, 'refused by egress policy');
    t.notMatch(res.body, LEAKS, `${spelling}: nothing more`);
  }

  const image = `${internal.base}/pictures/p1.jpg`;
  const embed = await app.inject({ method: 'POST', url: '/v1/embed', payload: { image: { id: image } } });
  t.equal(embed.statusCode, 403, embed.body);
  t.same(embed.json(), { code: 'LOUPE_ERR_FETCH_EGRESS_REFUSED', message: `${image}: refused by egress policy`, status: 403, retryable: false, details: { url: image } });
  const search = await app.inject({ method: 'POST', url: '/v1/search', payload: { url: image } });
  t.match(search.json(), { code: 'LOUPE_ERR_FETCH_EGRESS_REFUSED', message: `${image}: refused by egress policy` });
  t.notMatch(search.body, LEAKS);

  t.equal(internal.connections(), 0, 'the internal server never saw a connection');
});

t.test('LOUPE_FETCH_ALLOW opens one host; a redirect from it to another private address is still refused', async (t) => {
  const hidden = await countingServer(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"secret":true}'));
  const allowed = await countingServer(t, (req, res) => {
    if (req.url === '/hop') return void res.writeHead(302, { location: `${hidden.base}/secret.json` }).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(manifestJson(`http://localhost:${allowed.port}${req.url}`));
  });
  const config = loadConfig({ LOUPE_FETCH_ALLOW: 'localhost' }, { logLevel: 'silent', dataDir: path.join(dataDir, 'allow'), services: ['gateway', 'iiif-fetcher'] });
  const embedded = await createEmbedded(config);
  t.teardown(() => embedded.close());
  await embedded.app.start();
  const ok = await embedded.app.inject({ method: 'POST', url: '/v1/harvest', payload: { source: `http://localhost:${allowed.port}/m.json` } });
  t.notMatch(ok.body, /EGRESS/, `the allowed host is fetched: ${ok.body}`);
  const hop = await embedded.app.inject({ method: 'POST', url: '/v1/harvest', payload: { source: `http://localhost:${allowed.port}/hop` } });
  t.match(hop.body, `${hidden.base}/secret.json: refused by egress policy`, 'refused at the redirect hop');
  t.ok(allowed.connections() > 0);
  t.equal(hidden.connections(), 0, 'the redirect target never saw a connection');
});

t.test('the Europeana harvester and model pulls go through the same policy', async (t) => {
  const api = await countingServer(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true,"items":[]}'));
  const vocab = path.join(dataDir, 'vocabulary.json');
  await fs.writeFile(vocab, JSON.stringify({ map: 'http://data.europeana.eu/concept/47' }));
  const env = { EUROPEANA_API_KEY: 'key-9d2b', LOUPE_EUROPEANA_API_URL: `${api.base}/search.json`, LOUPE_FETCH_PRIVATE: 'deny' };
  const err = await harvestEuropeana({ vocab, perConcept: 1, env, write: () => undefined }, () => undefined).catch((e: unknown) => e);
  t.type(err, LoupeError);
  t.match(err, { code: 'LOUPE_ERR_FETCH_EGRESS_REFUSED', message: /refused by egress policy/ });
  t.notMatch((err as Error).message, /key-9d2b/, 'the API key is not in the message');
  t.equal(api.connections(), 0, 'the harvest made no connection');

  const files = await countingServer(t, (_req, res) => res.writeHead(200).end('model bytes'));
  const cardPath = path.join(dataDir, 'card.json');
  const card = {
    id: 'egress-model',
    version: '1',
    task: 'classification',
    name: 'A model on a private address',
    files: { model: { url: `${files.base}/m.onnx`, sha256: 'a'.repeat(64), size: 11 } },
    input: { name: 'X' },
    output: { decoder: 'identity' },
    licence: 'CC0-1.0',
    source: 'generated by the test',
  };
  await fs.writeFile(cardPath, JSON.stringify(card));
  const cli = { LOUPE_DATA_DIR: path.join(dataDir, 'cli'), LOUPE_MODELS_DIR: path.join(dataDir, 'models'), LOUPE_FETCH_PRIVATE: 'deny' };
  t.equal((await runLoupe(['models', 'add', cardPath], { env: cli })).code, 0);
  const pulled = await runLoupe(['models', 'pull', 'egress-model'], { env: cli });
  t.not(pulled.code, 0, 'the pull fails');
  t.match(pulled.stderr, `${files.base}/m.onnx: refused by egress policy`);
  t.equal(files.connections(), 0, 'the model server never saw a connection');
});
