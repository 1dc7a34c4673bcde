import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { startIiifImageServer } from '@loupe/testing';
import { fetchCanvasImage } from './canvas-image.js';
import { createFetcher } from './fetch/index.js';

// 400x200: left half red, right half blue; so where pixels came from is easy to tell.
const halves = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#ff0000' } })
  .composite([{ input: await sharp({ create: { width: 200, height: 200, channels: 3, background: '#0000ff' } }).png().toBuffer(), left: 200, top: 0 }])
  .png()
  .toBuffer();

const server = await startIiifImageServer();
t.teardown(() => server.close());
const fetcher = createFetcher({ retries: 0 });
const pixel = (img: { data: Buffer; width: number }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const isRed = (p: number[]) => p[0]! > 200 && p[2]! < 60;
const isBlue = (p: number[]) => p[2]! > 200 && p[0]! < 60;

t.test('the whole image, through a level-2 service, covers the painted area of the canvas', async (t) => {
  const serviceId = await server.addImage('halves', halves, { version: 3, level: 2, extraFormats: ['png'] });
  const img = await fetchCanvasImage(fetcher, { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } }, { width: 800, height: 400 }, { fit: { width: 200, height: 200 } });
  t.same([img.width, img.height], [200, 100], 'fetched at the target size, not the master');
  t.same(img.canvasRegion, { x: 0, y: 0, w: 800, h: 400 });
  t.ok(isRed(pixel(img, 10, 50)) && isBlue(pixel(img, 190, 50)));
});

t.test('a painted region is the only part requested; the canvas region is where it is painted', async (t) => {
  const serviceId = server.serviceId('halves');
  const img = await fetchCanvasImage(
    fetcher,
    { id: 'x', service: { id: serviceId, version: 3, level: 2 }, region: { x: 200, y: 0, w: 200, h: 200 }, target: { x: 100, y: 50, w: 300, h: 300 } },
    { width: 800, height: 400 },
    { fit: { width: 100, height: 100 } },
  );
  t.same([img.width, img.height], [100, 100]);
  t.ok(isBlue(pixel(img, 5, 5)) && isBlue(pixel(img, 95, 95)), 'only the blue half came back');
  t.same(img.canvasRegion, { x: 100, y: 50, w: 300, h: 300 });
  t.match(img.request, /\/200,0,200,200\/100,100\/0\/default\.jpg$/);
});

t.test('a region on a level-0 service is cut locally from what the server offers', async (t) => {
  const serviceId = await server.addImage('halves-l0', halves, { version: 3, level: 0 });
  const img = await fetchCanvasImage(fetcher, { id: 'x', service: { id: serviceId, version: 3, level: 0 }, region: { x: 0, y: 0, w: 200, h: 200 } }, { width: 400, height: 200 }, { shortSide: 50 });
  t.equal(img.width, img.height, 'a square region stays square');
  t.ok(isRed(pixel(img, 2, 2)) && isRed(pixel(img, img.width - 3, img.height - 3)), 'only the red half is kept');
});

t.test('a painted rotation turns the pixels as the canvas shows them', async (t) => {
  const img = await fetchCanvasImage(fetcher, { id: 'x', service: { id: server.serviceId('halves'), version: 3, level: 2 }, rotation: 90 }, { width: 200, height: 400 }, { fit: { width: 400, height: 400 } });
  t.same([img.width, img.height], [200, 400]);
  t.ok(isRed(pixel(img, 100, 10)) && isBlue(pixel(img, 100, 390)), 'red on top after a quarter turn clockwise');
});

t.test('a plain image is oriented by its EXIF tag', async (t) => {
  // Stored 400x200 with orientation 6: shown 200x400, red half on top.
  const stored = await sharp(halves).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const url = server.addFile('/files/exif.jpg', stored, 'image/jpeg');
  const img = await fetchCanvasImage(fetcher, { id: url }, { width: 200, height: 400 }, { fit: { width: 1000, height: 1000 } });
  t.equal(img.exifOrientation, 6);
  t.same([img.width, img.height], [200, 400]);
  t.ok(isRed(pixel(img, 100, 10)) && isBlue(pixel(img, 100, 390)));
});

t.test('hints from earlier stages: only the object, turned upright; boxes map back to the canvas', async (t) => {
  const serviceId = server.serviceId('halves');
  const image = { id: 'x', service: { id: serviceId, version: 3 as const, level: 2 as const } };
  // The canvas is twice the image size. Ask for the blue half, turned 180 degrees.
  const img = await fetchCanvasImage(fetcher, image, { width: 800, height: 400 }, { fit: { width: 100, height: 100 } }, { region: { x: 200, y: 0, w: 200, h: 200 }, rotation: 180 });
  t.same([img.width, img.height], [100, 100]);
  t.ok(isBlue(pixel(img, 50, 50)));
  t.same(img.canvasRegion, { x: 400, y: 0, w: 400, h: 400 }, 'the blue half of the canvas');
  // A box at the top-left of the turned pixels is at the bottom-right of the blue half on the canvas.
  t.same(img.toCanvas({ x: 0, y: 0, w: 10, h: 20 }), { x: 760, y: 320, w: 40, h: 80 });
  t.same(img.toImage({ x: 0, y: 0, w: 10, h: 20 }), { x: 380, y: 160, w: 20, h: 40 });
});

t.test('a painted rotation and a cut compose: the box comes back where the canvas shows it', async (t) => {
  // Image 400x200 painted turned 90 degrees on a 200x400 canvas; the left (red) half is requested.
  const image = { id: 'x', service: { id: server.serviceId('halves'), version: 3 as const, level: 2 as const }, rotation: 90 as const };
  const img = await fetchCanvasImage(fetcher, image, { width: 200, height: 400 }, { fit: { width: 1000, height: 1000 } }, { region: { x: 0, y: 0, w: 200, h: 200 } });
  t.same([img.width, img.height], [200, 200]);
  // Turned clockwise, the image's left half becomes the canvas's top half.
  t.same(img.canvasRegion, { x: 0, y: 0, w: 200, h: 200 });
  t.same(img.toImage({ x: 0, y: 0, w: 200, h: 200 }), { x: 0, y: 0, w: 200, h: 200 });
});

t.test("with the job's shared request: the same URL every time, cut and resized locally, mapped as if fetched alone", async (t) => {
  const serviceId = await server.addImage('halves-shared', halves, { version: 3, level: 2 });
  const ref = { id: 'x', service: { id: serviceId, version: 3 as const, level: 2 as const } };
  const canvas = { width: 800, height: 400 };
  const shared = { fit: { width: 400, height: 400 } };
  const cached = createFetcher({ retries: 0, cacheDir: await mkdtemp(join(tmpdir(), 'loupe-shared-')) });
  server.reset();
  const first = await fetchCanvasImage(cached, ref, canvas, shared);
  // The blue half, turned upside down, at a model's 100 px: what a later stage asks for.
  const hints = { shared, region: { x: 200, y: 0, w: 200, h: 200 }, rotation: 180 as const };
  const alone = await fetchCanvasImage(fetcher, ref, canvas, { fit: { width: 100, height: 100 } }, { region: hints.region, rotation: 180 });
  const later = await fetchCanvasImage(cached, ref, canvas, { fit: { width: 100, height: 100 } }, hints);
  t.same(server.requests.filter((p) => !p.endsWith('info.json')), [`/iiif/halves-shared/full/400,200/0/default.jpg`, `/iiif/halves-shared/200,0,200,200/100,100/0/default.jpg`], 'the shared request once (the cache answers the later stage); the one alone is its own');
  t.equal(first.request, later.request, 'the later stage asked for the same URL');
  t.ok(later.fromCache);
  t.equal(later.sizedRequest, alone.request, 'sizedRequest is the request it would have made alone');
  t.same([later.width, later.height], [alone.width, alone.height], "the stage's own size");
  t.ok(isBlue(pixel(later, 5, 5)) && isBlue(pixel(later, 95, 95)), 'only the blue half');
  t.same(later.canvasRegion, alone.canvasRegion, 'the same part of the canvas');
  t.same(later.toCanvas({ x: 10, y: 20, w: 30, h: 40 }), alone.toCanvas({ x: 10, y: 20, w: 30, h: 40 }), 'boxes map back to the same canvas coordinates');
  // A stage needing more than the shared request holds makes its own request (here the full 400x200).
  const bigger = await fetchCanvasImage(cached, ref, canvas, { fit: { width: 800, height: 800 } }, { shared: { fit: { width: 100, height: 100 } } });
  t.match(bigger.request, /\/full\/400,200\/0\/default\.jpg$/, 'its own request, not the shared 100,50');
  t.same([bigger.width, bigger.height], [400, 200]);
});
