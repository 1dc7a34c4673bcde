// OCR quality on heritage pages (a script, not a test): reads the regions that
// test/quality/ocr-references/*.json transcribe by hand from ../shared/fixtures/images, and the
// synthetic pages whose known text the synthetic-*.json references hold (set at run time by
// ocr-synthetic.ts), with every reader of READERS: Loupe's text stage as the pipeline runs it
// (PP-OCR's lines read by Tesseract or PP-OCR), PP-OCR's own recognize, Tesseract's own layout
// (tesseract.js, wasm) and Debian's tesseract CLI, also on the crop upscaled 2x. It prints CER and
// WER against the reference, time and peak memory. Each page is read in its reference's language.
//
//   pnpm run quality:ocr [--out report.json]
//
// Each engine reads each region in a child process of its own, so the peak RSS is that engine's
// on that page: process.resourceUsage().maxRSS for the in-process engines (Node and the models
// included), /usr/bin/time's maximum RSS for the CLI. Every engine runs on one thread (PP-OCR with
// one intra-op thread, the CLI with OMP_THREAD_LIMIT=1) because tesseract.js runs on one.
// Time is one page: for Loupe's engines the second read of the crop in a process (the first, with the
// model load, is reported apart as "cold"); for the CLI the whole process, which loads its model on
// every run.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { characterErrorRate, wordErrorRate } from '@loupe/datasets';
import { renderSyntheticPage, type SyntheticSetting } from './ocr-synthetic.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const imagesDir = path.resolve(here, '../../../shared/fixtures/images');
const TESSERACT = '/usr/bin/tesseract';
const TIME = '/usr/bin/time';

/** A rectangle of the page in original pixels; none on a synthetic page, which is read whole. */
interface Region {
  x?: number;
  y?: number;
  w?: number;
  h?: number;
  text: string;
}
interface Reference {
  /** A fixture image, or `synthetic`: the page is set from the region's text. */
  image?: string;
  synthetic?: SyntheticSetting;
  languages: string[];
  /** 'abbreviations': the reference types a printer's abbreviation marks, and the score drops them. */
  fold?: 'abbreviations';
  regions: Region[];
}
/** One page as the readers get it: the crop, the crop upscaled 2x, the reference's languages. */
interface Page {
  file: string;
  file2x: string;
  languages: string[];
}
interface Reading {
  text: string;
  pageMs: number;
  loadMs?: number;
  maxRssMb: number;
}

/**
 * What the scores compare: NFC, one space for each whitespace run (characterErrorRate does that),
 * typographic quotes folded to ASCII, since the print does not tell ’ from ' and the engines pick
 * either, no space before , ; : since compositors of the French page set one on some lines only,
 * and long s as s, as the references of the real pages type it.
 */
function normalizeText(s: string, fold?: Reference['fold']): string {
  const text = s
    .normalize('NFC')
    .replace(/[‘’ʼ]/gu, "'")
    .replace(/[“”„]/gu, '"')
    .replace(/ſ/gu, 's')
    .replace(/\s+(?=[,;:])/gu, '');
  if (fold !== 'abbreviations') return text;
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[ꝑꝓ]/gu, 'p')
    .replace(/ꝗ/gu, 'q')
    .replace(/⁊/gu, '&')
    .normalize('NFC');
}

async function crop(source: string, r: Region, scale = 1): Promise<Buffer> {
  const img = sharp(source);
  const { width, height } = await img.metadata();
  const [w, h] = [r.w ?? width!, r.h ?? height!];
  const cut = img.extract({ left: r.x ?? 0, top: r.y ?? 0, width: w, height: h });
  return (scale === 1 ? cut : cut.resize({ width: w * scale, kernel: 'lanczos3' })).png().toBuffer();
}

// ---- child mode: one engine, one crop, one JSON line on stdout ----

/** An engine run inside the child process: opened once, then it reads the same crop twice. */
type InProcessEngine = (
  file: string,
  languages: string[],
) => Promise<{ read: () => Promise<string>; close: () => Promise<void> }>;

/**
 * The pipeline's own path: PP-OCR's detector finds the lines (as preprocess does, each line's
 * angle from the orientation classifier) and the detect service's readPage reads them with the
 * engine and lays them out. Its page time is both, since the pipeline runs both on every page.
 * `upright` turns the classifier off: what the stage would read if no line were taken for upside down.
 */
function textStage(engine: 'tesseract' | 'ppocr', opts: { upright?: boolean } = {}): InProcessEngine {
  return async (file, languages) => {
    const { prepareImage, createTextRecognizer, createTesseractRecognizer } = await import('@loupe/inference');
    const { readPage } = await import('../../services/detect/src/text-page.js');
    const image = { ...(await prepareImage(await readFile(file))), channels: 3 as const };
    const ppocr = await createTextRecognizer({ intraOpNumThreads: 1, ...(opts.upright && { detectAngle: false }) });
    const tesseract = engine === 'tesseract' ? createTesseractRecognizer({ languages }) : undefined;
    const engines = { ppocr, tesseract: () => tesseract! };
    const choice = { engine, languages: engine === 'tesseract' ? languages : [] };
    return {
      read: async () => {
        const { page } = await readPage(image, (await ppocr.findLines(image)).lines, engines, choice);
        return page.blocks.map((b) => b.lines.map((l) => l.text).join('\n')).join('\n');
      },
      close: async () => {
        await tesseract?.close();
        await ppocr.close();
      },
    };
  };
}

const IN_PROCESS: Record<string, InProcessEngine> = {
  'stage-tesseract': textStage('tesseract'),
  'stage-tesseract-upright': textStage('tesseract', { upright: true }),
  'stage-ppocr': textStage('ppocr'),
  async ppocr(file) {
    const { prepareImage, createTextRecognizer } = await import('@loupe/inference');
    const image = await prepareImage(await readFile(file));
    const recognizer = await createTextRecognizer({ intraOpNumThreads: 1 });
    return {
      read: async () => (await recognizer.recognize(image)).map((l) => l.text).join('\n'),
      close: () => recognizer.close(),
    };
  },
  async tesseract(file, languages) {
    const { prepareImage, createTesseractRecognizer } = await import('@loupe/inference');
    const image = await prepareImage(await readFile(file));
    const recognizer = createTesseractRecognizer({ languages });
    return {
      read: async () => {
        const page = await recognizer.recognize({ ...image, channels: 3 });
        return page.blocks.map((b) => b.lines.map((l) => l.text).join('\n')).join('\n');
      },
      close: () => recognizer.close(),
    };
  },
};

async function child(engine: string, file: string, languages: string[]): Promise<void> {
  const open = IN_PROCESS[engine];
  if (!open) throw new Error(`no in-process engine "${engine}" (known: ${Object.keys(IN_PROCESS).join(', ')})`);
  // Read twice: the first read loads the models (tesseract.js starts its worker with the first page)
  // and sizes the kernels for this crop; the second is the page time.
  const t0 = performance.now();
  const { read, close } = await open(file, languages);
  await read();
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  const text = await read();
  const pageMs = performance.now() - t1;
  await close();
  const reading: Reading = { text, loadMs, pageMs, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(reading) + '\n');
}

async function inChild(engine: string, file: string, languages: string[]): Promise<Reading> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=loupe-source', fileURLToPath(import.meta.url), '--child', engine, file, languages.join('+')],
    { maxBuffer: 16 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Reading;
}

/** The languages Debian's tesseract has models for, or none when the CLI or GNU time is absent. */
async function cliLanguages(): Promise<Set<string>> {
  if (!existsSync(TESSERACT) || !existsSync(TIME)) return new Set();
  const { stdout } = await run(TESSERACT, ['--list-langs']);
  return new Set(stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean));
}

async function cli(file: string, languages: string[]): Promise<Reading> {
  const t0 = performance.now();
  const { stdout, stderr } = await run(TIME, ['-v', TESSERACT, file, '-', '-l', languages.join('+')], {
    env: { ...process.env, OMP_THREAD_LIMIT: '1' },
    maxBuffer: 16 << 20,
  });
  const pageMs = performance.now() - t0;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { text: stdout, pageMs, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

/**
 * A named way to read a page; null when it cannot run here (the CLI without the page's language).
 * Adding an engine to the table is adding one entry (and, for one run inside Node, one IN_PROCESS).
 */
interface Reader {
  name: string;
  read: (page: Page, cliLangs: Set<string>) => Promise<Reading> | null;
}

const withCli = (page: Page, cliLangs: Set<string>, file: string) =>
  page.languages.every((l) => cliLangs.has(l)) ? cli(file, page.languages) : null;

const READERS: Reader[] = [
  { name: 'Loupe text stage (tesseract)', read: (p) => inChild('stage-tesseract', p.file, p.languages) },
  { name: 'Loupe text stage (tesseract), lines upright', read: (p) => inChild('stage-tesseract-upright', p.file, p.languages) },
  { name: 'Loupe text stage (ppocr)', read: (p) => inChild('stage-ppocr', p.file, p.languages) },
  { name: 'loupe ppocr-v4', read: (p) => inChild('ppocr', p.file, p.languages) },
  { name: 'loupe tesseract.js', read: (p) => inChild('tesseract', p.file, p.languages) },
  { name: 'loupe tesseract.js 2x', read: (p) => inChild('tesseract', p.file2x, p.languages) },
  { name: 'tesseract 5 CLI', read: (p, langs) => withCli(p, langs, p.file) },
  { name: 'tesseract 5 CLI 2x', read: (p, langs) => withCli(p, langs, p.file2x) },
];

async function main(): Promise<void> {
  const outArg = process.argv.indexOf('--out');
  const out = outArg > 0 ? process.argv[outArg + 1] : undefined;
  const haveImages = existsSync(imagesDir);
  if (!haveImages) console.log(`ocr-quality: no fixture images at ${imagesDir} (../shared is absent); only the synthetic pages are read`);
  const cliLangs = await cliLanguages();
  if (cliLangs.size === 0) console.log(`ocr-quality: ${TESSERACT} or ${TIME} is absent (apt-get install tesseract-ocr time); the CLI columns are skipped`);
  const refsDir = path.join(here, 'ocr-references');
  const refs = (
    await Promise.all(
      (await readdir(refsDir)).filter((f) => f.endsWith('.json')).sort().map(async (f) => JSON.parse(await readFile(path.join(refsDir, f), 'utf8')) as Reference),
    )
  ).filter((ref) => ref.synthetic || haveImages);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'loupe-ocr-quality-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const ref of refs) {
      for (const [i, region] of ref.regions.entries()) {
        const base = ref.image?.replace(/\.[a-z]+$/, '') ?? `synthetic-${ref.languages.join('+')}`;
        const name = `${base}#${i + 1}`;
        const source = ref.synthetic
          ? await renderSyntheticPage(tmp, `${base}-${i + 1}`, ref.synthetic, region.text)
          : path.join(imagesDir, ref.image!);
        const page: Page = {
          file: path.join(tmp, `crop-${rows.length}.png`),
          file2x: path.join(tmp, `crop-${rows.length}-2x.png`),
          languages: ref.languages,
        };
        const cropped = await crop(source, region);
        await writeFile(page.file, cropped);
        await writeFile(page.file2x, await crop(source, region, 2));
        const { width, height } = await sharp(cropped).metadata();
        const reference = normalizeText(region.text, ref.fold);
        for (const reader of READERS) {
          const engine = reader.name;
          const reading = reader.read(page, cliLangs);
          if (!reading) {
            console.log(`${name.padEnd(44)} ${engine.padEnd(44)} not run: no CLI model for ${ref.languages.join('+')}`);
            continue;
          }
          const r = await reading;
          const hyp = normalizeText(r.text, ref.fold);
          const row = {
            region: name,
            px: `${width}x${height}`,
            languages: ref.languages.join('+'),
            engine,
            cer: characterErrorRate(reference, hyp),
            wer: wordErrorRate(reference, hyp),
            pageMs: Math.round(r.pageMs),
            loadMs: r.loadMs === undefined ? null : Math.round(r.loadMs),
            maxRssMb: Math.round(r.maxRssMb),
            text: r.text,
          };
          rows.push(row);
          console.log(
            `${name.padEnd(44)} ${row.px.padStart(9)}  ${engine.padEnd(44)} CER ${row.cer.toFixed(3)}  WER ${row.wer.toFixed(3)}  ${String(row.pageMs).padStart(6)} ms  ${row.loadMs === null ? '      ' : String(row.loadMs).padStart(5) + ' ms cold'}  ${String(row.maxRssMb).padStart(4)} MB peak`,
          );
        }
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const report = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, threadsPerEngine: 1, rows };
  if (out) await writeFile(out, JSON.stringify(report, null, 2) + '\n');
}

const childArg = process.argv.indexOf('--child');
if (childArg > 0) {
  const [engine, file, langs] = process.argv.slice(childArg + 1) as [string, string, string];
  await child(engine, file, langs.split('+'));
} else {
  await main();
}
