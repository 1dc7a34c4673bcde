// OCR quality on real heritage pages (a script, not a test): reads the regions that
// test/quality/ocr-references/*.json transcribe by hand from ../shared/fixtures/images with
// Loupe's PP-OCR path, Loupe's Tesseract (tesseract.js, wasm) and Debian's tesseract CLI (also on
// the crop upscaled 2x), and prints CER and WER against the reference, time and peak memory.
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

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const imagesDir = path.resolve(here, '../../../shared/fixtures/images');
const TESSERACT = '/usr/bin/tesseract';
const TIME = '/usr/bin/time';

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}
interface Reference {
  image: string;
  languages: string[];
  regions: Region[];
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
 * either, and no space before , ; : since compositors of the French page set one on some lines only.
 */
function normalizeText(s: string): string {
  return s
    .normalize('NFC')
    .replace(/[‘’ʼ]/gu, "'")
    .replace(/[“”„]/gu, '"')
    .replace(/\s+(?=[,;:])/gu, '');
}

async function crop(ref: Reference, r: Region, scale = 1): Promise<Buffer> {
  const img = sharp(path.join(imagesDir, ref.image)).extract({ left: r.x, top: r.y, width: r.w, height: r.h });
  return (scale === 1 ? img : img.resize({ width: r.w * scale, kernel: 'lanczos3' })).png().toBuffer();
}

// ---- child mode: one engine, one crop, one JSON line on stdout ----
async function child(engine: string, file: string, languages: string[]): Promise<void> {
  const { prepareImage, createTextRecognizer, createTesseractRecognizer } = await import('@loupe/inference');
  const image = await prepareImage(await readFile(file));
  // Read twice: the first read loads the models (tesseract.js starts its worker with the first page)
  // and sizes the kernels for this crop; the second is the page time.
  let read: () => Promise<string>;
  let close: () => Promise<void>;
  const t0 = performance.now();
  if (engine === 'ppocr') {
    const recognizer = await createTextRecognizer({ intraOpNumThreads: 1 });
    read = async () => (await recognizer.recognize(image)).map((l) => l.text).join('\n');
    close = () => recognizer.close();
  } else {
    const recognizer = createTesseractRecognizer({ languages });
    read = async () => {
      const page = await recognizer.recognize({ ...image, channels: 3 });
      return page.blocks.map((b) => b.lines.map((l) => l.text).join('\n')).join('\n');
    };
    close = () => recognizer.close();
  }
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

async function main(): Promise<void> {
  const outArg = process.argv.indexOf('--out');
  const out = outArg > 0 ? process.argv[outArg + 1] : undefined;
  if (!existsSync(imagesDir)) {
    console.log(`ocr-quality: no fixture images at ${imagesDir} (../shared is absent); nothing to measure`);
    return;
  }
  const haveCli = existsSync(TESSERACT) && existsSync(TIME);
  if (!haveCli) console.log(`ocr-quality: ${TESSERACT} or ${TIME} is absent (apt-get install tesseract-ocr time); the CLI columns are skipped`);
  const refsDir = path.join(here, 'ocr-references');
  const refs = await Promise.all(
    (await readdir(refsDir)).filter((f) => f.endsWith('.json')).sort().map(async (f) => JSON.parse(await readFile(path.join(refsDir, f), 'utf8')) as Reference),
  );
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'loupe-ocr-quality-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const ref of refs) {
      for (const [i, region] of ref.regions.entries()) {
        const name = `${ref.image.replace(/\.[a-z]+$/, '')}#${i + 1}`;
        const file = path.join(tmp, `crop-${rows.length}.png`);
        const file2x = path.join(tmp, `crop-${rows.length}-2x.png`);
        await writeFile(file, await crop(ref, region));
        await writeFile(file2x, await crop(ref, region, 2));
        const engines: [string, () => Promise<Reading>][] = [
          ['loupe ppocr-v4', () => inChild('ppocr', file, ref.languages)],
          ['loupe tesseract.js', () => inChild('tesseract', file, ref.languages)],
          ['loupe tesseract.js 2x', () => inChild('tesseract', file2x, ref.languages)],
          ...(haveCli
            ? ([
                ['tesseract 5 CLI', () => cli(file, ref.languages)],
                ['tesseract 5 CLI 2x', () => cli(file2x, ref.languages)],
              ] as [string, () => Promise<Reading>][])
            : []),
        ];
        const reference = normalizeText(region.text);
        for (const [engine, read] of engines) {
          const r = await read();
          const hyp = normalizeText(r.text);
          const row = {
            region: name,
            px: `${region.w}x${region.h}`,
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
            `${name.padEnd(44)} ${row.px.padStart(9)}  ${engine.padEnd(22)} CER ${row.cer.toFixed(3)}  WER ${row.wer.toFixed(3)}  ${String(row.pageMs).padStart(6)} ms  ${row.loadMs === null ? '      ' : String(row.loadMs).padStart(5) + ' ms cold'}  ${String(row.maxRssMb).padStart(4)} MB peak`,
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
