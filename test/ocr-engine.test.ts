// The job's OCR engine: `loupe run` over real HTTP against the local IIIF Image API server reads a
// French page with Tesseract's fra model, and the stored lines keep their accents and say which
// engine and language models read them. Nothing here is mocked.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { OCR_LANGUAGES } from '@loupe/contracts';
import { characterErrorRate } from '@loupe/datasets';
import { createTesseractRecognizer } from '@loupe/inference';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const FRENCH = [
  'Tous ces faits paroissent incontestables ; on doit être surpris',
  "qu'ils aient échappés à la perspicacité des anciens ; mais,",
  'leur œuvre, reprise à Noël, fut achevée par des élèves zélés.',
];

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-ocr-engine-'));
t.teardown(async () => {
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_PUBLIC_URL: 'https://loupe.example.test' }, { logLevel: 'silent', dataDir });

const page = await renderTextPage({ lines: FRENCH, font: 'serif', sizePt: 16, width: 1000, format: 'png' });
const serviceId = await server.addImage('french', page.image, { version: 3, level: 2 });
const manifest = `${server.url}/m/french.json`;
server.addDocument(
  '/m/french.json',
  manifestV3({
    id: manifest,
    label: 'Mémoire',
    // The canvas is twice the image: boxes must come back in canvas coordinates.
    canvases: [{ label: 'page', width: page.width * 2, height: page.height * 2, image: { width: page.width, height: page.height, serviceId, version: 3, level: 2 } }],
  }),
);

type Line = { body: { value: string }; target: { selector: { value: string } }; generator: { 'loupe:model': string; 'loupe:version': string; name: string } };

t.test('a text job read with Tesseract fra keeps the accents, and says which engine and languages read them', async (t) => {
  const outDir = path.join(dataDir, 'out');
  const report = await runPipeline(config, { source: manifest, outDir, ocr: { engine: 'tesseract', languages: ['fra'] } });
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  const enriched = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8'));
  const lines = enriched.items[0].annotations[0].items as Line[];
  t.equal(lines.length, FRENCH.length, 'one annotation per printed line');
  const text = lines.map((l) => l.body.value).join('\n');
  t.equal(text, text.normalize('NFC'), 'NFC');
  t.ok(characterErrorRate(FRENCH.join('\n'), text) <= 0.02, `accents read: ${JSON.stringify(text)}`);
  t.match(text, /échappés à la perspicacité/);
  t.ok(lines.every((l) => l.generator['loupe:model'] === 'tesseract-lstm' && /^\d+\.\d+\.\d+/.test(l.generator['loupe:version'])), 'the engine in the generator');
  t.match(lines[0]!.generator.name, /tesseract-lstm fra/, 'and its language models');
  const [x, y] = lines[0]!.target.selector.value.replace('xywh=', '').split(',').map(Number);
  const truth = page.lines[0]!.box;
  t.ok(Math.abs(x! - truth.x * 2) < 30 && Math.abs(y! - truth.y * 2) < 30, `box ${x},${y} in canvas coordinates (truth ${truth.x * 2},${truth.y * 2})`);
});

t.test('POST /v1/jobs refuses a language no model is installed for, and languages for PP-OCR', async (t) => {
  const embedded = await createEmbedded({ ...config, services: ['gateway'] });
  t.teardown(() => embedded.close());
  await embedded.app.start();
  const post = (ocr: unknown) => embedded.app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest, pipeline: 'text', ocr } });
  for (const ocr of [{ engine: 'tesseract', languages: ['klingon'] }, { engine: 'tesseract', languages: [] }, { engine: 'ppocr', languages: ['fra'] }, { engine: 'abbyy' }]) {
    const res = await post(ocr);
    t.equal(res.statusCode, 400, `${JSON.stringify(ocr)}: ${res.body}`);
    t.equal(res.json().code, 'LOUPE_ERR_VALIDATION');
  }
});

t.test('every language a job may name has its model installed', async (t) => {
  // The recogniser checks its models when made, and loads them only on the first page.
  const all = createTesseractRecognizer({ languages: OCR_LANGUAGES });
  t.same(all.languages, OCR_LANGUAGES);
  await all.close();
});
