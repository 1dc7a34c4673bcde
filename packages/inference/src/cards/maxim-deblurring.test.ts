import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { enhanceImage } from '../enhance/enhance-image.js';
import type { RawImage } from '../image-ops.js';
import { openRegistry } from '../registry/registry.js';
import { loadSession } from '../session.js';

// Slow-ish: converting MAXIM (96 MB) takes 10 to 30 s, loading it 15 to 25 s and one 256 x 256 tile
// 30 to 60 s of a shared 2-core CPU: more than the suite's 120 s a file.
t.setTimeout(900_000);

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/images');
const PHOTO = 'photo-genthe-chinatown-fishmonger.jpg';

/** A 256 x 256 crop of a real photograph, and the same crop with a Gaussian blur (sigma 2). */
async function crops(): Promise<{ sharp: RawImage; blurred: RawImage }> {
  const { width = 0, height = 0 } = await sharp(path.join(FIXTURES, PHOTO)).metadata();
  const region = { left: Math.floor((width - 256) / 2), top: Math.floor((height - 256) / 2), width: 256, height: 256 };
  const raw = async (blur: boolean): Promise<RawImage> => {
    const img = sharp(path.join(FIXTURES, PHOTO)).removeAlpha().toColourspace('srgb').extract(region);
    const { data, info } = await (blur ? img.blur(2) : img).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data), width: info.width, height: info.height };
  };
  return { sharp: await raw(false), blurred: await raw(true) };
}

/** PSNR in dB of two RGB byte images of one size. */
function psnr(a: RawImage, b: RawImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / a.data.length));
}

t.test('maxim-deblurring: the card opens through the registry, converts to its pinned bytes and deblurs a real photograph', {
  skip: !existsSync(FIXTURES) && `the fixtures (${FIXTURES}) are absent: this test needs ../shared`,
}, async (t) => {
  const registry = openRegistry({ modelsDir: t.testdir() });
  const entry = registry.get('maxim-deblurring');
  if (entry?.kind !== 'model') return t.fail('maxim-deblurring is a built-in model card');
  t.equal(entry.card.task, 'deblurring');
  t.match(entry.files[0], { source: 'converted' }, 'made from the TF.js graph in its npm package');
  t.equal(entry.state, 'installed');

  // The registry converts it on first use, for the tile the card declares (convert.inputShape), and checks the pin.
  const { card } = entry;
  t.same(card.files['model']!.convert!.inputShape, [1, card.input.height!, card.input.width!, 3], 'converted for the tile the card declares');
  const started = performance.now();
  const resolved = await registry.resolve('maxim-deblurring');
  const modelPath = resolved.files['model']!;
  t.comment(`converted and checked in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  t.equal(createHash('sha256').update(await readFile(modelPath)).digest('hex'), card.files['model']!.sha256, 'the conversion gives the pinned bytes');

  const session = await loadSession(modelPath);
  t.teardown(() => session.close());

  const { sharp: original, blurred } = await crops();
  const ran = performance.now();
  const restored = await enhanceImage(session, card, blurred);
  t.comment(`one 256 x 256 tile in ${(performance.now() - ran).toFixed(0)} ms`);
  t.same([restored.width, restored.height], [256, 256], 'the same size (factor 1)');
  const before = psnr(blurred, original);
  const after = psnr(restored, original);
  t.comment(`${PHOTO}, centre crop, Gaussian blur sigma 2: PSNR ${before.toFixed(2)} dB blurred, ${after.toFixed(2)} dB deblurred`);
  t.ok(after > before + 1, `deblurring brings the crop closer to the sharp original (${before.toFixed(2)} -> ${after.toFixed(2)} dB)`);
});
