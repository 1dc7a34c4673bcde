// Issue 14, sources: the HTTP API and the bus take http(s) URLs only. A caller cannot make the
// server read its own disk, learn which paths exist, or read a document back through an error.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { SUBJECTS, type JobView } from '@loupe/contracts';
import { encode } from '@loupe/bus';
import { createEmbedded, loadConfig } from '@loupe/cli';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-sources-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
// A JSON file on the server's disk that a caller must not get parsed, and a secret beside it.
const secretDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-private-'));
t.teardown(() => fs.rm(secretDir, { recursive: true, force: true }));
await fs.writeFile(path.join(secretDir, 'config.json'), JSON.stringify({ type: 'Manifest', id: 'https://x/m', items: [] }));
await fs.writeFile(path.join(secretDir, 'shadow'), 'root:$6$secret-hash:19000:0:99999:7:::\n');

// An internal page that is not JSON, reached with the egress policy opened for the test's loopback.
const internal = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('DB_PASSWORD=hunter2\n'));
await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => internal.close(() => resolve())));
const internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}/settings`;

const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['gateway', 'iiif-fetcher'] });
const embedded = await createEmbedded(config);
t.teardown(() => embedded.close());
const { app } = embedded;
await app.start();

const LOCAL = [
  '/etc/shadow',
  '/proc/self/environ',
  'file:///etc/passwd',
  `file://${path.join(secretDir, 'shadow')}`,
  path.join(secretDir, 'shadow'),
  path.join(secretDir, 'config.json'),
  path.join(secretDir, 'missing.json'),
  'config.json',
  'ftp://example.org/manifest.json',
];

t.test('POST /v1/harvest refuses local paths and file: URLs with one answer for all', async (t) => {
  const answers = new Set<string>();
  for (const source of LOCAL) {
    const res = await app.inject({ method: 'POST', url: '/v1/harvest', payload: { source } });
    const body = res.json() as { code: string; message: string };
    t.equal(res.statusCode, 400, `${source}: 400`);
    t.equal(body.code, 'LOUPE_ERR_SOURCE_UNSUPPORTED', `${source}: the code says why`);
    t.notMatch(res.body, /root:|secret-hash|hunter|no such file|cannot be read|Manifest/, `${source}: nothing of the file or its existence`);
    if (!/^[a-z]+:/.test(source)) answers.add(body.message);
  }
  t.equal(answers.size, 1, 'existing, missing, readable and unreadable paths cannot be told apart');
});

t.test('POST /v1/jobs refuses them before a job exists', async (t) => {
  for (const source of LOCAL) {
    const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: source } });
    t.equal(res.statusCode, 400, `${source}: 400`);
    t.equal((res.json() as { code: string }).code, 'LOUPE_ERR_SOURCE_UNSUPPORTED');
  }
});

t.test('the bus refuses them too (a message that does not come through the gateway)', async (t) => {
  await t.rejects(embedded.bus.request(SUBJECTS.harvest, encode({ source: path.join(secretDir, 'config.json') })), {
    code: 'LOUPE_ERR_SOURCE_UNSUPPORTED',
    message: 'the source is a local path; only http and https URLs are accepted here',
  });
});

t.test('a document that is not JSON is never quoted back, in a harvest answer or a job failure', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/v1/harvest', payload: { source: internalUrl } });
  t.notMatch(res.body, /hunter2|DB_PASSWORD/, 'harvest answer');
  t.match(res.body, /LOUPE_ERR_IIIF_NOT_JSON/);
  let job = (await app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: internalUrl } })).json() as JobView;
  while (job.state !== 'failed' && job.state !== 'done') {
    await sleep(20);
    job = (await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json() as JobView;
  }
  t.equal(job.state, 'failed');
  t.equal(job.failures[0]?.code, 'LOUPE_ERR_IIIF_NOT_JSON');
  t.notMatch(JSON.stringify(job), /hunter2|DB_PASSWORD/, 'job failures');
});
