// `loupe iiif serve <folder>` then `loupe run` on its manifest: anyone's files, two commands.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { loadConfig, runPipeline } from '@loupe/cli';
import { renderTextPage, SAMPLE_TEXTS } from '@loupe/testing';
import { spawnLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-iiif-serve-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
const folder = path.join(tmp, 'my scans');
await fs.mkdir(folder);

// Three formats, named so that plain string order and the order a person expects differ (page 2 before page 10).
const page = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 2), font: 'sans', sizePt: 20, width: 700, format: 'jpeg' });
const files = [
  { name: 'page-10.png', width: 700, make: () => sharp(page.image).png().toBuffer() },
  { name: 'page-2.tif', width: 640, make: () => sharp(page.image).resize(640).tiff().toBuffer() },
  { name: 'page-1.jpg', width: 600, make: () => sharp(page.image).resize(600).jpeg().toBuffer() },
];
for (const f of files) await fs.writeFile(path.join(folder, f.name), await f.make());
await fs.writeFile(path.join(folder, 'notes.txt'), 'not an image');

const child = spawnLoupe(['iiif', 'serve', folder, '--port', '0'], { cwd: tmp });
let stderr = '';
child.stderr!.on('data', (d) => (stderr += d));
const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
t.teardown(() => void child.kill('SIGKILL'));
const manifestUrl = await new Promise<string>((resolve, reject) => {
  let stdout = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
    if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
  });
  child.on('close', (code) => reject(new Error(`loupe iiif serve exited ${code}: ${stderr}`)));
});
// The hint is on standard error, a pipe of its own: it may arrive after the manifest's line.
await new Promise<void>((resolve, reject) => {
  const check = (): void => void (stderr.includes('annotate them with') && resolve());
  child.stderr!.on('data', check);
  child.on('close', (code) => reject(new Error(`loupe iiif serve exited ${code}: ${stderr}`)));
  check();
});

interface Canvas {
  id: string;
  label: { en: string[] };
  width: number;
  height: number;
  items: { items: { body: { id: string; service: { id: string; type: string; profile: string }[] } }[] }[];
}

t.test('the manifest: one canvas per image, in name order, with its size and a level-2 service', async (t) => {
  t.match(manifestUrl, /^http:\/\/127\.0\.0\.1:\d+\/manifest\.json$/, 'on loopback, printed alone on standard output');
  t.match(stderr, 'loupe run http://127.0.0.1:', 'says what to do next');
  const manifest = (await (await fetch(manifestUrl)).json()) as { type: string; label: { en: string[] }; items: Canvas[] };
  t.equal(manifest.type, 'Manifest');
  t.same(manifest.label, { en: ['my scans'] });
  t.same(
    manifest.items.map((c) => c.label.en[0]),
    ['page 1', 'page 2', 'page 10'],
    'labels from the file names, in the order a person numbers them; notes.txt is not an image',
  );
  const expected = ['page-1.jpg', 'page-2.tif', 'page-10.png'].map((n) => files.find((f) => f.name === n)!);
  for (const [i, canvas] of manifest.items.entries()) {
    const meta = await sharp(path.join(folder, expected[i]!.name)).metadata();
    t.same([canvas.width, canvas.height], [meta.width, meta.height], `${expected[i]!.name}: the canvas has the image's size`);
    t.equal(canvas.width, expected[i]!.width);
    t.match(canvas.items[0]!.items[0]!.body.service[0], { type: 'ImageService3', profile: 'level2' });
  }
});

t.test('info.json and an image request are answered from the file', async (t) => {
  const manifest = (await (await fetch(manifestUrl)).json()) as { items: Canvas[] };
  const service = manifest.items[1]!.items[0]!.items[0]!.body.service[0]!.id;
  const info = (await (await fetch(`${service}/info.json`)).json()) as { id: string; type: string; width: number; profile: string };
  t.match(info, { id: service, type: 'ImageService3', width: 640, profile: 'level2' });
  const region = await fetch(`${service}/0,0,320,100/160,/0/default.png`);
  t.equal(region.status, 200);
  t.equal(region.headers.get('content-type'), 'image/png');
  const meta = await sharp(Buffer.from(await region.arrayBuffer())).metadata();
  t.same([meta.width, meta.height], [160, 50], 'the region, scaled');
});

t.test('loupe run over the served manifest annotates every canvas', async (t) => {
  const dataDir = path.join(tmp, 'data');
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_FETCH_RETRIES: '0' }, { logLevel: 'silent', dataDir, egressDefault: 'allow' });
  const report = await runPipeline(config, { source: manifestUrl, outDir: path.join(tmp, 'out') });
  t.equal(report.state, 'done');
  t.equal(report.canvases, 3);
  t.same(report.failures, [], 'no canvas failed');
  t.equal(report.stages['detect.text']?.done, 3, 'every canvas read');
  t.ok(report.annotations >= 3, `the text lines annotated (${report.annotations})`);
});

t.test('Ctrl-C stops the server and the command exits 0', async (t) => {
  child.kill('SIGINT');
  t.equal(await exited, 0);
  await t.rejects(fetch(manifestUrl), 'the port is closed');
});
