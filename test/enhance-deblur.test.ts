// Deblurring end to end: POST /v1/preprocess/enhance with `deblur` runs the pack's MAXIM card
// (converted on first use) on a blurred crop of a real photograph, and the derived image the gateway
// serves is nearer the sharp original than the blurred image it was made from.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { startIiifImageServer } from '@loupe/testing';
import { luma, psnr, type Rgb } from './quality/image-metrics.js';

// Converting MAXIM (96 MB), loading it and one 256 x 256 tile take minutes of a shared 2-core CPU.
t.setTimeout(900_000);

const PHOTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images/photo-genthe-chinatown-fishmonger.jpg');

t.test('a blurred photograph, deblurred with maxim-deblurring: nearer the sharp original', { skip: !existsSync(PHOTO) && `no fixture ${PHOTO} (../shared is absent)` }, async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-deblur-'));
  const server = await startIiifImageServer();
  // The process's own models folder: the converted MAXIM is kept there for the next run.
  const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['gateway', 'preprocess'] }));
  t.teardown(async () => {
    await embedded.close();
    await server.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  await embedded.app.start();

  // One tile of the card (256 x 256) from the middle of the photograph, and the same blurred (Gaussian, sigma 2).
  const { width = 0, height = 0 } = await sharp(PHOTO).metadata();
  const crop = sharp(PHOTO).removeAlpha().extract({ left: Math.floor((width - 256) / 2), top: Math.floor((height - 256) / 2), width: 256, height: 256 });
  const original = await rgb(crop.clone());
  const serviceId = await server.addImage('blurred', await crop.clone().blur(2).png().toBuffer(), { version: 3, level: 2 });
  const image = { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } };

  const res = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess/enhance', payload: { image, deblur: true } });
  t.equal(res.statusCode, 200, res.body);
  const out = res.json() as { width: number; height: number; factor: number; steps: { task: string; model: string; version: string }[]; links: { image: string } };
  t.match(out, { width: 256, height: 256, factor: 1, steps: [{ task: 'deblurring', model: 'maxim-deblurring', version: '0.1.0' }] });

  // The blurred image as preprocess read it (the server's JPEG), and the derived PNG as the gateway serves it.
  const blurred = await rgb(sharp(Buffer.from(await (await fetch(image.id)).arrayBuffer())));
  const served = await embedded.app.inject({ method: 'GET', url: out.links.image });
  t.equal(served.statusCode, 200);
  const deblurred = await rgb(sharp(served.rawPayload));
  // A border of 8 px left out: a tile's edge has no neighbours to read.
  const before = psnr(luma(blurred, 8), luma(original, 8));
  const after = psnr(luma(deblurred, 8), luma(original, 8));
  t.comment(`PSNR against the sharp crop: blurred ${before.toFixed(2)} dB, deblurred ${after.toFixed(2)} dB`);
  t.ok(after > before, 'the deblurred image is nearer the sharp original than the blurred one');
});

async function rgb(image: sharp.Sharp): Promise<Rgb> {
  const { data, info } = await image.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}
