// The job's OCR engine: `loupe run` over real HTTP against the local IIIF Image API server reads a
// French page with Tesseract's fra model, and the stored lines keep their accents and say which
// engine and language models read them. Nothing here is mocked.
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { OCR_LANGUAGES } from '@loupe/contracts';
import { characterErrorRate } from '@loupe/datasets';
import { createTesseractRecognizer, OCR_CHANNEL, type OcrTimingEvent } from '@loupe/inference';
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

/** The PP-OCR calls a run makes, by kind: detection happens where findLines (or recognize) is called. */
async function countingOcrCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: Record<string, number> }> {
  const calls: Record<string, number> = {};
  const count = (event: unknown) => {
    const { call } = event as OcrTimingEvent;
    calls[call] = (calls[call] ?? 0) + 1;
  };
  diagnostics.subscribe(OCR_CHANNEL, count);
  try {
    return { result: await run(), calls };
  } finally {
    diagnostics.unsubscribe(OCR_CHANNEL, count);
  }
}

t.test('a text job read with Tesseract fra keeps the accents, and says which engine and languages read them', async (t) => {
  const outDir = path.join(dataDir, 'out');
  const { result: report, calls } = await countingOcrCalls(() => runPipeline(config, { source: manifest, outDir, ocr: { engine: 'tesseract', languages: ['fra'] } }));
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  t.same(calls, { findLines: 1 }, 'the page is searched for text once (preprocess), and Tesseract reads the lines found');
  const enriched = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8'));
  const lines = enriched.items[0].annotations[0].items as Line[];
  t.equal(lines.length, FRENCH.length, 'one annotation per printed line');
  const text = lines.map((l) => l.body.value).join('\n');
  t.equal(text, text.normalize('NFC'), 'NFC');
  t.ok(characterErrorRate(FRENCH.join('\n'), text) <= 0.02, `accents read: ${JSON.stringify(text)}`);
  t.match(text, /échappés à la perspicacité/);
  t.ok(lines.every((l) => l.generator['loupe:model'] === 'tesseract-lstm' && /^\d+\.\d+\.\d+/.test(l.generator['loupe:version'])), 'the engine in the generator');
  t.match(lines[0]!.generator.name, /tesseract-lstm fra \S+ \(tesseract\.js\)/, 'and its language models, and what ran it');
  t.ok(lines.every((l) => (l.body as { language?: string }).language === 'fr'), 'each line says the language model that read it');

  // ALTO and hOCR: linked from the canvas, served, and written by the run.
  const seeAlso = enriched.items[0].seeAlso as { id: string; format: string; profile: string }[];
  t.same(seeAlso.map((s) => s.format).sort(), ['application/xml', 'text/vnd.hocr+html']);
  t.ok(seeAlso.some((s) => s.profile === 'http://www.loc.gov/standards/alto/v4/alto.xsd'), 'the ALTO link names its schema');
  const files = report.outputs.ocr;
  t.equal(files.length, 2, `ALTO and hOCR written: ${files.join(', ')}`);
  const alto = await fs.readFile(files.find((f) => f.endsWith('.alto.xml'))!, 'utf8');
  t.match(alto, /<alto xmlns="http:\/\/www\.loc\.gov\/standards\/alto\/ns-v4#"/);
  t.match(alto, /CONTENT="échappés"/, 'words with their accents');
  t.match(alto, new RegExp(`WIDTH="${page.width * 2}"`), 'the page is the canvas');
  const hocr = await fs.readFile(files.find((f) => f.endsWith('.hocr.html'))!, 'utf8');
  t.match(hocr, /class=['"]ocrx_word['"]/);
  const [x, y] = lines[0]!.target.selector.value.replace('xywh=', '').split(',').map(Number);
  const truth = page.lines[0]!.box;
  t.ok(Math.abs(x! - truth.x * 2) < 30 && Math.abs(y! - truth.y * 2) < 30, `box ${x},${y} in canvas coordinates (truth ${truth.x * 2},${truth.y * 2})`);
});

t.test('a manifest that says its text is French is read with Tesseract fra, words on request', async (t) => {
  const described = `${server.url}/m/french-described.json`;
  const base = manifestV3({
    id: described,
    label: 'Mémoire',
    canvases: [{ label: 'page', width: page.width, height: page.height, image: { width: page.width, height: page.height, serviceId, version: 3, level: 2 } }],
  });
  server.addDocument('/m/french-described.json', { ...base, metadata: [{ label: { fr: ['Langue'] }, value: { fr: ['français'] } }] });
  const report = await runPipeline(config, { source: described, outDir: path.join(dataDir, 'out-described'), ocr: { words: true } });
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  const enriched = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8'));
  const items = enriched.items[0].annotations[0].items as (Line & { textGranularity: string })[];
  const lines = items.filter((a) => a.textGranularity === 'line');
  t.equal(lines.length, FRENCH.length, 'the lines, each a line');
  t.match(lines[0]!.generator.name, /^tesseract-lstm fra /, 'the manifest chose the language');
  t.match(lines.map((l) => l.body.value).join('\n'), /échappés à la perspicacité/);

  // Words on request: each line followed by its words, which spell it.
  const words = items.filter((a) => a.textGranularity === 'word');
  t.ok(words.length >= 25, `${words.length} words annotated`);
  t.ok(words.some((w) => w.body.value === 'perspicacité'), 'a word with its accents');
  t.equal(items[0]!.textGranularity, 'line');
  const firstLineWords = items.slice(1, items.findIndex((a, i) => i > 0 && a.textGranularity === 'line')).map((w) => w.body.value);
  t.equal(firstLineWords.join(' '), lines[0]!.body.value, 'the words after a line spell it');
  t.ok(enriched['@context'].includes('http://iiif.io/api/extension/text-granularity/context.json'), 'the extension is named in the context');
  t.equal(enriched['@context'].at(-1), 'http://iiif.io/api/presentation/3/context.json', 'IIIF last');
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
