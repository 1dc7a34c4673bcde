// Fetch once: an `enrich` run (preprocess, detect objects, faces and text, embed) asks the image
// server for each canvas image once, whatever the server offers; later stages resize locally.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { loadConfig, runPipeline } from '@loupe/cli';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-fetch-once-'));
t.teardown(async () => {
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

// A page larger than the 2048 px the job asks for, so that every server must scale it.
const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 48, width: 2600, format: 'jpeg' });
const photo = await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
const canvases = [
  { label: 'level 2', width: page.width, height: page.height, image: { serviceId: await server.addImage('l2', page.image, { version: 3, level: 2 }), version: 3 as const, level: 2 as const, width: page.width, height: page.height } },
  { label: 'level 1, Image API 2', width: 2400, height: 1800, image: { serviceId: await server.addImage('l1', photo, { version: 2, level: 1 }), version: 2 as const, level: 1 as const, width: 2400, height: 1800 } },
  { label: 'level 0', width: 2400, height: 1800, image: { serviceId: await server.addImage('l0', photo, { version: 3, level: 0 }), version: 3 as const, level: 0 as const, width: 2400, height: 1800 } },
  { label: 'plain', width: 2400, height: 1800, image: { url: server.addFile('/files/plain.jpg', photo, 'image/jpeg'), width: 2400, height: 1800 } },
];
const manifest = `${server.url}/m/fetch-once.json`;
server.addDocument('/m/fetch-once.json', manifestV3({ id: manifest, label: 'Fetch once', canvases }));

t.test('enrich makes one image request per canvas image', async (t) => {
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir });
  server.reset();
  const report = await runPipeline(config, { source: manifest, outDir: path.join(dataDir, 'out'), pipeline: 'enrich' });
  t.equal(report.state, 'done');
  t.same(report.failures, []);
  const images = server.requests.filter((p) => !p.endsWith('/info.json') && !p.startsWith('/m/'));
  t.equal(images.length, canvases.length, `one request per canvas image: ${images.join(' ')}`);
  t.equal(new Set(images).size, images.length, 'never the same image twice');
  // The level-2 page is asked for at the 2048 px the job needs, not as its master.
  t.ok(images.includes(`/iiif/l2/full/2048,${Math.round((page.height * 2048) / page.width)}/0/default.jpg`), 'the level-2 page fitted to 2048 px');
  t.ok(report.annotations > 0, 'the text was read');
});
