// Super-resolution quality on real images (a script, not a test): each image of IMAGES, cropped from
// ../shared/fixtures/images, is downscaled by 2 and by 4 (sharp, cubic), upscaled back with bicubic
// and with each ESRGAN size of the offline pack (tiled by the enhance runner), and compared with the
// original: PSNR and SSIM on the luminance with a border of `factor` pixels cropped, and the
// milliseconds per megapixel of output. Then the downstream effect: the French page and the newspaper
// advertisement of test/quality/ocr-references, downscaled the same way, upscaled back and read by
// Loupe's text stage (Tesseract), CER against the reference.
//
// With --deblur, MAXIM too: 256 x 256 centre crops blurred (Gaussian, sharp), deblurred by the
// pack's maxim-deblurring, PSNR and SSIM against the sharp crop, before and after.
//
//   pnpm run quality:enhance [--threads N] [--thick-images N] [--no-ocr] [--ocr-only] [--deblur] [--deblur-only]
//
// Thick (RRDN, 29 MB a model) costs about ten times slim on a CPU: it runs on the first
// --thick-images images only (2 by default) and not for OCR.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { characterErrorRate } from '@loupe/datasets';
import { enhanceImage, loadSession, openRegistry, type RawImage } from '@loupe/inference';
import { luma, psnr, ssim } from './image-metrics.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const imagesDir = path.resolve(here, '../../../shared/fixtures/images');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const THREADS = arg('--threads', Math.min(4, os.cpus().length));
const THICK_IMAGES = arg('--thick-images', 2);

/** Square crops (sides divisible by 4) where each picture has detail: a face, rigging, a street, type. */
const IMAGES = [
  { file: 'photo-astronaut-eileen-collins-nasa.png', left: 0, top: 0, size: 512 },
  { file: 'photo-sailing-ship-california.jpg', left: 60, top: 0, size: 480 },
  { file: 'photo-genthe-chinatown-fishmonger.jpg', left: 880, top: 500, size: 512 },
  { file: 'book-page-printed-french-18th-century.jpg', left: 300, top: 600, size: 512 },
] as const;
const SIZES = ['slim', 'medium', 'thick'] as const;
const FACTORS = [2, 4] as const;

const registry = openRegistry({ modelsDir: process.env['LOUPE_MODELS_DIR'] ?? path.join(os.homedir(), '.local', 'share', 'loupe', 'models') });

async function raw(img: sharp.Sharp): Promise<RawImage> {
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

const fromRaw = (img: RawImage) => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });
const resize = (img: RawImage, width: number, height: number) => raw(fromRaw(img).resize(width, height, { kernel: 'cubic', fit: 'fill' }));

/** Upscales with one card of the pack; the session stays open for the next image. */
const sessions = new Map<string, Awaited<ReturnType<typeof loadSession>>>();
async function upscale(id: string, img: RawImage): Promise<{ out: RawImage; ms: number }> {
  const { card, files } = await registry.resolve(id);
  let session = sessions.get(id);
  if (!session) {
    session = await loadSession(files['model']!, { intraOpNumThreads: THREADS });
    sessions.set(id, session);
  }
  const started = performance.now();
  const out = await enhanceImage(session, card, img);
  return { out, ms: performance.now() - started };
}

interface Row {
  image: string;
  factor: number;
  method: string;
  psnr: number;
  ssim: number;
  msPerMp?: number;
}

function score(original: RawImage, up: RawImage, factor: number): { psnr: number; ssim: number } {
  const a = luma(original, factor);
  const b = luma(up, factor);
  return { psnr: psnr(a, b), ssim: ssim(a, b) };
}

async function fidelity(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [n, spec] of IMAGES.entries()) {
    const original = await raw(sharp(path.join(imagesDir, spec.file)).extract({ left: spec.left, top: spec.top, width: spec.size, height: spec.size }));
    for (const factor of FACTORS) {
      const low = await resize(original, spec.size / factor, spec.size / factor);
      const add = (method: string, up: RawImage, ms?: number) => {
        const row: Row = { image: spec.file, factor, method, ...score(original, up, factor), ...(ms !== undefined && { msPerMp: ms / ((up.width * up.height) / 1e6) }) };
        rows.push(row);
        console.log(`${spec.file.padEnd(44)} x${factor}  ${method.padEnd(20)} PSNR ${row.psnr.toFixed(2).padStart(6)} dB  SSIM ${row.ssim.toFixed(4)}${row.msPerMp === undefined ? '' : `  ${Math.round(row.msPerMp).toLocaleString('en').padStart(7)} ms/MP out`}`);
      };
      add('bicubic', await resize(low, spec.size, spec.size));
      for (const size of SIZES) {
        if (size === 'thick' && n >= THICK_IMAGES) continue;
        const { out, ms } = await upscale(`esrgan-${size}-x${factor}`, low);
        add(`esrgan-${size}-x${factor}`, out, ms);
      }
    }
  }
  return rows;
}

/** OCR regions: the whole French page, and the newspaper's advertisement (larger type than its columns). */
const OCR_PAGES = [
  { reference: 'book-page-printed-french-18th-century.json', factors: [2, 4] },
  { reference: 'newspaper-port-gibson-reveille.json', region: 0, factors: [2] },
] as const;

/** What the OCR benchmark's score compares (ocr-quality.ts): NFC, straight quotes, long s as s, no space before , ; : */
function fold(s: string): string {
  return s.normalize('NFC').replace(/[‘’ʼ]/gu, "'").replace(/[“”„]/gu, '"').replace(/ſ/gu, 's').replace(/\s+(?=[,;:])/gu, '');
}

async function readWithTextStage(file: string, languages: string[]): Promise<string> {
  const script = path.join(here, 'ocr-quality.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=loupe-source', script, '--child', 'stage-tesseract', file, languages.join('+')], { maxBuffer: 16 << 20 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { text: string }).text;
}

async function downstream(tmp: string): Promise<void> {
  let reads = 0;
  for (const page of OCR_PAGES) {
    const ref = JSON.parse(await readFile(path.join(here, 'ocr-references', page.reference), 'utf8')) as { image: string; languages: string[]; regions: { x?: number; y?: number; w?: number; h?: number; text: string }[] };
    const region = ref.regions['region' in page ? page.region : 0]!;
    let img = sharp(path.join(imagesDir, ref.image));
    if (region.w !== undefined) img = img.extract({ left: region.x!, top: region.y!, width: region.w, height: region.h! });
    const original = await raw(img);
    const truth = fold(region.text);
    const cer = async (label: string, up: RawImage) => {
      const file = path.join(tmp, `read-${++reads}.png`);
      await fromRaw(up).png().toFile(file);
      const value = characterErrorRate(truth, fold(await readWithTextStage(file, ref.languages)));
      console.log(`${ref.image.padEnd(44)} ${`${original.width}x${original.height}`.padStart(9)}  ${label.padEnd(28)} CER ${value.toFixed(3)}`);
    };
    await cer('original', original);
    for (const factor of page.factors) {
      const [w, h] = [Math.round(original.width / factor), Math.round(original.height / factor)];
      const low = await resize(original, w, h);
      await cer(`1/${factor}, as is`, low);
      await cer(`1/${factor}, bicubic x${factor}`, await resize(low, original.width, original.height));
      for (const size of ['slim', 'medium'] as const) {
        const { out } = await upscale(`esrgan-${size}-x${factor}`, low);
        await cer(`1/${factor}, esrgan-${size}-x${factor}`, await resize(out, original.width, original.height));
      }
    }
  }
}

/** Centre crops MAXIM's 256 x 256 tile covers, and the Gaussian blur each gets. */
const BLURRED = [
  { file: 'photo-genthe-chinatown-fishmonger.jpg', sigma: 1.2 },
  { file: 'photo-genthe-chinatown-fishmonger.jpg', sigma: 2 },
  { file: 'photo-astronaut-eileen-collins-nasa.png', sigma: 2 },
  { file: 'coin-justinian-follis-obverse.jpg', sigma: 2 },
  { file: 'photo-sailing-ship-california.jpg', sigma: 2 },
] as const;

async function deblurring(): Promise<void> {
  console.log('\ndeblurring (maxim-deblurring, one 256 x 256 tile; PSNR dB / SSIM on luminance, 8 px border left out)');
  console.log('image\tsigma\tblurred\tdeblurred\tms');
  for (const { file, sigma } of BLURRED) {
    const source = sharp(path.join(imagesDir, file));
    const { width = 0, height = 0 } = await source.metadata();
    const crop = () => sharp(path.join(imagesDir, file)).extract({ left: Math.floor((width - 256) / 2), top: Math.floor((height - 256) / 2), width: 256, height: 256 });
    const sharpCrop = await raw(crop());
    const blurred = await raw(crop().blur(sigma));
    const { out, ms } = await upscale('maxim-deblurring', blurred);
    const before = score(sharpCrop, blurred, 8);
    const after = score(sharpCrop, out, 8);
    console.log(`${file}\t${sigma}\t${before.psnr.toFixed(2)} / ${before.ssim.toFixed(4)}\t${after.psnr.toFixed(2)} / ${after.ssim.toFixed(4)}\t${ms.toFixed(0)}`);
  }
}

if (!existsSync(imagesDir)) {
  console.log(`enhance quality: no fixture images at ${imagesDir} (../shared is absent); nothing to measure`);
} else {
  console.log(`enhance quality: ${os.cpus()[0]?.model}, onnxruntime CPU, ${THREADS} intra-op threads; tiles as each card says, overlap 1/8 tile`);
  const deblurOnly = process.argv.includes('--deblur-only');
  if (!process.argv.includes('--ocr-only') && !deblurOnly) await fidelity();
  if (process.argv.includes('--deblur') || deblurOnly) await deblurring();
  if (!process.argv.includes('--no-ocr') && !deblurOnly) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'loupe-enhance-quality-'));
    try {
      await downstream(tmp);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  for (const s of sessions.values()) await s.close();
}
